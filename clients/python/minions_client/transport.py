"""Byte transports under a :class:`~minions_client.Client`: a spawned engine's stdio, or a TCP socket."""

import collections
import errno
import os
import socket
import subprocess
import threading
import time
from typing import IO, Any, Deque, Dict, List, Mapping, Optional, Sequence, Union

__all__ = ["Transport", "ProcessTransport", "SocketTransport", "popen_retrying"]


def popen_retrying(cmd: Sequence[str], busy_timeout: float = 10.0, **kwargs: Any) -> "subprocess.Popen[bytes]":
    """:class:`subprocess.Popen`, retried while the executable is busy (``ETXTBSY``).

    Executing a binary that some process still has open for writing fails with "Text file busy" —
    e.g. while a build is replacing the engine binary. The exec is retried for up to
    ``busy_timeout`` seconds before giving up.
    """
    deadline = time.monotonic() + busy_timeout
    pause = 0.05
    while True:
        try:
            return subprocess.Popen(list(cmd), **kwargs)
        except OSError as exc:
            if exc.errno != errno.ETXTBSY or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


class Transport:
    """What the client needs from a connection: blocking reads, atomic writes, close."""

    def read(self) -> bytes:
        """Block until some bytes arrive; ``b""`` at end of stream."""
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        """Write ``data`` whole (callers serialise writes)."""
        raise NotImplementedError

    def close_write(self) -> None:
        """Signal end of input to the engine (EOF), keeping the read side open."""
        raise NotImplementedError

    def close(self, timeout: float = 5.0) -> None:
        """Release the connection (and stop the engine process, if this transport started it)."""
        raise NotImplementedError

    def describe(self) -> str:
        """A short description for error messages."""
        return type(self).__name__

    def diagnostics(self) -> str:
        """Extra information to add to a 'connection closed' error (e.g. the engine's stderr)."""
        return ""


class ProcessTransport(Transport):
    """The stdin/stdout of an engine process started with :func:`subprocess.Popen`.

    Args:
        cmd: the command, e.g. ``["minions", "serve"]``.
        env: extra environment variables, added to (not replacing) this process's environment;
            a value of ``None`` removes the variable.
        cwd: the working directory of the engine.
        stderr: ``"capture"`` (default) keeps the last 64 KiB of the engine's stderr for
            :meth:`stderr_tail` and error messages; ``"inherit"`` passes it through to this
            process's stderr; ``"devnull"`` discards it; or an open file.
        new_session: run the engine in a session of its own (the default), so that a Ctrl-C on
            the terminal reaches only this process, which can cancel the running request instead
            of the engine being interrupted under it. The engine still exits when its stdin closes.
    """

    def __init__(
        self,
        cmd: Sequence[str],
        env: Optional[Mapping[str, Optional[str]]] = None,
        cwd: Optional[str] = None,
        stderr: Union[str, IO[Any]] = "capture",
        new_session: bool = True,
    ) -> None:
        full_env: Dict[str, str] = dict(os.environ)
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = str(value)
        self._stderr_mode = stderr
        if stderr == "capture":
            err: Any = subprocess.PIPE
        elif stderr == "inherit":
            err = None
        elif stderr == "devnull":
            err = subprocess.DEVNULL
        elif isinstance(stderr, str):
            raise ValueError("stderr must be 'capture', 'inherit', 'devnull' or a file")
        else:
            err = stderr
        self.cmd: List[str] = list(cmd)
        self.process = popen_retrying(
            self.cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            env=full_env,
            cwd=cwd,
            bufsize=0,
            start_new_session=new_session,
        )
        self._stderr_buf: Deque[bytes] = collections.deque()
        self._stderr_size = 0
        self._stderr_lock = threading.Lock()
        self._stderr_thread: Optional[threading.Thread] = None
        if stderr == "capture":
            self._stderr_thread = threading.Thread(target=self._drain_stderr, name="minions-stderr", daemon=True)
            self._stderr_thread.start()

    def _drain_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        fd = stream.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._stderr_lock:
                self._stderr_buf.append(chunk)
                self._stderr_size += len(chunk)
                while self._stderr_size > 65536 and len(self._stderr_buf) > 1:
                    self._stderr_size -= len(self._stderr_buf.popleft())

    def stderr_tail(self) -> str:
        """The last (up to 64 KiB) of the engine's stderr, when captured."""
        with self._stderr_lock:
            return b"".join(self._stderr_buf).decode("utf-8", "replace")

    def read(self) -> bytes:
        stream = self.process.stdout
        assert stream is not None
        try:
            return os.read(stream.fileno(), 65536)
        except (OSError, ValueError):
            return b""

    def write(self, data: bytes) -> None:
        stream = self.process.stdin
        assert stream is not None
        view = memoryview(data)
        while view:
            n = os.write(stream.fileno(), view)
            view = view[n:]

    def close_write(self) -> None:
        stream = self.process.stdin
        if stream is not None and not stream.closed:
            try:
                stream.close()
            except OSError:
                pass

    def close(self, timeout: float = 5.0) -> None:
        self.close_write()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=2.0)
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=1.0)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    @property
    def returncode(self) -> Optional[int]:
        """The engine's exit code, once it exited."""
        return self.process.poll()

    def describe(self) -> str:
        return "engine process %d (%s)" % (self.process.pid, " ".join(self.cmd))

    def diagnostics(self) -> str:
        parts = []
        rc = self.process.poll()
        if rc is not None:
            parts.append("the engine exited with code %d" % rc)
        tail = self.stderr_tail().strip()
        if tail:
            parts.append("engine stderr:\n" + "\n".join(tail.splitlines()[-20:]))
        return "; ".join(parts)


class SocketTransport(Transport):
    """A TCP connection to ``minions serve --listen HOST:PORT``."""

    def __init__(self, host: str, port: int, connect_timeout: Optional[float] = 10.0) -> None:
        self.host = host
        self.port = port
        self.sock = socket.create_connection((host, port), timeout=connect_timeout)
        self.sock.settimeout(None)
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self._closed = False

    @classmethod
    def from_socket(cls, sock: socket.socket, description: str = "socket") -> "SocketTransport":
        """Wrap an already connected socket (e.g. one end of :func:`socket.socketpair`)."""
        self = cls.__new__(cls)
        self.host = description
        self.port = 0
        self.sock = sock
        self._closed = False
        return self

    def read(self) -> bytes:
        try:
            return self.sock.recv(65536)
        except OSError:
            return b""

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_write(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self, timeout: float = 5.0) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def describe(self) -> str:
        if not self.port:
            return str(self.host)
        return "TCP connection to %s:%d" % (self.host, self.port)
