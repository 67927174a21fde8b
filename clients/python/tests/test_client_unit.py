"""Unit tests of the client's dispatching, against a fake engine on a socket pair (no engine needed).

The fake engine is the test itself: it reads what the client wrote and writes whatever frames the
test wants — split into single bytes, batched, out of order — in either framing.
"""

import queue
import socket
import sys
import threading
import time
import unittest

import _support  # noqa: F401
from minions_client import (
    ClientError,
    Client,
    ConnectionClosed,
    InvalidParams,
    NotFound,
    RequestTimeout,
    SocketTransport,
)
from minions_client.framing import encode_message, make_decoder

WAIT = 5.0


class FakeEngine:
    def __init__(self, sock: socket.socket, framing: str) -> None:
        self.sock = sock
        self.framing = framing
        self.received: "queue.Queue[dict]" = queue.Queue()
        self._decoder = make_decoder(framing)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        import json
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            for body in self._decoder.feed(data):
                self.received.put(json.loads(body))

    def expect(self, method=None, timeout=WAIT) -> dict:
        msg = self.received.get(timeout=timeout)
        if method is not None:
            assert msg.get("method") == method, msg
        return msg

    def send(self, message, split: int = 0) -> None:
        data = encode_message(message, self.framing)
        if split:
            for i in range(0, len(data), split):
                self.sock.sendall(data[i:i + split])
                time.sleep(0.0005)
        else:
            self.sock.sendall(data)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class ClientDispatchTests(unittest.TestCase):
    framing = "lsp"

    def setUp(self) -> None:
        a, b = socket.socketpair()
        self.client = Client(SocketTransport.from_socket(a, "fake engine"), framing=self.framing, default_timeout=WAIT)
        self.engine = FakeEngine(b, self.framing)

    def tearDown(self) -> None:
        self.engine.close()
        self.client.close(timeout=1.0)

    def test_replies_are_matched_by_id_even_out_of_order_and_split_into_bytes(self) -> None:
        r1 = self.client.request("a")
        r2 = self.client.request("b")
        m1, m2 = self.engine.expect("a"), self.engine.expect("b")
        self.engine.send({"jsonrpc": "2.0", "id": m2["id"], "result": "B"}, split=1)
        self.engine.send({"jsonrpc": "2.0", "id": m1["id"], "result": {"x": "é"}}, split=3)
        self.assertEqual(r2.result(WAIT), "B")
        self.assertEqual(r1.result(WAIT), {"x": "é"})

    def test_two_messages_in_one_write_and_a_batch_reply(self) -> None:
        r1 = self.client.request("a")
        r2 = self.client.request("b")
        ids = [self.engine.expect()["id"], self.engine.expect()["id"]]
        self.engine.send_raw(
            encode_message({"jsonrpc": "2.0", "id": ids[0], "result": 1}, self.framing)
            + encode_message([{"jsonrpc": "2.0", "id": ids[1], "result": 2}], self.framing)
        )
        self.assertEqual((r1.result(WAIT), r2.result(WAIT)), (1, 2))

    def test_error_reply_is_typed(self) -> None:
        req = self.client.request("models/select", {"strategy": "x"})
        msg = self.engine.expect("models/select")
        self.assertEqual(msg["params"], {"strategy": "x"})
        self.assertEqual(msg["jsonrpc"], "2.0")
        self.engine.send({"jsonrpc": "2.0", "id": msg["id"], "error": {
            "code": -32602, "message": "Invalid params: strategy", "data": {"field": "strategy", "reason": "bad"}}})
        with self.assertRaises(InvalidParams) as cm:
            req.result(WAIT)
        self.assertEqual(cm.exception.field, "strategy")
        self.assertEqual(cm.exception.method, "models/select")

    def test_notifications_reach_handlers_in_order_before_the_reply(self) -> None:
        seen = []
        self.client.on_notification("agent/update", lambda p: seen.append(p["seq"]))
        every = []
        self.client.on_notification("*", lambda m: every.append(m["method"]))
        stream = self.client.chat_stream("hi")
        msg = self.engine.expect("agent/chat")
        self.assertEqual(msg["params"], {"message": "hi"})
        for seq in (1, 2, 3):
            self.engine.send({"jsonrpc": "2.0", "method": "agent/update",
                              "params": {"sessionId": "s", "turnId": "t", "seq": seq, "kind": "token", "text": str(seq)}}, split=7)
        self.engine.send({"jsonrpc": "2.0", "id": msg["id"], "result": {"content": "123", "sessionId": "s"}})
        result = stream.wait(WAIT)
        self.assertEqual(seen, [1, 2, 3])  # every handler ran before result() returned
        self.assertEqual(every, ["agent/update"] * 3)
        self.assertEqual(result.content, "123")
        self.assertEqual([u.seq for u in result.updates], [1, 2, 3])

    def test_notify_has_no_id(self) -> None:
        self.client.notify("initialized")
        msg = self.engine.expect("initialized")
        self.assertNotIn("id", msg)
        self.assertNotIn("params", msg)

    def test_server_request_gets_the_handler_result(self) -> None:
        self.client.on_request("custom/ask", lambda params: {"echo": params})
        self.engine.send({"jsonrpc": "2.0", "id": "minions-7", "method": "custom/ask", "params": {"q": 1}})
        reply = self.engine.expect()
        self.assertEqual(reply, {"jsonrpc": "2.0", "id": "minions-7", "result": {"echo": {"q": 1}}})

    def test_server_request_handler_that_raises_gets_an_error_reply(self) -> None:
        def boom(params):
            raise ValueError("no way")

        self.client.on_request("custom/ask", boom)
        self.engine.send({"jsonrpc": "2.0", "id": "minions-8", "method": "custom/ask", "params": {}})
        reply = self.engine.expect()
        self.assertEqual(reply["id"], "minions-8")
        self.assertEqual(reply["error"]["code"], -32603)
        self.assertIn("no way", reply["error"]["message"])

        def typed(params):
            raise NotFound(-32013, "Not found: thing", {"kind": "thing", "id": "x"})

        self.client.on_request("custom/ask", typed)
        self.engine.send({"jsonrpc": "2.0", "id": "minions-9", "method": "custom/ask", "params": {}})
        self.assertEqual(self.engine.expect()["error"], {"code": -32013, "message": "Not found: thing", "data": {"kind": "thing", "id": "x"}})

    def test_unknown_server_request_is_method_not_found(self) -> None:
        self.engine.send({"jsonrpc": "2.0", "id": "minions-1", "method": "what/ever"})
        reply = self.engine.expect()
        self.assertEqual(reply["error"]["code"], -32601)

    def test_approval_without_handler_is_cancelled(self) -> None:
        self.engine.send({"jsonrpc": "2.0", "id": "minions-2", "method": "approval/request",
                          "params": {"sessionId": "s", "tool": "file_operations", "options": []}})
        self.assertEqual(self.engine.expect(), {"jsonrpc": "2.0", "id": "minions-2", "result": {"outcome": "cancelled"}})

    def test_approval_routed_to_the_chat_approve_callback(self) -> None:
        asked = []
        stream = self.client.chat_stream("hi", approve=lambda req: asked.append(req.tool) or "always")
        msg = self.engine.expect("agent/chat")
        self.engine.send({"jsonrpc": "2.0", "method": "agent/update",
                          "params": {"sessionId": "s1", "turnId": "t", "seq": 1, "kind": "toolCall", "tool": "x"}})
        self.engine.send({"jsonrpc": "2.0", "id": "minions-3", "method": "approval/request",
                          "params": {"sessionId": "s1", "turnId": "t", "tool": "x", "options": []}})
        self.assertEqual(self.engine.expect()["result"], {"outcome": "selected", "optionId": "allow_always"})
        self.engine.send({"jsonrpc": "2.0", "id": msg["id"], "result": {"sessionId": "s1", "content": "", "stopReason": "end_turn"}})
        items = list(stream)
        self.assertEqual(asked, ["x"])
        self.assertEqual([type(i).__name__ for i in items], ["Update", "ChatResult"])

    def test_call_timeout_raises_and_cancels(self) -> None:
        started = time.monotonic()
        with self.assertRaises(RequestTimeout):
            self.client.call("slow", {}, timeout=0.2)
        self.assertLess(time.monotonic() - started, 2.0)
        sent = self.engine.expect("slow")
        cancel = self.engine.expect("$/cancelRequest")
        self.assertEqual(cancel["params"], {"id": sent["id"]})

    def test_connection_loss_fails_pending_requests(self) -> None:
        req = self.client.request("never")
        self.engine.expect("never")
        self.engine.close()
        with self.assertRaises(ConnectionClosed):
            req.result(WAIT)
        with self.assertRaises(ConnectionClosed):
            self.client.call("after", timeout=1)

    def test_waiting_on_the_reader_thread_is_refused(self) -> None:
        errors = []

        def handler(params):
            try:
                self.client.call("x", timeout=1)
            except RuntimeError as exc:
                errors.append(exc)

        self.client.on_notification("n", handler)
        self.engine.send({"jsonrpc": "2.0", "method": "n"})
        deadline = time.monotonic() + WAIT
        while not errors and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(len(errors), 1)

    def test_undecodable_frame_is_skipped(self) -> None:
        req = self.client.request("a")
        msg = self.engine.expect("a")
        if self.framing == "lsp":
            self.engine.send_raw(b"Content-Length: 3\r\n\r\n{x}")
        else:
            self.engine.send_raw(b"{x}\n")
        self.engine.send({"jsonrpc": "2.0", "id": msg["id"], "result": "ok"})
        self.assertEqual(req.result(WAIT), "ok")


class SpawnAndConnectFailureTests(unittest.TestCase):
    def test_missing_engine_binary(self) -> None:
        with self.assertRaises(ClientError):
            Client.spawn(engine="/nonexistent/minions")

    def test_engine_that_exits_gives_connection_closed_with_its_stderr(self) -> None:
        script = "import sys; sys.stderr.write('boom: bad config\\n'); sys.exit(3)"
        client = Client.spawn(cmd=[sys.executable, "-c", script], default_timeout=WAIT)
        try:
            with self.assertRaises(ConnectionClosed) as cm:
                client.call("initialize", {})
            deadline = time.monotonic() + WAIT
            while client.transport.returncode is None and time.monotonic() < deadline:  # type: ignore[attr-defined]
                time.sleep(0.01)
        finally:
            client.close(timeout=WAIT)
        self.assertIn("engine", str(cm.exception))
        self.assertIn("boom: bad config", client.transport.stderr_tail())  # type: ignore[attr-defined]

    def test_connect_refused(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()  # nothing listens there now
        with self.assertRaises(ConnectionClosed):
            Client.connect("127.0.0.1", port, connect_timeout=WAIT)


class NdjsonClientDispatchTests(ClientDispatchTests):
    framing = "ndjson"


if __name__ == "__main__":
    unittest.main()
