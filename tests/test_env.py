import json

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

from agentgym import SGDEnv
from agentgym.domains.sgd import default_data_dir
from agentgym.domains.sgd.agents import ScriptedAgent
from agentgym.runner import play_episode


def test_registered_and_passes_check_env():
    env = gym.make("agentgym/SGD-v0")
    check_env(env.unwrapped)
    assert gym.spec("agentgym/SGD-v0").entry_point == "agentgym.domains.sgd.env:SGDEnv"


def test_make_with_any_sgd_directory_and_split():
    env = gym.make("agentgym/SGD-v0", data_dir=str(default_data_dir()), split="train")
    obs, info = env.reset(seed=0)
    assert info["task_id"] in {t.task_id for t in env.unwrapped.tasks}
    assert env.unwrapped.corpus.split == "train"


def test_reset_options_pick_a_task_and_goal_stays_hidden():
    env = SGDEnv()
    obs, info = env.reset(seed=0, options={"task_id": "11_00055"})
    assert info["task_id"] == "11_00055" and obs.startswith("user: ")
    assert "goal" not in info
    assert {t["function"]["name"] for t in info["tools"]} >= {"Services_4_FindProvider", "Weather_1_GetWeather"}
    assert "Ask the user" in info["policy"]
    _, info = env.reset(seed=0, options={"task_id": "11_00055", "reveal_goal": True})
    assert info["goal"][0]["intent"] == "FindProvider"


def _play(actions, seed=7):
    env = SGDEnv(include_history=True)
    out = [env.reset(seed=seed)]
    for a in actions:
        out.append(env.step(a))
    return out


def test_same_seed_same_actions_same_episode_byte_for_byte():
    actions = ["Hi! Which city?", '{"name": "Weather_1_GetWeather", "arguments": {"city": "Paris"}}', "Sure.", "[finish]"]
    assert repr(_play(actions)) == repr(_play(actions))
    assert repr(_play(actions, seed=8)) != repr(_play(actions))


def test_observation_lines_and_info():
    env = SGDEnv()
    env.reset(seed=0, options={"task_id": "11_00055"})
    obs, r, term, trunc, info = env.step('Services_4_FindProvider(city="Redwood City", type="Psychologist")')
    assert obs.startswith("tool: ") and '"status":"ok"' in obs
    assert info["tool_results"][0]["ok"] and info["action_format"] == "function"
    assert set(info["reward_breakdown"]) >= {"success", "valid_tool_calls", "slot_precision", "slot_recall", "requests_told", "efficiency", "total"}
    obs, *_ , info = env.step("Which one would you like?")
    assert obs.startswith("user: ") and info["user_acts"]


def test_bad_action_is_an_error_observation_and_the_episode_goes_on():
    env = SGDEnv()
    env.reset(seed=0)
    obs, reward, term, trunc, info = env.step('{"name": "NoSuchTool", "arguments": {}}')
    assert "unknown tool 'NoSuchTool'" in obs and info["error"] and not term
    obs, reward, term, trunc, info = env.step("Hello?")
    assert obs.startswith("user: ")


def test_truncates_at_max_turns_and_refuses_steps_after_the_end():
    env = SGDEnv(max_turns=3)
    env.reset(seed=0)
    results = [env.step('{"name": "x", "arguments": {}}') for _ in range(3)]
    assert [r[3] for r in results] == [False, False, True]
    obs, reward, term, trunc, info = env.step("more")
    assert "episode is over" in obs and reward == 0.0


def test_terminal_reward_is_weighted_total_plus_step_penalty():
    env = SGDEnv(reward={"weights": {"success": 1.0}, "step_penalty": -0.05})
    env.reset(seed=0)
    _, r1, *_ = env.step("Hello")
    assert r1 == pytest.approx(-0.05)
    _, r2, term, _, info = env.step("[finish]")
    assert term and r2 == pytest.approx(-0.05 + info["reward_breakdown"]["success"])


def test_unknown_reward_component_is_rejected():
    with pytest.raises(ValueError, match="Unknown reward component"):
        SGDEnv(reward={"weights": {"sucess": 1.0}})


def test_scripted_agent_solves_a_task_end_to_end():
    env = gym.make("agentgym/SGD-v0")
    ep = play_episode(env, ScriptedAgent(), seed=0, task_id="11_00061")
    assert ep.terminated and ep.turns > 3
    assert any(s.get("action_format") == "json" for s in ep.steps)
    assert ep.messages[0]["role"] == "user"


def test_render_ansi_is_the_transcript():
    env = SGDEnv(render_mode="ansi")
    env.reset(seed=0)
    env.step("Hello there")
    text = env.render()
    assert "assistant: Hello there" in text and text.startswith("user: ")


class _WrongBookingFirst:
    """The scripted agent, but before its first transaction it books the same tool with its first free-text
    argument that names no entity changed (the mistake a careless policy makes; a wrong name, number, date or
    choice is refused outright), then goes on as usual."""

    name = "wrong-first"

    def __init__(self, env, duplicate: bool = False):
        self.inner, self.env, self.duplicate = ScriptedAgent(), env, duplicate

    def reset(self, obs, info):
        self.inner.reset(obs, info)
        self.done_trick = self.wrote = False
        self.queue = []
        self.transactional = {name for name, tool in self.env.unwrapped.tools.items() if tool.transactional}

    def act(self, obs, info):
        if self.queue:  # the observation of the extra booking: did it go through (a write)?
            self.wrote = '"status":"success"' in obs
            return self.queue.pop(0)
        action = self.inner.act(obs, info)
        parsed = action if isinstance(action, dict) else json.loads(action) if isinstance(action, str) and action.startswith("{") else None
        if not self.done_trick and parsed and parsed.get("name") in self.transactional:
            self.done_trick = True
            if self.duplicate:
                self.queue.append(action)
                return action
            args = dict(parsed["arguments"])
            base = self.env.unwrapped
            tool = base.tools[parsed["name"]]
            names = set(base.mocker.identifying(tool))  # a wrong name is refused outright (test_tools_mocker)
            free = [a for a in sorted(args) if a not in names and base.corpus.kind(tool.service, a) == "text"
                    and not (a in tool.params and tool.params[a].possible)]
            if not free:  # only names, numbers, dates and choices: a wrong one is refused, nothing to trick with
                return action
            args[free[0]] = str(args[free[0]]) + "x"
            self.queue.append(action)
            return json.dumps({"name": parsed["name"], "arguments": args})
        return action


@pytest.mark.parametrize("duplicate", [False, True], ids=["wrong-value-first", "duplicate"])
def test_an_extra_transaction_fails_the_episode(duplicate):
    env = gym.make("agentgym/SGD-v0")
    clean = tricked = compared = 0
    for task_id in env.unwrapped.task_ids[:60]:
        base = play_episode(env, ScriptedAgent(), seed=0, task_id=task_id)
        agent = _WrongBookingFirst(env, duplicate)
        ep = play_episode(env, agent, seed=0, task_id=task_id)
        if not agent.wrote:  # a wrong value a tool rejects writes nothing: nothing to fail
            continue
        compared += 1
        clean += base.reward_breakdown["success"] == 1.0
        tricked += ep.reward_breakdown["success"] == 1.0
        assert ep.reward_breakdown["exact_writes"] == 0.0
    assert compared >= 20 and clean >= 10 and tricked == 0


def test_taugym_protocol_and_tau2_style_kwargs_on_sgd():
    env = gym.make("agentgym/SGD-v0", task_id="11_00061", max_steps=5)
    obs, info = env.reset(seed=0)
    assert info["task_id"] == "11_00061"
    obs, *_ = env.step("[search] tools")
    assert obs.startswith("environment: ") and "Services_4_FindProvider(" in obs
    obs, *_ = env.step("[search] help")
    assert "[answer]" in obs and "[action]" in obs
    obs, *_ = env.step("[action] Which city are you in?")
    assert obs.startswith("user: ")
    obs, _, _, _, info = env.step('[answer] Services_4_FindProvider {"city": "Novato", "type": "Psychologist"}')
    assert obs.startswith("tool: ") and info["tool_calls"][0]["name"] == "Services_4_FindProvider"
    obs, _, term, trunc, info = env.step("[answer] Novato please")
    assert "error:" in obs and "[search]" in obs and trunc and info["termination"] == "max_steps"
    restaurants = gym.make("agentgym/SGD-v0", service_domain="restaurants").unwrapped
    assert restaurants.task_ids and all(any(s.startswith("Restaurants") for s in restaurants.corpus.task(t).services)
                                        for t in restaurants.task_ids)
    with pytest.raises(ValueError, match="domains: .*Restaurants"):
        gym.make("agentgym/SGD-v0", service_domain="Spaceflight")


def test_users_come_from_the_registry_and_bad_ones_are_named():
    from agentgym.registry import registry

    class Echo:
        name = "echo"

        @classmethod
        def from_env(cls, env, persona=None):
            return cls()

        def reset(self, task, seed):
            from agentgym.domains.sgd.users import UserTurn
            return UserTurn(text="hello", acts=[])

        def respond(self, text, context):
            from agentgym.domains.sgd.users import UserTurn
            return UserTurn(text=f"you said: {text}", acts=[])

    registry.register("user", "sgd/echo-test", Echo, help="test user", replace=True)
    env = gym.make("agentgym/SGD-v0", user="echo-test")
    obs, _ = env.reset(seed=0)
    assert obs == "user: hello" and env.step("hi")[0] == "user: you said: hi"
    with pytest.raises(ValueError, match="sgd users: .*echo-test.*goal"):
        gym.make("agentgym/SGD-v0", user="nobody")
    with pytest.raises(ValueError, match="Unknown sgd user 'offline'"):  # tau2's user is not an SGD user
        gym.make("agentgym/SGD-v0", user="offline")
    with pytest.raises(TypeError, match="reset\\(\\) and respond\\(\\)"):
        gym.make("agentgym/SGD-v0", user=42)


def test_a_failed_reset_leaves_the_env_usable():
    from gymnasium.error import ResetNeeded

    env = gym.make("agentgym/SGD-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(KeyError, match="No task 'nope'"):
        env.reset(seed=0, options={"task_id": "nope"})
    with pytest.raises(ResetNeeded, match="reset"):
        env.step("hello")
    obs, info = env.reset(seed=0, options={"task_id": "11_00061"})
    assert obs.startswith("user:") and env.step("Which city?")[0].startswith("user:")


@pytest.mark.parametrize("kwargs,message", [
    ({"max_turns": float("nan")}, "max_turns must be a whole number"), ({"max_results": -1}, "max_results must be"),
    ({"judge": 123}, "judge must be"), ({"persona": "x"}, "persona must be"), ({"reward": 5}, "reward must be"),
    ({"task_ids": []}, "task_ids must be a non-empty list"), ({"reveal_goal": "yes"}, "reveal_goal must be"),
    ({"user": 42}, "user must be"), ({"judge_mode": "turn"}, "judge_mode must be"), ({"split": 3}, "split must be"),
    ({"data_dir": 7}, "data_dir must be a path"), ({"task_ids": "11_00061"}, "task_ids must be a non-empty list"),
])
def test_bad_constructor_arguments_are_refused_by_name(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        gym.make("agentgym/SGD-v0", **kwargs)
