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
    r = m.call(reserve, {"restaurant_name": "Andes Cafe", "location": "San Mateo", "time": "7 pm", "date": "tomorrow"})
    assert r.ok and r.content["status"] == "success"
    row = r.content["result"]
    assert row["restaurant_name"] == "Andes Cafe" and row["time"] == "19:00" and row["date"] == "2019-03-02"


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
