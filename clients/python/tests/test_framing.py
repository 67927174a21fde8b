"""Unit tests of the framing layer: both framings, every way a read can split a message."""

import json
import random
import unittest

import _support  # noqa: F401  (puts the package on sys.path)
from minions_client.framing import FramingError, LspDecoder, NdjsonDecoder, encode_message, make_decoder

MESSAGES = [
    {"jsonrpc": "2.0", "id": 1, "result": {"text": "héllo wörld ✓ 🎉"}},
    {"jsonrpc": "2.0", "method": "agent/update", "params": {"kind": "token", "seq": 1, "text": "line\nbreak"}},
    {"jsonrpc": "2.0", "id": "minions-1", "method": "approval/request", "params": {}},
    {"jsonrpc": "2.0", "id": 2, "result": None},
]


def decode_all(decoder, chunks):
    out = []
    for chunk in chunks:
        out.extend(json.loads(b.decode("utf-8")) for b in decoder.feed(chunk))
    return out


class EncodeTests(unittest.TestCase):
    def test_lsp_header_counts_bytes_not_characters(self):
        data = encode_message({"t": "é"}, "lsp")
        header, _, body = data.partition(b"\r\n\r\n")
        self.assertEqual(header, b"Content-Length: %d" % len(body))
        self.assertEqual(len(body), len('{"t":"é"}'.encode("utf-8")))

    def test_ndjson_is_one_line(self):
        data = encode_message({"t": "a\nb"}, "ndjson")
        self.assertTrue(data.endswith(b"\n"))
        self.assertEqual(data.count(b"\n"), 1)  # the newline inside the string is escaped

    def test_unknown_framing(self):
        with self.assertRaises(ValueError):
            encode_message({}, "xml")
        with self.assertRaises(ValueError):
            make_decoder("xml")


class SplitReadTests(unittest.TestCase):
    """Whatever the read boundaries, each framing yields exactly the messages that were sent."""

    def check(self, framing, splitter):
        stream = b"".join(encode_message(m, framing) for m in MESSAGES)
        chunks = splitter(stream)
        self.assertEqual(b"".join(chunks), stream)
        self.assertEqual(decode_all(make_decoder(framing), chunks), MESSAGES)

    def test_byte_by_byte(self):
        for framing in ("lsp", "ndjson"):
            with self.subTest(framing=framing):
                self.check(framing, lambda s: [s[i:i + 1] for i in range(len(s))])

    def test_all_at_once(self):
        for framing in ("lsp", "ndjson"):
            with self.subTest(framing=framing):
                self.check(framing, lambda s: [s])

    def test_random_splits(self):
        rng = random.Random(1234)
        for framing in ("lsp", "ndjson"):
            for _ in range(200):
                def split(s):
                    cuts = sorted(rng.sample(range(1, len(s)), rng.randint(1, 12)))
                    return [s[a:b] for a, b in zip([0] + cuts, cuts + [len(s)])]

                with self.subTest(framing=framing):
                    self.check(framing, split)

    def test_split_inside_a_multibyte_character(self):
        data = encode_message({"t": "🎉"}, "lsp")
        i = data.index("🎉".encode("utf-8")) + 2  # in the middle of the emoji
        self.assertEqual(decode_all(LspDecoder(), [data[:i], data[i:]]), [{"t": "🎉"}])

    def test_split_inside_the_header_separator(self):
        data = encode_message({"a": 1}, "lsp")
        i = data.index(b"\r\n\r\n") + 2
        self.assertEqual(decode_all(LspDecoder(), [data[:i], data[i:]]), [{"a": 1}])


class LspDecoderTests(unittest.TestCase):
    def test_header_name_is_case_insensitive_and_extra_headers_are_ignored(self):
        body = b'{"id":1}'
        data = b"content-length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n%s" % (len(body), body)
        self.assertEqual(LspDecoder().feed(data), [body])

    def test_bare_newlines_are_tolerated(self):
        body = b'{"id":1}'
        self.assertEqual(LspDecoder().feed(b"Content-Length: %d\n\n%s" % (len(body), body)), [body])

    def test_pending_counts_partial_bytes(self):
        d = LspDecoder()
        self.assertEqual(d.feed(b"Content-Length: 10\r\n\r\n{\"a\""), [])
        self.assertEqual(d.pending, 4)

    def test_missing_content_length(self):
        with self.assertRaises(FramingError):
            LspDecoder().feed(b"Content-Type: x\r\n\r\n{}")

    def test_bad_content_length(self):
        with self.assertRaises(FramingError):
            LspDecoder().feed(b"Content-Length: -1\r\n\r\n{}")

    def test_frame_over_the_limit(self):
        with self.assertRaises(FramingError):
            LspDecoder(max_frame=10).feed(b"Content-Length: 11\r\n\r\n")


class NdjsonDecoderTests(unittest.TestCase):
    def test_crlf_and_blank_lines(self):
        d = NdjsonDecoder()
        self.assertEqual(d.feed(b'{"a":1}\r\n\r\n\n{"b":2}\n{"c"'), [b'{"a":1}', b'{"b":2}'])
        self.assertEqual(d.feed(b":3}\n"), [b'{"c":3}'])

    def test_line_over_the_limit(self):
        with self.assertRaises(FramingError):
            NdjsonDecoder(max_frame=8).feed(b'{"aaaaaaaaaa"')


if __name__ == "__main__":
    unittest.main()
