"""The widgets' logic without a browser: construct, click (set the command trait or call handle),
and check the view state and the experience store."""
import json

import pytest

pytest.importorskip("anywidget")

from agentgym.store import ExperienceStore  # noqa: E402
from agentgym.widgets import JudgeInspector, Stepper, TrajectoryBrowser, show_dashboard  # noqa: E402
from agentgym.workbench import StepSession  # noqa: E402


@pytest.fixture()
def store(tmp_path):
    with ExperienceStore(tmp_path / "store", create=True) as s:
        yield s


def test_stepper_send_rate_saved_immediately(store):
    w = Stepper(store, seed=3, reveal_goal=True)
    assert w.state["task_id"] and w.state["chat"][0]["role"] == "user" and w.state["goal_lines"]
    w.command = {"cmd": "send", "text": "Hello, which city?", "nonce": "a"}  # what the front end does
    assert w.state["chat"][1] == {**w.state["chat"][1], "role": "agent", "text": "Hello, which city?"}
    assert w.state["turn"] == 1 and "total" in w.state["reward"]
    w.command = {"cmd": "rate", "value": 1, "step_idx": 1, "tags": ["great"], "comment": "ok", "nonce": "b"}
    assert w.state["ratings"]["1"]["saved"] is True
    r = store.ratings()  # in the store already, before anything else happens
    assert len(r) == 1 and r.iloc[0]["step_idx"] == 1 and r.iloc[0]["tags"] == ["great"]
    w.command = {"cmd": "rate", "value": 1, "step_idx": 1, "tags": ["great"], "comment": "ok", "nonce": "c"}
    assert len(store.ratings()) == 2  # the same click twice is two ratings (nonce), not a lost one


def test_tool_form_from_schema_and_call(store):
    w = Stepper(store, seed=1)
    form = w.state["tools"][0]
    params = form["parameters"]
    assert params["type"] == "object" and params["required"] and "$defs" not in json.dumps(params)
    categorical = [k for t in w.state["tools"] for k, p in t["parameters"]["properties"].items() if p.get("enum")]
    assert categorical, "categorical slots carry their choices (the form's dropdowns)"
    args = {k: (params["properties"][k].get("enum") or ["x"])[0] for k in params["required"]}
    w.handle({"cmd": "call_tool", "name": form["name"], "arguments": {**args, "unused_optional": ""}})
    sent = json.loads(w.state["chat"][1]["text"])
    assert sent == {"name": form["name"], "arguments": args}
    assert any(m["role"] == "tool" for m in w.state["chat"])


def test_a_tool_call_is_checked_against_its_schema_before_anything_is_played(store):
    w = Stepper(store, seed=1)
    form = w.state["tools"][0]
    required = form["parameters"]["required"]
    chat = w.state["chat"]
    w.handle({"cmd": "call_tool", "name": form["name"], "arguments": {}})
    assert w.state["error"].startswith(f"ValueError: {form['name']} not called: ")
    assert all(f"{k} is required" in w.state["error"] for k in required)
    assert w.state["chat"] == chat and len(store.steps(w.session.episode_id)) == 1  # nothing played or stored
    w.handle({"cmd": "call_tool", "name": "no_such_tool", "arguments": {}})
    assert "No tool 'no_such_tool'" in w.state["error"] and form["name"] in w.state["error"]


def test_argument_problems_name_each_wrong_part_of_a_nested_call():
    from agentgym.types import argument_problems, inline_refs

    schema = {"type": "object", "required": ["flights", "total_baggages", "cabin"],
              "properties": {"flights": {"type": "array", "items": {"$ref": "#/$defs/Flight"}},
                             "total_baggages": {"type": "integer"}, "cabin": {"type": "string", "enum": ["economy", "business"]},
                             "insurance": {"anyOf": [{"type": "boolean"}, {"type": "null"}]}},
              "$defs": {"Flight": {"type": "object", "required": ["flight_number", "date"],
                                   "properties": {"flight_number": {"type": "string"}, "date": {"type": "string"}}}}}
    assert "$ref" not in json.dumps(inline_refs(schema)) and "$defs" not in json.dumps(inline_refs(schema))
    good = {"flights": [{"flight_number": "HAT001", "date": "2024-05-20"}], "total_baggages": 1, "cabin": "economy", "insurance": None}
    assert argument_problems(schema, good) == []
    bad = {"flights": [{"flight_number": "HAT001"}, "HAT002"], "total_baggages": "2", "cabin": "first", "insurance": "yes"}
    assert argument_problems(schema, bad) == [
        "flights[0].date is required", "flights[1] must be an object, got \"HAT002\"",
        "total_baggages must be a whole number, got \"2\"", "cabin must be one of \"economy\", \"business\", got \"first\"",
        "insurance must be true or false, got \"yes\""]
    assert argument_problems(schema, {"total_baggages": True, "flights": [], "cabin": "economy"}) == [
        "total_baggages must be a whole number, got true"]  # a bool is not an integer here


def test_a_tag_toggled_after_rating_is_saved_with_that_rating(store):
    w = Stepper(store, seed=3)
    w.handle({"cmd": "send", "text": "Hello, which city?"})
    w.handle({"cmd": "retag", "step_idx": 1, "tags": ["great"]})
    assert "Nothing rated on step 1 yet" in w.state["error"] and store.ratings().empty
    w.handle({"cmd": "rate", "value": 1, "step_idx": 1, "tags": [], "comment": ""})
    w.handle({"cmd": "retag", "step_idx": 1, "tags": ["great", "rude"], "comment": "mixed"})
    assert not w.state["error"] and w.state["ratings"]["1"]["tags"] == ["great", "rude"]
    r = store.ratings()
    assert len(r) == 1 and r.iloc[0]["tags"] == ["great", "rude"] and r.iloc[0]["comment"] == "mixed" and r.iloc[0]["value"] == 1


def test_an_unfinished_episode_shows_its_stored_steps_in_the_browser(store):
    w = Stepper(store, seed=3)
    w.handle({"cmd": "send", "text": "Hello, which city?"})
    w.handle({"cmd": "send", "text": "And which date?"})
    row = next(e for e in TrajectoryBrowser(store).state["episodes"] if e["id"] == w.session.episode_id)
    assert row["status"] == "running" and row["n_steps"] == len(store.steps(w.session.episode_id)) == 3


def test_chat_bubbles_carry_the_role_once(store):
    w = Stepper(store, seed=3)
    w.handle({"cmd": "send", "text": "Hello, which city?"})
    w.handle({"cmd": "send", "text": "[finish]"})
    chat = w.state["chat"]
    assert {m["role"] for m in chat} >= {"user", "agent", "environment"}
    for m in chat:  # the label is the role; the text never starts with it again ("user: user: ...")
        assert not m["text"].startswith(("user:", "tool:", "environment:")), m


def test_undo_and_restart_are_deterministic(store):
    w = Stepper(store, seed=5)
    first = w.state["chat"]
    w.handle({"cmd": "send", "text": "Which date?"})
    after_one = w.state["chat"]
    w.handle({"cmd": "send", "text": "And the time?"})
    w.handle({"cmd": "undo"})
    assert w.state["chat"] == after_one
    w.handle({"cmd": "restart"})
    assert w.state["chat"] == first and not w.state["can_undo"]
    statuses = store.episodes()["status"].tolist()
    assert statuses.count("abandoned") >= 2 and len(statuses) == 3  # nothing undone is lost


def test_errors_are_shown_not_swallowed(store):
    w = Stepper(store, seed=0)
    w.handle({"cmd": "rate", "value": 9})
    assert "between 0 and 1" in w.state["error"] and w.errors
    w.handle({"cmd": "start", "task_id": "no-such-task"})
    assert "No task 'no-such-task'" in w.state["error"]
    w.handle({"cmd": "explode"})
    assert "Unknown command" in w.state["error"]
    w.handle({"cmd": "send", "text": "back to work"})
    assert w.state["error"] == ""


def test_scripts_get_the_same_session_api(store):
    s = StepSession(store, rating=__import__("agentgym.workbench", fromlist=["RatingScale"]).RatingScale("1-5"))
    s.start("1_00000" if "1_00000" in s.task_ids else s.task_ids[0], seed=0)
    s.send("[finish]")
    assert s.done
    with pytest.raises(RuntimeError, match="episode is over"):
        s.send("hello?")
    s.rate(4)
    with pytest.raises(ValueError, match="not an agent step"):
        s.rate(4, step_idx=0)
    assert store.ratings().iloc[0]["scale"] == "1-5"


def test_browser_filters_opens_and_replays(store):
    w = Stepper(store, seed=2)
    w.handle({"cmd": "send", "text": "Hi"})
    w.handle({"cmd": "rate", "value": 0, "step_idx": 1})
    w.handle({"cmd": "send", "text": "[finish]"})
    b = TrajectoryBrowser(store)
    assert len(b.state["episodes"]) == 1 and b.state["episodes"][0]["ratings"] == 1
    b.handle({"cmd": "filter", "rated": "no"})
    assert b.state["episodes"] == []
    b.handle({"cmd": "filter", "rated": "yes", "min_reward": ""})
    b.handle({"cmd": "open", "episode_id": b.state["episodes"][0]["id"]})
    turns = b.state["turns"]
    assert [t["action"] for t in turns] == [None, "Hi", "[finish]"] and turns[1]["ratings"][0]["value"] == 0


def test_inspector_shows_verdict_next_to_ratings(store):
    w = Stepper(store, seed=4)
    w.handle({"cmd": "send", "text": "<script>alert(1)</script>"})
    eid = w.session.episode_id
    store.add_verdict(eid, "judge-x", 0.25, step_idx=1, criteria={"grounded": 0.5}, reasoning="vague", prompt="PROMPT")
    w.handle({"cmd": "rate", "value": 0, "step_idx": 1})
    i = JudgeInspector(store, eid, 1)
    assert i.state["verdicts"][0]["score"] == 0.25 and i.state["verdicts"][0]["prompt"] == "PROMPT"
    assert i.state["human_mean"] == 0.0
    assert w.state["chat"][1]["text"] == "<script>alert(1)</script>"  # raw in state; the front end uses textContent


def test_front_end_never_uses_inner_html():
    from agentgym.widgets.views import _asset

    js = _asset("workbench.js").read_text()
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "textContent" in js


def test_dashboard_figures_from_store(store):
    assert all(f.layout.title.text for f in show_dashboard(store).values())  # empty store: titled, no exception
    w = Stepper(store, seed=6)
    w.handle({"cmd": "send", "text": "[finish]"})
    store.add_verdict(w.session.episode_id, "j", 0.7)
    w.handle({"cmd": "rate", "value": 1})
    figs = show_dashboard(store)
    assert set(figs) == {"by_version", "rewards", "human_vs_judge", "cost"}
    assert len(figs["human_vs_judge"].data[0].x) == 1


def test_browser_bad_filter_is_explained(store):
    b = TrajectoryBrowser(store)
    b.handle({"cmd": "filter", "min_reward": "high"})
    assert "min_reward must be a number" in b.state["error"]


def test_the_stepper_shows_the_judges_verdict_live(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from fake_llm_server import FakeLLMServer

    from agentgym.llm.client import LLM
    from agentgym.llm.judge import LLMJudge
    from agentgym.workbench import StepSession

    reply = '{"helpfulness": 1, "correctness": 1, "policy": 0, "tone": 1, "reasoning": "Greets, asks nothing yet."}'
    with FakeLLMServer([f"ok:{reply}"]) as srv:
        judge = LLMJudge(LLM("openai/fake", api_base=srv.api_base, api_key="x", cache=False, max_retries=0))
        s = StepSession(tmp_path / "store", env_kwargs={"judge": judge, "judge_mode": "step"})
        s.start(seed=0)
        view = s.send("Hello! How can I help?")
    agent = [m for m in view["chat"] if m["role"] == "agent"][-1]
    assert view["judge"]["configured"] and agent["verdict"]["score"] == 0.75
    assert agent["verdict"]["reasoning"] == "Greets, asks nothing yet."


@pytest.mark.parametrize("missing,code,message", [
    ("anywidget", "import agentgym.widgets", "agentgym's notebook widgets: anywidget is not installed; pip install 'agentgym-workbench[widgets]'"),
    ("plotly", "from agentgym.workbench import dashboard_figures; dashboard_figures(None)",
     "The dashboard: plotly is not installed; pip install 'agentgym-workbench[widgets]'"),
])
def test_a_missing_optional_package_names_the_install(missing, code, message):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", f"import sys; sys.modules[{missing!r}] = None\n{code}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr[-1500:]
