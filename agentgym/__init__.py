"""agentgym: customer-service dialogue traces as reinforcement-learning environments."""
from agentgym.domains.sgd import load_sgd
from agentgym.domains.sgd.env import SGDEnv
from agentgym.domains.sgd.reward import RewardConfig
from agentgym.registration import ENV_IDS, register_envs

register_envs()

__version__ = "0.1.0"
__all__ = ["ENV_IDS", "RewardConfig", "SGDEnv", "load_sgd", "register_envs", "__version__"]
