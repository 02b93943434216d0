"""Every agentgym environment over the network, with OpenEnv's server contract and OpenEnv's own library.

    agentgym serve --env agentgym/tau2-airline-v0 --split test --port 8000

    from agentgym.interop.openenv_server import AgentgymClient, TextAction
    with AgentgymClient(base_url="http://127.0.0.1:8000").sync() as env:
        r = env.reset(seed=0, task_id="3")            # or split="train", index=12
        r = env.step(TextAction(text='{"name": "get_user_details", "arguments": {"user_id": "x"}}'))
        r.observation.text, r.reward, r.done

Each WebSocket connection is a session with its own gym env (its own tau2 database, user and rubric state);
`max_sessions` bound a process, and a session idle for `idle_timeout` seconds is closed. Tasks and splits are
listed through OpenEnv's task API (`GET /<name>/splits`, `POST /<name>/tasks`, ...; `<name>` is the id without
its namespace, e.g. `tau2-airline-v0`). An action is `{"text": ...}`: anything `env.step` takes as a string.
Reset takes `seed`, `task_id`, or `split` and `index`. The step's `info` travels in the observation: whole at
reset, without the parts that repeat every step (messages, history, tools, tool_meta, policy) afterwards, unless
the server runs with `info="full"`.
"""
from __future__ import annotations

import functools
import hmac
import json
import os
import threading
from collections.abc import Mapping
from typing import Any

import orjson
from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient
from openenv.core.env_server.http_server import create_app
from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import Action, ConcurrencyConfig, EnvironmentMetadata, Observation, State
from pydantic import Field

from agentgym.domain import domain_of
from agentgym.interop import KEPT_FROM_RESET, compact_info

MAX_TEXT = 65_536  # characters of one action
MAX_MESSAGE = 1 << 20  # bytes of one WebSocket message (uvicorn closes the connection beyond it)
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SPEC_VAR = "AGENTGYM_SERVE_SPEC"  # how `serve(workers=N)` hands the spec to each worker process


class TextAction(Action):
    """One agent action: a message to the user, a JSON tool call, an OpenAI assistant message, or a tag."""

    text: str = Field(..., max_length=MAX_TEXT, description="anything env.step accepts as a string")


class DialogueObservation(Observation):
    """What the env answers: the observation text (the user's reply or the tools' results) and the step's info."""

    text: str = Field(default="", description="the observation env.step returned")
    task_id: str | None = Field(default=None, description="the episode's task")
    info: dict[str, Any] = Field(default_factory=dict, description="the step's info (agentgym.types.StepInfo), JSON")


class DialogueState(State):
    """The session's episode: which env, task, split and seed, and the server process that holds it."""

    env_id: str = ""
    task_id: str | None = None
    split: str | None = None
    seed: int | None = None
    server_pid: int = Field(default_factory=os.getpid)


def _wire(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # pydantic models (tau2's Task) travel as their JSON form
    return dump(mode="json") if callable(dump) else str(value)


def json_safe(value: Any) -> Any:
    """A JSON copy of a value (numpy numbers, tuples, pydantic models by their JSON form, other objects by their
    str): what a step's info is on the wire."""
    return orjson.loads(orjson.dumps(value, default=_wire, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS))


def action_text(action: Any) -> str:
    """An agent's action as the text of a `TextAction`: a string as it is, anything else (a tool call dict, a list
    of them, an OpenAI assistant message) as JSON, which env.step reads back the same way."""
    return action if isinstance(action, str) else orjson.dumps(action, default=_wire).decode()


def route_name(env_id: str) -> str:
    """The env's name in OpenEnv's task routes: the id without its namespace ('agentgym/SGD-v0' -> 'SGD-v0')."""
    return env_id.rsplit("/", 1)[-1]


_TASKS: dict[tuple[str, str, str | None], list[str]] = {}  # (env_id, settings, split) -> task ids, per process
# idle gym envs, per (env_id, settings, split): building one costs ~0.5 s (tau2's domain, SGD's corpus index), so a
# closed session's env serves the next session (and the task API's per-request instances) after its reset
_POOL: dict[tuple[str, str, str | None], list[Any]] = {}
_POOL_LOCK = threading.Lock()
POOL_SIZE = 16
_SPLITS: dict[tuple[str, str], list[str]] = {}


class ServedEnv(Environment[TextAction, DialogueObservation, DialogueState]):
    """One session's environment: a gym env of `env_id` per split asked for, built with the served settings."""

    SUPPORTS_CONCURRENT_SESSIONS = True  # every session builds its own gym env; nothing mutable is shared

    def __init__(self, env_id: str, settings: Mapping[str, Any] | None = None, info: str = "compact") -> None:
        super().__init__()
        if info not in ("compact", "full"):
            raise ValueError(f"info must be 'compact' or 'full', got {info!r}.")
        self.env_id = env_id
        self.settings = dict(settings or {})
        self.domain = domain_of(env_id)
        self.domain.env_kwargs(env_id, **self.settings)  # a bad setting fails at startup, not in the first session
        self.info_mode = info
        self._key = json.dumps(self.settings, sort_keys=True, default=str)
        self._envs: dict[str | None, Any] = {}  # built on first use: the task API makes an instance per request
        self._env: Any = None
        self._state = DialogueState(env_id=env_id)

    # ---- the gym envs ------------------------------------------------------------------------------
    def _gym(self, split: str | None) -> Any:
        if split not in self._envs:
            with _POOL_LOCK:
                idle = _POOL.get((self.env_id, self._key, split))
                env = idle.pop() if idle else None
            if env is None:
                settings = dict(self.settings)
                if split is not None:
                    settings["split"] = split
                env = self.domain.make_env(self.env_id, **settings)
            self._envs[split] = env
        return self._envs[split]

    def _served_split(self) -> str | None:
        return self.settings.get("split")

    # ---- OpenEnv's task API ------------------------------------------------------------------------
    def list_splits(self) -> list[str]:
        key = (self.env_id, self._key)
        if key not in _SPLITS:
            names = list(self._gym(self._served_split()).unwrapped.split_names())
            served = self._served_split() or getattr(self._gym(self._served_split()).unwrapped, "split", None)
            if served in names:  # the split a reset without one plays comes first
                names.insert(0, names.pop(names.index(served)))
            _SPLITS[key] = names or ["tasks"]  # one fixed set of tasks (a task file): one split
        return list(_SPLITS[key])

    def _split(self, split: str | None) -> str | None:
        """The env split to build for a split name (None: the served one); unknown names are refused."""
        if split is None:
            return self._served_split()
        names = self.list_splits()
        if split not in names:
            raise ValueError(f"Unknown split {split!r} for {self.env_id}; its splits: {', '.join(names)}.")
        return None if names == ["tasks"] else split

    def _task_ids(self, split: str | None) -> list[str]:
        real = self._split(split)
        key = (self.env_id, self._key, real)
        if key not in _TASKS:
            _TASKS[key] = [str(t) for t in self._gym(real).unwrapped.task_ids]
        return _TASKS[key]

    def _listed(self, split: str) -> list[str]:
        """The task API's view of `_task_ids`: an unknown split is the client's mistake (400), not a server error."""
        from fastapi import HTTPException

        try:
            return self._task_ids(split)
        except ValueError as e:
            raise HTTPException(status_code=400, detail=str(e)) from e

    def list_tasks(self, split: str) -> list[dict[str, Any]]:
        return [{"id": t, "index": i, "split": split} for i, t in enumerate(self._listed(split))]

    def num_tasks(self, split: str) -> int:
        return len(self._listed(split))

    def get_task(self, split: str, index: int) -> dict[str, Any]:
        ids = self._listed(split)
        if not 0 <= int(index) < len(ids):
            raise IndexError(index)
        return {"id": ids[int(index)], "index": int(index), "split": split}

    def get_task_range(self, split: str, start: int | None = None, stop: int | None = None) -> list[dict[str, Any]]:
        return self.list_tasks(split)[slice(start, stop)]

    # ---- the episode -------------------------------------------------------------------------------
    def reset(self, seed: int | None = None, episode_id: str | None = None, task_id: str | None = None,
              split: str | None = None, index: int | None = None, **kwargs: Any) -> DialogueObservation:
        if kwargs:
            raise ValueError(f"reset takes seed, episode_id, task_id, split and index; unknown: {', '.join(sorted(kwargs))}.")
        if index is not None:
            if task_id is not None:
                raise ValueError("reset takes task_id or index (with split), not both.")
            if isinstance(index, bool) or not isinstance(index, int):
                raise ValueError(f"index must be a whole number, got {index!r}.")
            ids = self._task_ids(split)
            if not 0 <= index < len(ids):
                raise ValueError(f"index {index} is out of range: split {split or self._served_split() or 'tasks'!r} "
                                 f"has {len(ids)} tasks (0..{len(ids) - 1}).")
            task_id = ids[index]
        self._env = self._gym(self._split(split))
        text, info = self._env.reset(seed=seed, options={"task_id": task_id} if task_id is not None else None)
        self._state = DialogueState(env_id=self.env_id, episode_id=episode_id, task_id=info.get("task_id"), split=split,
                                    seed=seed, step_count=0)
        return DialogueObservation(text=text, task_id=info.get("task_id"), info=json_safe(dict(info)), done=False, reward=None)

    def step(self, action: TextAction, timeout_s: float | None = None, **kwargs: Any) -> DialogueObservation:
        if self._env is None:
            raise RuntimeError("No episode is running in this session: send reset first.")
        text, reward, terminated, truncated, info = self._env.step(action.text)
        self._state.step_count += 1
        out = dict(info) if self.info_mode == "full" else compact_info(info)
        return DialogueObservation(text=text, task_id=info.get("task_id"), info=json_safe(out), done=bool(terminated or truncated),
                                   reward=float(reward), metadata={"terminated": bool(terminated), "truncated": bool(truncated)})

    @property
    def state(self) -> DialogueState:
        return self._state

    def get_metadata(self) -> EnvironmentMetadata:
        return EnvironmentMetadata(name=self.env_id, description=self.domain.help or f"agentgym {self.domain.name} environment",
                                   version="0", author="agentgym")

    def close(self) -> None:
        """Hand the session's gym envs back to the process's pool (a reset starts every episode afresh, and no
        session steps an env it has not reset), closing those the pool has no room for."""
        for split, env in self._envs.items():
            with _POOL_LOCK:
                idle = _POOL.setdefault((self.env_id, self._key, split), [])
                if len(idle) < POOL_SIZE:
                    idle.append(env)
                    continue
            env.close()
        self._envs.clear()
        self._env = None


class AgentgymClient(EnvClient[TextAction, DialogueObservation, DialogueState]):
    """OpenEnv's WebSocket client, typed for agentgym's server (`headers={"Authorization": "Bearer T"}` for a token)."""

    def _step_payload(self, action: TextAction) -> dict[str, Any]:
        return {"text": action.text}

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[DialogueObservation]:
        obs = dict(payload.get("observation", {}))
        obs.pop("metadata", None)
        return StepResult(observation=DialogueObservation(**obs, reward=payload.get("reward"), done=payload.get("done", False)),
                          reward=payload.get("reward"), done=payload.get("done", False), metadata=payload.get("metadata"))

    def _parse_state(self, payload: dict[str, Any]) -> DialogueState:
        return DialogueState(**payload)

    # ---- OpenEnv's task API, over HTTP (the same server, the same headers) -------------------------
    def _task_api(self, method: str, route: str, body: dict[str, Any] | None = None) -> Any:
        import requests

        base = (self.base_url or "").replace("ws://", "http://", 1).replace("wss://", "https://", 1)
        headers = dict(self._headers or {})
        name = requests.get(f"{base}/list_environments", headers=headers, timeout=30).json()[0]
        reply = requests.request(method, f"{base}/{name}/{route}", json=body, headers=headers, timeout=120)
        if reply.status_code != 200:
            raise RuntimeError(f"Server error on /{name}/{route}: {reply.status_code} {reply.text[:500]}")
        return reply.json()

    def splits(self) -> list[str]:
        """The served env's split names (`GET /<name>/splits`)."""
        return [s["name"] for s in self._task_api("GET", "splits")]

    def num_tasks(self, split: str) -> int:
        return int(self._task_api("POST", "num_tasks", {"split": split})["num_tasks"])

    def tasks(self, split: str) -> list[dict[str, Any]]:
        """Every task of `split`: id, index, split (reset with task_id=id, or split= and index=)."""
        return list(self._task_api("POST", "tasks", {"split": split})["tasks"])


def play_served(env: Any, agent: Any, *, seed: int | None = None, task_id: str | None = None, split: str | None = None,
                index: int | None = None) -> dict[str, Any]:
    """Play one episode of an agentgym agent (`reset(observation, info)`, `act(observation, info)`) over a served
    session (`AgentgymClient(...).sync()`, connected). The agent sees the info it would see in-process: a compact
    step's info is completed with what reset sent once (tools, tool meta, policy, tau2's task). Returns the
    episode: task_id, seed, actions, observations, rewards, total_reward, reward_breakdown, turns."""
    asked = {k: v for k, v in {"seed": seed, "task_id": task_id, "split": split, "index": index}.items() if v is not None}
    result = env.reset(**asked)
    obs, info = result.observation.text, dict(result.observation.info)
    kept = {k: info[k] for k in KEPT_FROM_RESET if k in info}
    agent.reset(obs, info)
    episode: dict[str, Any] = {"task_id": result.observation.task_id, "seed": seed, "actions": [], "observations": [obs],
                               "rewards": [], "total_reward": 0.0}
    done = False
    while not done:
        action = action_text(agent.act(obs, info))
        result = env.step(TextAction(text=action))
        obs, info = result.observation.text, {**kept, **result.observation.info}
        done = bool(result.done)
        episode["actions"].append(action)
        episode["observations"].append(obs)
        episode["rewards"].append(float(result.reward or 0.0))
        episode["total_reward"] += float(result.reward or 0.0)
    episode["reward_breakdown"] = dict(info.get("reward_breakdown") or {})
    episode["turns"] = info.get("turn")
    return episode


class TokenGate:
    """ASGI middleware: every request but `/health` carries `Authorization: Bearer <token>` (or `?token=`)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app, self.token = app, token

    def _ok(self, scope: Mapping[str, Any]) -> bool:
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"authorization", b"").decode("latin-1")
        if given.startswith("Bearer "):
            given = given[7:]
        else:
            from urllib.parse import parse_qs

            given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("path") != "/health" and not self._ok(scope):
            if scope["type"] == "websocket":
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008, "reason": "missing or wrong token"})
                return
            body = b'{"detail":"missing or wrong token: send Authorization: Bearer <token>"}'
            await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def build_app(env_id: str, settings: Mapping[str, Any] | None = None, *, max_sessions: int = 64,
              idle_timeout: float | None = 300.0, token: str | None = None, info: str = "compact") -> Any:
    """The ASGI app (FastAPI, from OpenEnv's `create_app`) serving `env_id` with these generic settings."""
    if not isinstance(max_sessions, int) or isinstance(max_sessions, bool) or max_sessions < 1:
        raise ValueError(f"max_sessions must be a whole number of at least 1, got {max_sessions!r}.")
    if idle_timeout is not None and not idle_timeout > 0:
        raise ValueError(f"idle_timeout must be a number of seconds above 0 (or None for no timeout), got {idle_timeout!r}.")
    ServedEnv(env_id, settings, info)  # refuse a bad id or setting here, with its message
    factory = functools.partial(ServedEnv, env_id, dict(settings or {}), info)
    app = create_app(factory, TextAction, DialogueObservation, env_name=route_name(env_id), state_cls=DialogueState,
                     concurrency_config=ConcurrencyConfig(max_concurrent_envs=max_sessions, session_timeout=idle_timeout))
    return TokenGate(app, token) if token else app


def app_from_environment() -> Any:
    """The app a worker process of `serve(workers=N)` builds (uvicorn's factory), from $AGENTGYM_SERVE_SPEC."""
    spec = json.loads(os.environ[SPEC_VAR])
    return build_app(spec["env_id"], spec["settings"], max_sessions=spec["max_sessions"], idle_timeout=spec["idle_timeout"],
                     token=spec["token"], info=spec["info"])


def wait_ready(url: str, *, proc: Any = None, timeout: float = 180.0) -> None:
    """Wait until the server at `url` answers `GET /health` (`proc`, its process if you started it, must not exit
    meanwhile). Raises RuntimeError with the process's exit status, or TimeoutError."""
    import time

    import requests

    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server process exited ({proc.returncode}) before answering {url}/health")
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer /health within {timeout:g} s")
        time.sleep(0.3)


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to bind an address other machines reach without a token."""
    if host not in LOOPBACK and not token:
        raise ValueError(f"host {host!r} is reachable from other machines; give a token (--token T, clients send "
                         "'Authorization: Bearer T') or bind 127.0.0.1.")


def serve(env_id: str, settings: Mapping[str, Any] | None = None, *, host: str = "127.0.0.1", port: int = 8000,
          max_sessions: int = 64, idle_timeout: float | None = 300.0, token: str | None = None, workers: int = 1,
          info: str = "compact", log_level: str = "warning", announce: str | None = None) -> None:
    """Serve until interrupted (`announce`: a line printed once every argument is checked and the app is built). `workers` > 1 runs that many processes behind the one address (each WebSocket
    session lives in the process that accepted it; the task API is answered by any)."""
    import uvicorn

    check_exposure(host, token)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be a whole number of at least 1, got {workers!r}.")
    app = build_app(env_id, settings, max_sessions=max_sessions, idle_timeout=idle_timeout, token=token, info=info)
    common: dict[str, Any] = {"host": host, "port": port, "ws_max_size": MAX_MESSAGE, "log_level": log_level}
    if announce:
        print(announce, flush=True)
    if workers == 1:
        uvicorn.run(app, **common)
        return
    os.environ[SPEC_VAR] = json.dumps({"env_id": env_id, "settings": dict(settings or {}), "max_sessions": max_sessions,
                                       "idle_timeout": idle_timeout, "token": token, "info": info})
    uvicorn.run("agentgym.interop.openenv_server:app_from_environment", factory=True, workers=workers, **common)


__all__ = ["AgentgymClient", "DialogueObservation", "DialogueState", "ServedEnv", "TextAction", "action_text", "build_app",
           "play_served", "serve", "wait_ready"]
