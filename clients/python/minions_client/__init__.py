"""Python client for Minions, the multi-agent AI engine that speaks JSON-RPC 2.0.

Quick start::

    from minions_client import Client

    with Client.spawn(data_dir="/tmp/minions-demo") as client:   # runs `minions serve`
        client.initialize()
        result = client.chat("hello", on_token=lambda t: print(t, end="", flush=True))
        print()
        print(result.stop_reason, result.usage)

See ``README.md`` next to this package for the API overview and the command line
(``python3 -m minions_client --help``).
"""

import logging as _logging

from ._version import __version__
from .client import (
    APPROVAL_OPTIONS,
    ChatStream,
    Client,
    MetricsSubscription,
    PendingRequest,
    approval_answer,
    find_engine,
)
from .errors import (
    ERROR_CLASSES,
    AccountLocked,
    AlreadyExists,
    ApprovalDenied,
    ClientError,
    ConnectionClosed,
    InternalError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    MinionsError,
    NoModelAvailable,
    NotFound,
    Overloaded,
    ParseError,
    PermissionDenied,
    ProviderError,
    RequestCancelled,
    RequestTimeout,
    ServerNotInitialized,
    Unauthenticated,
    error_from_response,
)
from .framing import FramingError, LspDecoder, NdjsonDecoder, encode_message
from .transport import ProcessTransport, SocketTransport, Transport
from .types import ApprovalRequest, ChatResult, Update

# A library logs, it does not print: applications configure the "minions_client" logger.
_logging.getLogger("minions_client").addHandler(_logging.NullHandler())

__all__ = [
    "__version__",
    "Client",
    "PendingRequest",
    "ChatStream",
    "MetricsSubscription",
    "APPROVAL_OPTIONS",
    "approval_answer",
    "find_engine",
    "Update",
    "ChatResult",
    "ApprovalRequest",
    "Transport",
    "ProcessTransport",
    "SocketTransport",
    "FramingError",
    "LspDecoder",
    "NdjsonDecoder",
    "encode_message",
    "ERROR_CLASSES",
    "error_from_response",
    "MinionsError",
    "ClientError",
    "ConnectionClosed",
    "RequestTimeout",
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
]
