"""How any chat template marks the agent's turns, read off the template itself.

TRL trains on the assistant's tokens only when the template carries `{% generation %}` markers;
most hub templates (Gemma, Llama 3, Qwen) do not. `ChatFormat` renders the conversation with the
model's own template and finds each assistant message's span by rendering the conversation up to
it: the mask comes from the text, so every template that only appends works, markers or not.
The same spans give GRPO's rollouts the token that ends an agent turn and the template's text
between turns (the env's reply), so no format is written in by hand.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROBE_TOOL = "Probe_1_CheckTool"
_PROBE_ANSWER = f'{{"name": "{PROBE_TOOL}", "arguments": {{"x": "1"}}}}'


@dataclass
class ChatFormat:
    """A tokenizer's chat template, probed once: what closes an assistant turn (`end_text`,
    one token `end_id`), and how to mask, prompt and continue a conversation with it."""

    tok: Any
    end_text: str
    end_id: int

    @classmethod
    def of(cls, tok: Any, model_name: str = "the model") -> ChatFormat:
        """Probe the template; a template this training cannot use is refused here, before any compute."""
        template = tok.chat_template if isinstance(tok.chat_template, str) else None
        if not template:
            raise ValueError(f"The tokenizer of '{model_name}' has no chat template: the agent cannot be shown its tools. "
                             "Use an instruct/chat model or set tokenizer.chat_template before training.")
        if not getattr(tok, "is_fast", False):
            raise ValueError(f"The tokenizer of '{model_name}' is a slow (Python) tokenizer; the assistant mask needs "
                             "character offsets. Load it with use_fast=True (tokenizer.json).")
        probe = [{"role": "system", "content": f"Tools:\n- {PROBE_TOOL}(x*)"}, {"role": "user", "content": "hi"},
                 {"role": "assistant", "content": _PROBE_ANSWER}]
        try:
            text = tok.apply_chat_template(probe, tokenize=False)
            prompt = tok.apply_chat_template(probe[:2], tokenize=False, add_generation_prompt=True)
        except Exception as e:  # templates raise on roles they do not support
            raise ValueError(f"The chat template of '{model_name}' cannot render a system message with tools and an "
                             f"assistant tool call ({e}); this agent needs both.") from e
        if text.count(PROBE_TOOL) < 2:
            raise ValueError(f"The chat template of '{model_name}' drops the system message or the assistant's tool call: "
                             "the agent would never see its tools. Use a template that keeps both.")
        if not text.startswith(prompt) or _PROBE_ANSWER not in text[len(prompt):]:
            raise ValueError(f"The chat template of '{model_name}' does not render an assistant turn as the generation "
                             "prompt followed by the message, so the assistant's tokens cannot be masked. Use a template "
                             "that only appends turns.")
        tail = text[len(prompt):].split(_PROBE_ANSWER, 1)[1].strip()
        end_text = tail or (tok.eos_token or "")
        ids = tok(end_text, add_special_tokens=False)["input_ids"] if end_text else []
        if len(ids) != 1:
            raise ValueError(f"The chat template of '{model_name}' ends an assistant turn with {end_text!r}, which is "
                             f"{len(ids)} tokens; generation needs one token to stop on. Add it as a special token.")
        return cls(tok, end_text, ids[0])

    def render(self, messages: list[dict[str, str]], *, generation_prompt: bool = False) -> str:
        return self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)

    def encode(self, text: str) -> list[int]:
        return list(self.tok(text, add_special_tokens=False)["input_ids"])

    def prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        """The tokens the model continues from to write the next assistant turn."""
        return self.encode(self.render(messages, generation_prompt=True))

    def assistant_spans(self, messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
        """The rendered conversation and the character span of each assistant message (its text and the
        token that ends it), found by rendering the conversation up to that message."""
        full = self.render(messages)
        spans = []
        for i, m in enumerate(messages):
            if m["role"] != "assistant":
                continue
            before = self.render(messages[:i], generation_prompt=True)
            upto = self.render(messages[: i + 1])
            if not (full.startswith(before) and full.startswith(upto)):
                raise ValueError("The chat template renders earlier turns differently once a turn is added "
                                 f"(at message {i}); the assistant's tokens cannot be masked. Use a template that only appends.")
            end = upto.rfind(self.end_text, len(before))
            spans.append((len(before), end + len(self.end_text) if end >= 0 else len(upto)))
        return full, spans

    def assistant_mask(self, messages: list[dict[str, str]]) -> dict[str, list[int]]:
        """`input_ids` and `assistant_masks` (1 on the assistant's tokens): a pre-tokenized SFT example."""
        full, spans = self.assistant_spans(messages)
        enc = self.tok(full, add_special_tokens=False, return_offsets_mapping=True)
        mask = [int(any(a <= s < b for a, b in spans)) for s, _ in enc["offset_mapping"]]
        return {"input_ids": list(enc["input_ids"]), "assistant_masks": mask}

    def between_turns(self, conversation: list[dict[str, str]], new_messages: list[dict[str, str]]) -> str:
        """The template's text from the end of the agent's last turn to the start of its next one:
        the env's reply (`new_messages`) as the template writes it."""
        before = self.render(conversation)
        after = self.render(conversation + new_messages, generation_prompt=True)
        if not after.startswith(before):
            raise ValueError("The chat template renders earlier turns differently once a turn is added; "
                             "multi-turn rollouts need a template that only appends.")
        cut = before.rfind(self.end_text)
        return before[cut + len(self.end_text):] + after[len(before):]
