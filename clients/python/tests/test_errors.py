"""Unit tests of error mapping and of small pure helpers (approval answers, tool arguments)."""

import unittest

import _support  # noqa: F401
from minions_client import (
    ERROR_CLASSES,
    AccountLocked,
    AlreadyExists,
    ApprovalDenied,
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
    approval_answer,
    error_from_response,
)
from minions_client.cli import parse_tool_args, CliError


class ErrorMappingTests(unittest.TestCase):
    CONTRACT = {
        -32700: ParseError,
        -32600: InvalidRequest,
        -32601: MethodNotFound,
        -32602: InvalidParams,
        -32603: InternalError,
        -32002: ServerNotInitialized,
        -32800: RequestCancelled,
        -32010: Unauthenticated,
        -32011: PermissionDenied,
        -32012: AccountLocked,
        -32013: NotFound,
        -32014: AlreadyExists,
        -32015: Overloaded,
        -32020: ProviderError,
        -32021: NoModelAvailable,
        -32031: ApprovalDenied,
    }

    def test_every_contract_code_has_its_class(self):
        for code, cls in self.CONTRACT.items():
            with self.subTest(code=code):
                exc = error_from_response({"code": code, "message": "m", "data": {"x": 1}}, method="some/method")
                self.assertIs(type(exc), cls)
                self.assertIsInstance(exc, MinionsError)
                self.assertEqual((exc.code, exc.message, exc.data, exc.method), (code, "m", {"x": 1}, "some/method"))
        self.assertEqual(set(ERROR_CLASSES), set(self.CONTRACT))

    def test_invalid_params_field_and_reason(self):
        exc = error_from_response({
            "code": -32602,
            "message": "Invalid params: capabilities.tokenCoalesceMs: expected integer, got string",
            "data": {"field": "capabilities.tokenCoalesceMs", "reason": "expected integer, got string"},
        })
        self.assertIsInstance(exc, InvalidParams)
        self.assertEqual(exc.field, "capabilities.tokenCoalesceMs")
        self.assertEqual(exc.reason, "expected integer, got string")

    def test_structured_data_accessors(self):
        self.assertEqual(error_from_response({"code": -32011, "message": "", "data": {"permission": "chat"}}).permission, "chat")
        self.assertEqual(error_from_response({"code": -32012, "message": "", "data": {"retryAfterSeconds": 60}}).retry_after_seconds, 60)
        nf = error_from_response({"code": -32013, "message": "", "data": {"kind": "model", "id": "x"}})
        self.assertEqual((nf.kind, nf.id), ("model", "x"))
        self.assertEqual(error_from_response({"code": -32015, "message": "", "data": {"retryAfterMs": 5}}).retry_after_ms, 5)
        pe = error_from_response({"code": -32020, "message": "", "data": {"provider": "p", "model": "m", "httpStatus": 503, "retryable": True}})
        self.assertEqual((pe.provider, pe.model, pe.http_status, pe.retryable), ("p", "m", 503, True))
        nm = error_from_response({"code": -32021, "message": "", "data": {"candidates": [{"model": "a", "excluded": "no"}]}})
        self.assertEqual(nm.candidates, [{"model": "a", "excluded": "no"}])
        self.assertEqual(error_from_response({"code": -32601, "message": "", "data": {"method": "nope"}}).missing_method, "nope")

    def test_missing_data_gives_none(self):
        exc = error_from_response({"code": -32602, "message": "bad"})
        self.assertIsNone(exc.field)
        self.assertIsNone(exc.data)

    def test_unknown_code_is_a_plain_minions_error(self):
        exc = error_from_response({"code": -31999, "message": "new"})
        self.assertIs(type(exc), MinionsError)
        self.assertEqual(exc.code, -31999)

    def test_malformed_error_objects(self):
        for bad in (None, "text", {"message": "no code"}, {"code": "x", "message": "m"}, {"code": True, "message": "m"}):
            with self.subTest(bad=bad):
                exc = error_from_response(bad)
                self.assertIs(type(exc), MinionsError)
                self.assertIsNone(exc.code)

    def test_str_and_to_dict(self):
        exc = error_from_response({"code": -32601, "message": "Method not found: nope", "data": {"method": "nope"}})
        self.assertEqual(str(exc), "Method not found: nope (-32601)")
        self.assertEqual(exc.to_dict(), {"code": -32601, "message": "Method not found: nope", "data": {"method": "nope"}})

    def test_client_side_errors(self):
        t = RequestTimeout("slow", method="x")
        self.assertIsInstance(t, MinionsError)
        self.assertIsInstance(t, TimeoutError)
        self.assertIsNone(t.code)
        self.assertIsInstance(ConnectionClosed("gone"), MinionsError)


class HelperTests(unittest.TestCase):
    def test_approval_answers(self):
        self.assertEqual(approval_answer(True), {"outcome": "selected", "optionId": "allow_once"})
        self.assertEqual(approval_answer(False), {"outcome": "selected", "optionId": "reject_once"})
        self.assertEqual(approval_answer(None), {"outcome": "cancelled"})
        self.assertEqual(approval_answer("always"), {"outcome": "selected", "optionId": "allow_always"})
        self.assertEqual(approval_answer("never"), {"outcome": "selected", "optionId": "reject_always"})
        self.assertEqual(approval_answer("reject_once"), {"outcome": "selected", "optionId": "reject_once"})
        self.assertEqual(approval_answer({"outcome": "cancelled"}), {"outcome": "cancelled"})
        with self.assertRaises(TypeError):
            approval_answer(3)

    def test_tool_arguments(self):
        self.assertEqual(
            parse_tool_args(["operation=list", "path=.", "maxRows=5", "params=[1,\"a\"]", "flag=true", "s=\"5\"", "e="]),
            {"operation": "list", "path": ".", "maxRows": 5, "params": [1, "a"], "flag": True, "s": "5", "e": ""},
        )
        self.assertEqual(parse_tool_args(["k=v=w"]), {"k": "v=w"})
        self.assertEqual(parse_tool_args(["b=2"], '{"a": 1, "b": 1}'), {"a": 1, "b": 2})
        for bad in (["novalue"], ["=x"]):
            with self.assertRaises(CliError):
                parse_tool_args(bad)
        with self.assertRaises(CliError):
            parse_tool_args([], "[1]")


if __name__ == "__main__":
    unittest.main()
