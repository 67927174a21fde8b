"""The Minions JSON-RPC client: one connection to the engine, over a spawned process or TCP.

A :class:`Client` owns a reader thread that decodes every frame the engine sends and dispatches it:

* replies resolve the matching :class:`PendingRequest` (by id);
* notifications go to the handlers registered with :meth:`Client.on_notification` — and
  ``agent/update`` / ``metrics/update`` are also routed to the chat or subscription they belong to;
* server→client requests (``approval/request``) run the handler registered with
  :meth:`Client.on_request` (or the chat's ``approve`` callback) on a thread of their own, and its
  return value is sent back as the result (an exception becomes an error reply).

Notification handlers and callbacks such as ``on_token`` run on the reader thread, in the order the
engine sent the messages, and every one of them has run before the reply of the request that caused
it is delivered. They must be quick and must not wait for a reply themselves (use
:meth:`Client.request` without waiting, or hand the work to another thread).
"""

import collections
import itertools
import json
import logging
import os
import queue
import shutil
import threading
import time
from typing import (
    Any,
    Callable,
    Deque,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Union,
)

from ._version import __version__
from .errors import (
    ClientError,
    ConnectionClosed,
    MinionsError,
    RequestTimeout,
    error_from_response,
)
from .framing import FramingError, encode_message, make_decoder
from .transport import ProcessTransport, SocketTransport, Transport
from .types import ApprovalRequest, ChatResult, Update

__all__ = [
    "Client",
    "PendingRequest",
    "ChatStream",
    "MetricsSubscription",
    "find_engine",
    "approval_answer",
    "APPROVAL_OPTIONS",
]

log = logging.getLogger("minions_client")

NotificationHandler = Callable[[Any], None]
RequestHandler = Callable[[Any], Any]
#: What an ``approve`` callback may return: ``True`` (allow once), ``False`` (reject once), an
#: optionId or shortcut (``"allow"``, ``"always"``, ``"reject"``, ``"never"``), a full answer dict,
#: or ``None`` (cancelled: the call is not run).
ApproveCallback = Callable[[ApprovalRequest], Any]

#: Shortcuts accepted from ``approve`` callbacks, mapped to the engine's option ids.
APPROVAL_OPTIONS = {
    "allow": "allow_once",
    "yes": "allow_once",
    "y": "allow_once",
    "always": "allow_always",
    "a": "allow_always",
    "reject": "reject_once",
    "deny": "reject_once",
    "no": "reject_once",
    "n": "reject_once",
    "never": "reject_always",
}

_UNSET: Any = object()


def find_engine() -> Optional[str]:
    """The engine binary: ``$MINIONS_BIN`` if set, else ``minions`` on ``PATH`` (``None`` if neither)."""
    env = os.environ.get("MINIONS_BIN")
    if env:
        return env
    return shutil.which("minions")


def approval_answer(decision: Any) -> Dict[str, Any]:
    """Turn what an ``approve`` callback returned into an ``approval/request`` answer.

    >>> approval_answer(True)
    {'outcome': 'selected', 'optionId': 'allow_once'}
    >>> approval_answer("always")
    {'outcome': 'selected', 'optionId': 'allow_always'}
    >>> approval_answer(None)
    {'outcome': 'cancelled'}
    """
    if decision is None:
        return {"outcome": "cancelled"}
    if decision is True:
        return {"outcome": "selected", "optionId": "allow_once"}
    if decision is False:
        return {"outcome": "selected", "optionId": "reject_once"}
    if isinstance(decision, str):
        if decision == "cancelled":
            return {"outcome": "cancelled"}
        return {"outcome": "selected", "optionId": APPROVAL_OPTIONS.get(decision.lower(), decision)}
    if isinstance(decision, Mapping):
        return dict(decision)
    raise TypeError("approve callback returned %r; expected bool, str, dict or None" % (decision,))


class PendingRequest:
    """A request sent to the engine whose reply may not have come yet (a small future).

    ``result(timeout)`` waits for the reply and returns its ``result`` or raises its error as a
    :class:`~minions_client.MinionsError` subclass; ``cancel()`` sends ``$/cancelRequest`` (the
    request still gets exactly one reply: a partial result or -32800).
    """

    def __init__(self, client: "Client", request_id: Any, method: str, params: Any) -> None:
        self.id = request_id
        self.method = method
        self.params = params
        self._client = client
        self._event = threading.Event()
        self._result: Any = None
        self._error: Optional[MinionsError] = None
        #: Hooks run on the reader thread when the reply arrives, before waiters wake up; a hook may
        #: return a replacement for the result (``None`` keeps it).
        self._on_reply: List[Callable[[Any, Optional[MinionsError]], Any]] = []
        self.sent_at = time.monotonic()

    def done(self) -> bool:
        """Whether the reply arrived (or the connection closed)."""
        return self._event.is_set()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait for the reply; ``True`` when it came within ``timeout`` seconds."""
        self._client._check_not_reader_thread(self)
        deadline = None if timeout is None else time.monotonic() + timeout
        # Short slices keep the main thread responsive to Ctrl-C on every platform.
        while not self._event.is_set():
            slice_ = 0.25
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                slice_ = min(slice_, remaining)
            self._event.wait(slice_)
        return True

    def result(self, timeout: Optional[float] = None) -> Any:
        """The reply's result; raises its error, or :class:`RequestTimeout` (the request keeps running)."""
        if not self.wait(timeout):
            raise RequestTimeout(
                "no reply to %s (id %r) within %.3gs" % (self.method, self.id, timeout), method=self.method
            )
        if self._error is not None:
            raise self._error
        return self._result

    def exception(self, timeout: Optional[float] = None) -> Optional[MinionsError]:
        """The reply's error (``None`` for a successful reply)."""
        if not self.wait(timeout):
            raise RequestTimeout("no reply to %s within %.3gs" % (self.method, timeout), method=self.method)
        return self._error

    def cancel(self) -> None:
        """Ask the engine to cancel this request (``$/cancelRequest``). Harmless once it finished."""
        if not self._event.is_set():
            self._client.cancel(self.id)

    def _resolve(self, result: Any, error: Optional[MinionsError]) -> None:
        if self._event.is_set():
            return
        for hook in self._on_reply:
            try:
                replacement = hook(result, error)
            except Exception:  # a hook must never kill the reader thread
                log.exception("reply hook for %s failed", self.method)
                continue
            if replacement is not None and error is None:
                result = replacement
        self._result = result
        self._error = error
        self._event.set()

    def __repr__(self) -> str:
        state = "done" if self.done() else "pending"
        return "<PendingRequest %s id=%r %s>" % (self.method, self.id, state)


class _ChatState:
    """Book-keeping for one running ``agent/chat`` (reader thread side)."""

    def __init__(
        self,
        on_token: Optional[Callable[[str], None]],
        on_update: Optional[Callable[[Update], None]],
        approve: Optional[ApproveCallback],
        stream: bool,
    ) -> None:
        self.on_token = on_token
        self.on_update = on_update
        self.approve = approve
        self.session_id: Optional[str] = None
        self.updates: List[Update] = []
        self.queue: "Optional[queue.Queue[Any]]" = queue.Queue() if stream else None
        self.request: Optional[PendingRequest] = None
        self.holds_gate = False

    def deliver(self, update: Update) -> None:
        self.updates.append(update)
        if self.on_update is not None:
            try:
                self.on_update(update)
            except Exception:
                log.exception("on_update callback failed")
        if self.on_token is not None and update.kind == "token":
            try:
                self.on_token(update.text)
            except Exception:
                log.exception("on_token callback failed")
        if self.queue is not None:
            self.queue.put(update)


class _Final:
    """The end-of-stream marker in a chat stream's queue."""

    def __init__(self, result: Any, error: Optional[MinionsError]) -> None:
        self.result = result
        self.error = error


class ChatStream:
    """An ``agent/chat`` turn as an iterator: every :class:`Update`, then the :class:`ChatResult`.

    ::

        with client.chat_stream("hello") as stream:
            for item in stream:
                if isinstance(item, ChatResult):
                    print("\\n", item.stop_reason)
                elif item.kind == "token":
                    print(item.text, end="")

    Iteration raises the turn's error (a :class:`MinionsError`) if it failed. Leaving the iteration
    early (``break``) or calling :meth:`close` cancels the turn if it is still running. ``timeout``
    bounds the whole turn: past it the turn is cancelled and :class:`RequestTimeout` is raised.
    """

    def __init__(self, client: "Client", state: _ChatState, timeout: Optional[float]) -> None:
        self._client = client
        self._state = state
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._timeout = timeout
        self._result: Optional[ChatResult] = None
        self._error: Optional[MinionsError] = None
        self._finished = False

    @property
    def request(self) -> PendingRequest:
        assert self._state.request is not None
        return self._state.request

    @property
    def session_id(self) -> Optional[str]:
        """The session, once known (given, or learned from the first update or the reply)."""
        return self._state.session_id

    @property
    def result(self) -> Optional[ChatResult]:
        """The turn's result once the iteration reached it."""
        return self._result

    @property
    def updates(self) -> List[Update]:
        """Every update received so far."""
        return list(self._state.updates)

    def cancel(self) -> None:
        """Cancel the turn (``$/cancelRequest``); the iteration still ends with the (cancelled) result."""
        self.request.cancel()

    def _next_item(self) -> Any:
        q = self._state.queue
        assert q is not None
        while True:
            self._client._check_not_reader_thread(self.request)
            wait = 0.25
            if self._deadline is not None:
                remaining = self._deadline - time.monotonic()
                if remaining <= 0:
                    self.request.cancel()
                    raise RequestTimeout(
                        "agent/chat did not finish within %.3gs (cancelled)" % self._timeout, method="agent/chat"
                    )
                wait = min(wait, remaining)
            try:
                return q.get(timeout=wait)
            except queue.Empty:
                continue

    def __iter__(self) -> Iterator[Union[Update, ChatResult]]:
        try:
            while not self._finished:
                item = self._next_item()
                if isinstance(item, _Final):
                    self._finished = True
                    if item.error is not None:
                        self._error = item.error
                        raise item.error
                    self._result = item.result
                    yield item.result
                    return
                yield item
        finally:
            if not self._finished:
                self.close()

    def wait(self, timeout: Optional[float] = _UNSET) -> ChatResult:
        """Consume the rest of the stream and return the result (raises the turn's error)."""
        if timeout is not _UNSET:
            self._deadline = None if timeout is None else time.monotonic() + timeout
            self._timeout = timeout
        if self._error is not None:
            raise self._error
        for _ in self:
            pass
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def close(self, grace: float = 5.0) -> None:
        """Cancel the turn if it still runs and wait (up to ``grace`` seconds) for its reply."""
        req = self._state.request
        if req is None or req.done():
            return
        req.cancel()
        try:
            req.wait(grace)
        except RuntimeError:
            pass

    def __enter__(self) -> "ChatStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class MetricsSubscription:
    """A ``metrics/subscribe`` subscription: iterate to get each snapshot as it comes.

    ::

        with client.metrics(interval_ms=500) as sub:
            for snapshot in sub:
                print(snapshot["process"]["rssBytes"])

    The subscription is ended with ``metrics/unsubscribe`` when the iteration stops (``break``,
    ``count`` reached, an exception) or on :meth:`close`. ``count`` bounds the number of snapshots;
    ``timeout`` bounds the wait for each one (:class:`RequestTimeout`). Like the engine, the client
    keeps only the newest ``max_buffered`` unread snapshots.
    """

    def __init__(
        self,
        client: "Client",
        interval_ms: int,
        count: Optional[int] = None,
        timeout: Optional[float] = None,
        max_buffered: int = 8,
    ) -> None:
        self._client = client
        self.interval_ms = interval_ms
        self.count = count
        self.timeout = timeout
        self.subscription_id: Optional[str] = None
        self._buf: Deque[Any] = collections.deque(maxlen=max(1, max_buffered))
        self._cond = threading.Condition()
        self._ended: Optional[MinionsError] = None
        self._closed = False
        self.received = 0

    # reader thread side
    def _push(self, snapshot: Any) -> None:
        with self._cond:
            self._buf.append(snapshot)
            self._cond.notify_all()

    def _end(self, error: Optional[MinionsError]) -> None:
        with self._cond:
            if self._ended is None:
                self._ended = error or ConnectionClosed("the subscription ended")
            self._cond.notify_all()

    def next(self, timeout: Optional[float] = _UNSET) -> Any:
        """The next snapshot (waits up to ``timeout`` seconds, default the subscription's)."""
        if timeout is _UNSET:
            timeout = self.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._buf:
                if self._closed:
                    raise StopIteration
                if self._ended is not None:
                    raise self._ended
                wait = 0.25
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise RequestTimeout("no metrics/update within %.3gs" % timeout, method="metrics/update")
                    wait = min(wait, remaining)
                self._cond.wait(wait)
            self.received += 1
            return self._buf.popleft()

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        try:
            while self.count is None or self.received < self.count:
                try:
                    yield self.next()
                except StopIteration:
                    return
        finally:
            self.close()

    def close(self, timeout: float = 5.0) -> None:
        """Unsubscribe (``metrics/unsubscribe``); no snapshot is delivered after this returns."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._buf.clear()
            self._cond.notify_all()
        sid = self.subscription_id
        if sid is None:
            return
        try:
            if not self._client.closed:
                self._client.call("metrics/unsubscribe", {"subscriptionId": sid}, timeout=timeout)
        except MinionsError as exc:
            log.debug("metrics/unsubscribe %s failed: %s", sid, exc)
        finally:
            self._client._drop_subscription(sid)

    def __enter__(self) -> "MetricsSubscription":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Client:
    """A JSON-RPC 2.0 connection to the Minions engine.

    Make one with :meth:`spawn` (start ``minions serve`` and talk over its stdio) or :meth:`connect`
    (TCP), then call :meth:`initialize`. Use it as a context manager to shut the engine down cleanly.
    Every public method is thread-safe: several threads may run requests (and chats) at once over
    one connection; replies are matched by id.

    Args:
        transport: the byte connection.
        framing: ``"lsp"`` (``Content-Length`` headers, the default) or ``"ndjson"``.
        default_timeout: the timeout, in seconds, of calls that give none (``None``: wait forever).
    """

    def __init__(self, transport: Transport, framing: str = "lsp", default_timeout: Optional[float] = None) -> None:
        if framing not in ("lsp", "ndjson"):
            raise ValueError("framing must be 'lsp' or 'ndjson', not %r" % (framing,))
        self.transport = transport
        self.framing = framing
        self.default_timeout = default_timeout
        self._decoder = make_decoder(framing)
        self._write_lock = threading.Lock()
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._pending: Dict[Any, PendingRequest] = {}
        self._notification_handlers: Dict[str, List[NotificationHandler]] = {}
        self._request_handlers: Dict[str, RequestHandler] = {}
        self._progress_handlers: Dict[Any, Callable[[Dict[str, Any]], None]] = {}
        self._server_requests: Dict[Any, threading.Event] = {}
        self._chats_by_session: Dict[str, _ChatState] = {}
        self._unclaimed_chat: Optional[_ChatState] = None
        self._new_chat_gate = threading.Semaphore(1)
        self._subscriptions: Dict[str, MetricsSubscription] = {}
        self._closed = threading.Event()
        self._close_error: Optional[MinionsError] = None
        self._closing = False
        #: The ``initialize`` result once initialized.
        self.server: Optional[Dict[str, Any]] = None
        #: Who this connection acts as (``initialize``'s ``user``, updated by :meth:`login`).
        self.user: Optional[Dict[str, Any]] = None
        #: The token from the last :meth:`login`.
        self.token: Optional[str] = None
        self._reader = threading.Thread(target=self._read_loop, name="minions-reader", daemon=True)
        self._reader.start()

    # ------------------------------------------------------------------ construction

    @classmethod
    def spawn(
        cls,
        cmd: Optional[Sequence[str]] = None,
        env: Optional[Mapping[str, Optional[str]]] = None,
        *,
        framing: str = "lsp",
        engine: Optional[str] = None,
        data_dir: Optional[str] = None,
        workspace: Optional[str] = None,
        log_level: Optional[str] = None,
        cwd: Optional[str] = None,
        stderr: Any = "capture",
        default_timeout: Optional[float] = None,
    ) -> "Client":
        """Start the engine and connect to its stdio.

        Args:
            cmd: the full command (default: ``[engine, "serve"]`` plus ``--workspace`` /
                ``--log-level`` when given).
            env: extra environment variables for the engine (``None`` values remove one).
            engine: the engine binary when ``cmd`` is not given (default :func:`find_engine`).
            data_dir: sets ``MINIONS_DATA_DIR`` (the database, keys, exports).
            workspace: the directory the file tools may use (``serve --workspace``).
            log_level: the engine's log level (``serve --log-level``).
            stderr: ``"capture"`` (kept for error messages, see ``transport.stderr_tail()``),
                ``"inherit"``, ``"devnull"`` or a file.
        """
        if cmd is None:
            binary = engine or find_engine()
            if not binary:
                raise ClientError("no engine: set MINIONS_BIN or put `minions` on PATH")
            cmd = [binary, "serve"]
            if workspace is not None:
                cmd += ["--workspace", workspace]
            if log_level is not None:
                cmd += ["--log-level", log_level]
        full_env: Dict[str, Optional[str]] = dict(env or {})
        if data_dir is not None:
            full_env["MINIONS_DATA_DIR"] = data_dir
        try:
            transport = ProcessTransport(cmd, env=full_env, cwd=cwd, stderr=stderr)
        except OSError as exc:
            raise ClientError("cannot start the engine %r: %s" % (list(cmd), exc)) from exc
        return cls(transport, framing=framing, default_timeout=default_timeout)

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        *,
        framing: str = "lsp",
        connect_timeout: Optional[float] = 10.0,
        default_timeout: Optional[float] = None,
    ) -> "Client":
        """Connect to ``minions serve --listen HOST:PORT`` (log in before most methods)."""
        try:
            transport = SocketTransport(host, int(port), connect_timeout=connect_timeout)
        except OSError as exc:
            raise ConnectionClosed("cannot connect to %s:%s: %s" % (host, port, exc)) from exc
        return cls(transport, framing=framing, default_timeout=default_timeout)

    # ------------------------------------------------------------------ plumbing

    @property
    def closed(self) -> bool:
        """Whether the connection is gone."""
        return self._closed.is_set()

    def _check_not_reader_thread(self, req: Optional[PendingRequest]) -> None:
        if threading.current_thread() is self._reader and (req is None or not req.done()):
            raise RuntimeError(
                "waiting for a reply on the client's reader thread would deadlock: notification "
                "handlers must not call Client.call(); use Client.request() or another thread"
            )

    def _send(self, message: Dict[str, Any]) -> None:
        data = encode_message(message, self.framing)
        if self._closed.is_set():
            raise self._closed_error()
        try:
            with self._write_lock:
                self.transport.write(data)
        except (OSError, ValueError) as exc:
            raise ConnectionClosed("cannot write to the engine: %s%s" % (exc, self._diag())) from exc

    def _diag(self) -> str:
        try:
            d = self.transport.diagnostics()
        except Exception:
            d = ""
        return ("; " + d) if d else ""

    def _closed_error(self) -> MinionsError:
        return self._close_error or ConnectionClosed("the connection to the engine is closed")

    def request(
        self,
        method: str,
        params: Optional[Any] = None,
        *,
        on_progress: Optional[Callable[[Dict[str, Any]], None]] = None,
        _on_reply: Optional[Callable[[Any, Optional[MinionsError]], Any]] = None,
    ) -> PendingRequest:
        """Send a request without waiting; returns a :class:`PendingRequest`.

        ``on_progress`` (called on the reader thread with each ``$/progress`` value) adds a
        ``workDoneToken`` to the params.
        """
        request_id = next(self._ids)
        if on_progress is not None:
            params = dict(params or {})
            params.setdefault("workDoneToken", "py-%d" % request_id)
        req = PendingRequest(self, request_id, method, params)
        if on_progress is not None:
            token = params["workDoneToken"]  # type: ignore[index]
            self._progress_handlers[token] = on_progress

            def drop_progress(_r: Any, _e: Optional[MinionsError]) -> None:
                self._progress_handlers.pop(token, None)

            req._on_reply.append(drop_progress)
        if _on_reply is not None:
            req._on_reply.append(_on_reply)
        message: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        with self._lock:
            if self._closed.is_set():
                raise self._closed_error()
            self._pending[request_id] = req
        try:
            self._send(message)
        except MinionsError as exc:
            with self._lock:
                self._pending.pop(request_id, None)
            req._resolve(None, exc)
            raise
        return req

    def call(self, method: str, params: Optional[Any] = None, timeout: Optional[float] = _UNSET, **kwargs: Any) -> Any:
        """Send a request and wait for its result.

        Raises the reply's error as a :class:`MinionsError` subclass (``InvalidParams``,
        ``NotFound``, …), :class:`ConnectionClosed` if the engine went away, or
        :class:`RequestTimeout` after ``timeout`` seconds (default: ``default_timeout``), in which case
        the request is cancelled with ``$/cancelRequest``.
        """
        if timeout is _UNSET:
            timeout = self.default_timeout
        req = self.request(method, params, **kwargs)
        try:
            return req.result(timeout)
        except RequestTimeout:
            req.cancel()
            raise
        except KeyboardInterrupt:
            req.cancel()
            raise

    def notify(self, method: str, params: Optional[Any] = None) -> None:
        """Send a notification (no reply, not even an error)."""
        message: Dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self._send(message)

    def cancel(self, request_id: Any) -> None:
        """``$/cancelRequest {id}``: cancel a running request (it still gets one reply)."""
        try:
            self.notify("$/cancelRequest", {"id": request_id})
        except ConnectionClosed:
            pass

    def on_notification(self, method: str, handler: NotificationHandler) -> Callable[[], None]:
        """Call ``handler(params)`` for each notification ``method`` (``"*"``: every notification,
        as ``handler({"method": m, "params": p})``). Returns a function that removes the handler.

        Handlers run on the reader thread in arrival order; they must not block or wait for replies.
        """
        with self._lock:
            self._notification_handlers.setdefault(method, []).append(handler)

        def remove() -> None:
            with self._lock:
                handlers = self._notification_handlers.get(method, [])
                if handler in handlers:
                    handlers.remove(handler)

        return remove

    def on_request(self, method: str, handler: Optional[RequestHandler]) -> None:
        """Answer server→client requests ``method`` with ``handler(params)``'s return value.

        The handler runs on a thread of its own (it may block, e.g. to ask the user). If it raises a
        :class:`MinionsError` with a code, that error is sent back; any other exception becomes a
        -32603 error reply. ``None`` removes the handler. Without a handler, ``approval/request`` is
        answered ``{"outcome": "cancelled"}`` (the call is not run) and other methods get -32601.
        """
        with self._lock:
            if handler is None:
                self._request_handlers.pop(method, None)
            else:
                self._request_handlers[method] = handler

    # ------------------------------------------------------------------ reader thread

    def _read_loop(self) -> None:
        error: Optional[MinionsError] = None
        try:
            while True:
                data = self.transport.read()
                if not data:
                    break
                try:
                    bodies = self._decoder.feed(data)
                except FramingError as exc:
                    error = ConnectionClosed("undecodable data from the engine: %s" % exc)
                    break
                for body in bodies:
                    try:
                        message = json.loads(body.decode("utf-8"))
                    except (UnicodeDecodeError, ValueError) as exc:
                        log.warning("ignoring a frame that is not JSON (%s): %r", exc, body[:200])
                        continue
                    try:
                        self._dispatch(message)
                    except Exception:
                        log.exception("dispatching a message failed: %r", body[:200])
        except Exception as exc:  # pragma: no cover - defensive
            log.exception("reader thread failed")
            error = ConnectionClosed("reader failed: %s" % exc)
        self._connection_lost(error)

    def _connection_lost(self, error: Optional[MinionsError]) -> None:
        if error is None:
            if self._closing:
                error = ConnectionClosed("the connection was closed by the client")
            else:
                error = ConnectionClosed("the engine closed the connection (%s)%s" % (self.transport.describe(), self._diag()))
        with self._lock:
            self._close_error = error
            self._closed.set()
            pending = list(self._pending.values())
            self._pending.clear()
            subs = list(self._subscriptions.values())
            self._subscriptions.clear()
        for req in pending:
            req._resolve(None, ConnectionClosed(error.message, method=req.method))
        for sub in subs:
            sub._end(error)

    def _dispatch(self, message: Any) -> None:
        if isinstance(message, list):  # a batch reply
            for item in message:
                self._dispatch(item)
            return
        if not isinstance(message, dict):
            log.warning("ignoring a message that is not an object: %r", message)
            return
        method = message.get("method")
        if isinstance(method, str):
            if "id" in message:
                self._handle_server_request(message["id"], method, message.get("params"))
            else:
                self._handle_notification(method, message.get("params"))
            return
        if "id" in message:
            self._handle_reply(message)
            return
        log.warning("ignoring an unrecognised message: %r", message)

    def _handle_reply(self, message: Dict[str, Any]) -> None:
        request_id = message.get("id")
        with self._lock:
            req = self._pending.pop(request_id, None) if request_id is not None else None
        if req is None:
            if request_id is None and "error" in message:
                log.warning("engine error not tied to a request: %r", message["error"])
            else:
                log.debug("reply to an unknown or abandoned request %r", request_id)
            return
        if "error" in message:
            req._resolve(None, error_from_response(message["error"], req.method))
        else:
            req._resolve(message.get("result"), None)

    def _handle_notification(self, method: str, params: Any) -> None:
        if method == "agent/update" and isinstance(params, dict):
            update = Update(params)
            state = self._chat_for_session(update.session_id)
            if state is not None:
                state.deliver(update)
            params = update
        elif method == "metrics/update" and isinstance(params, dict):
            with self._lock:
                sub = self._subscriptions.get(params.get("subscriptionId"))  # type: ignore[arg-type]
            if sub is not None:
                sub._push(params.get("snapshot"))
        elif method == "$/progress" and isinstance(params, dict):
            handler = self._progress_handlers.get(params.get("token"))
            if handler is not None:
                try:
                    handler(params.get("value") or {})
                except Exception:
                    log.exception("progress handler failed")
        elif method == "$/cancelRequest" and isinstance(params, dict):
            with self._lock:
                withdrawn = self._server_requests.get(params.get("id"))
            if withdrawn is not None:
                withdrawn.set()
        with self._lock:
            handlers = list(self._notification_handlers.get(method, ()))
            star = list(self._notification_handlers.get("*", ()))
        for handler in handlers:
            try:
                handler(params)
            except Exception:
                log.exception("notification handler for %s failed", method)
        for handler in star:
            try:
                handler({"method": method, "params": params})
            except Exception:
                log.exception("notification handler for * failed")

    def _chat_for_session(self, session_id: Optional[str]) -> Optional[_ChatState]:
        """The chat a session's message belongs to; claims the waiting new-session chat if needed."""
        if not session_id:
            return None
        with self._lock:
            state = self._chats_by_session.get(session_id)
            if state is None and self._unclaimed_chat is not None:
                state = self._unclaimed_chat
                self._unclaimed_chat = None
                state.session_id = session_id
                self._chats_by_session[session_id] = state
                if state.holds_gate:
                    state.holds_gate = False
                    self._new_chat_gate.release()
            return state

    def _handle_server_request(self, request_id: Any, method: str, params: Any) -> None:
        withdrawn = threading.Event()
        handler: Optional[Callable[[], Any]] = None
        if method == "approval/request":
            approval = ApprovalRequest(params if isinstance(params, dict) else {})
            state = self._chat_for_session(approval.session_id)
            with self._lock:
                user_handler = self._request_handlers.get(method)
            if state is not None and state.approve is not None:
                approve = state.approve
                handler = lambda: approval_answer(approve(approval))  # noqa: E731
            elif user_handler is not None:
                uh = user_handler
                handler = lambda: uh(approval)  # noqa: E731
            else:
                handler = lambda: {"outcome": "cancelled"}  # noqa: E731
        else:
            with self._lock:
                user_handler = self._request_handlers.get(method)
            if user_handler is not None:
                uh2 = user_handler
                handler = lambda: uh2(params)  # noqa: E731
        if handler is None:
            self._reply_error(request_id, -32601, "Method not found: %s" % method, {"method": method})
            return
        with self._lock:
            self._server_requests[request_id] = withdrawn
        thread = threading.Thread(
            target=self._run_server_request,
            args=(request_id, method, handler, withdrawn),
            name="minions-server-request-%s" % (request_id,),
            daemon=True,
        )
        thread.start()

    def _run_server_request(self, request_id: Any, method: str, handler: Callable[[], Any], withdrawn: threading.Event) -> None:
        try:
            try:
                result = handler()
            except MinionsError as exc:
                if exc.code is not None:
                    self._reply_error(request_id, exc.code, exc.message, exc.data)
                else:
                    self._reply_error(request_id, -32603, "Internal error: %s" % exc.message)
                return
            except Exception as exc:
                log.exception("handler for server request %s failed", method)
                self._reply_error(request_id, -32603, "Internal error: %s: %s" % (type(exc).__name__, exc))
                return
            if withdrawn.is_set():
                self._reply_error(request_id, -32800, "Request cancelled")
                return
            self._reply(request_id, result)
        finally:
            with self._lock:
                self._server_requests.pop(request_id, None)

    def _reply(self, request_id: Any, result: Any) -> None:
        try:
            self._send({"jsonrpc": "2.0", "id": request_id, "result": result})
        except (MinionsError, TypeError, ValueError) as exc:
            log.warning("could not answer server request %r: %s", request_id, exc)
            if isinstance(exc, (TypeError, ValueError)):
                self._reply_error(request_id, -32603, "Internal error: the result is not JSON")

    def _reply_error(self, request_id: Any, code: int, message: str, data: Any = None) -> None:
        error: Dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        try:
            self._send({"jsonrpc": "2.0", "id": request_id, "error": error})
        except MinionsError as exc:
            log.warning("could not answer server request %r: %s", request_id, exc)

    def _drop_subscription(self, subscription_id: str) -> None:
        with self._lock:
            self._subscriptions.pop(subscription_id, None)

    # ------------------------------------------------------------------ lifecycle

    def initialize(
        self,
        *,
        client_name: str = "minions-python",
        client_version: str = __version__,
        approvals: bool = True,
        token_coalesce_ms: Optional[int] = None,
        opt_out_notifications: Optional[Sequence[str]] = None,
        token: Optional[str] = None,
        api_key: Optional[str] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        protocol_version: Union[int, str] = 1,
        extra_capabilities: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = 30.0,
        send_initialized: bool = True,
    ) -> Dict[str, Any]:
        """Send ``initialize`` (and then ``initialized``); returns the result.

        ``approvals=True`` (the default) declares ``capabilities.approvals``: the engine then asks
        this client (``approval/request``) before an agent runs a tool that changes something; the
        ``approve`` callback of :meth:`chat` or the handler set with ``on_request("approval/request",
        …)`` answers, and with neither the call is refused (answered ``cancelled``).
        Credentials (``token``, ``api_key`` or ``username`` + ``password``) go in ``initialize.auth``.
        """
        caps: Dict[str, Any] = {"approvals": bool(approvals)}
        if token_coalesce_ms is not None:
            caps["tokenCoalesceMs"] = token_coalesce_ms
        if opt_out_notifications:
            caps["optOutNotifications"] = list(opt_out_notifications)
        if extra_capabilities:
            caps.update(extra_capabilities)
        params: Dict[str, Any] = {
            "protocolVersion": protocol_version,
            "clientInfo": {"name": client_name, "version": client_version},
            "capabilities": caps,
        }
        if token is not None:
            params["auth"] = {"token": token}
        elif api_key is not None:
            params["auth"] = {"apiKey": api_key}
        elif username is not None:
            params["auth"] = {"username": username, "password": password or ""}
        result = self.call("initialize", params, timeout=timeout)
        self.server = result
        self.user = result.get("user") if isinstance(result, dict) else None
        if send_initialized:
            self.notify("initialized")
        return result  # type: ignore[no-any-return]

    def login(self, username: str, password: str, timeout: Optional[float] = _UNSET) -> Dict[str, Any]:
        """``auth/login``: bind this connection to ``username``; returns ``{token, expiresAt, user}``."""
        result = self.call("auth/login", {"username": username, "password": password}, timeout=timeout)
        self.token = result.get("token")
        self.user = result.get("user")
        return result  # type: ignore[no-any-return]

    def logout(self, timeout: Optional[float] = _UNSET) -> Dict[str, Any]:
        """``auth/logout``: revoke this connection's token."""
        return self.call("auth/logout", {}, timeout=timeout)  # type: ignore[no-any-return]

    def whoami(self, timeout: Optional[float] = _UNSET) -> Dict[str, Any]:
        """``auth/whoami``: who this connection acts as."""
        return self.call("auth/whoami", {}, timeout=timeout)  # type: ignore[no-any-return]

    def shutdown(self, timeout: Optional[float] = 10.0) -> None:
        """``shutdown`` (waits for every earlier request), then the ``exit`` notification."""
        try:
            self.call("shutdown", None, timeout=timeout)
        finally:
            try:
                self.notify("exit")
            except MinionsError:
                pass

    def close(self, timeout: float = 5.0) -> None:
        """Shut down politely (bounded by ``timeout``), then close the connection.

        A spawned engine gets ``shutdown``/``exit`` and end of input, and is killed if it does not
        exit within ``timeout`` seconds.
        """
        if self._closing:
            return
        self._closing = True
        if not self._closed.is_set() and self.server is not None:
            try:
                self.shutdown(timeout=timeout)
            except MinionsError as exc:
                log.debug("shutdown during close failed: %s", exc)
        try:
            self.transport.close(timeout=timeout)
        finally:
            self._reader.join(timeout=timeout)
            if not self._closed.is_set():
                self._connection_lost(ConnectionClosed("the connection was closed by the client"))

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ chat

    def _start_chat(
        self,
        message: str,
        agent: Optional[str],
        model: Optional[str],
        session_id: Optional[str],
        on_token: Optional[Callable[[str], None]],
        on_update: Optional[Callable[[Update], None]],
        approve: Optional[ApproveCallback],
        max_steps: Optional[int],
        temperature: Optional[float],
        cache: Optional[bool],
        extra: Optional[Mapping[str, Any]],
        stream: bool,
        timeout: Optional[float],
    ) -> _ChatState:
        params: Dict[str, Any] = {"message": message}
        if agent is not None:
            params["agent"] = agent
        if model is not None:
            params["model"] = model
        if session_id is not None:
            params["sessionId"] = session_id
        if max_steps is not None:
            params["maxSteps"] = max_steps
        if temperature is not None:
            params["temperature"] = temperature
        if cache is not None:
            params["cache"] = cache
        if extra:
            params.update(extra)
        state = _ChatState(on_token, on_update, approve, stream)
        if session_id is None:
            # Updates of a new session can only be told apart by their first appearance: let one
            # new-session chat at a time wait for its first update (or its reply).
            if not self._new_chat_gate.acquire(timeout=-1 if timeout is None else timeout):
                raise RequestTimeout("another new-session chat is still starting", method="agent/chat")
            state.holds_gate = True
            with self._lock:
                self._unclaimed_chat = state
        else:
            state.session_id = session_id
            with self._lock:
                self._chats_by_session.setdefault(session_id, state)

        def on_reply(result: Any, error: Optional[MinionsError]) -> Any:
            with self._lock:
                if self._unclaimed_chat is state:
                    self._unclaimed_chat = None
                if state.holds_gate:
                    state.holds_gate = False
                    self._new_chat_gate.release()
                if state.session_id is None and isinstance(result, dict):
                    state.session_id = result.get("sessionId")
                sid = state.session_id
                if sid is not None and self._chats_by_session.get(sid) is state:
                    del self._chats_by_session[sid]
            final: Any = None
            if error is None:
                final = ChatResult(result if isinstance(result, dict) else {})
                final.updates = list(state.updates)
            if state.queue is not None:
                state.queue.put(_Final(final, error))
            return final

        try:
            req = self.request("agent/chat", params, _on_reply=on_reply)
        except MinionsError:
            with self._lock:
                if self._unclaimed_chat is state:
                    self._unclaimed_chat = None
                if state.holds_gate:
                    state.holds_gate = False
                    self._new_chat_gate.release()
                if session_id is not None and self._chats_by_session.get(session_id) is state:
                    del self._chats_by_session[session_id]
            raise
        state.request = req
        return state

    def chat(
        self,
        message: str,
        agent: Optional[str] = None,
        model: Optional[str] = None,
        session_id: Optional[str] = None,
        on_token: Optional[Callable[[str], None]] = None,
        on_update: Optional[Callable[[Update], None]] = None,
        approve: Optional[ApproveCallback] = None,
        *,
        max_steps: Optional[int] = None,
        temperature: Optional[float] = None,
        cache: Optional[bool] = None,
        extra: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = _UNSET,
    ) -> ChatResult:
        """Run one turn (``agent/chat``) and return its :class:`ChatResult`.

        Args:
            message: what the user says.
            agent: the agent (default ``assistant``); model: pin a model (default: selection).
            session_id: continue a session (default: a new one; read it from the result).
            on_token: called with the text of every ``token`` update as it streams (delegated agents'
                tokens included; filter with ``on_update`` and ``update.agent`` if needed).
            on_update: called with every :class:`Update` of the turn.
            approve: decides ``approval/request`` s of this turn: gets an :class:`ApprovalRequest`,
                returns ``True`` / ``False`` / an option id / ``None`` (see :data:`APPROVAL_OPTIONS`).
                Runs on its own thread, so it may block (ask the user).
            timeout: seconds to wait for the reply (default ``default_timeout``); past it the turn is
                cancelled and :class:`RequestTimeout` raised.

        The callbacks run before this method returns; a cancelled turn returns normally with
        ``stop_reason == "cancelled"``. Errors are raised as :class:`MinionsError` subclasses.
        """
        if timeout is _UNSET:
            timeout = self.default_timeout
        state = self._start_chat(
            message, agent, model, session_id, on_token, on_update, approve,
            max_steps, temperature, cache, extra, False, timeout,
        )
        req = state.request
        assert req is not None
        try:
            return req.result(timeout)  # type: ignore[no-any-return]
        except (RequestTimeout, KeyboardInterrupt):
            req.cancel()
            raise

    def chat_stream(
        self,
        message: str,
        agent: Optional[str] = None,
        model: Optional[str] = None,
        session_id: Optional[str] = None,
        approve: Optional[ApproveCallback] = None,
        *,
        on_token: Optional[Callable[[str], None]] = None,
        on_update: Optional[Callable[[Update], None]] = None,
        max_steps: Optional[int] = None,
        temperature: Optional[float] = None,
        cache: Optional[bool] = None,
        extra: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = _UNSET,
    ) -> ChatStream:
        """Start a turn and return a :class:`ChatStream`: iterate it for each :class:`Update`, ending
        with the :class:`ChatResult`. The request is sent at once.

        The arguments are :meth:`chat`'s; ``on_token`` / ``on_update`` are called on the reader
        thread as updates arrive, in addition to the stream (useful to keep the order of updates
        and approval requests, which the ``approve`` callback sees on another thread)."""
        if timeout is _UNSET:
            timeout = self.default_timeout
        state = self._start_chat(
            message, agent, model, session_id, on_token, on_update, approve,
            max_steps, temperature, cache, extra, True, timeout,
        )
        return ChatStream(self, state, timeout)

    def cancel_turn(self, session_id: str, timeout: Optional[float] = _UNSET) -> bool:
        """``agent/cancel {sessionId}``: stop that session's running turn; ``False`` when none ran."""
        result = self.call("agent/cancel", {"sessionId": session_id}, timeout=timeout)
        return bool(result.get("cancelled")) if isinstance(result, dict) else False

    # ------------------------------------------------------------------ metrics

    def metrics(
        self,
        interval_ms: int = 1000,
        *,
        count: Optional[int] = None,
        timeout: Optional[float] = _UNSET,
        max_buffered: int = 8,
    ) -> MetricsSubscription:
        """``metrics/subscribe``: a :class:`MetricsSubscription` yielding snapshots every ``interval_ms``.

        ``count`` stops the iteration after that many snapshots; ``timeout`` bounds the wait for each
        (default: ``default_timeout``). Unsubscribes when the iteration ends or on ``close()``.
        """
        if timeout is _UNSET:
            timeout = self.default_timeout
        sub = MetricsSubscription(self, interval_ms, count=count, timeout=timeout, max_buffered=max_buffered)

        def on_reply(result: Any, error: Optional[MinionsError]) -> None:
            # Runs on the reader thread before the next message is read, so the first
            # metrics/update (sent right after this reply) finds its subscription.
            if error is None and isinstance(result, dict) and result.get("subscriptionId"):
                sub.subscription_id = str(result["subscriptionId"])
                with self._lock:
                    self._subscriptions[sub.subscription_id] = sub

        self.call("metrics/subscribe", {"intervalMs": interval_ms}, timeout=timeout, _on_reply=on_reply)
        return sub

    # ------------------------------------------------------------------ conveniences

    def models(self, timeout: Optional[float] = _UNSET) -> List[Dict[str, Any]]:
        """``models/list`` → the models."""
        return list(self.call("models/list", {}, timeout=timeout).get("models", []))

    def select_model(
        self,
        task: Optional[str] = None,
        *,
        required_capabilities: Optional[Sequence[str]] = None,
        strategy: Optional[str] = None,
        exclude: Optional[Sequence[str]] = None,
        timeout: Optional[float] = _UNSET,
    ) -> Dict[str, Any]:
        """``models/select`` → ``{model, provider, score, reasons, candidates}``."""
        params: Dict[str, Any] = {}
        if task is not None:
            params["task"] = task
        if required_capabilities:
            params["requiredCapabilities"] = list(required_capabilities)
        if strategy is not None:
            params["strategy"] = strategy
        if exclude:
            params["exclude"] = list(exclude)
        return self.call("models/select", params, timeout=timeout)  # type: ignore[no-any-return]

    def register_script_model(
        self,
        name: str,
        script: str,
        capabilities: Sequence[str] = ("text_generation", "tool_use"),
        timeout: Optional[float] = _UNSET,
        **fields: Any,
    ) -> Dict[str, Any]:
        """``models/register`` a ``script`` provider model replaying the script file at ``script``
        (a path the engine can read). See :mod:`minions_client.testing` to write one."""
        params: Dict[str, Any] = {"name": name, "provider": "script", "capabilities": list(capabilities), "script": script}
        params.update(fields)
        return self.call("models/register", params, timeout=timeout)  # type: ignore[no-any-return]

    def tools(self, category: Optional[str] = None, timeout: Optional[float] = _UNSET) -> List[Dict[str, Any]]:
        """``tools/list`` (every page) → the tools."""
        tools: List[Dict[str, Any]] = []
        cursor = None
        while True:
            params: Dict[str, Any] = {}
            if category is not None:
                params["category"] = category
            if cursor is not None:
                params["cursor"] = cursor
            result = self.call("tools/list", params, timeout=timeout)
            tools.extend(result.get("tools", []))
            cursor = result.get("nextCursor")
            if not cursor:
                return tools

    def execute_tool(
        self,
        tool: str,
        arguments: Optional[Mapping[str, Any]] = None,
        *,
        timeout_ms: Optional[int] = None,
        timeout: Optional[float] = _UNSET,
    ) -> Dict[str, Any]:
        """``tools/execute`` → ``{isError, content, structuredContent, durationMs}``."""
        params: Dict[str, Any] = {"tool": tool, "arguments": dict(arguments or {})}
        if timeout_ms is not None:
            params["timeoutMs"] = timeout_ms
        return self.call("tools/execute", params, timeout=timeout)  # type: ignore[no-any-return]

    def report(
        self,
        type: str = "usage",
        *,
        days: Optional[int] = None,
        hours: Optional[int] = None,
        format: Optional[str] = None,
        timeout: Optional[float] = _UNSET,
    ) -> Dict[str, Any]:
        """``analytics/report`` → the report (``format="json"``) or ``{content}``."""
        params: Dict[str, Any] = {"type": type}
        if days is not None:
            params["days"] = days
        if hours is not None:
            params["hours"] = hours
        if format is not None:
            params["format"] = format
        return self.call("analytics/report", params, timeout=timeout)  # type: ignore[no-any-return]

    def export(
        self,
        dataset: str,
        *,
        format: str = "csv",
        since: Optional[str] = None,
        until: Optional[str] = None,
        timeout: Optional[float] = _UNSET,
    ) -> Dict[str, Any]:
        """``analytics/export`` → ``{path, rows}`` (a file in the engine's data directory)."""
        params: Dict[str, Any] = {"dataset": dataset, "format": format}
        if since is not None:
            params["since"] = since
        if until is not None:
            params["until"] = until
        return self.call("analytics/export", params, timeout=timeout)  # type: ignore[no-any-return]

