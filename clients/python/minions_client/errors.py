"""Typed errors for the Minions JSON-RPC protocol.

Every error reply from the engine becomes a :class:`MinionsError` (or one of its subclasses, chosen
by the reply's ``code``), carrying the ``code``, the human ``message`` and the structured ``data``.
Failures on the client's side of the wire (the connection closed, a wait timed out) are also
``MinionsError`` subclasses, with ``code`` set to ``None``, so one ``except MinionsError`` catches
everything a call can raise.
"""

from typing import Any, Dict, List, Mapping, Optional, Type

__all__ = [
    "MinionsError",
    "ParseError",
    "InvalidRequest",
    "MethodNotFound",
    "InvalidParams",
    "InternalError",
    "ServerNotInitialized",
    "RequestCancelled",
    "Unauthenticated",
    "PermissionDenied",
    "AccountLocked",
    "NotFound",
    "AlreadyExists",
    "Overloaded",
    "ProviderError",
    "NoModelAvailable",
    "ApprovalDenied",
    "ClientError",
    "ConnectionClosed",
    "RequestTimeout",
    "ERROR_CLASSES",
    "error_from_response",
]


class MinionsError(Exception):
    """An error reply from the engine (or, for :class:`ClientError` subclasses, from this client).

    Attributes:
        code: the JSON-RPC error code (``None`` for client-side errors).
        message: the engine's message, meant for people.
        data: the structured ``data`` member of the error, or ``None``.
        method: the method of the request that failed, when known.
    """

    #: The code this class stands for (``None`` for the base class and client-side errors).
    CODE: Optional[int] = None

    def __init__(self, code: Optional[int], message: str, data: Any = None, method: Optional[str] = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.method = method

    def _data_get(self, key: str, default: Any = None) -> Any:
        if isinstance(self.data, Mapping):
            return self.data.get(key, default)
        return default

    def to_dict(self) -> Dict[str, Any]:
        """The error as a JSON-RPC error object (``{code, message, data?}``)."""
        out: Dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out

    def __str__(self) -> str:
        if self.code is None:
            return self.message
        return "%s (%d)" % (self.message, self.code)

    def __repr__(self) -> str:
        return "%s(code=%r, message=%r, data=%r)" % (type(self).__name__, self.code, self.message, self.data)


class ParseError(MinionsError):
    """-32700: the engine could not parse what was sent (``data: {offset}`` or ``{header}``)."""

    CODE = -32700


class InvalidRequest(MinionsError):
    """-32600: not a valid request, a limit, or a lifecycle violation (``data: {field}`` or ``{limit}``)."""

    CODE = -32600

    @property
    def field(self) -> Optional[str]:
        return self._data_get("field")

    @property
    def limit(self) -> Optional[int]:
        return self._data_get("limit")


class MethodNotFound(MinionsError):
    """-32601: no such method (``data: {method}``)."""

    CODE = -32601

    @property
    def missing_method(self) -> Optional[str]:
        """The method name the engine did not know."""
        return self._data_get("method")


class InvalidParams(MinionsError):
    """-32602: params of the wrong shape, type or range.

    ``field`` is the dotted path of the bad member (``capabilities.tokenCoalesceMs``,
    ``messages[2].role``, ``params`` for the whole object); ``reason`` says what was wrong.
    """

    CODE = -32602

    @property
    def field(self) -> Optional[str]:
        return self._data_get("field")

    @property
    def reason(self) -> Optional[str]:
        return self._data_get("reason")


class InternalError(MinionsError):
    """-32603: the engine failed unexpectedly (details are only in the engine's log)."""

    CODE = -32603


class ServerNotInitialized(MinionsError):
    """-32002: a request before ``initialize``."""

    CODE = -32002


class RequestCancelled(MinionsError):
    """-32800: the request was cancelled and had no partial result."""

    CODE = -32800


class Unauthenticated(MinionsError):
    """-32010: log in first (or the credentials were wrong)."""

    CODE = -32010


class PermissionDenied(MinionsError):
    """-32011: the user's role or key scopes lack ``permission``."""

    CODE = -32011

    @property
    def permission(self) -> Optional[str]:
        return self._data_get("permission")


class AccountLocked(MinionsError):
    """-32012: too many failed logins; retry after ``retry_after_seconds``."""

    CODE = -32012

    @property
    def retry_after_seconds(self) -> Optional[float]:
        return self._data_get("retryAfterSeconds")


class NotFound(MinionsError):
    """-32013: the thing (``kind``, ``id``) does not exist, or is not the caller's."""

    CODE = -32013

    @property
    def kind(self) -> Optional[str]:
        return self._data_get("kind")

    @property
    def id(self) -> Any:
        return self._data_get("id")


class AlreadyExists(MinionsError):
    """-32014: the thing (``kind``, ``id``) exists already."""

    CODE = -32014

    @property
    def kind(self) -> Optional[str]:
        return self._data_get("kind")

    @property
    def id(self) -> Any:
        return self._data_get("id")


class Overloaded(MinionsError):
    """-32015: too much work in flight; retry after ``retry_after_ms``."""

    CODE = -32015

    @property
    def retry_after_ms(self) -> Optional[float]:
        return self._data_get("retryAfterMs")


class ProviderError(MinionsError):
    """-32020: a model provider failed (``provider``, ``model``, ``http_status``, ``retryable``)."""

    CODE = -32020

    @property
    def provider(self) -> Optional[str]:
        return self._data_get("provider")

    @property
    def model(self) -> Optional[str]:
        return self._data_get("model")

    @property
    def http_status(self) -> Optional[int]:
        return self._data_get("httpStatus")

    @property
    def retryable(self) -> Optional[bool]:
        return self._data_get("retryable")


class NoModelAvailable(MinionsError):
    """-32021: no model satisfies the request; ``candidates`` says why each was excluded."""

    CODE = -32021

    @property
    def candidates(self) -> List[Dict[str, Any]]:
        return list(self._data_get("candidates") or [])


class ApprovalDenied(MinionsError):
    """-32031: reserved: a tool call's approval was refused (``tool``, ``call_id``)."""

    CODE = -32031

    @property
    def tool(self) -> Optional[str]:
        return self._data_get("tool")

    @property
    def call_id(self) -> Optional[str]:
        return self._data_get("callId")


class ClientError(MinionsError):
    """A failure on the client's side of the wire (``code`` is ``None``)."""

    def __init__(self, message: str, data: Any = None, method: Optional[str] = None) -> None:
        super().__init__(None, message, data, method)


class ConnectionClosed(ClientError):
    """The connection to the engine closed (or the engine exited) before the reply came."""


class RequestTimeout(ClientError, TimeoutError):
    """No reply within the timeout given to the call. The request was cancelled with ``$/cancelRequest``."""


#: Error class per contract code.
ERROR_CLASSES: Dict[int, Type[MinionsError]] = {
    cls.CODE: cls
    for cls in (
        ParseError,
        InvalidRequest,
        MethodNotFound,
        InvalidParams,
        InternalError,
        ServerNotInitialized,
        RequestCancelled,
        Unauthenticated,
        PermissionDenied,
        AccountLocked,
        NotFound,
        AlreadyExists,
        Overloaded,
        ProviderError,
        NoModelAvailable,
        ApprovalDenied,
    )
    if cls.CODE is not None
}


def error_from_response(error: Any, method: Optional[str] = None) -> MinionsError:
    """Build the typed exception for a JSON-RPC ``error`` object.

    Unknown codes (and malformed error objects) become a plain :class:`MinionsError`.

    >>> e = error_from_response({"code": -32602, "message": "Invalid params: x", "data": {"field": "x"}})
    >>> type(e).__name__, e.field
    ('InvalidParams', 'x')
    """
    if not isinstance(error, Mapping):
        return MinionsError(None, "malformed error reply: %r" % (error,), None, method)
    code = error.get("code")
    message = error.get("message")
    if not isinstance(message, str):
        message = "error %s" % (code,)
    data = error.get("data")
    if isinstance(code, bool) or not isinstance(code, int):
        return MinionsError(None, message, data, method)
    cls = ERROR_CLASSES.get(code, MinionsError)
    return cls(code, message, data, method)
