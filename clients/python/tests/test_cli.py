"""Tests of ``python3 -m minions_client`` run as a subprocess against the real engine.

One data directory is shared by the class: a script model is registered in it once, and every CLI
invocation spawns a fresh engine on it (script turns restart with each engine process).
"""

import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from _support import PACKAGE_ROOT, TIMEOUT, engine_path
from minions_client.testing import TcpEngine, provider_error, text, tool_call, turn, write_script

ENGINE = None


def setUpModule() -> None:
    global ENGINE
    ENGINE = engine_path()


class CliTests(unittest.TestCase):
    root = ""
    data_dir = ""
    workspace = ""

    @classmethod
    def setUpClass(cls) -> None:
        cls.root = tempfile.mkdtemp(prefix="minions-py-cli-test-")
        cls.data_dir = os.path.join(cls.root, "data")
        cls.workspace = os.path.join(cls.root, "workspace")
        os.makedirs(cls.data_dir)
        os.makedirs(cls.workspace)
        with open(os.path.join(cls.workspace, "hello.txt"), "w") as f:
            f.write("hello from the workspace\n")
        script = write_script(os.path.join(cls.root, "script.json"), [
            turn(provider_error(400, "scripted failure"), match="(?i)please fail"),
            turn(text("Writing. "), tool_call("file_operations", operation="write", path="out.txt", content="42"),
                 match="(?i)please write"),
            turn(text("Done."), match="wrote|not approved"),
            turn(text("Hello "), text("from the script.")),
        ])
        # Register the script model in the shared data directory (persisted for later engines).
        from minions_client import Client

        with Client.spawn(engine=ENGINE, data_dir=cls.data_dir, env={"MINIONS_LOG": "warning"},
                          default_timeout=TIMEOUT) as client:
            client.initialize()
            client.register_script_model("scripted", script)

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.root, ignore_errors=True)

    def cli(self, *args: str, stdin: str = "", engine: str = None, env: dict = None) -> subprocess.CompletedProcess:
        full_env = dict(os.environ)
        full_env.pop("MINIONS_TOKEN", None)
        full_env.update(env or {})
        cmd = [sys.executable, "-m", "minions_client", "--engine", engine or ENGINE,
               "--data-dir", self.data_dir, "--workspace", self.workspace] + list(args)
        return subprocess.run(cmd, input=stdin, cwd=PACKAGE_ROOT, env=full_env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=TIMEOUT)

    def assertOk(self, proc: subprocess.CompletedProcess) -> None:
        self.assertEqual(proc.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (proc.stdout, proc.stderr))

    # -- ask

    def test_ask_prints_the_answer(self) -> None:
        proc = self.cli("ask", "hi there", "--model", "scripted")
        self.assertOk(proc)
        self.assertEqual(proc.stdout, "Hello from the script.\n")

    def test_ask_json(self) -> None:
        proc = self.cli("ask", "hi there", "--model", "scripted", "--json")
        self.assertOk(proc)
        self.assertIn('"stopReason": "end_turn"', proc.stdout)

    def test_ask_provider_error_exits_1_with_the_error_on_stderr(self) -> None:
        proc = self.cli("ask", "please fail", "--model", "scripted")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stdout, "")
        self.assertIn("minions: error:", proc.stderr)
        self.assertIn("(-32020)", proc.stderr)

    def test_ask_unknown_model_is_not_found(self) -> None:
        proc = self.cli("ask", "hi", "--model", "no-such-model")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("(-32013)", proc.stderr)

    def test_ask_without_an_engine_exits_3(self) -> None:
        proc = self.cli("ask", "hi", engine=os.path.join(self.root, "missing-minions"))
        self.assertEqual(proc.returncode, 3)
        self.assertIn("no engine", proc.stderr)

    def test_ask_approvals_from_the_command_line(self) -> None:
        target = os.path.join(self.workspace, "out.txt")
        if os.path.exists(target):
            os.remove(target)
        denied = self.cli("ask", "please write", "--model", "scripted", "--approve", "deny")
        self.assertOk(denied)
        self.assertEqual(denied.stdout, "Writing. Done.\n")
        self.assertIn("not approved", denied.stderr)
        self.assertFalse(os.path.exists(target))
        allowed = self.cli("ask", "please write", "--model", "scripted", "--approve", "allow")
        self.assertOk(allowed)
        with open(target) as f:
            self.assertEqual(f.read(), "42")

    def test_chat_reads_messages_and_approval_answers_from_stdin(self) -> None:
        target = os.path.join(self.workspace, "out.txt")
        if os.path.exists(target):
            os.remove(target)
        proc = self.cli("chat", "--model", "scripted", "--approve", "ask", stdin="hi\nplease write\ny\n/session\n")
        self.assertOk(proc)
        self.assertEqual(proc.stdout, "Hello from the script.\nWriting. Done.\n")
        self.assertIn("wants to run file_operations", proc.stderr)
        self.assertIn("session: s_", proc.stderr)
        self.assertTrue(os.path.exists(target))

    # -- other commands

    def test_models(self) -> None:
        proc = self.cli("models")
        self.assertOk(proc)
        self.assertIn("scripted", proc.stdout)
        self.assertIn("local", proc.stdout)
        self.assertTrue(proc.stdout.startswith("NAME"))

    def test_select(self) -> None:
        proc = self.cli("select", "write a python function")
        self.assertOk(proc)
        self.assertIn("score", proc.stdout)

    def test_tools(self) -> None:
        proc = self.cli("tools")
        self.assertOk(proc)
        for name in ("file_operations", "database", "http_request"):
            self.assertIn(name, proc.stdout)

    def test_run_tool(self) -> None:
        proc = self.cli("run", "file_operations", "--arg", "operation=read", "--arg", "path=hello.txt")
        self.assertOk(proc)
        self.assertIn("hello from the workspace", proc.stdout)
        listing = self.cli("run", "file_operations", "--args", '{"operation": "list", "path": "."}', "--json")
        self.assertOk(listing)
        self.assertIn('"isError": false', listing.stdout)

    def test_run_tool_failure_and_bad_arguments(self) -> None:
        failed = self.cli("run", "file_operations", "--arg", "operation=read", "--arg", "path=missing.txt")
        self.assertEqual(failed.returncode, 1)
        self.assertEqual(failed.stdout, "")
        unknown = self.cli("run", "no_such_tool", "--arg", "x=1")
        self.assertEqual(unknown.returncode, 1)
        self.assertIn("(-32602)", unknown.stderr)
        self.assertIn('"field":"tool"', unknown.stderr)
        usage = self.cli("run", "file_operations", "--arg", "novalue")
        self.assertEqual(usage.returncode, 2)

    def test_report_markdown(self) -> None:
        proc = self.cli("report", "usage", "--days", "7", "--format", "markdown")
        self.assertOk(proc)
        self.assertTrue(proc.stdout.startswith("# Usage report"), proc.stdout[:200])

    def test_export_csv(self) -> None:
        proc = self.cli("export", "events", "--format", "csv")
        self.assertOk(proc)
        path = proc.stdout.strip()
        self.assertTrue(path.startswith(self.data_dir), path)
        with open(path, newline="") as f:
            header = next(csv.reader(io.StringIO(f.read())))
        self.assertEqual(header, ["at", "kind", "username", "target", "details"])

    def test_users_and_keys(self) -> None:
        users = self.cli("users")
        self.assertOk(users)
        self.assertIn("local", users.stdout)
        created = self.cli("keys", "create", "ci-key", "--days", "1")
        self.assertOk(created)
        self.assertTrue(created.stdout.strip())
        listed = self.cli("keys")
        self.assertOk(listed)
        self.assertIn("ci-key", listed.stdout)

    def test_watch_count_plain(self) -> None:
        proc = self.cli("watch", "--count", "2", "--interval-ms", "100")
        self.assertOk(proc)
        self.assertEqual(proc.stdout.count("Minions metrics"), 2)
        self.assertIn("(update 2/2)", proc.stdout)
        self.assertNotIn("\x1b[", proc.stdout)

    def test_watch_redraws_in_place_with_ansi(self) -> None:
        proc = self.cli("watch", "--count", "2", "--interval-ms", "100", "--ansi", "always")
        self.assertOk(proc)
        frames = proc.stdout.split("Minions metrics")
        self.assertEqual(len(frames), 3)
        # The second frame starts by moving the cursor back up over the first one.
        self.assertRegex(frames[1], r"\x1b\[\d+F\x1b\[2K$")
        self.assertTrue(proc.stdout.endswith("\x1b[?25h"))

    def test_connect_over_tcp_with_login_or_token(self) -> None:
        with TcpEngine(ENGINE, data_dir=self.data_dir) as server:
            server.add_user("alice", "a long passphrase", "admin")
            address = "%s:%d" % (server.host, server.port)
            anonymous = self.cli("--connect", address, "models")
            self.assertEqual(anonymous.returncode, 1)
            self.assertIn("(-32010)", anonymous.stderr)
            logged_in = self.cli("--connect", address, "--user", "alice", "--password-stdin", "ask", "hi",
                                 "--model", "scripted", stdin="a long passphrase\n")
            self.assertOk(logged_in)
            self.assertEqual(logged_in.stdout, "Hello from the script.\n")
            client = server.connect(default_timeout=TIMEOUT)
            client.initialize()
            token = client.login("alice", "a long passphrase")["token"]
            with_token = self.cli("--connect", address, "users", env={"MINIONS_TOKEN": token})
            self.assertOk(with_token)
            self.assertIn("alice", with_token.stdout)

    def test_help(self) -> None:
        proc = subprocess.run([sys.executable, "-m", "minions_client", "--help"], cwd=PACKAGE_ROOT,
                              stdout=subprocess.PIPE, universal_newlines=True, timeout=TIMEOUT)
        self.assertEqual(proc.returncode, 0)
        for command in ("chat", "ask", "models", "select", "tools", "run", "report", "export", "users", "keys", "watch"):
            self.assertIn(command, proc.stdout)


if __name__ == "__main__":
    unittest.main()
