"""The simulated user read as text: one source of value meaning, the realism audit, the wording check."""
import json

import pytest

from agentgym.domains.sgd import load_sgd
from agentgym.domains.sgd.reward import told
from agentgym.domains.sgd.schema import domain
from agentgym.domains.sgd.users import load_user_model
from agentgym.domains.sgd.users.audit import audit_user
from agentgym.domains.sgd.users.nlg import TemplateNLG
from agentgym.domains.sgd.users.optimize import fidelity, real_turns
from agentgym.domains.sgd.users.realism import REALISM_RATES, degenerate, slot_leaks
from agentgym.domains.sgd.users.textchecks import corrupted, form_like, leans_on_context, tidy
from agentgym.domains.sgd.users.wording import check_wording
from agentgym.domains.sgd.values import canonical, say_value, surface_forms


@pytest.fixture(scope="module")
def model():
    return load_user_model()


@pytest.fixture(scope="module")
def dev():
    return load_sgd(split="dev")


def test_what_the_user_says_reads_back_to_the_same_value_and_the_reward_credits_every_form():
    for kind, value in [("time", "18:30"), ("time", "09:00"), ("date", "2019-03-02"), ("date", "2019-03-11")]:
        spoken = say_value(value)
        assert spoken.lower() in surface_forms(value)
        assert canonical(kind, spoken) == value
        for form in surface_forms(value):
            assert told(kind, "slot", value, f"it is {form}, see you")
    assert told("date", "date", "2019-03-02", "booked for tomorrow")  # the user understood it; now the reward does too


def test_the_audit_reads_text_with_a_human_baseline_for_every_rate(model, dev):
    m = audit_user(model, dev, max_dialogues=60)
    for rate in REALISM_RATES:
        assert 0.0 <= m[f"{rate}_sim"] <= 1.0 and 0.0 <= m[f"{rate}_human"] <= 1.0
    for rate in ("opening_context_rate", "corrupted_rate", "form_like_rate"):  # within a point of the humans
        assert m[f"{rate}_sim"] <= m[f"{rate}_human"] + 0.01, (rate, m[f"{rate}_sim"], m[f"{rate}_human"])
    assert m["off_domain_rate_sim"] <= m["off_domain_rate_human"] + 0.005
    assert m["slot_name_leak_rate_sim"] <= 0.01
    assert sum(m["length_hist"]["sim"]) == sum(m["length_hist"]["human"]) == m["user_turns"]
    json.dumps(m)


def test_wording_without_the_domain_filter_goes_off_topic_and_the_audit_sees_it(model, dev):
    import copy

    blind = copy.deepcopy(model)
    blind.nlg.domains, blind.nlg.services_of = {}, {}  # every template usable anywhere: the simulator before these checks
    blind.nlg.forget()
    on, off = audit_user(model, dev, max_dialogues=60), audit_user(blind, dev, max_dialogues=60)
    assert off["off_domain_rate_sim"] > on["off_domain_rate_sim"]


def test_a_task_is_worded_with_its_own_domain_or_neutral_sentences(model):
    import random

    nlg = model.nlg
    rng = random.Random(0)
    for _ in range(50):
        text = nlg.realize([("Restaurants_1", "AFFIRM_INTENT", "", ())], rng)
        claimed = {d for t, ds in nlg.domains.items() if t == text for d in ds}
        assert not claimed or "Restaurants" in claimed or text in nlg.neutral


def test_slot_names_are_leaks_only_where_people_never_write_them(model, dev):
    model.nlg.add_services(dev.services)  # what the env does for the services it plays (not only those fitted on)
    natural = model.nlg.natural
    veg = ["has_vegetarian_options"]
    assert slot_leaks("What's the has vegetarian options?", veg, natural, veg) == veg
    assert slot_leaks("Does it have vegetarian options?", veg, natural, veg) == []
    assert slot_leaks("Set phone_number to 5", ["phone_number"], natural) == ["phone_number"]
    assert slot_leaks("What is the phone number?", ["phone_number"], natural) == []
    assert "has vegetarian options" not in model.nlg.slot_words["has_vegetarian_options"]


def test_the_wording_check_catches_what_small_models_write(model, dev):
    task = next(t for t in dev.tasks if any(domain(s) == "Hotels" for s in t.services))
    svc = next(s for s in task.services if domain(s) == "Hotels")
    city = next((v for g in task.goal for s, v in g.informed if "city" in s or "location" in s), "San Diego")
    acts = [(svc, "INFORM", "location", (city,))]
    persona = "You are friendly and professional and always polite."
    assert check_wording(f"I'm heading to {city}.", acts, task, prompt=persona) == []
    assert "echoes the prompt" in check_wording(f"Acts: I'm heading to {city}.", acts, task)
    assert "echoes the prompt" in check_wording(f"You are friendly and professional and always polite, {city}.", acts, task,
                                                prompt=persona)
    assert any(p.startswith("invents") for p in check_wording(f"{city}. The nightly cost is $24.99", acts, task))
    assert "repeats itself" in check_wording(f"{city} SURROUNDER SURROUNDER SURROUNDER", acts, task)
    assert any(p.startswith("drops") for p in check_wording("I'm heading out.", acts, task))
    assert any(p.startswith("about") for p in check_wording(f"I want to see a movie in {city}, what films are playing?",
                                                            acts, task, classifier=model.domains))
    assert degenerate("no no no") and not degenerate("no, not that one")


def test_fidelity_scores_real_turns_above_broken_ones(dev):
    turns = real_turns(dev, 80)
    human = sum(fidelity(t.text, t)["score"] for t in turns) / len(turns)
    junk = sum(fidelity("Message: SURROUNDER SURROUNDER SURROUNDER", t)["score"] for t in turns) / len(turns)
    empty = sum(fidelity("", t)["score"] for t in turns) / len(turns)
    assert human > 0.5 and junk == 0.0 and empty == 0.0


def test_llm_wordings_that_fail_the_check_are_replaced_in_the_audit_and_counted(model, dev):
    template_only = audit_user(model, dev, max_dialogues=15)
    looping = audit_user(model, dev, max_dialogues=15, realize=lambda acts, task, history, template: "Acts: SURROUNDER " * 3)
    assert looping["llm_fallback_rate"] == 1.0 and looping["llm_worded_turns"] == template_only["user_turns"]
    assert looping["degenerate_rate_sim"] == template_only["degenerate_rate_sim"]  # the agent never saw the loop
    echo = audit_user(model, dev, max_dialogues=15, realize=lambda acts, task, history, template: template)
    assert echo["llm_fallback_rate"] <= 0.05  # the check rarely refuses a human-style wording


def test_an_llm_user_that_loops_or_echoes_its_prompt_is_replaced_by_the_offline_users_turn(tmp_path):
    from fake_llm_server import FakeLLMServer

    from agentgym import SGDEnv

    with FakeLLMServer(["ok:Goal: SURROUNDER SURROUNDER SURROUNDER", "ok:Hi, I need some help please."]) as srv:
        env = SGDEnv(user="llm", max_turns=3,
                     user_kwargs={"llm": "openai/gpt-4o-mini", "llm_args": {"api_base": srv.api_base, "api_key": "x", "cache": tmp_path / "u.sqlite"}})
        obs, info = env.reset(seed=0)
        assert "repeats itself" in info["user_fallback"] and "SURROUNDER" not in obs and obs.startswith("user: ")
        assert info["user_acts"] and not info["unscored"]  # the offline user's turn, with its acts
        obs, r, term, trunc, info = env.step("Hello, how can I help?")
        assert info["user_fallback"] is None and "I need some help" in obs
    assert env.user.fallback_rate == 0.5


def test_the_offline_users_knobs_are_tuned_against_the_audit_saved_and_played(tmp_path):
    import gymnasium as gym

    from agentgym.domains.sgd.users.optimize import tune_goal_user, tuned_user

    out = tmp_path / "knobs.json"
    res = tune_goal_user(max_dialogues=10, grid={"upfront_threshold": [0.0, 0.5, 1.01]}, out=out, progress=False)
    f1 = {r["upfront_threshold"]: r["user_act_f1"] for r in res["grid"]}
    assert len(set(f1.values())) > 1  # the knob matters to the audit
    assert res["best"]["user_act_f1"] == max(f1.values())
    env = gym.make("agentgym/SGD-v0", user=tuned_user(out))
    env.reset(seed=0)
    assert env.unwrapped.user.model.policy.upfront_threshold == res["best"]["upfront_threshold"]
    with pytest.raises(ValueError, match="Unknown knob"):
        tune_goal_user(grid={"patiense": [1]}, out=out)


def test_the_first_turn_of_every_dev_task_needs_no_earlier_conversation():
    import gymnasium as gym

    import agentgym  # noqa: F401

    env = gym.make("agentgym/SGD-v0")
    for seed in range(2):
        for task_id in env.unwrapped.task_ids:
            obs, _ = env.reset(seed=seed, options={"task_id": task_id})
            opening = obs.split("user:", 1)[-1].strip()
            assert not leans_on_context(opening), (task_id, seed, opening)
            assert not corrupted(opening) and not form_like(opening), (task_id, seed, opening)


@pytest.mark.parametrize("text,leans", [
    ("I'd like to buy tickets to the event you found.", True), ("How about hotels in the area, are there any?", True),
    ("I want a hotel reservation there too.", True), ("I would like to find a restaurant there as well.", True),
    ("Yes, can you find me a restaurant there?", True), ("Instead of the previous time, can you make it at 6:45 pm?", True),
    ("I'm getting hungry but I don't want to cook. I need to find a place to eat.", False),
    ("Hi there, could you get me a one way flight please?", False), ("Are there any Drama movies showing?", False),
    ("Do you have any recommendations for a movie I can watch?", False)])
def test_what_counts_as_leaning_on_an_earlier_exchange(text, leans):
    assert leans_on_context(text) is leans


def test_corrupted_corpus_text_and_misplaced_spans_never_become_templates(model):
    def dialogue(utterance, spans, value=None):
        actions = [{"act": "INFORM", "slot": "city", "values": [value], "canonical_values": [value]}] if value else [
            {"act": "AFFIRM", "slot": "", "values": [], "canonical_values": []}]
        return {"turns": [{"speaker": "USER", "utterance": utterance, "frames": [{
            "service": "Restaurants_1", "slots": [{"slot": "city", "start": a, "exclusive_end": b} for a, b in spans],
            "actions": actions}]}]}
    good = dialogue("I want to eat in Fremont.", [(17, 24)], "Fremont")
    glued = dialogue("That sounds great1", [])  # SGD's own typo, no value in it
    split = dialogue("I want to eat in Fremont today.", [(19, 24)], "Fremont")  # a span starting inside a word
    nlg = TemplateNLG.fit([good, glued, split], {})
    assert [t for ts in nlg.templates.values() for t in ts] == ["I want to eat in {city}."]
    assert nlg.dropped == {"corrupted text in the corpus": 1, "span off a word boundary": 1}
    assert model.nlg.dropped.get("corrupted text in the corpus", 0) >= 1  # SGD's train split has "rest54 Minaurant"
    assert tidy("I want a hotel too .") == "I want a hotel too." and tidy("Sure , that  works !") == "Sure, that works!"
    assert tidy("I want to fly on the March 1st.") == "I want to fly on March 1st."  # "the {date}" refilled from "the 1st"


def test_values_are_said_by_kind_never_by_reading_the_schema_out(model):
    """On a service the user was never fitted on, with slots named like the schema's, the offline wording says each
    value as people say one (no "I'd like the X to be V", no description, no slot name)."""
    import random

    from agentgym.domains.sgd.users.nlg import TemplateNLG as NLG

    nlg = NLG(slot_words={"pickup_date": "date on which the customer wants to be picked up"})
    rng = random.Random(0)
    acts = [("Couriers_9", "INFORM", "pickup_date", ("March 3rd",)), ("Couriers_9", "INFORM", "destination_city", ("Fresno",)),
            ("Couriers_9", "INFORM", "number_of_boxes", ("2",)), ("Couriers_9", "INFORM", "has_tracking", ("True",)),
            ("Couriers_9", "INFORM", "is_fragile", ("False",)), ("Couriers_9", "INFORM", "courier_name", ("dontcare",))]
    for _ in range(20):
        for act in acts:
            text = nlg.realize([act], rng)
            assert text and not form_like(text) and "customer" not in text and "_" not in text, text
    said = {nlg.realize([a], random.Random(1)) for a in acts}
    assert any("Fresno" in t and t.startswith(("To ", "I'm going to")) for t in said), said


def test_the_naturalness_classifier_is_at_chance_when_sides_match_and_sees_form_speak(dev):
    from agentgym.domains.sgd.users.realism import naturalness

    humans = [t["utterance"] for d in dev.dialogues for t in d["turns"] if t["speaker"] == "USER"]
    train, held = humans[: len(humans) // 2], humans[len(humans) // 2:]
    same = naturalness([(s, t) for t in train for s in ("sim", "human")], [(s, t) for t in held for s in ("sim", "human")])
    assert same["naturalness_accuracy"] == 0.5  # every text on both sides: nothing to tell them apart by
    slots = ["star rating", "number of seats", "category"]
    form = [f"I'd like the {slots[i % 3]} to be {t.split()[-1]}" for i, t in enumerate(humans)]
    speaks = naturalness([("human", t) for t in train] + [("sim", t) for t in form[: len(train)]],
                         [("human", t) for t in held] + [("sim", t) for t in form[len(train):]])
    assert speaks["naturalness_accuracy"] > 0.95 and speaks["naturalness_ci95"][0] <= speaks["naturalness_accuracy"] <= speaks["naturalness_ci95"][1]


def test_eval_user_reports_how_well_a_classifier_tells_the_simulator_from_humans(capsys):
    from agentgym.cli import main

    assert main(["eval-user", "--agent-episodes", "0", "--max-dialogues", "20", "--naturalness", "60", "--json", "--quiet"]) == 0
    m = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0.0 <= m["naturalness_accuracy"] <= 1.0 and m["naturalness_held_out_turns"] == 2 * m["user_turns"]
    assert m["naturalness_ci95"][0] <= m["naturalness_accuracy"] <= m["naturalness_ci95"][1]


def test_a_template_never_names_a_value_its_turn_does_not_inform_and_categorical_values_are_refilled():
    from agentgym.domains.sgd.schema import Intent, Service, Slot

    svc = Service("Movies_9", "Find movies to watch", {
        "genre": Slot("genre", "Genre of the movie", True, ("Drama", "Horror", "Comedy")),
        "city": Slot("city", "City", False, ())},
        {"FindMovies": Intent("FindMovies", "Find movies", False, ("city",), {"genre": "dontcare"}, ("genre", "city"))})

    def turn(utterance, informs, spans=()):
        return {"turns": [{"speaker": "USER", "utterance": utterance, "frames": [{
            "service": "Movies_9", "slots": [{"slot": sl, "start": a, "exclusive_end": b} for sl, a, b in spans],
            "actions": [{"act": "INFORM", "slot": sl, "values": [v], "canonical_values": [v]} for sl, v in informs]}]}]}
    nlg = TemplateNLG.fit([turn("I like horror or Drama.", [("genre", "Drama")]),  # names a genre it does not inform
                           turn("Something Drama in Fresno.", [("genre", "Drama"), ("city", "Fresno")], [("city", 19, 25)])], {"Movies_9": svc})
    assert [t for ts in nlg.templates.values() for t in ts] == ["Something {genre} in {city}."]
    assert nlg.dropped == {"a value it does not inform": 1}
    import random
    assert nlg.realize([("Movies_9", "INFORM", "genre", ("Comedy",)), ("Movies_9", "INFORM", "city", ("Napa",))],
                       random.Random(0)) == "Something Comedy in Napa."


def test_a_service_that_shares_its_domain_and_intent_names_is_not_worded_with_the_others_words():
    """Services_4 (therapists) is not in the embedded train split; Services_1-3 (salons, dentists, doctors) are, with
    the same intent name FindProvider. Its user asks for a therapist, never a dentist or a salon."""
    import gymnasium as gym

    import agentgym  # noqa: F401

    env = gym.make("agentgym/SGD-v0")
    for seed in range(8):
        obs, _ = env.reset(seed=seed, options={"task_id": "13_00084"})
        assert not any(w in obs.lower() for w in ("dentist", "salon", "doctor", "parlor", "stylist", "hair")), obs
