import json
import subprocess
import sys

import pytest

from agentgym import SGDEnv
from agentgym.domains.sgd.agents import ScriptedAgent
from agentgym.domains.sgd.users import Persona, load_user_model
from agentgym.domains.sgd.users.audit import audit_user
from agentgym.domains.sgd.users.nlu import find_values
from agentgym.domains.sgd.users.wording import realized
from agentgym.domains.sgd.values import surface_forms
from agentgym.runner import play_episode


@pytest.fixture(scope="module")
def model():
    return load_user_model()


def test_value_matching_understands_the_forms_people_write():
    assert "6:30 pm" in surface_forms("18:30") and "march 11th" in surface_forms("2019-03-11")
    assert "tomorrow" in surface_forms("2019-03-02")
    cand = {("account_type", "checking"): {"checking"}, ("recipient_account_type", "checking"): {"checking"},
            ("number_of_seats", "2"): {"2"}}
    hits = find_values("From your savings to the recipient account type: checking, for 2 people", cand)
    assert ("recipient_account_type", "checking") in {(s, v) for s, v, _, _ in hits}
    # a bare number is a slot value only when the slot is named next to it
    assert not find_values("I found 2 restaurants", {("number_of_seats", "2"): {"2"}})
    assert find_values("a table for 2 seats", {("number_of_seats", "2"): {"2"}})


def test_audit_on_the_embedded_sample(model, dev):
    m = audit_user(model, dev, max_dialogues=60)
    assert m["nlu_act_f1"] > 0.9 and m["nlu_act_slot_f1"] > 0.7
    assert m["user_act_f1"] > 0.7 and m["user_act_type_f1"] > 0.78
    assert m["slot_value_realization"] == 1.0 and m["goal_contradictions"] == 0
    assert 0.5 < m["distinct_2_ratio"] < 1.5


def _episode(seed, task="11_00061", user="goal", agent=None):
    env = SGDEnv(user=user)
    return play_episode(env, agent or ScriptedAgent(), seed=seed, task_id=task), env


def test_same_seed_same_user_and_every_turn_shows_its_acts():
    a, _ = _episode(3)
    b, _ = _episode(3)
    assert [s["observation"] for s in a.steps] == [s["observation"] for s in b.steps]
    user_steps = [s for s in a.steps if s["observation"].startswith("user: ")]
    assert user_steps and all(s["user_acts"] for s in user_steps)


def _goal_values(task):
    return {(g.service, s, v) for g in task.goal for s, v in g.informed}


def test_users_say_every_value_they_inform_and_never_contradict_the_goal(dev):
    env = SGDEnv()
    for i, task in enumerate(dev.tasks[:40]):
        ep = play_episode(env, ScriptedAgent(), seed=i, task_id=task.task_id)
        allowed = _goal_values(task)
        accepted = {(g.service, s) for g in task.goal for s in g.accepted}
        for step in ep.steps:
            text = step["observation"].split("user: ", 1)[-1]
            for act in step["user_acts"] or []:
                if act["act"] == "INFORM" and act["values"]:
                    svc, slot, value = act["service"], act["slot"], act["values"][0]
                    assert realized(text, slot, value), (text, act)
                    assert value == "dontcare" or (svc, slot, value) in allowed or (svc, slot) in accepted, (task.task_id, act)


class _Fixed:
    """An agent that always says one thing (or cycles through a list)."""

    name = "fixed"

    def __init__(self, *messages):
        self.messages, self.i = messages, 0

    def reset(self, obs, info):
        self.i = 0

    def act(self, obs, info):
        self.i += 1
        return self.messages[(self.i - 1) % len(self.messages)]


@pytest.mark.parametrize("agent", [
    _Fixed("..."),                                           # an empty message (a blank action is an env error)
    _Fixed("asdkj qwpoe zzkx !!?"),                          # gibberish
    _Fixed("Bonjour, comment puis-je vous aider aujourd'hui ?"),  # another language
    _Fixed("lorem ipsum dolor sit amet " * 400),             # a wall of text
    _Fixed("OK."),                                           # never asks anything
    _Fixed("What city would you like?"),                     # the same question again and again
])
def test_user_stays_in_character_and_ends_the_dialogue(agent, dev):
    env = SGDEnv(max_turns=30)
    task = dev.task("11_00061")
    ep = play_episode(env, agent, seed=1, task_id=task.task_id)
    assert ep.terminated and not ep.truncated, ep.steps[-1]
    allowed = _goal_values(task)
    for step in ep.steps:
        for act in step["user_acts"] or []:
            if act["act"] == "INFORM" and act["values"] and act["values"][0] != "dontcare":
                assert (act["service"], act["slot"], act["values"][0]) in allowed


def test_persona_verbosity_volunteers_more(dev):
    def informs(persona):
        env = SGDEnv(persona=persona)
        n = 0
        for i, t in enumerate(dev.tasks[:20]):
            ep = play_episode(env, ScriptedAgent(), seed=i, task_id=t.task_id)
            n += sum(a["act"] == "INFORM" for s in ep.steps[:3] for a in (s["user_acts"] or []))
        return n
    assert informs(Persona(verbosity=1.0)) > informs(Persona())


def test_replay_user_stays_available():
    ep, env = _episode(0, user="replay")
    assert env.user.name == "replay" and ep.terminated


def test_eval_user_cli_prints_json_on_the_last_line():
    proc = subprocess.run([sys.executable, "-m", "agentgym.cli", "eval-user", "--max-dialogues", "15", "--agent-episodes", "5",
                           "--quiet", "--json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout.strip().splitlines()[-1])
    assert metrics["dialogues"] == 15 and 0 <= metrics["user_act_f1"] <= 1
    assert {"scripted_success_goal", "scripted_success_replay", "latency_ms_median", "distinct_2_ratio"} <= set(metrics)
