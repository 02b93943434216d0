"""An OpenAI-compatible chat server on loopback that misbehaves on cue (the edge we cannot reach
for real is a remote LLM API; this stands in for it)."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLLMServer:
    """Answers POST /v1/chat/completions from a script: each entry is 'ok', 'ok:<text>', 429, 500,
    'timeout', 'malformed', 'empty' or 'tool:<name>:<json arguments>' (a tool call); when the script
    runs out, the last entry repeats. A request with `stream: true` gets the answer as server-sent events."""

    def __init__(self, script: list | None = None, reply: str = "Hello from the fake model.", delay: float = 0.0) -> None:
        self.script = list(script or ["ok"])
        self.reply = reply
        self.delay = delay
        self.hits = 0
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with server._lock:
                    i = server.hits
                    server.hits += 1
                    server.requests.append(body)
                    step = server.script[min(i, len(server.script) - 1)]
                if server.delay:
                    time.sleep(server.delay)
                if step == "timeout":
                    time.sleep(3)
                    step = "ok"
                if isinstance(step, int):
                    return self._send(step, {"error": {"message": f"status {step}", "type": "server_error", "code": step}})
                if step == "malformed":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"choices": [ {"message": ')
                    return None
                if body.get("stream"):
                    return self._stream(i, body, step)
                if isinstance(step, str) and step.startswith("tool:"):
                    _, name, args = step.split(":", 2)
                    return self._send(200, {
                        "id": f"chatcmpl-{i}", "object": "chat.completion", "created": 0, "model": body.get("model", "fake"),
                        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None,
                                     "tool_calls": [{"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": args}}]}}],
                        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
                    })
                text = "" if step == "empty" else (step.split(":", 1)[1] if step.startswith("ok:") else server.reply)
                return self._send(200, {
                    "id": f"chatcmpl-{i}", "object": "chat.completion", "created": 0, "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
                })

            def _stream(self, i, body, step):
                """The same answer as server-sent events (`stream: true`), as OpenAI streams it: a delta, the finish
                reason, the usage, [DONE]."""
                if isinstance(step, str) and step.startswith("tool:"):
                    _, name, args = step.split(":", 2)
                    delta = {"role": "assistant", "tool_calls": [{"index": 0, "id": f"call_{i}", "type": "function",
                                                                  "function": {"name": name, "arguments": args}}]}
                    finish = "tool_calls"
                else:
                    text = "" if step == "empty" else (step.split(":", 1)[1] if str(step).startswith("ok:") else server.reply)
                    delta, finish = {"role": "assistant", "content": text}, "stop"
                head = {"id": f"chatcmpl-{i}", "object": "chat.completion.chunk", "created": 0, "model": body.get("model", "fake")}
                events = [{**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
                          {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
                          {**head, "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}}]
                data = "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode() + b"data: [DONE]\n\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeLLMServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
