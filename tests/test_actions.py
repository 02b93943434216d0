from agentgym.actions import parse_action


def test_plain_message():
    a = parse_action("Which city are you in?")
    assert a.kind == "message" and a.text == "Which city are you in?" and a.format == "text"


def test_json_tool_call_and_list():
    a = parse_action('{"name": "Restaurants_2_FindRestaurants", "arguments": {"location": "San Jose"}}')
    assert a.kind == "tool_calls" and a.calls[0].arguments == {"location": "San Jose"}
    b = parse_action('[{"name": "A", "arguments": {}}, {"name": "B", "arguments": "{\\"x\\": 1}"}]')
    assert [c.name for c in b.calls] == ["A", "B"] and b.calls[1].arguments == {"x": 1}


def test_function_call_uses_ast_not_eval():
    a = parse_action("FindRestaurants(location='San Jose', party_size=2, open=True)")
    assert a.kind == "tool_calls" and a.calls[0].arguments == {"location": "San Jose", "party_size": 2, "open": True}
    evil = parse_action("FindRestaurants(x=__import__('os').system('echo pwned'))")
    assert evil.kind == "invalid" and "literal" in evil.error
    pos = parse_action("FindRestaurants('San Jose')")
    assert pos.kind == "invalid" and "positional" in pos.error


def test_openai_message_with_several_calls():
    msg = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "A", "arguments": '{"a": "1"}'}},
        {"id": "c2", "type": "function", "function": {"name": "B", "arguments": "{}"}},
    ]}
    a = parse_action(msg)
    assert a.kind == "tool_calls" and [c.id for c in a.calls] == ["c1", "c2"] and a.format == "openai"


def test_tagged_forms_mean_what_taugym_means():
    """Seed 003: [action] talks to the user, [answer] calls a tool, [search] discovers, [finish] ends."""
    assert parse_action("[finish]").kind == "finish"
    talk = parse_action("[action] Hello! How can I help you today?")
    assert talk.kind == "message" and talk.text == "Hello! How can I help you today?" and talk.format == "tagged"
    call = parse_action('[answer] {"name": "get_user_details", "arguments": {"user_id": "user_123"}}')
    assert call.kind == "tool_calls" and call.calls[0].name == "get_user_details" and call.calls[0].arguments == {"user_id": "user_123"}
    short = parse_action('[answer] get_order_details {"order_id": "ORD001"}')
    assert short.kind == "tool_calls" and short.calls[0].name == "get_order_details" and short.calls[0].arguments == {"order_id": "ORD001"}
    fn = parse_action("[answer] Book(a='1')")
    assert fn.kind == "tool_calls" and fn.calls[0].arguments == {"a": "1"}
    for query in ("tools", "help", "flights to Paris"):
        s = parse_action(f"[search] {query}")
        assert s.kind == "search" and s.text == query
    assert parse_action("[search]").text == "tools"


def test_malformed_tags_are_errors_that_show_the_four_forms():
    for raw in ("[answer] It is at 5 pm.", "[answer] get_order {not json}", "[action]", "[bogus] hi", "[ACTON] typo"):
        a = parse_action(raw)
        assert a.kind == "invalid", raw
        assert "[search]" in a.error and "[action]" in a.error and "[answer]" in a.error and "[finish]" in a.error, raw


def test_bad_inputs_become_invalid_with_a_reason():
    for raw, hint in [("", "empty"), ('{"name": ', "malformed JSON"), (42, "string or a dict"),
                      ("x" * 30_000, "limit"), ('{"foo": 1}', "neither a tool call"), ("[" * 5000 + "]" * 5000, "")]:
        a = parse_action(raw)
        assert a.kind in ("invalid", "message"), raw
        if a.kind == "invalid":
            assert hint in a.error


def test_actions_that_contain_themselves_or_nest_without_end_are_explained():
    d = {"name": "x"}
    d["arguments"] = d
    e = {"role": "assistant"}
    e["content"] = e
    lst = []
    lst.append(lst)
    deep = cur = {}
    for _ in range(10_000):
        cur["a"] = {}
        cur = cur["a"]
    for raw, hint in [(d, "contains itself"), (e, "contains itself"), (lst, "contains itself"), ([d], "contains itself"),
                      ({"name": "T", "arguments": {"city": d}}, "contains itself"), (deep, "deeper than")]:
        a = parse_action(raw)
        assert a.kind == "invalid" and hint in a.error
