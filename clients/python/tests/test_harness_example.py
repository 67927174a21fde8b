"""An example harness: how a team tests its own agent against the real engine, turn by turn.

Copy this file to start testing your agent. The pattern:

1. **A throwaway engine.** ``LocalEngine`` spawns ``minions serve`` with a temporary data directory
   and workspace (removed afterwards), and initializes a client that declares ``approvals``.
2. **A scripted model.** A script model (provider ``script``) plays the model's part: each *model
   call* takes the first unused scripted turn whose ``match`` regex finds the newest user or tool
   message (or the first unused turn without ``match``). The text it streams and the tools it calls
   are fixed, so everything the *engine* does with them — running tools, asking for approval,
   storing the session, streaming updates — is what you are testing, deterministically.
   Remember that a turn which calls a tool needs a follow-up turn for the model call that reads the
   tool's result: match it on the tool's output.
3. **Your agent.** ``agents/create`` with your system prompt and tool list, pinned to the script
   model (in production you would leave ``model`` out and let selection pick a real one).
4. **Drive it turn by turn** with ``client.chat(...)``, collecting every ``agent/update`` and every
   ``approval/request``, and assert on all of them: the kinds in order, ``seq`` counting 1, 2, 3 …
   within the turn, the tool calls and their arguments, the tool results, the approvals asked, the
   final content (which must equal the turn's tokens joined), and what the session stored.

Run it with the rest of the suite:
``cd clients/python && MINIONS_BIN=/path/to/minions python3 -m unittest discover -s tests -v``.
"""

import json
import os
import unittest
from typing import List, Optional, Sequence, Tuple

from _support import TIMEOUT, engine_path
from minions_client import ApprovalRequest, ChatResult, Update
from minions_client.testing import LocalEngine, text, tool_call, turn

# The script: what "the model" says and does in each model call of the conversation below.
NOTE_TAKER_SCRIPT = [
    # Turn 1, model call 1: the user asks to remember something -> say so and write the note.
    turn(text("Noting that. "),
         tool_call("file_operations", operation="write", path="notes.txt", content="buy milk"),
         match=r"(?i)^remember"),
    # Turn 1, model call 2: the newest message is the write's result -> confirm.
    turn(text("Saved."), match=r"^wrote "),
    # Turn 2, model call 1: the user asks what is on the list -> read the note (no approval needed).
    turn(tool_call("file_operations", operation="read", path="notes.txt"), match=r"(?i)what do i need"),
    # Turn 2, model call 2: the newest message is the note's content -> answer from it.
    turn(text("You need to "), text("buy milk."), match=r"buy milk"),
    # Turn 3, model call 1: asked to forget -> delete the note (needs approval; the user refuses).
    turn(tool_call("file_operations", operation="delete", path="notes.txt"), match=r"(?i)forget"),
    # Turn 3, model call 2: the refusal comes back as an error result -> say so.
    turn(text("Okay, I kept the note."), match=r"not approved"),
]


def setUpModule() -> None:
    engine_path()  # skip this module, saying why, when MINIONS_BIN is unset or not executable


class Recorder:
    """Collects what one turn streamed and what it asked, and answers approvals from a list."""

    def __init__(self, answers: Sequence[bool] = ()) -> None:
        self.updates: List[Update] = []
        self.approvals: List[ApprovalRequest] = []
        self._answers = list(answers)

    def on_update(self, update: Update) -> None:
        self.updates.append(update)

    def approve(self, request: ApprovalRequest) -> bool:
        self.approvals.append(request)
        return self._answers.pop(0) if self._answers else False

    @property
    def kinds(self) -> List[str]:
        return [u.kind for u in self.updates]


class NoteTakerHarness(unittest.TestCase):
    """A three-turn session with a custom ``note_taker`` agent, asserting on every update."""

    def setUp(self) -> None:
        self.engine = LocalEngine(engine_path(), default_timeout=TIMEOUT)
        self.engine.start()
        self.addCleanup(self.engine.close)
        self.client = self.engine.client
        model = self.engine.script_model("note-taker-script", NOTE_TAKER_SCRIPT)
        self.client.call("agents/create", {
            "name": "note_taker",
            "description": "Keeps a shopping list in notes.txt",
            "systemPrompt": "You keep the user's notes in notes.txt.",
            "tools": ["file_operations"],
            "model": model,
        })

    def run_turn(self, message: str, session_id: Optional[str] = None,
                 answers: Sequence[bool] = ()) -> Tuple[ChatResult, Recorder]:
        rec = Recorder(answers)
        result = self.client.chat(message, agent="note_taker", session_id=session_id,
                                  on_update=rec.on_update, approve=rec.approve)
        self.assertTurnInvariants(result, rec)
        return result, rec

    def assertTurnInvariants(self, result: ChatResult, rec: Recorder) -> None:
        """What must hold for every turn, whatever the agent did."""
        # Every update was delivered before chat() returned, in seq order, all of this one turn.
        self.assertEqual([u.seq for u in rec.updates], list(range(1, len(rec.updates) + 1)))
        self.assertTrue(all(u.session_id == result.session_id and u.turn_id == result.turn_id for u in rec.updates))
        # The content is exactly the turn agent's tokens joined in seq order.
        tokens = [u.text for u in rec.updates if u.kind == "token" and u.agent == result.agent]
        self.assertEqual("".join(tokens), result.content)
        # Each toolCall is followed by the toolResult of the same callId, and matches the reply's toolCalls.
        calls = [u for u in rec.updates if u.kind == "toolCall"]
        results = {u.call_id: u for u in rec.updates if u.kind == "toolResult"}
        self.assertEqual([c.call_id for c in calls], [t["callId"] for t in result.tool_calls])
        for call, summary in zip(calls, result.tool_calls):
            self.assertIn(call.call_id, results)
            self.assertGreater(results[call.call_id].seq, call.seq)
            self.assertEqual((call.tool, call.arguments), (summary["tool"], summary["arguments"]))
            self.assertEqual(results[call.call_id].is_error, summary["isError"])
        # An approval is asked only for the very call the agent announced, after its toolCall update.
        for req in rec.approvals:
            announced = [c for c in calls if c.call_id == req.call_id]
            self.assertEqual(len(announced), 1)
            self.assertEqual((req.tool, req.arguments), (announced[0].tool, announced[0].arguments))
            self.assertEqual(req.agent, "note_taker")

    def test_a_session_turn_by_turn(self) -> None:
        notes = self.engine.path("notes.txt")

        # Turn 1: remember -> write (approved) -> confirm.
        first, rec = self.run_turn("remember: buy milk", answers=[True])
        self.assertEqual(rec.kinds, ["token", "toolCall", "toolResult", "token"])
        self.assertEqual(rec.updates[0].text, "Noting that. ")
        self.assertEqual(rec.updates[1].tool, "file_operations")
        self.assertEqual(rec.updates[1].arguments, {"operation": "write", "path": "notes.txt", "content": "buy milk"})
        self.assertFalse(rec.updates[2].is_error)
        self.assertTrue(rec.updates[2].output.startswith("wrote 8 bytes to notes.txt"))
        self.assertEqual([a.tool for a in rec.approvals], ["file_operations"])
        self.assertEqual(first.content, "Noting that. Saved.")
        self.assertEqual((first.agent, first.model, first.stop_reason), ("note_taker", "note-taker-script", "end_turn"))
        with open(notes) as f:
            self.assertEqual(f.read(), "buy milk")

        # Turn 2, same session: a read needs no approval; the answer comes from the tool's output.
        second, rec = self.run_turn("what do I need?", session_id=first.session_id)
        self.assertEqual(second.session_id, first.session_id)
        self.assertNotEqual(second.turn_id, first.turn_id)
        self.assertEqual(rec.kinds, ["toolCall", "toolResult", "token", "token"])
        self.assertEqual(rec.updates[0].arguments, {"operation": "read", "path": "notes.txt"})
        self.assertEqual(rec.updates[1].output, "buy milk")
        self.assertEqual(rec.approvals, [])
        self.assertEqual(second.content, "You need to buy milk.")

        # Turn 3: a delete needs approval; the user refuses, the agent is told and the file stays.
        third, rec = self.run_turn("forget it all", session_id=first.session_id, answers=[False])
        self.assertEqual(rec.kinds, ["toolCall", "toolResult", "token"])
        self.assertEqual(len(rec.approvals), 1)
        self.assertTrue(rec.updates[1].is_error)
        self.assertIn("not approved", rec.updates[1].output)
        self.assertEqual(third.content, "Okay, I kept the note.")
        self.assertTrue(os.path.exists(notes))

        # What the session stored: every message of the three turns, in order.
        stored = self.client.call("sessions/get", {"sessionId": first.session_id})
        self.assertEqual(stored["session"]["agent"], "note_taker")
        self.assertEqual(stored["session"]["title"], "remember: buy milk")
        roles = [m["role"] for m in stored["messages"]]
        self.assertEqual(roles, ["user", "assistant", "tool", "assistant",
                                 "user", "assistant", "tool", "assistant",
                                 "user", "assistant", "tool", "assistant"])
        self.assertEqual(stored["messages"][-1]["content"], "Okay, I kept the note.")

        # The audit log records each approval decision, made by this client.
        audit = self.client.call("audit/query", {"action": "tool.approval"})["entries"]
        decisions = sorted((e["outcome"], e["details"]["decidedBy"]) for e in audit)
        self.assertEqual(decisions, [("denied", "client"), ("ok", "client")])

    def test_the_same_session_exported(self) -> None:
        first, _ = self.run_turn("remember: buy milk", answers=[True])
        exported = self.client.call("sessions/export", {"sessionId": first.session_id, "format": "json"})
        data = json.loads(exported["content"])
        self.assertEqual([m["role"] for m in data["messages"]], ["user", "assistant", "tool", "assistant"])


if __name__ == "__main__":
    unittest.main()
