import gzip
import json
import shutil

from agentgym.domains.sgd import corpus as sgd_module
from agentgym.domains.sgd import default_data_dir, load_sgd
from agentgym.domains.sgd.values import text_key


def test_embedded_sample_has_both_splits_and_many_services(dev, train):
    assert len(train.services) >= 10 and len(dev.services) >= 10
    assert len(train.tasks) > 100 and len(dev.tasks) > 100
    used = {s for t in dev.tasks for s in t.services}
    assert len(used) >= 10
    assert (default_data_dir() / "LICENSE.txt").exists()


def test_schema_fields(dev):
    svc = dev.services["Restaurants_2"]
    reserve = svc.intents["ReserveRestaurant"]
    assert reserve.is_transactional and "restaurant_name" in reserve.required_slots
    assert not svc.intents["FindRestaurants"].is_transactional
    assert reserve.result_slots


def test_goal_orders_informs_and_keeps_a_change_of_mind(dev):
    task = dev.task("11_00055")  # "a family counselor in St. Helena" ... "I changed my mind: a psychologist in Redwood City"
    find = next(g for g in task.goal if g.intent == "FindProvider")
    assert find.informed == [("city", "St. Helena"), ("type", "Family Counselor"), ("city", "Redwood City"), ("type", "Psychologist")]
    assert find.constraints == {"city": "Redwood City", "type": "Psychologist"}
    assert find.alternatives == 1 and find.requested == ["phone_number"]


def test_goal_never_leaks_values_the_system_offered(dev):
    offered_seen = 0
    for task in dev.tasks:
        for g in task.goal:
            informed_keys = {(s, text_key(v)) for s, v in g.informed}
            for exp in g.expected_calls:
                for slot, source in exp.sources.items():
                    if source == "offered":
                        offered_seen += 1
                        assert (slot, text_key(exp.args[slot])) not in informed_keys, (task.task_id, slot)
    assert offered_seen > 50  # the sample has plenty of accepted offers


def test_plain_json_and_gz_load_the_same(tmp_path, dev):
    src = dev.path
    plain = tmp_path / "sgd" / "dev"
    plain.mkdir(parents=True)
    shutil.copy(src / "schema.json", plain / "schema.json")
    for f in src.glob("dialogues_*.json.gz"):
        (plain / f.name[:-3]).write_bytes(gzip.decompress(f.read_bytes()))
    loaded = load_sgd(tmp_path / "sgd", "dev", use_cache=False)
    assert [t.task_id for t in loaded.tasks] == [t.task_id for t in dev.tasks]
    assert loaded.tables.rows.keys() == dev.tables.rows.keys()


def test_cache_is_written_and_reused(tmp_path, monkeypatch, dev):
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path / "cache"))
    sgd_module._MEMORY.clear()
    first = load_sgd(split="dev")
    files = list((tmp_path / "cache").glob("sgd-dev-*.pkl"))
    assert len(files) == 1
    sgd_module._MEMORY.clear()
    second = load_sgd(split="dev")
    assert second is not first
    assert [t.goal_dict() for t in second.tasks] == [t.goal_dict() for t in first.tasks]


def test_corrupt_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path))
    sgd_module._MEMORY.clear()
    load_sgd(split="dev")
    (cache,) = tmp_path.glob("sgd-dev-*.pkl")
    cache.write_bytes(b"not a pickle")
    sgd_module._MEMORY.clear()
    assert len(load_sgd(split="dev").tasks) > 0


def test_missing_split_says_what_exists(tmp_path):
    try:
        load_sgd(split="test")
    except FileNotFoundError as e:
        assert "dev" in str(e) and "train" in str(e)
    else:
        raise AssertionError("expected FileNotFoundError")


def test_raw_dialogues_are_available(dev):
    d = dev.dialogues[0]
    assert d["turns"][0]["speaker"] == "USER"
    json.dumps(d)
