"""tau2-bench's domains inside agentgym: registered envs, tau2's reward exactly (parity with tau2's
own evaluator on gold replays of every task and on hundreds of perturbed trajectories), fast
resets that restore the DB exactly, solo mode, the offline user, bad input."""
import json
import random
import re

import gymnasium as gym
import pytest

pytest.importorskip("tau2")

import agentgym  # noqa: E402,F401
from agentgym.domains.tau2.agents import NoopAgent, OracleAgent  # noqa: E402
from agentgym.domains.tau2.data import DOMAINS, seed_ids, tasks  # noqa: E402
from agentgym.runner import play_episode  # noqa: E402

SOLO = {"telecom": True, "mock": False, "airline": False, "retail": False}


class PlanAgent:
    """Plays a fixed list of actions, then [finish]."""

    name = "plan"

    def __init__(self, plan):
        self.plan = list(plan)

    def reset(self, observation, info):
        self.todo = list(self.plan)

    def act(self, observation, info):
        return self.todo.pop(0) if self.todo else "[finish]"


@pytest.fixture(scope="module")
def tau2_evaluator(request):
    """tau2's own evaluator, with telecom's new bill ids seeded as ours are (see domain.SeededUUID)."""
    from tau2.data_model.simulation import SimulationRun
    from tau2.environment.environment import Environment
    from tau2.evaluator.evaluator import EvaluationType, evaluate_simulation

    original = Environment.set_state

    def seeded(self, *a, **k):
        seed_ids(0)
        return original(self, *a, **k)

    Environment.set_state = seeded
    request.addfinalizer(lambda: setattr(Environment, "set_state", original))

    def evaluate(info, domain, solo):
        sim = SimulationRun.model_validate_json(info["simulation_run"])
        return evaluate_simulation(sim, info["task"], EvaluationType.ALL, solo_mode=solo, domain=domain)
    return evaluate


def _gold_plan(task, solo):
    crit = task.evaluation_criteria
    plan = [json.dumps({"name": a.name, "arguments": a.arguments}) for a in (crit.actions or [])]
    plan += [f"Please note: {c}." for c in (crit.communicate_info or [])] if not solo else []
    return plan


def _perturbations(plan, rng, task):
    """Dropped, swapped, wrong-argument and duplicated actions."""
    calls = [i for i, p in enumerate(plan) if p.startswith("{")]
    out = []
    if calls:
        i = rng.choice(calls)
        out.append([p for j, p in enumerate(plan) if j != i])  # dropped
        c = json.loads(plan[i])
        if c["arguments"]:
            k = rng.choice(sorted(c["arguments"]))
            v = c["arguments"][k]
            c["arguments"][k] = (v + "X") if isinstance(v, str) else (v + 1) if isinstance(v, (int, float)) and not isinstance(v, bool) else "X"
            out.append(plan[:i] + [json.dumps(c)] + plan[i + 1:])  # wrong argument
        out.append(plan[: i + 1] + [plan[i]] + plan[i + 1:])  # duplicated
    if len(calls) >= 2:
        i, j = rng.sample(calls, 2)
        swapped = list(plan)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        out.append(swapped)  # swapped
    return out


@pytest.mark.slow
@pytest.mark.parametrize("domain", DOMAINS)
def test_gold_replay_scores_one_and_equals_tau2s_evaluator_on_every_task(domain, tau2_evaluator):
    solo = SOLO[domain]
    env = gym.make(f"agentgym/tau2-{domain}-v0", solo_mode=solo) if solo else gym.make(f"agentgym/tau2-{domain}-v0")
    ids = [t.id for t in tasks(domain) if not solo or t.ticket is not None]
    for tid in ids:
        task = env.unwrapped.all_tasks[tid]
        ep = play_episode(env, PlanAgent(_gold_plan(task, solo)), seed=0, task_id=tid)
        ours = ep.reward_breakdown["total"]
        info = env.unwrapped._info([], "text", {})
        theirs = tau2_evaluator(info, domain, solo).reward
        assert ours == theirs, (domain, tid, ours, theirs, info["reward_info"])
        # a gold replay scores 1 (one mock task has env assertions but no gold actions to replay)
        assert ours == 1.0 or task.evaluation_criteria.actions is None, (domain, tid, info["reward_info"])


@pytest.mark.slow
def test_perturbed_trajectories_score_exactly_what_tau2s_evaluator_scores(tau2_evaluator):
    """Every telecom and mock task and the first 12 airline and retail tasks (tau2's evaluator takes
    ~1 s per airline episode), each dropped, swapped, wrong-argument and duplicated."""
    rng = random.Random(0)
    compared, broken, tau2_raised = 0, 0, 0
    for domain in DOMAINS:
        solo = SOLO[domain]
        env = gym.make(f"agentgym/tau2-{domain}-v0", solo_mode=solo) if solo else gym.make(f"agentgym/tau2-{domain}-v0")
        chosen = [t for t in tasks(domain) if not solo or t.ticket is not None]
        for task in chosen[:12] if domain in ("airline", "retail") else chosen:
            for plan in _perturbations(_gold_plan(task, solo), rng, task):
                ep = play_episode(env, PlanAgent(plan), seed=0, task_id=task.id)
                info = env.unwrapped._info([], "text", {})
                try:
                    theirs = tau2_evaluator(info, domain, solo).reward
                except Exception:  # tau2 raises when an env assertion cannot run; we score it not met
                    tau2_raised += 1
                    assert ep.reward_breakdown["total"] == 0.0
                    continue
                assert ep.reward_breakdown["total"] == theirs, (domain, task.id, plan, info["reward_info"])
                compared += 1
                broken += theirs < 1.0
    assert compared >= 200 and broken >= 100, (compared, broken, tau2_raised)  # the perturbations really break episodes


def test_registered_ids_pass_check_env_and_take_tau2s_kwargs():
    from gymnasium.utils.env_checker import check_env

    for domain in DOMAINS:
        env = gym.make(f"agentgym/tau2-{domain}-v0")
        check_env(env.unwrapped, skip_render_check=True)
    env = gym.make("agentgym/tau2-v0", domain="telecom", task_id=tasks("telecom")[0].id, solo_mode=True, max_steps=7,
                   all_messages_as_observation=True)
    obs, info = env.reset(seed=0)
    assert obs.startswith("environment: ticket:") and info["task_id"] == tasks("telecom")[0].id
    assert {"tools", "policy", "task", "simulation_run", "reward_info"} <= set(info)
    names = {t["function"]["name"] for t in info["tools"]}
    assert "done" in names and "toggle_airplane_mode" in names  # solo mode: both toolsets and the stop tool
    obs, *_ = env.step("[search] airplane")
    assert "toggle_airplane_mode" in obs and obs.count("\n") >= 2  # all messages so far
    *_, term, trunc, info = env.step('{"name": "done", "arguments": {}}')
    assert term and info["termination"] == "agent_stop" and json.loads(info["simulation_run"])["termination_reason"] == "agent_stop"


def test_same_seed_same_actions_same_episode_and_resets_restore_the_db_exactly():
    env = gym.make("agentgym/tau2-airline-v0").unwrapped
    pristine = env.world.env.get_db_hash()
    plan = ["What is your user id?", '{"name": "cancel_reservation", "arguments": {"reservation_id": "EHGLP3"}}',
            '{"name": "get_reservation_details", "arguments": {"reservation_id": "EHGLP3"}}', "[finish]"]

    def run():
        obs, info = env.reset(seed=3, options={"task_id": "0"})
        out = [obs]
        for a in plan:
            obs, r, term, trunc, info = env.step(a)
            out.append((obs, r, term, trunc, json.dumps(info["reward_breakdown"])))
        return out
    first = run()
    assert '"status": "cancelled"' in first[3][0]  # the write happened
    assert run() == first
    env.reset(seed=0, options={"task_id": "1"})
    assert env.world.env.get_db_hash() == pristine  # tau2's own whole-DB hash: restored exactly
    for domain in ("retail", "telecom", "mock"):  # every gold replay, then back to pristine
        e = gym.make(f"agentgym/tau2-{domain}-v0").unwrapped
        before = (e.world.env.get_db_hash(), e.world.env.get_user_db_hash())
        for t in tasks(domain):
            e.reset(seed=0, options={"task_id": t.id})
        for s in e.world.states.values():
            s.restore()
        assert (e.world.env.get_db_hash(), e.world.env.get_user_db_hash()) == before, domain


def test_bad_input_is_explained_and_the_episode_goes_on():
    with pytest.raises(ValueError, match="available: airline, retail, telecom, mock"):
        gym.make("agentgym/tau2-v0", domain="banking")
    with pytest.raises(KeyError, match="No task 'nope' in tau2 airline"):
        gym.make("agentgym/tau2-airline-v0", task_id="nope")
    with pytest.raises(ValueError, match="no solo mode"):
        gym.make("agentgym/tau2-airline-v0", solo_mode=True)
    with pytest.raises(ValueError, match="max_steps"):
        gym.make("agentgym/tau2-airline-v0", max_steps=0)
    with pytest.raises(ValueError, match="task_ids must be a non-empty list"):
        gym.make("agentgym/tau2-airline-v0", task_ids=[])
    env = gym.make("agentgym/tau2-airline-v0")
    env.reset(seed=0, options={"task_id": "0"})
    obs, r, term, trunc, info = env.step("[answer] I will help you")
    assert obs.startswith("environment: error:") and "[search]" in obs and "[finish]" in obs and not term
    obs, *_ = env.step('{"name": "get_reservation_details", "arguments": {"reservation_id": "NOPE"}}')
    assert obs.startswith("tool: Error:")  # tau2's exception, as tau2 shows it
    obs, *_ = env.step('{"name": "book_a_rocket", "arguments": {}}')
    assert obs.startswith("tool: Error: Tool 'book_a_rocket' not found")
    obs, *_ = env.step('{"name": "get_user_details", "arguments": "not an object"}')
    assert obs.startswith("environment: error:") or obs.startswith("tool: Error:")
    obs, r, term, trunc, info = env.step("What is your user id?")
    assert obs.startswith("user:") and not term


def test_offline_user_answers_from_known_info_never_unknown_info_and_stops():
    from agentgym.domains.tau2.user import STOP, OfflineTau2User

    withheld = answered = 0
    for domain in ("airline", "retail"):
        for task in tasks(domain)[:40]:
            ins = task.user_scenario.instructions
            user = OfflineTau2User()
            said = [user.reset(task).text]
            for q in ("What is your user id?", "What is your name and zip code?", "What is your email?",
                      "Can you tell me your order id?", "Do you want me to proceed?", "Anything else I can help with?"):
                turn = user.respond(q)
                said.append(turn.text)
            assert turn.done and STOP in said[-1]
            unknown = getattr(ins, "unknown_info", None)
            if unknown:
                withheld += 1
                for line in unknown.split("\n"):
                    ids = [w for w in line.split() if any(ch.isdigit() for ch in w) and len(w) > 4]
                    for ident in ids:
                        assert all(ident not in s for s in said), (task.id, ident)
            known = getattr(ins, "known_info", "") or ""
            m = re.search(r"user id is (\w+)", known)
            if m:
                answered += 1
                assert m.group(1) in said[1], (task.id, said[1])  # asked for it, told it
    assert withheld >= 20 and answered >= 30


def test_oracle_succeeds_and_noop_matches_tau2s_refusal_tasks_against_the_offline_user():
    def rate(domain, agent, solo=False):
        env = gym.make(f"agentgym/tau2-{domain}-v0", solo_mode=solo)
        ids = [t.id for t in tasks(domain)]
        return sum(play_episode(env, agent, seed=0, task_id=t).reward_breakdown["total"] >= 1 for t in ids), len(ids)
    assert rate("airline", NoopAgent()) == (19, 50)
    assert rate("retail", NoopAgent()) == (7, 114)
    wins, n = rate("airline", OracleAgent())
    assert wins == n
    wins, n = rate("telecom", OracleAgent())
    assert wins >= 0.75 * n  # dual control: the offline user does what the agent asks on its phone


def test_workbench_store_and_sft_work_on_an_airline_episode(tmp_path):
    """Step an airline task by hand, rate a step, browse it, and get it back as SFT data."""
    from agentgym.store import ExperienceStore, sft_examples
    from agentgym.workbench import StepSession, episode_turns, find_episodes

    with ExperienceStore(tmp_path / "store", create=True) as store:
        s = StepSession(store=store, env_id="agentgym/tau2-airline-v0", rater="ann")
        view = s.start(task_id="0", seed=1)
        assert view["chat"][0]["role"] == "user" and "EHGLP3" in view["chat"][0]["text"]
        assert any(f["name"] == "get_reservation_details" for f in view["tools"])  # forms from tau2's schemas
        s.send("[action] Could you give me your user id?")
        view = s.call_tool("get_reservation_details", {"reservation_id": "EHGLP3"})
        assert view["chat"][-1]["role"] == "tool" and "emma_kim_9957" in view["chat"][-1]["text"]
        s.rate(1, step_idx=1, tags=["great"])
        view = s.send("[finish]")
        assert view["done"] and view["reward"]["total"] == 1.0 and view["reward"]["db"] == 1.0
        eps = find_episodes(store, task_id="0")
        assert len(eps) == 1 and eps.iloc[0]["success"]
        turns = episode_turns(store, eps.iloc[0]["id"])
        assert turns[1]["ratings"] and turns[2]["action"].startswith('{"name": "get_reservation_details"')
        examples = sft_examples(store)
        assert len(examples) == 1 and examples[0]["tools"] and any(m["role"] == "tool" for m in examples[0]["messages"])


def test_llm_user_speaks_through_litellm_and_its_stop_token_ends_the_episode(tmp_path):
    """tau2's LLM user on an OpenAI-compatible server (a fake one on loopback: the edge we cannot reach)."""
    pytest.importorskip("litellm")
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    from fake_llm_server import FakeLLMServer

    with FakeLLMServer(["ok:Hi, I want to cancel reservation EHGLP3.", "ok:Thanks, that's all. ###STOP###"]) as srv:
        env = gym.make("agentgym/tau2-airline-v0", user="llm", user_llm="openai/fake",
                       user_llm_args={"api_base": srv.api_base, "api_key": "x", "cache": tmp_path / "c.sqlite"})
        obs, info = env.reset(seed=0, options={"task_id": "0"})
        assert obs == "user: Hi, I want to cancel reservation EHGLP3."
        obs, r, term, trunc, info = env.step("I cannot cancel it, sorry.")
        assert term and info["termination"] == "user_stop" and "###STOP###" in obs
        assert srv.requests and "<scenario>" in srv.requests[0]["messages"][0]["content"]


def test_llm_user_acts_on_its_phone_with_tool_calls_in_telecom(tmp_path):
    """Dual control with the LLM user: its tool calls run on the user's DB and are recorded as tau2 records them."""
    pytest.importorskip("litellm")
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    from fake_llm_server import FakeLLMServer
    from tau2.data_model.message import UserMessage

    task = tasks("telecom")[0]
    script = ["ok:My mobile data does not work.", "tool:toggle_airplane_mode:{}", "ok:Done, airplane mode toggled. ###STOP###"]
    with FakeLLMServer(script) as srv:
        env = gym.make("agentgym/tau2-telecom-v0", user="llm", user_llm="openai/fake",
                       user_llm_args={"api_base": srv.api_base, "api_key": "x", "cache": False})
        env.reset(seed=0, options={"task_id": task.id})
        before = env.unwrapped.world.env.get_user_db_hash()
        obs, r, term, trunc, info = env.step("Please toggle airplane mode on your phone.")
        assert term and info["termination"] == "user_stop" and obs.startswith("user: Done")
        assert env.unwrapped.world.env.get_user_db_hash() != before  # the phone changed
        calls = [m for m in env.unwrapped.trajectory if isinstance(m, UserMessage) and m.tool_calls]
        assert [c.tool_calls[0].name for c in calls] == ["toggle_airplane_mode"] and calls[0].tool_calls[0].requestor == "user"
        assert any(t["function"]["name"] == "toggle_airplane_mode" for t in srv.requests[1]["tools"])  # offered as tools
