"""LLMs everywhere, offline by default: one access layer, the local model, the judge."""
from agentgym.llm.client import LLM, Ledger, LLMResult, ResponseCache
from agentgym.llm.local import DEFAULT_MODEL, LocalEngine, LocalServer, gguf_path, register_local_provider
from agentgym.llm.probe import EngineVerdict, LocalEngineUnavailable, probe_engine

__all__ = ["DEFAULT_MODEL", "LLM", "EngineVerdict", "LLMResult", "Ledger", "LocalEngine", "LocalEngineUnavailable", "LocalServer",
           "ResponseCache", "gguf_path", "probe_engine", "register_local_provider"]
