"""Helpers for testing agents against a real engine: script models and throwaway engines.

A *script model* (provider ``script``) replays a JSON file turn by turn, so an agent's behaviour is
deterministic: what it says, which tools it calls with which arguments, how long it pauses. Build the
turns with :func:`turn`, :func:`text`, :func:`tool_call` and :func:`delay`, then run them in a
:class:`LocalEngine` (its own data directory and workspace, removed afterwards)::

    from minions_client.testing import LocalEngine, turn, text, tool_call

    with LocalEngine() as engine:
        model = engine.script_model("bot", [
            turn(text("Saving. "), tool_call("file_operations", operation="write", path="a.txt", content="x"),
                 match="(?i)save"),
            turn(text("Saved."), match="wrote"),
        ])
        result = engine.client.chat("save it", model=model, approve=lambda req: True)
        assert result.content == "Saving. Saved."

How the engine picks a turn (``protocol/models.md``): each model call takes the first unused turn
whose ``match`` regular expression finds the newest user or tool message, else the first unused turn
without ``match``; once every turn was used the script starts over. Turns are counted per script
model within one engine process — give each test its own model name or its own engine. A turn that
calls a tool needs a follow-up turn for the model call that reads the tool's result (match it on the
tool's output, e.g. ``"wrote"`` or ``"not approved"``).
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .client import Client, find_engine
from .errors import ClientError
from .transport import popen_retrying

__all__ = [
    "text",
    "tool_call",
    "delay",
    "provider_error",
    "turn",
    "write_script",
    "LocalEngine",
    "TcpEngine",
    "add_user",
]


def text(s: str) -> Dict[str, Any]:
    """A script event: stream ``s`` as one ``token`` update."""
    return {"text": s}


def tool_call(tool: str, arguments: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> Dict[str, Any]:
    """A script event: the model calls ``tool`` with ``arguments`` (or keyword arguments)."""
    args = dict(arguments or {})
    args.update(kwargs)
    return {"toolCall": {"tool": tool, "arguments": args}}


def delay(ms: int) -> Dict[str, Any]:
    """A script event: pause ``ms`` milliseconds (cancellable)."""
    return {"delayMs": int(ms)}


def provider_error(http_status: int, message: str = "scripted failure") -> Dict[str, Any]:
    """A script event: fail the model call as a provider answering ``http_status``."""
    return {"error": {"httpStatus": int(http_status), "message": message}}


def turn(*events: Dict[str, Any], match: Optional[str] = None, usage: Optional[Mapping[str, int]] = None) -> Dict[str, Any]:
    """One scripted model call: its ``events`` in order, optionally only for messages matching ``match``."""
    out: Dict[str, Any] = {"events": list(events)}
    if match is not None:
        out["match"] = match
    if usage is not None:
        out["usage"] = dict(usage)
    return out


def write_script(path: str, turns: Sequence[Mapping[str, Any]]) -> str:
    """Write a script file (``{"turns": [...]}``) and return its absolute path."""
    path = os.path.abspath(path)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"turns": list(turns)}, f, ensure_ascii=False, indent=1)
    return path


def add_user(
    username: str,
    password: str,
    role: str = "admin",
    *,
    data_dir: str,
    engine: Optional[str] = None,
    timeout: float = 30.0,
) -> None:
    """Create a user in ``data_dir`` with ``minions users add NAME --role ROLE --password-stdin``."""
    binary = engine or find_engine()
    if not binary:
        raise ClientError("no engine: set MINIONS_BIN or put `minions` on PATH")
    env = dict(os.environ, MINIONS_DATA_DIR=data_dir, MINIONS_LOG="warning")
    proc = popen_retrying(
        [binary, "users", "add", username, "--role", role, "--password-stdin"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        _, err = proc.communicate((password + "\n").encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise ClientError("minions users add did not finish within %gs" % timeout)
    if proc.returncode != 0:
        raise ClientError("minions users add failed (%d): %s" % (proc.returncode, err.decode(errors="replace")))


class LocalEngine:
    """A throwaway engine over stdio: a temporary data directory and workspace, an initialized client.

    Args:
        engine: the binary (default: ``$MINIONS_BIN`` or ``minions`` on PATH).
        framing: ``"lsp"`` or ``"ndjson"``.
        approvals: declare ``capabilities.approvals`` in ``initialize``.
        default_timeout: the client's timeout for every call (bounded waits in tests).
        env: extra environment for the engine (a ``None`` value removes a variable).
        initialize_kwargs: extra keyword arguments for :meth:`Client.initialize`.
        keep: keep the temporary directory (for debugging).

    Attributes: ``client``, ``root``, ``data_dir``, ``workspace``.
    """

    def __init__(
        self,
        engine: Optional[str] = None,
        *,
        framing: str = "lsp",
        approvals: bool = True,
        default_timeout: Optional[float] = 30.0,
        env: Optional[Mapping[str, Optional[str]]] = None,
        initialize_kwargs: Optional[Mapping[str, Any]] = None,
        keep: bool = False,
    ) -> None:
        self.engine = engine or find_engine()
        if not self.engine:
            raise ClientError("no engine: set MINIONS_BIN or put `minions` on PATH")
        self.root = tempfile.mkdtemp(prefix="minions-py-test-")
        self.data_dir = os.path.join(self.root, "data")
        self.workspace = os.path.join(self.root, "workspace")
        os.makedirs(self.data_dir)
        os.makedirs(self.workspace)
        self.keep = keep
        self.client: Optional[Client] = None
        self._framing = framing
        self._approvals = approvals
        self._default_timeout = default_timeout
        self._env = dict(env or {})
        self._init_kwargs = dict(initialize_kwargs or {})

    def start(self) -> Client:
        """Spawn and initialize the engine (done by ``with``)."""
        env: Dict[str, Optional[str]] = {"MINIONS_LOG": "warning"}
        env.update(self._env)
        self.client = Client.spawn(
            engine=self.engine,
            env=env,
            data_dir=self.data_dir,
            workspace=self.workspace,
            framing=self._framing,
            default_timeout=self._default_timeout,
        )
        try:
            self.client.initialize(approvals=self._approvals, **self._init_kwargs)
        except BaseException:
            self.client.close()
            raise
        return self.client

    def script_model(
        self,
        name: str,
        turns: Sequence[Mapping[str, Any]],
        capabilities: Sequence[str] = ("text_generation", "tool_use"),
    ) -> str:
        """Write ``turns`` to a script file, register it as model ``name``; returns ``name``."""
        assert self.client is not None, "start the engine first"
        path = write_script(os.path.join(self.root, "script-%s.json" % re.sub(r"[^A-Za-z0-9_.-]", "_", name)), turns)
        self.client.register_script_model(name, path, capabilities)
        return name

    def path(self, *parts: str) -> str:
        """A path inside the workspace."""
        return os.path.join(self.workspace, *parts)

    def close(self) -> None:
        """Stop the engine and remove the temporary directory (unless ``keep``)."""
        try:
            if self.client is not None:
                self.client.close()
        finally:
            if not self.keep:
                shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "LocalEngine":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class TcpEngine:
    """``minions serve --listen 127.0.0.1:0`` in a temporary data directory (or a given one).

    ``host`` and ``port`` are read from the engine's ``listening on HOST:PORT`` log line.
    Use :meth:`add_user` to make accounts and :meth:`connect` for clients.
    """

    def __init__(
        self,
        engine: Optional[str] = None,
        *,
        data_dir: Optional[str] = None,
        extra_args: Sequence[str] = (),
        env: Optional[Mapping[str, str]] = None,
        start_timeout: float = 15.0,
    ) -> None:
        self.engine = engine or find_engine()
        if not self.engine:
            raise ClientError("no engine: set MINIONS_BIN or put `minions` on PATH")
        self._own_root = data_dir is None
        self.root = tempfile.mkdtemp(prefix="minions-py-tcp-") if data_dir is None else data_dir
        self.data_dir = os.path.join(self.root, "data") if data_dir is None else data_dir
        os.makedirs(self.data_dir, exist_ok=True)
        self._extra_args = list(extra_args)
        self._env = dict(env or {})
        self._start_timeout = start_timeout
        self.process: Optional["subprocess.Popen[bytes]"] = None
        self.host = "127.0.0.1"
        self.port = 0
        self._stderr_lines: List[str] = []
        self._clients: List[Client] = []
        self._drain_thread: Optional[threading.Thread] = None

    def _drain_thread_alive(self) -> bool:
        return self._drain_thread is not None and self._drain_thread.is_alive()

    def add_user(self, username: str, password: str, role: str = "admin") -> None:
        """``minions users add`` in this engine's data directory."""
        add_user(username, password, role, data_dir=self.data_dir, engine=self.engine)

    def start(self) -> "TcpEngine":
        env = dict(os.environ, MINIONS_DATA_DIR=self.data_dir, MINIONS_LOG="notice")
        env.update(self._env)
        assert self.engine is not None
        self.process = popen_retrying(
            [self.engine, "serve", "--listen", "127.0.0.1:0"] + self._extra_args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        found = threading.Event()
        pattern = re.compile(r"listening on (\S+):(\d+)")

        def drain() -> None:
            assert self.process is not None and self.process.stderr is not None
            for raw in self.process.stderr:
                line = raw.decode("utf-8", "replace").rstrip()
                if len(self._stderr_lines) < 1000:
                    self._stderr_lines.append(line)
                m = pattern.search(line)
                if m and not found.is_set():
                    self.host = m.group(1).strip("[]")
                    self.port = int(m.group(2))
                    found.set()

        self._drain_thread = threading.Thread(target=drain, name="minions-tcp-stderr", daemon=True)
        self._drain_thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not found.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise ClientError("the engine did not report its port: %s" % "\n".join(self._stderr_lines[-20:]))
        return self

    def connect(self, framing: str = "lsp", default_timeout: Optional[float] = 30.0) -> Client:
        """A new (uninitialized) client connection; closed with the engine."""
        client = Client.connect(self.host, self.port, framing=framing, default_timeout=default_timeout)
        self._clients.append(client)
        return client

    @property
    def log(self) -> str:
        """The engine's stderr so far."""
        return "\n".join(self._stderr_lines)

    def close(self) -> None:
        for client in self._clients:
            try:
                client.close(timeout=2.0)
            except Exception:
                pass
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5.0)
        if self._drain_thread is not None:
            self._drain_thread.join(timeout=2.0)
        if self.process is not None and self.process.stderr is not None and not self._drain_thread_alive():
            self.process.stderr.close()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "TcpEngine":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
