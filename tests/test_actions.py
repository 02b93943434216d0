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


def test_tagged_forms():
    assert parse_action("[finish]").kind == "finish"
    assert parse_action("[answer] It is at 5 pm.").text == "It is at 5 pm."
    s = parse_action('[search] {"name": "A", "arguments": {}}')
    assert s.kind == "tool_calls" and s.format == "search"
    act = parse_action("[action] Book(a='1')")
    assert act.kind == "tool_calls" and act.format == "action"
    bad = parse_action("[search] restaurants in town")
    assert bad.kind == "invalid" and "[search] must be followed by a tool call" in bad.error


def test_bad_inputs_become_invalid_with_a_reason():
    for raw, hint in [("", "empty"), ('{"name": ', "malformed JSON"), (42, "string or a dict"),
                      ("x" * 30_000, "limit"), ('{"foo": 1}', "neither a tool call"), ("[" * 5000 + "]" * 5000, "")]:
        a = parse_action(raw)
        assert a.kind in ("invalid", "message"), raw
        if a.kind == "invalid":
            assert hint in a.error
