"""Message framing: LSP ``Content-Length`` headers, or newline-delimited JSON.

The engine detects the framing of a connection from the first byte the client sends and answers in
the same framing, so a client picks one and uses it for the whole connection. Decoders are
incremental: feed them whatever bytes a read returned (a partial header, half a body, three messages
at once) and they hand back the complete message bodies.
"""

import json
from typing import Any, List, Optional, Tuple, Union

__all__ = [
    "FRAMINGS",
    "FramingError",
    "encode_json",
    "encode_message",
    "LspDecoder",
    "NdjsonDecoder",
    "make_decoder",
]

#: The framings a connection may use.
FRAMINGS = ("lsp", "ndjson")

#: Refuse frames larger than this (the engine's own default limit is 16 MiB).
DEFAULT_MAX_FRAME = 64 * 1024 * 1024
_MAX_HEADER_BLOCK = 64 * 1024


class FramingError(ValueError):
    """The byte stream cannot be decoded (a bad header block, a frame over the limit)."""


def encode_json(message: Any) -> bytes:
    """Compact UTF-8 JSON for ``message`` (never containing a raw newline)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def encode_message(message: Any, framing: str = "lsp") -> bytes:
    """One framed message, ready to write in a single call.

    >>> encode_message({"a": 1}, "ndjson")
    b'{"a":1}\\n'
    >>> encode_message({"a": 1}, "lsp")
    b'Content-Length: 7\\r\\n\\r\\n{"a":1}'
    """
    body = encode_json(message)
    if framing == "ndjson":
        return body + b"\n"
    if framing == "lsp":
        return b"Content-Length: %d\r\n\r\n" % len(body) + body
    raise ValueError("unknown framing %r (expected one of %s)" % (framing, ", ".join(FRAMINGS)))


class LspDecoder:
    """Incremental decoder for ``Content-Length: N`` framed messages.

    Header names are case-insensitive, other headers are ignored, and bare ``\\n`` line ends are
    tolerated, as the engine does.
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self._buf = bytearray()
        self._need: Optional[int] = None  # body length once the header block was read
        self._max_frame = max_frame

    def feed(self, data: bytes) -> List[bytes]:
        """Add ``data``; return every body completed by it (possibly none)."""
        self._buf += data
        out: List[bytes] = []
        while True:
            if self._need is None:
                end, sep_len = self._find_header_end()
                if end < 0:
                    if len(self._buf) > _MAX_HEADER_BLOCK:
                        raise FramingError("header block longer than %d bytes" % _MAX_HEADER_BLOCK)
                    return out
                header = bytes(self._buf[:end])
                del self._buf[: end + sep_len]
                self._need = self._content_length(header)
            if len(self._buf) < self._need:
                return out
            out.append(bytes(self._buf[: self._need]))
            del self._buf[: self._need]
            self._need = None

    def _find_header_end(self) -> Tuple[int, int]:
        # Skip blank lines between messages (tolerated whitespace).
        while self._buf[:2] == b"\r\n" or self._buf[:1] == b"\n":
            del self._buf[: 2 if self._buf[:1] == b"\r" else 1]
        best = -1
        sep = 0
        for candidate in (b"\r\n\r\n", b"\n\n", b"\n\r\n"):
            i = self._buf.find(candidate)
            if i >= 0 and (best < 0 or i < best):
                best, sep = i, len(candidate)
        return best, sep

    def _content_length(self, header: bytes) -> int:
        length = None
        for raw in header.replace(b"\r\n", b"\n").split(b"\n"):
            name, colon, value = raw.partition(b":")
            if not colon:
                raise FramingError("malformed header line %r" % raw[:80])
            if name.strip().lower() == b"content-length":
                text = value.strip()
                if not text.isdigit():
                    raise FramingError("Content-Length is not a non-negative integer: %r" % text[:40])
                length = int(text)
        if length is None:
            raise FramingError("header block without Content-Length")
        if length > self._max_frame:
            raise FramingError("frame of %d bytes is over the %d-byte limit" % (length, self._max_frame))
        return length

    @property
    def pending(self) -> int:
        """Bytes buffered but not yet part of a complete message."""
        return len(self._buf)


class NdjsonDecoder:
    """Incremental decoder for newline-delimited JSON (``\\n`` or ``\\r\\n``; blank lines skipped)."""

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self._buf = bytearray()
        self._max_frame = max_frame

    def feed(self, data: bytes) -> List[bytes]:
        """Add ``data``; return every line completed by it (possibly none)."""
        self._buf += data
        out: List[bytes] = []
        while True:
            i = self._buf.find(b"\n")
            if i < 0:
                if len(self._buf) > self._max_frame:
                    raise FramingError("line longer than %d bytes" % self._max_frame)
                return out
            line = bytes(self._buf[:i]).strip()
            del self._buf[: i + 1]
            if line:
                out.append(line)

    @property
    def pending(self) -> int:
        """Bytes buffered but not yet part of a complete message."""
        return len(self._buf)


def make_decoder(framing: str, max_frame: int = DEFAULT_MAX_FRAME) -> "Union[LspDecoder, NdjsonDecoder]":
    """The decoder for ``framing`` (``"lsp"`` or ``"ndjson"``)."""
    if framing == "lsp":
        return LspDecoder(max_frame)
    if framing == "ndjson":
        return NdjsonDecoder(max_frame)
    raise ValueError("unknown framing %r (expected one of %s)" % (framing, ", ".join(FRAMINGS)))
