"""Any local chat model trains: tiny random-weight Gemma-, Llama- and Qwen-style models are built here
(no hub), with their families' chat templates, none of which carries `{% generation %}` markers.
The assistant mask is read off the rendered conversation; SFT and a GRPO step run on each."""
import importlib.util

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(importlib.util.find_spec("trl") is None, reason="needs the train extra")]

from agentgym.store import ExperienceStore  # noqa: E402
from agentgym.train import GRPOConfig, SFTConfig, train  # noqa: E402
from agentgym.train.chat import ChatFormat  # noqa: E402
from agentgym.train.sft_data import configured_examples  # noqa: E402

LLAMA3 = ("{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
          " + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}")
GEMMA = ("{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set first_user_prefix = messages[0]['content'] + '\\n\\n' %}"
         "{% set loop_messages = messages[1:] %}{% else %}{% set first_user_prefix = '' %}{% set loop_messages = messages %}{% endif %}"
         "{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
         "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
         "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
         "{{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else '') + message['content'] | trim + '<end_of_turn>\\n' }}"
         "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}")
QWEN = ("{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
        "{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
        "{%- endif %}{%- for message in messages %}{%- if (message.role == 'user') or (message.role == 'system' and not loop.first)"
        " or (message.role == 'assistant') %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
        "{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}")
# ChatML with TRL's {% generation %} markers: what TRL's own assistant mask needs (the cross-check below)
CHATML_WITH_GENERATION = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}"
    "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
FAMILIES = {
    "gemma": (GEMMA, ["<start_of_turn>", "<end_of_turn>"], "<end_of_turn>"),
    "llama": (LLAMA3, ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"], "<|eot_id|>"),
    "qwen": (QWEN, [], "<|im_end|>"),
}


def tiny_model(family: str, path):
    """A 2-layer random model of `family`'s architecture with its chat template, saved to `path`."""
    import torch
    from transformers import AutoModelForCausalLM, GemmaConfig, LlamaConfig, Qwen2Config

    from agentgym.train.policy import load_tokenizer

    template, specials, _ = FAMILIES[family]
    tok = load_tokenizer("smollm2-135m")  # a real BPE vocabulary; the family's turn tokens added
    if specials:
        tok.add_special_tokens({"additional_special_tokens": specials})
    tok.chat_template = template
    common = dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=4096, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                  pad_token_id=tok.pad_token_id)
    config = {"gemma": lambda: GemmaConfig(head_dim=8, **common), "llama": lambda: LlamaConfig(**common),
              "qwen": lambda: Qwen2Config(**common)}[family]()
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family_model(request, tmp_path_factory):
    return request.param, tiny_model(request.param, tmp_path_factory.mktemp(request.param))


def test_the_mask_covers_exactly_the_assistant_messages_and_their_end_token(family_model):
    family, path = family_model
    from agentgym.train.policy import load_tokenizer

    tok = load_tokenizer(path)
    fmt = ChatFormat.of(tok, family)
    assert fmt.end_text == FAMILIES[family][2]
    messages = configured_examples(SFTConfig(max_dialogues=1))[0]["messages"]
    row = fmt.assistant_mask(messages)
    ids, mask = row["input_ids"], row["assistant_masks"]
    # the masked tokens, cut at each end token, are the assistant messages in order (trimmed as the template trims)
    pieces, cur = [], []
    for i, m in zip(ids, mask, strict=True):
        if m:
            cur.append(i)
            if i == fmt.end_id:
                pieces.append(tok.decode(cur[:-1]))
                cur = []
    assert pieces == [m["content"].strip() for m in messages if m["role"] == "assistant"]
    assert tok.decode([i for i, m in zip(ids, mask, strict=True) if not m]).count("user:") >= 1  # user turns stay out


def test_sft_and_a_grpo_step_train_on_each_family(family_model, tmp_path):
    family, path = family_model
    store = str(tmp_path / "store")
    sft = train(SFTConfig(model=str(path), output_dir=str(tmp_path / "sft"), store=store, max_steps=1,
                            batch_size=1, max_length=384, max_dialogues=2, save_steps=10, agent_name=family), progress=False)
    assert sft["finite"] and sft["weights_changed"]
    grpo = train(GRPOConfig(model=str(path), output_dir=str(tmp_path / "grpo"), store=store, max_steps=1,
                             group_size=2, tasks_per_step=1, max_turns=2, max_new_tokens=6, max_dialogues=1, save_steps=10,
                             learning_rate=1e-3, version="g", agent_name=family),
                 progress=False, reward_funcs=[lambda prompts, completions, agent_turns, **kw: [float(len(t[0]) % 3) for t in agent_turns]])
    assert grpo["finite"] and grpo["episodes"] == 2
    with ExperienceStore(store) as s:
        eps = s.episodes(run="g")
        assert len(eps) == 2 and set(eps["meta"].map(lambda m: m["step"])) == {1}
        steps = s.steps(eps["id"].iloc[0])
        assert steps["action"].notna().sum() >= 1


def test_a_template_whose_turn_end_cannot_be_found_is_refused_before_training(tmp_path):
    from agentgym.train.policy import load_tokenizer

    tok = load_tokenizer("smollm2-135m")
    tok.chat_template = ("{% for m in messages %}{{ m['role'] + ': ' + m['content'] + ' END OF TURN ' }}{% endfor %}"
                         "{% if add_generation_prompt %}assistant: {% endif %}")
    with pytest.raises(ValueError, match="tokens; generation needs one token to stop on"):
        ChatFormat.of(tok, "odd")
    tok.chat_template = "{% for m in messages %}{% if m['role'] != 'system' %}{{ m['content'] }}{% endif %}{% endfor %}"
    with pytest.raises(ValueError, match="drops the system message"):
        ChatFormat.of(tok, "no-system")
    tok.chat_template = None
    with pytest.raises(ValueError, match="has no chat template"):
        ChatFormat.of(tok, "base-model")


def test_for_chatml_the_mask_equals_trls_generation_marker_mask_token_for_token():
    from agentgym.train.policy import load_tokenizer

    messages = configured_examples(SFTConfig(max_dialogues=2))[1]["messages"]
    ours = ChatFormat.of(load_tokenizer("smollm2-135m"), "smollm2").assistant_mask(messages)
    tok = load_tokenizer("smollm2-135m")
    tok.chat_template = CHATML_WITH_GENERATION
    trl = tok.apply_chat_template(messages, return_assistant_tokens_mask=True, return_dict=True)
    assert ours["input_ids"] == list(trl["input_ids"]) and ours["assistant_masks"] == list(trl["assistant_masks"])
    assert sum(ours["assistant_masks"]) > 0
