"""agentgym: customer-service dialogue traces as reinforcement-learning environments."""
from agentgym.data import load_sgd
from agentgym.env import SGDEnv
from agentgym.registration import ENV_IDS, register_envs
from agentgym.reward import RewardConfig

register_envs()

__version__ = "0.1.0"
__all__ = ["ENV_IDS", "RewardConfig", "SGDEnv", "load_sgd", "register_envs", "__version__"]
