"""LLMs everywhere, offline by default: one access layer, the local model, the judge."""
from agentgym.llm.client import LLM, Ledger, LLMResult, ResponseCache
from agentgym.llm.local import DEFAULT_MODEL, LocalServer, gguf_path, register_local_provider

__all__ = ["DEFAULT_MODEL", "LLM", "LLMResult", "Ledger", "LocalServer", "ResponseCache", "gguf_path", "register_local_provider"]
