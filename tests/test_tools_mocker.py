import json

import pytest

from agentgym.domains.sgd.mocker import ToolMocker
from agentgym.domains.sgd.tools import tools_for


@pytest.fixture(scope="module")
def tools(dev):
    return tools_for(dev, sorted(dev.services))


def test_every_intent_is_a_uniquely_named_tool_with_a_schema(dev, tools):
    n_intents = sum(len(s.intents) for s in dev.services.values())
    assert len(tools) == n_intents
    # two services share FindRestaurants, yet names stay unique
    assert "Restaurants_1_FindRestaurants" in tools or "Restaurants_2_FindRestaurants" in tools
    for t in tools.values():
        fn = t.schema["function"]
        assert fn["name"] == t.name and fn["parameters"]["type"] == "object"
        assert set(fn["parameters"]["required"]) <= set(fn["parameters"]["properties"])
        json.dumps(t.schema)


def test_categorical_slots_become_enums(tools):
    props = tools["Restaurants_2_FindRestaurants"].schema["function"]["parameters"]["properties"]
    assert "enum" in props["price_range"]


def test_errors_name_the_problem(dev, tools):
    m = ToolMocker(dev, seed=1)
    find = tools["Restaurants_2_FindRestaurants"]
    r = m.call(find, {})
    assert not r.ok and "missing required argument" in r.error and "location" in r.error
    r = m.call(find, {"location": "San Jose", "category": "Italian", "colour": "red"})
    assert not r.ok and "unknown argument" in r.error and "colour" in r.error
    r = m.call(find, {"location": ["San Jose"], "category": "Italian"})
    assert not r.ok and "got list" in r.error
    r = m.call(find, {"location": "San Jose", "category": "Italian", "price_range": "free"})
    assert not r.ok and "allowed" in r.error and "moderate" in r.error.lower()
    r = m.call(find, "location=San Jose")
    assert not r.ok and "must be an object" in r.error


def test_search_filters_on_normalized_arguments(dev, tools):
    m = ToolMocker(dev, seed=1)
    find = tools["Restaurants_2_FindRestaurants"]
    a = m.call(find, {"location": "san jose", "category": "italian"})
    b = m.call(find, {"location": "  San   Jose ", "category": "Italian"})
    # same rows; a value never recorded keeps the caller's spelling
    assert a.ok and json.dumps(a.content).lower() == json.dumps(b.content).lower()
    assert all(row["category"] == "Italian" for row in a.content["results"])  # recorded spelling wins
    for row in a.content["results"]:
        assert row["location"].lower() == "san jose" and row["category"].lower() == "italian"


def test_unseen_combination_still_answers_consistently(dev, tools):
    m = ToolMocker(dev, seed=1)
    find = tools["Restaurants_2_FindRestaurants"]
    r = m.call(find, {"location": "Atlantis", "category": "Italian"})
    assert r.ok and r.content["results"]
    assert all(row["location"] == "Atlantis" for row in r.content["results"])
    assert m.call(find, {"location": "Atlantis", "category": "Italian"}).content == r.content


def test_transaction_echoes_arguments(dev, tools):
    m = ToolMocker(dev, seed=1)
    reserve = tools["Restaurants_2_ReserveRestaurant"]
    known = next(r for r in dev.tables.rows[("Restaurants_2", "FindRestaurants")] if "restaurant_name" in r)
    name = known["restaurant_name"]  # a restaurant the world has (an unknown one is refused: the test below)
    r = m.call(reserve, {"restaurant_name": name, "location": known.get("location", "San Mateo"), "time": "7 pm", "date": "tomorrow"})
    assert r.ok and r.content["status"] == "success", r.content
    row = r.content["result"]
    assert row["restaurant_name"] == name and row["time"] == "19:00" and row["date"] == "2019-03-02"


def test_recorded_failures_fail_the_same_way(dev, tools):
    (service, intent, key), alts = next(iter(dev.tables.failures.items()))
    tool = tools[f"{service}_{intent}"]
    m = ToolMocker(dev, seed=3)
    r = m.call(tool, dict(key))
    assert r.ok and r.content["status"] == "failure" and r.content["alternatives"] == alts


def test_seed_controls_the_order_and_is_deterministic(dev, tools):
    find = tools["Restaurants_2_FindRestaurants"]
    args = {"location": "San Jose", "category": "Italian"}
    assert ToolMocker(dev, seed=5).call(find, args).content == ToolMocker(dev, seed=5).call(find, args).content


def _variants(name: str) -> dict[str, str]:
    """Names no service has, made from one it has: the issue's embellished therapist, a typo, an invention."""
    swapped = name[:1] + name[2:3] + name[1:2] + name[3:] if len(name) > 3 else name + "x"
    return {"embellished": f"{name} Wellness Center", "misspelled": swapped, "invented": "Zorblax Quintero"}


def test_a_transaction_on_an_entity_the_world_does_not_have_is_refused_naming_it(dev, tools):
    """Every transactional intent of the embedded dev corpus, every identifying argument (a name a search of the
    service returns): a known entity books; embellished, misspelled and invented ones are refused, naming the
    value and the search to use, and nothing is written (no success result)."""
    m = ToolMocker(dev, seed=0)
    checked = 0
    for tool in tools.values():
        for slot in m.identifying(tool):
            rows = dev.tables.rows.get((tool.service, tool.intent.name)) or []
            row = next((r for r in rows if slot in r and all(a in r for a in tool.intent.required_slots)), None)
            if row is None:
                continue
            args = {a: row[a] for a in tool.intent.required_slots}
            ok = m.call(tool, {**args, slot: row[slot]})
            assert ok.ok and ok.content["status"] in ("success", "failure"), (tool.name, ok.content)
            for kind, bad in _variants(row[slot]).items():
                if dev.key(tool.service, slot, bad) in m.known_entities(tool.service, slot):
                    continue  # the typo happens to be another real entity
                r = m.call(tool, {**args, slot: bad})
                assert not r.ok and r.content["status"] == "error" and repr(bad) in r.error, (tool.name, kind, r.content)
                assert "Search first" in r.error
                checked += 1
    assert checked >= 3 * 5, checked  # most transactional services have a name to check


def test_an_embellished_name_booked_before_the_right_one_is_refused_and_counts_against_the_agent():
    """The issue's hole: booking a therapist whose name an extra word embellishes went through (the mocker relabelled
    the closest row) and the episode still scored success with exact_writes 1.0 after the right booking. Now it is
    refused, writes nothing (as a failed call leaves tau2's DB untouched) and costs the agent a valid call."""
    import gymnasium as gym

    import agentgym  # noqa: F401
    from agentgym.domains.sgd.agents import ScriptedAgent

    env = gym.make("agentgym/SGD-v0")
    base = env.unwrapped
    for task_id in base.task_ids:
        obs, info = env.reset(seed=0, options={"task_id": task_id})
        agent = ScriptedAgent()
        agent.reset(obs, info)
        actions = []
        done = False
        while not done:
            a = agent.act(obs, info)
            actions.append(a)
            obs, _, term, trunc, info = env.step(a)
            done = term or trunc
        writes = [a for a in actions if isinstance(a, dict) and base.mocker.identifying(base.tools[a["name"]])]
        if info["reward_breakdown"]["success"] >= 1.0 and writes:
            break
    else:
        pytest.skip("no successful episode with a named booking in the sample")
    write = writes[0]
    slot = base.mocker.identifying(base.tools[write["name"]])[0]
    bad = {**write, "arguments": {**write["arguments"], slot: write["arguments"][slot] + " Wellness Center"}}
    obs, info = env.reset(seed=0, options={"task_id": task_id})
    at = actions.index(write)
    for a in actions[:at]:
        env.step(a)
    obs, _, _, _, info = env.step(bad)  # refused: the world has no such entity, and nothing is written
    [result] = info["tool_results"]
    assert result["ok"] is False and result["status"] == "error", result
    assert "has no" in result["error"] and repr(bad["arguments"][slot]) in result["error"], result
    for a in actions[at:]:
        obs, _, term, trunc, info = env.step(a)
        if term or trunc:
            break
    assert info["reward_breakdown"]["valid_tool_calls"] < 1.0  # the refused call counts against the agent
