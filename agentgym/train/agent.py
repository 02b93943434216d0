"""An agent backed by a Hugging Face causal LM: the env's policy and tool schemas in the system
prompt, the conversation as chat messages, one generated message per step (plain text or a JSON
tool call, which the env parses)."""
from __future__ import annotations

from typing import Any

from agentgym.prompt import initial_messages, observation_messages
from agentgym.types import StepInfo


class HFAgent:
    """Plays the env with a local causal LM (the policy being trained)."""

    name = "hf"

    def __init__(self, model: Any = None, tokenizer: Any = None, *, max_new_tokens: int = 96,
                 temperature: float = 0.0, max_context_tokens: int = 1536) -> None:
        if model is None:
            from agentgym.train.policy import load_policy

            model, tokenizer = load_policy()
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens, self.temperature, self.max_context_tokens = max_new_tokens, temperature, max_context_tokens
        self.messages: list[dict[str, str]] = []

    @classmethod
    def from_version(cls, store: Any, agent: str, version: str, **kwargs: Any) -> HFAgent:
        """The policy saved as `agent`/`version` in the experience store (going back is this call)."""
        from agentgym.train.checkpoints import checkpoint_path
        from agentgym.train.policy import load_policy

        model, tok = load_policy(checkpoint_path(store, agent, version))
        hf = cls(model, tok, **kwargs)
        hf.name = f"{agent}:{version}"
        return hf

    def reset(self, observation: str, info: StepInfo) -> None:
        self.messages = initial_messages(observation, info)

    def generate(self, messages: list[dict[str, str]]) -> str:
        import torch

        enc = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        ids = enc["input_ids"][:, -self.max_context_tokens:].to(self.model.device)
        with torch.no_grad():
            out = self.model.generate(
                ids, attention_mask=torch.ones_like(ids), max_new_tokens=self.max_new_tokens,
                do_sample=self.temperature > 0, temperature=self.temperature or None, top_p=None, top_k=None,
                pad_token_id=self.tokenizer.pad_token_id)
        return self.tokenizer.decode(out[0][ids.shape[1]:], skip_special_tokens=True).strip()

    def act(self, observation: str, info: StepInfo) -> Any:
        if len(self.messages) > 1 and observation:
            self.messages.extend(observation_messages(observation))
        text = self.generate(self.messages) or "[finish]"
        self.messages.append({"role": "assistant", "content": text})
        return text
