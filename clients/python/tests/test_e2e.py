"""End-to-end tests against the real engine binary (``MINIONS_BIN``).

Each test starts its own engine with its own temporary data directory and workspace
(:class:`minions_client.testing.LocalEngine`), so tests never see each other's sessions, models or
script-turn counters. Every wait is bounded by ``_support.TIMEOUT``.
"""

import os
import threading
import time
import unittest

from _support import TIMEOUT, engine_path
from minions_client import (
    AlreadyExists,
    ChatResult,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    NotFound,
    PermissionDenied,
    ProviderError,
    RequestTimeout,
    Unauthenticated,
    Update,
)
from minions_client.testing import LocalEngine, TcpEngine, delay, provider_error, text, tool_call, turn

ENGINE = None


def setUpModule() -> None:
    global ENGINE
    ENGINE = engine_path()  # skips the whole module, with the reason, when MINIONS_BIN is unusable


class EngineTestCase(unittest.TestCase):
    framing = "lsp"

    #: Keep every engine hermetic: no real Ollama, no cloud keys (models/refresh must not reach out).
    engine_env = {"OLLAMA_HOST": "127.0.0.1:9", "OPENAI_API_KEY": None, "ANTHROPIC_API_KEY": None}

    def setUp(self) -> None:
        self.engine = LocalEngine(ENGINE, framing=self.framing, default_timeout=TIMEOUT, env=self.engine_env)
        self.engine.start()
        self.addCleanup(self.engine.close)
        self.client = self.engine.client
        assert self.client is not None

    def assertSeqOrdered(self, updates) -> None:
        self.assertEqual([u.seq for u in updates], list(range(1, len(updates) + 1)))
        self.assertEqual(len({(u.session_id, u.turn_id) for u in updates}), 1 if updates else 0)


class LifecycleTests(EngineTestCase):
    def test_initialize_result_names_server_and_user(self) -> None:
        server = self.client.server
        self.assertEqual(server["protocolVersion"], 1)
        self.assertEqual(server["serverInfo"]["name"], "minions")
        self.assertIn("agent/chat", server["capabilities"]["methods"])
        self.assertIn("agent/update", server["capabilities"]["notifications"])
        self.assertEqual(self.client.user["username"], "local")
        self.assertEqual(self.client.user["role"], "admin")

    def test_call_and_notify(self) -> None:
        self.assertEqual(self.client.call("ping"), {})
        me = self.client.whoami()
        self.assertEqual((me["username"], me["authMethod"]), ("local", "local"))
        # Notifications get no reply, not even for unknown `$/` methods; the connection keeps working.
        self.client.notify("$/whatever", {"x": 1})
        self.client.notify("initialized")
        self.assertEqual(self.client.call("auth/whoami")["username"], "local")

    def test_second_initialize_is_invalid_request(self) -> None:
        with self.assertRaises(InvalidRequest):
            self.client.call("initialize", {})

    def test_pipelined_requests_resolve_by_id(self) -> None:
        reqs = [self.client.request("ping") for _ in range(50)]
        self.assertEqual([r.result(TIMEOUT) for r in reqs], [{}] * 50)

    def test_shutdown_and_exit(self) -> None:
        self.client.shutdown(timeout=TIMEOUT)
        proc = self.client.transport.process  # type: ignore[attr-defined]
        self.assertEqual(proc.wait(timeout=TIMEOUT), 0)


class NdjsonLifecycleTests(LifecycleTests):
    framing = "ndjson"


class TypedErrorTests(EngineTestCase):
    def test_unknown_method(self) -> None:
        with self.assertRaises(MethodNotFound) as cm:
            self.client.call("no/such/method")
        self.assertEqual(cm.exception.code, -32601)
        self.assertEqual(cm.exception.missing_method, "no/such/method")

    def test_bad_params_name_the_field(self) -> None:
        with self.assertRaises(InvalidParams) as cm:
            self.client.call("models/select", {"strategy": "sideways"})
        self.assertEqual(cm.exception.code, -32602)
        self.assertEqual(cm.exception.field, "strategy")
        with self.assertRaises(InvalidParams) as cm:
            self.client.call("agent/chat", {"message": "hi", "maxSteps": 0})
        self.assertEqual(cm.exception.field, "maxSteps")
        with self.assertRaises(InvalidParams) as cm:
            self.client.execute_tool("file_operations", {"operation": "read"})
        self.assertTrue((cm.exception.field or "").startswith("arguments"), cm.exception.data)

    def test_not_found_and_already_exists(self) -> None:
        with self.assertRaises(NotFound) as cm:
            self.client.call("sessions/get", {"sessionId": "s_nope"})
        self.assertEqual(cm.exception.kind, "session")
        with self.assertRaises(NotFound):
            self.client.chat("hi", model="no-such-model")
        self.client.call("users/create", {"username": "bob", "password": "a long passphrase", "role": "user"})
        with self.assertRaises(AlreadyExists) as cm2:
            self.client.call("users/create", {"username": "BOB", "password": "a long passphrase", "role": "user"})
        self.assertEqual(cm2.exception.code, -32014)

    def test_provider_error(self) -> None:
        model = self.engine.script_model("broken", [turn(provider_error(400, "bad request"))])
        with self.assertRaises(ProviderError) as cm:
            self.client.chat("hi", model=model)
        self.assertEqual((cm.exception.provider, cm.exception.model, cm.exception.http_status), ("script", "broken", 400))
        self.assertFalse(cm.exception.retryable)


class ChatTests(EngineTestCase):
    def test_chat_streams_tokens_that_join_to_the_content(self) -> None:
        model = self.engine.script_model("talker", [turn(text("Hello"), text(", "), text("world"), text("!"))])
        tokens, updates = [], []
        result = self.client.chat("hi", model=model, on_token=tokens.append, on_update=updates.append)
        self.assertIsInstance(result, ChatResult)
        self.assertEqual(tokens, ["Hello", ", ", "world", "!"])
        self.assertEqual("".join(tokens), result.content)
        self.assertEqual(result.content, "Hello, world!")
        self.assertEqual(result.stop_reason, "end_turn")
        self.assertEqual(result.model, "talker")
        self.assertEqual(result.agent, "assistant")
        self.assertSeqOrdered(updates)
        self.assertEqual(updates, result.updates)
        self.assertTrue(all(u.kind == "token" and u.session_id == result.session_id for u in updates))
        self.assertEqual(result.usage["totalTokens"], result.usage["promptTokens"] + result.usage["completionTokens"])

    def test_chat_stream_iterator_ends_with_the_result(self) -> None:
        model = self.engine.script_model("streamer", [turn(text("one "), text("two "), text("three"))])
        items = list(self.client.chat_stream("count", model=model))
        updates, result = items[:-1], items[-1]
        self.assertTrue(all(isinstance(u, Update) for u in updates))
        self.assertIsInstance(result, ChatResult)
        self.assertSeqOrdered(updates)
        self.assertEqual("".join(u.text for u in updates if u.kind == "token"), result.content)
        self.assertEqual(result.content, "one two three")

    def test_a_session_continues(self) -> None:
        model = self.engine.script_model("twice", [turn(text("first")), turn(text("second"))])
        first = self.client.chat("a", model=model)
        second = self.client.chat("b", model=model, session_id=first.session_id)
        self.assertEqual(second.session_id, first.session_id)
        self.assertEqual(second.content, "second")
        self.assertEqual([u.text for u in second.updates], ["second"])
        messages = self.client.call("sessions/get", {"sessionId": first.session_id})["messages"]
        self.assertEqual([m["role"] for m in messages], ["user", "assistant", "user", "assistant"])

    def test_concurrent_new_session_chats_get_their_own_updates(self) -> None:
        a = self.engine.script_model("model-a", [turn(text("a1"), delay(150), text("a2"))])
        b = self.engine.script_model("model-b", [turn(text("b1"), delay(50), text("b2"))])
        sa = self.client.chat_stream("x", model=a)
        sb = self.client.chat_stream("y", model=b)
        ra, rb = sa.wait(), sb.wait()
        self.assertEqual([u.text for u in ra.updates], ["a1", "a2"])
        self.assertEqual([u.text for u in rb.updates], ["b1", "b2"])
        self.assertNotEqual(ra.session_id, rb.session_id)


class StreamingOptionTests(EngineTestCase):
    def test_token_coalescing_keeps_the_content(self) -> None:
        self.engine.close()
        self.engine = LocalEngine(ENGINE, default_timeout=TIMEOUT, env=self.engine_env,
                                  initialize_kwargs={"token_coalesce_ms": 300})
        self.engine.start()
        self.addCleanup(self.engine.close)
        model = self.engine.script_model("coalesced", [turn(text("a"), text("b"), text("c"), delay(600), text("d"))])
        result = self.engine.client.chat("x", model=model)
        texts = [u.text for u in result.updates]
        self.assertLess(len(texts), 4)  # some tokens were merged
        self.assertEqual("".join(texts), result.content)
        self.assertEqual(result.content, "abcd")

    def test_work_done_progress(self) -> None:
        progress = []
        self.client.call("models/refresh", {}, on_progress=progress.append)
        kinds = [p["kind"] for p in progress]
        self.assertEqual(kinds[0], "begin")
        self.assertEqual(kinds[-1], "end")
        self.assertIn("title", progress[0])


class ApprovalTests(EngineTestCase):
    def script(self, name: str) -> str:
        return self.engine.script_model(name, [
            turn(text("Writing. "), tool_call("file_operations", operation="write", path="x.txt", content="hi"),
                 match="(?i)write"),
            turn(text("Done."), match="wrote|not approved"),
        ])

    def test_approve_writes_the_file(self) -> None:
        asked = []
        result = self.client.chat("write it", model=self.script("writer-yes"),
                                  approve=lambda req: asked.append(req) or True)
        self.assertEqual(len(asked), 1)
        req = asked[0]
        self.assertEqual(req.tool, "file_operations")
        self.assertEqual(req.arguments, {"operation": "write", "path": "x.txt", "content": "hi"})
        self.assertEqual(req.session_id, result.session_id)
        self.assertIn("allow_once", req.option_ids)
        with open(self.engine.path("x.txt")) as f:
            self.assertEqual(f.read(), "hi")
        self.assertEqual(result.content, "Writing. Done.")
        self.assertEqual(len(result.tool_calls), 1)
        self.assertFalse(result.tool_calls[0]["isError"])
        kinds = [u.kind for u in result.updates]
        self.assertEqual(kinds, ["token", "toolCall", "toolResult", "token"])

    def test_reject_leaves_the_file_unwritten(self) -> None:
        result = self.client.chat("write it", model=self.script("writer-no"), approve=lambda req: False)
        self.assertFalse(os.path.exists(self.engine.path("x.txt")))
        self.assertTrue(result.tool_calls[0]["isError"])
        self.assertIn("not approved", result.tool_calls[0]["output"])
        self.assertEqual(result.stop_reason, "end_turn")

    def test_without_a_callback_the_call_is_refused(self) -> None:
        result = self.client.chat("write it", model=self.script("writer-none"))
        self.assertFalse(os.path.exists(self.engine.path("x.txt")))
        self.assertTrue(result.tool_calls[0]["isError"])

    def test_cancelling_a_turn_withdraws_its_pending_approval(self) -> None:
        asked = threading.Event()
        release = threading.Event()
        withdrawn = []
        self.client.on_notification("$/cancelRequest", withdrawn.append)

        def slow_user(req):
            asked.set()
            release.wait(TIMEOUT)  # the user is still thinking when the turn is cancelled
            return True

        stream = self.client.chat_stream("write it", model=self.script("writer-withdrawn"), approve=slow_user)
        self.assertTrue(asked.wait(TIMEOUT))
        stream.cancel()
        result = stream.wait(TIMEOUT)
        release.set()
        self.assertEqual(result.stop_reason, "cancelled")
        self.assertEqual(len(withdrawn), 1)
        self.assertTrue(str(withdrawn[0]["id"]).startswith("minions-"))
        self.assertFalse(os.path.exists(self.engine.path("x.txt")))

    def test_client_level_handler(self) -> None:
        self.client.on_request("approval/request", lambda req: {"outcome": "selected", "optionId": "allow_once"})
        self.client.chat("write it", model=self.script("writer-handler"))
        self.assertTrue(os.path.exists(self.engine.path("x.txt")))


class CancellationTests(EngineTestCase):
    def slow_model(self, name: str) -> str:
        return self.engine.script_model(name, [turn(text("before "), delay(5000), text("after"))])

    def test_cancel_request_returns_cancelled_quickly(self) -> None:
        stream = self.client.chat_stream("go", model=self.slow_model("slow-1"))
        started = time.monotonic()
        items = []
        for item in stream:
            items.append(item)
            if isinstance(item, Update) and item.kind == "token":
                stream.cancel()  # $/cancelRequest for the agent/chat request
        elapsed = time.monotonic() - started
        result = items[-1]
        self.assertIsInstance(result, ChatResult)
        self.assertEqual(result.stop_reason, "cancelled")
        self.assertEqual(result.content, "before ")
        self.assertLess(elapsed, 2.5)

    def test_agent_cancel_stops_the_session_turn(self) -> None:
        stream = self.client.chat_stream("go", model=self.slow_model("slow-2"))
        started = time.monotonic()
        it = iter(stream)
        first = next(it)
        self.assertEqual(first.kind, "token")
        self.assertTrue(self.client.cancel_turn(stream.session_id))
        result = stream.wait(TIMEOUT)
        self.assertTrue(result.cancelled)
        self.assertLess(time.monotonic() - started, 2.5)
        self.assertFalse(self.client.cancel_turn(stream.session_id))  # nothing running any more

    def test_breaking_out_of_a_stream_cancels_the_turn(self) -> None:
        stream = self.client.chat_stream("go", model=self.slow_model("slow-3"))
        started = time.monotonic()
        for item in stream:
            break
        self.assertTrue(stream.request.done())
        self.assertLess(time.monotonic() - started, 2.5)
        self.assertEqual(self.client.call("ping"), {})

    def test_chat_timeout_raises_and_cancels(self) -> None:
        started = time.monotonic()
        with self.assertRaises(RequestTimeout):
            self.client.chat("go", model=self.slow_model("slow-4"), timeout=0.5)
        self.assertLess(time.monotonic() - started, 2.5)


class MetricsTests(EngineTestCase):
    def test_metrics_iterator_yields_then_unsubscribes(self) -> None:
        snapshots = []
        with self.client.metrics(interval_ms=100, count=3, timeout=5) as sub:
            for snap in sub:
                snapshots.append(snap)
        self.assertGreaterEqual(len(snapshots), 2)
        self.assertEqual(len(snapshots), 3)
        for snap in snapshots:
            self.assertIn("server", snap)
            self.assertIn("rssBytes", snap["process"])
        # The iterator unsubscribed on its way out: the engine no longer knows the subscription.
        with self.assertRaises(NotFound) as cm:
            self.client.call("metrics/unsubscribe", {"subscriptionId": sub.subscription_id})
        self.assertEqual(cm.exception.kind, "subscription")

    def test_break_unsubscribes(self) -> None:
        sub = self.client.metrics(interval_ms=100, timeout=5)
        got = 0
        for _ in sub:
            got += 1
            if got == 2:
                break
        self.assertEqual(got, 2)
        with self.assertRaises(NotFound):
            self.client.call("metrics/unsubscribe", {"subscriptionId": sub.subscription_id})

    def test_bad_interval(self) -> None:
        with self.assertRaises(InvalidParams) as cm:
            self.client.metrics(interval_ms=5)
        self.assertEqual(cm.exception.field, "intervalMs")


class TcpTests(unittest.TestCase):
    def test_connect_login_and_permissions(self) -> None:
        with TcpEngine(ENGINE) as server:
            server.add_user("alice", "a long passphrase", "admin")
            server.add_user("victor", "another long passphrase", "viewer")
            client = server.connect(default_timeout=TIMEOUT)
            result = client.initialize()
            self.assertIsNone(result["user"])  # nobody until login
            with self.assertRaises(Unauthenticated):
                client.whoami()
            with self.assertRaises(Unauthenticated):
                client.login("alice", "wrong passphrase!")
            login = client.login("alice", "a long passphrase")
            self.assertTrue(login["token"])
            self.assertEqual(client.whoami()["username"], "alice")
            self.assertEqual(client.whoami()["authMethod"], "password")

            # The token authenticates a second connection in initialize (newline framing this time).
            second = server.connect(framing="ndjson", default_timeout=TIMEOUT)
            self.assertEqual(second.initialize(token=login["token"])["user"]["username"], "alice")

            # A viewer may read but not chat.
            viewer = server.connect(default_timeout=TIMEOUT)
            viewer.initialize(username="victor", password="another long passphrase")
            self.assertTrue(viewer.models())
            with self.assertRaises(PermissionDenied) as cm:
                viewer.chat("hi")
            self.assertEqual(cm.exception.permission, "chat")


if __name__ == "__main__":
    unittest.main()
