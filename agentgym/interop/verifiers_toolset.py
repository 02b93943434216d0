"""An agentgym env's domain tools as a verifiers 0.4 toolset (an MCP server), for `agentgym-tasks`.

verifiers serves a `vf.Toolset` as an MCP server of its own (a subprocess) that every rollout's harness reaches;
the harness lists its tools and calls them while the model works on a turn. The tools here are the rollout's
task's own (SGD's services, tau2's tools: their OpenAI schemas, as the env lists them at reset), and a call is
forwarded to the one env the rollout is playing, in the evaluating process (`AgentgymEnv`'s tool bridge on
127.0.0.1), so a lookup, a booking or a tau2 DB write lands in the episode that is scored and nowhere else.
Which env and which bridge come from the rollout's state (`AgentgymState`), which verifiers carries to the
server for each call over its own signed state channel.

This module imports neither gymnasium nor the domains: it is what the toolset's subprocess runs.
"""
from __future__ import annotations

from typing import Any, cast

import verifiers.v1 as vf
from pydantic import Field

BRIDGE_TIMEOUT_S = 120.0  # a tool call of an LLM tool simulator may take a while on the local model


class AgentgymState(vf.State):
    """What a rollout's tool calls need: where its env is and which one it is."""

    bridge: str = ""
    """The tool bridge of the evaluating process (http://127.0.0.1:PORT), set when the episode starts."""
    rollout: str = ""
    """The rollout's key at the bridge (a random secret: it names the env and is the only way to reach it)."""
    tools: list[dict[str, Any]] = Field(default_factory=list)
    """The task's tools, OpenAI function schemas as the env lists them (`info["tools"]`)."""


class AgentgymToolset(vf.Toolset[vf.SharedToolsetConfig, AgentgymState]):
    """The domain's tools, listed per rollout (each task has its own) and called in the rollout's env."""

    TOOL_PREFIX = None  # the tools keep the names the env and its rubric know them by

    def register(self, mcp: Any) -> None:
        # The catalogue differs per rollout, so the MCP server's list and call handlers are replaced (as
        # verifiers' own NeMo-Gym toolset does) rather than registering one static tool per name.
        server = cast(Any, mcp)
        server.list_tools = self._with_state(self.list_tools)
        server.call_tool = self._with_state(self.call_tool)

    async def list_tools(self) -> list[Any]:
        from mcp.types import Tool

        # by the wire (camelCase) names, which every mcp release reads
        return [Tool.model_validate({"name": spec["function"]["name"], "description": spec["function"].get("description"),
                                     "inputSchema": spec["function"].get("parameters") or {"type": "object", "properties": {}}})
                for spec in self.state.tools]

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        import httpx
        from mcp.types import CallToolResult

        state = self.state
        if not state.bridge or not state.rollout:
            text, error = "error: this rollout has no agentgym episode to call tools in (the episode has ended).", True
        else:
            try:
                async with httpx.AsyncClient(timeout=BRIDGE_TIMEOUT_S) as client:
                    response = await client.post(f"{state.bridge}/call", json={
                        "rollout": state.rollout, "name": name, "arguments": arguments or {}})
                body = response.json()
                text, error = str(body.get("text", "")), not response.is_success
            except (httpx.HTTPError, ValueError) as e:
                text, error = f"error: agentgym's tool bridge did not answer ({type(e).__name__}: {e}).", True
        return CallToolResult.model_validate({"content": [{"type": "text", "text": text}], "isError": error})


if __name__ == "__main__":
    AgentgymToolset.run()
