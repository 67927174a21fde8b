"""Light wrappers over protocol results: plain ``dict`` subclasses with typed accessors.

They are dicts, so everything the engine sent is there (``update["seq"]``), and they add attribute
access for the common members (``update.seq``) and a way to tell them apart (``isinstance``).
"""

from typing import Any, Dict, List, Optional

__all__ = ["Update", "ChatResult", "ApprovalRequest"]


class Update(dict):  # type: ignore[type-arg]
    """One ``agent/update`` notification's params: ``{sessionId, turnId, seq, kind, …}``.

    ``kind`` is ``token`` (``text``, ``agent``), ``toolCall`` (``callId``, ``tool``, ``arguments``,
    ``agent``), ``toolResult`` (``callId``, ``isError``, ``output``, ``agent``) or ``handoff``
    (``from``, ``to``, ``task``).
    """

    @property
    def kind(self) -> str:
        return str(self.get("kind", ""))

    @property
    def seq(self) -> int:
        return int(self.get("seq", 0))

    @property
    def session_id(self) -> Optional[str]:
        return self.get("sessionId")

    @property
    def turn_id(self) -> Optional[str]:
        return self.get("turnId")

    @property
    def agent(self) -> Optional[str]:
        return self.get("agent")

    @property
    def text(self) -> str:
        """The text of a ``token`` update (``""`` for other kinds)."""
        return str(self.get("text") or "")

    @property
    def call_id(self) -> Optional[str]:
        return self.get("callId")

    @property
    def tool(self) -> Optional[str]:
        return self.get("tool")

    @property
    def arguments(self) -> Any:
        return self.get("arguments")

    @property
    def is_error(self) -> bool:
        return bool(self.get("isError"))

    @property
    def output(self) -> Any:
        return self.get("output")

    def __repr__(self) -> str:
        return "Update(%s)" % dict.__repr__(self)


class ChatResult(dict):  # type: ignore[type-arg]
    """The reply of ``agent/chat``: ``{sessionId, turnId, agent, model, content, stopReason,
    toolCalls, usage, timing, cached}``.

    ``updates`` holds every ``agent/update`` of the turn that this client routed to the chat, in the
    order received (which is ``seq`` order).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.updates: List[Update] = []

    @property
    def content(self) -> str:
        return str(self.get("content") or "")

    @property
    def stop_reason(self) -> Optional[str]:
        return self.get("stopReason")

    @property
    def session_id(self) -> Optional[str]:
        return self.get("sessionId")

    @property
    def turn_id(self) -> Optional[str]:
        return self.get("turnId")

    @property
    def agent(self) -> Optional[str]:
        return self.get("agent")

    @property
    def model(self) -> Optional[str]:
        return self.get("model")

    @property
    def tool_calls(self) -> List[Dict[str, Any]]:
        return list(self.get("toolCalls") or [])

    @property
    def usage(self) -> Dict[str, Any]:
        return dict(self.get("usage") or {})

    @property
    def cancelled(self) -> bool:
        return self.get("stopReason") == "cancelled"

    def __repr__(self) -> str:
        return "ChatResult(%s)" % dict.__repr__(self)


class ApprovalRequest(dict):  # type: ignore[type-arg]
    """The params of a server→client ``approval/request``: ``{sessionId, turnId, callId, tool,
    arguments, agent, options: [{optionId, name, kind}]}``."""

    @property
    def tool(self) -> Optional[str]:
        return self.get("tool")

    @property
    def arguments(self) -> Any:
        return self.get("arguments")

    @property
    def call_id(self) -> Optional[str]:
        return self.get("callId")

    @property
    def session_id(self) -> Optional[str]:
        return self.get("sessionId")

    @property
    def turn_id(self) -> Optional[str]:
        return self.get("turnId")

    @property
    def agent(self) -> Optional[str]:
        return self.get("agent")

    @property
    def option_ids(self) -> List[str]:
        return [str(o.get("optionId")) for o in (self.get("options") or []) if isinstance(o, dict)]

    def __repr__(self) -> str:
        return "ApprovalRequest(%s)" % dict.__repr__(self)
