"""The ``python3 -m minions_client`` command line.

Every command spawns the engine (``--engine``, default ``$MINIONS_BIN`` or ``minions`` on PATH) and
talks to it over stdio, or connects to a running one with ``--connect HOST:PORT``. Exit codes:
0 success; 1 the engine answered an error (printed on stderr as ``minions: error: MESSAGE (CODE)``),
a tool failed, or a turn was cancelled; 2 bad usage; 3 the engine could not be started or reached;
130 interrupted.
"""

import argparse
import getpass
import json
import os
import queue
import sys
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO, Tuple

from ._version import __version__
from .client import ChatStream, Client, find_engine
from .errors import ClientError, ConnectionClosed, MinionsError, RequestTimeout
from .types import ApprovalRequest, ChatResult, Update

__all__ = ["main", "build_parser", "parse_tool_args", "render_metrics", "format_table"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_INTERRUPTED = 130

DEFAULT_CALL_TIMEOUT = 120.0


class CliError(Exception):
    """An error the CLI reports and exits on."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# ---------------------------------------------------------------------------- formatting


def format_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """An aligned plain-text table (numbers right-aligned)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], len(v))
    numeric = [
        all(_is_number(row[i]) for row in rows) and any(row[i] is not None for row in rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        out = []
        for i, v in enumerate(values):
            out.append(v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]))
        return "  ".join(out).rstrip()

    lines = [line(list(headers)), line(["-" * w for w in widths])]
    lines += [line(row) for row in cells]
    return "\n".join(lines)


def _is_number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return ("%.3f" % v).rstrip("0").rstrip(".")
    if isinstance(v, (list, tuple)):
        return ",".join(_cell(x) for x in v) or "-"
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    return str(v)


def _short(text: Any, limit: int = 160) -> str:
    s = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False, separators=(",", ":"))
    s = s.replace("\n", "\\n")
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _print_json(value: Any, out: TextIO) -> None:
    out.write(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def describe_error(exc: BaseException) -> str:
    """``MESSAGE (CODE)`` plus the structured data, for stderr."""
    if isinstance(exc, MinionsError):
        text = str(exc)
        if exc.data is not None:
            text += " " + json.dumps(exc.data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        return text
    return str(exc)


def parse_tool_args(pairs: Sequence[str], args_json: Optional[str] = None) -> Dict[str, Any]:
    """``["k=v", …]`` → a dict; each value is parsed as JSON when it parses, else kept as a string.

    >>> parse_tool_args(["path=.", "maxRows=5", "flag=true", "name=\\"5\\""])
    {'path': '.', 'maxRows': 5, 'flag': True, 'name': '5'}
    """
    out: Dict[str, Any] = {}
    if args_json:
        try:
            base = json.loads(args_json)
        except ValueError as exc:
            raise CliError("--args is not valid JSON: %s" % exc, EXIT_USAGE)
        if not isinstance(base, dict):
            raise CliError("--args must be a JSON object", EXIT_USAGE)
        out.update(base)
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise CliError("--arg expects KEY=VALUE, got %r" % pair, EXIT_USAGE)
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


# ---------------------------------------------------------------------------- metrics view


def _bar(percent: Any, width: int = 20) -> str:
    try:
        p = max(0.0, min(100.0, float(percent)))
    except (TypeError, ValueError):
        return "[" + "?" * width + "]"
    filled = int(round(p / 100.0 * width))
    return "[" + "#" * filled + "." * (width - filled) + "]"


def _bytes(n: Any) -> str:
    try:
        v = float(n)
    except (TypeError, ValueError):
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(v) < 1024 or unit == "TiB":
            return ("%d %s" % (v, unit)) if unit == "B" else ("%.1f %s" % (v, unit))
        v /= 1024.0
    return "?"


def _num(v: Any, fmt: str = "%.1f") -> str:
    try:
        return fmt % float(v)
    except (TypeError, ValueError):
        return "-"


def render_metrics(snapshot: Dict[str, Any], index: int = 1, count: Optional[int] = None) -> List[str]:
    """The lines of one ``metrics/update`` frame (no escapes)."""
    system = snapshot.get("system") or {}
    process = snapshot.get("process") or {}
    server = snapshot.get("server") or {}
    cache = snapshot.get("cache") or {}
    tasks = snapshot.get("tasks") or {}
    latency = server.get("latencyMs") or {}
    load = system.get("loadAverage") or []
    progress = "update %d" % index + ("/%d" % count if count else "")
    lines = [
        "Minions metrics  %s  (%s)" % (snapshot.get("timestamp", "?"), progress),
        "system   cpu %6s%% %s  mem %6s%% %s  %s / %s  load %s"
        % (
            _num(system.get("cpuPercent")),
            _bar(system.get("cpuPercent")),
            _num(system.get("memoryPercent")),
            _bar(system.get("memoryPercent")),
            _bytes(system.get("memoryUsedBytes")),
            _bytes(system.get("memoryTotalBytes")),
            " ".join(_num(x, "%.2f") for x in load) or "-",
        ),
        "process  cpu %6s%%  rss %s  threads %s  uptime %ss"
        % (_num(process.get("cpuPercent")), _bytes(process.get("rssBytes")), process.get("threads", "-"),
           _num(process.get("uptimeSeconds"), "%.0f")),
        "server   connections %s  requests %s  %s req/s  errors %s (%s%%)  latency p50 %sms p95 %sms p99 %sms"
        % (
            server.get("connections", "-"),
            server.get("requestsTotal", "-"),
            _num(server.get("requestsPerSecond")),
            server.get("errorsTotal", "-"),
            _num((server.get("errorRate") or 0) * 100, "%.2f"),
            _num(latency.get("p50"), "%.2f"),
            _num(latency.get("p95"), "%.2f"),
            _num(latency.get("p99"), "%.2f"),
        ),
        "cache    entries %s/%s  hit rate %s%%  hits %s  misses %s  evictions %s"
        % (cache.get("entries", "-"), cache.get("capacity", "-"), _num((cache.get("hitRate") or 0) * 100),
           cache.get("hits", "-"), cache.get("misses", "-"), cache.get("evictions", "-")),
        "tasks    queued %s  running %s  completed %s  failed %s"
        % (tasks.get("queued", "-"), tasks.get("running", "-"), tasks.get("completed", "-"), tasks.get("failed", "-")),
    ]
    methods = server.get("methods") or []
    for m in methods[:5]:
        lat = m.get("latencyMs") or {}
        lines.append(
            "  %-24s %6s calls %4s errors  p50 %sms p95 %sms"
            % (_short(m.get("method", "?"), 24), m.get("count", "-"), m.get("errors", "-"),
               _num(lat.get("p50"), "%.2f"), _num(lat.get("p95"), "%.2f"))
        )
    return lines


class FrameWriter:
    """Draws frames in place: moves the cursor back up over the previous frame and clears it."""

    def __init__(self, out: TextIO, ansi: bool) -> None:
        self.out = out
        self.ansi = ansi
        self._prev_lines = 0

    def start(self) -> None:
        if self.ansi:
            self.out.write("\x1b[?25l")  # hide the cursor

    def draw(self, lines: List[str]) -> None:
        buf = []
        if self.ansi and self._prev_lines:
            buf.append("\x1b[%dF" % self._prev_lines)  # to the start of the previous frame
        for line in lines:
            buf.append(("\x1b[2K" if self.ansi else "") + line + "\n")
        if self.ansi:
            buf.append("\x1b[J")  # clear whatever the previous frame left below
        elif self._prev_lines:
            buf.insert(0, "\n")
        self.out.write("".join(buf))
        self.out.flush()
        self._prev_lines = len(lines)

    def finish(self) -> None:
        if self.ansi:
            self.out.write("\x1b[?25h")
            self.out.flush()


# ---------------------------------------------------------------------------- connection


def _parse_hostport(value: str) -> Tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise CliError("--connect expects HOST:PORT, got %r" % value, EXIT_USAGE)
    return host.strip("[]") or "127.0.0.1", int(port)


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise CliError("--password-stdin: no password on stdin", EXIT_USAGE)
        return line.rstrip("\r\n")
    if sys.stdin.isatty():
        return getpass.getpass("password for %s: " % args.user)
    raise CliError("--user needs --password-stdin (stdin is not a terminal)", EXIT_USAGE)


def open_client(args: argparse.Namespace, approvals: bool = True) -> Client:
    """Spawn or connect, initialize and authenticate as the options say."""
    timeout = args.timeout if args.timeout is not None else DEFAULT_CALL_TIMEOUT
    password = _read_password(args) if args.user else None
    token = os.environ.get("MINIONS_TOKEN") or None
    api_key = os.environ.get("MINIONS_API_KEY") or None
    try:
        if args.connect:
            host, port = _parse_hostport(args.connect)
            client = Client.connect(host, port, framing=args.framing, default_timeout=timeout)
        else:
            engine = args.engine or find_engine()
            if not engine:
                raise CliError("no engine: pass --engine PATH, set MINIONS_BIN, or put `minions` on PATH", EXIT_UNAVAILABLE)
            if not os.path.exists(engine) and os.sep in engine:
                raise CliError("no engine at %s" % engine, EXIT_UNAVAILABLE)
            client = Client.spawn(
                engine=engine,
                data_dir=args.data_dir,
                workspace=args.workspace,
                log_level=args.log_level,
                framing=args.framing,
                default_timeout=timeout,
            )
    except ClientError as exc:
        raise CliError(str(exc), EXIT_UNAVAILABLE)
    try:
        kwargs: Dict[str, Any] = {"client_name": "minions-python-cli", "approvals": approvals, "timeout": timeout}
        if token and not args.user:
            kwargs["token"] = token
        elif api_key and not args.user:
            kwargs["api_key"] = api_key
        client.initialize(**kwargs)
        if args.user:
            client.login(args.user, password or "")
    except ConnectionClosed as exc:
        client.close(timeout=2.0)
        raise CliError(describe_error(exc), EXIT_UNAVAILABLE)
    except BaseException:
        client.close(timeout=2.0)
        raise
    return client


# ---------------------------------------------------------------------------- turns


class TurnPrinter:
    """Runs one turn, streaming tokens to ``out`` and tool activity to ``err``; asks for approvals.

    The turn is iterated on a helper thread; this (main) thread handles output, approval prompts and
    Ctrl-C (which cancels the turn), so prompts never race the token stream.
    """

    def __init__(self, client: Client, args: argparse.Namespace, out: TextIO, err: TextIO,
                 read_line: Callable[[str], Optional[str]], policy: str) -> None:
        self.client = client
        self.args = args
        self.out = out
        self.err = err
        self.read_line = read_line
        self.policy = policy  # "ask", "allow" or "deny"
        #: Whether the user pressed Ctrl-C during the last turn (which cancelled it).
        self.interrupted = False

    def _approve(self, events: "queue.Queue[Any]") -> Callable[[ApprovalRequest], Any]:
        def approve(request: ApprovalRequest) -> Any:
            if self.policy == "allow":
                return True
            if self.policy == "deny":
                return False
            box: "queue.Queue[Any]" = queue.Queue(maxsize=1)
            events.put(("approval", request, box))
            try:
                return box.get(timeout=600)
            except queue.Empty:
                return None

        return approve

    def _prompt_approval(self, request: ApprovalRequest) -> Any:
        self.err.write(
            "\n? %s wants to run %s %s\n" % (request.agent or "the agent", request.tool, _short(request.arguments, 400))
        )
        while True:
            answer = self.read_line("  allow? [y]es / [n]o / [a]lways / ne[v]er: ")
            if answer is None:
                self.err.write("  (no answer: refused)\n")
                return None
            a = answer.strip().lower()
            if a in ("y", "yes"):
                return "allow_once"
            if a in ("n", "no", ""):
                return "reject_once"
            if a in ("a", "always"):
                return "allow_always"
            if a in ("v", "never"):
                return "reject_always"
            self.err.write("  please answer y, n, a or v\n")

    def run(self, message: str, session_id: Optional[str]) -> ChatResult:
        events: "queue.Queue[Any]" = queue.Queue()
        stream: ChatStream = self.client.chat_stream(
            message,
            agent=self.args.agent,
            model=self.args.model,
            session_id=session_id,
            approve=self._approve(events),
            # Updates are queued from the reader thread, so they keep their order relative to
            # approval requests (which the reader hands to the approve callback afterwards).
            on_update=lambda update: events.put(("item", update)),
            max_steps=getattr(self.args, "max_steps", None),
            timeout=self.args.timeout,
        )

        def pump() -> None:
            try:
                events.put(("item", stream.wait()))
            except BaseException as exc:  # MinionsError, RequestTimeout, …
                events.put(("error", exc))

        threading.Thread(target=pump, name="minions-cli-turn", daemon=True).start()
        wrote_text = False
        cancelled = False
        self.interrupted = False
        try:
            while True:
                try:
                    kind, *rest = events.get(timeout=0.25)
                except queue.Empty:
                    continue
                except KeyboardInterrupt:
                    if not cancelled:
                        cancelled = self.interrupted = True
                        self.err.write("\n(cancelling…)\n")
                        stream.cancel()
                        continue
                    raise
                if kind == "item":
                    item = rest[0]
                    if isinstance(item, ChatResult):
                        if wrote_text or item.content:
                            if not wrote_text:
                                self.out.write(item.content)
                            self.out.write("\n")
                            self.out.flush()
                        return item
                    wrote_text = self._show_update(item) or wrote_text
                elif kind == "approval":
                    request, box = rest
                    try:
                        box.put(self._prompt_approval(request))
                    except KeyboardInterrupt:
                        box.put(None)
                        cancelled = self.interrupted = True
                        stream.cancel()
                elif kind == "error":
                    if wrote_text:
                        self.out.write("\n")
                        self.out.flush()
                    raise rest[0]
        finally:
            # Approvals the turn no longer needs (it ended or was cancelled) are answered "cancelled".
            while True:
                try:
                    leftover = events.get_nowait()
                except queue.Empty:
                    break
                if leftover[0] == "approval":
                    leftover[2].put(None)

    def _show_update(self, update: Update) -> bool:
        kind = update.kind
        if kind == "token":
            self.out.write(update.text)
            self.out.flush()
            return True
        if kind == "toolCall":
            self.err.write("\n[tool %s] %s\n" % (update.tool, _short(update.arguments)))
        elif kind == "toolResult":
            self.err.write("[%s] %s\n" % ("error" if update.is_error else "result", _short(update.output)))
        elif kind == "handoff":
            self.err.write("\n[handoff %s -> %s] %s\n" % (update.get("from"), update.get("to"), _short(update.get("task"))))
        self.err.flush()
        return False


def _approval_policy(args: argparse.Namespace) -> str:
    if args.approve:
        return str(args.approve)
    return "ask" if sys.stdin.isatty() else "deny"


def _stdin_reader(prompt_out: TextIO) -> Callable[[str], Optional[str]]:
    def read_line(prompt: str) -> Optional[str]:
        if sys.stdin.isatty():
            try:
                return input(prompt)
            except EOFError:
                return None
        prompt_out.write(prompt)
        prompt_out.flush()
        line = sys.stdin.readline()
        if prompt:
            prompt_out.write("\n")  # the answer was not echoed
        return None if not line else line.rstrip("\r\n")

    return read_line


def _finish_note(result: ChatResult, err: TextIO) -> int:
    reason = result.stop_reason
    if reason == "cancelled":
        err.write("minions: the turn was cancelled\n")
        return EXIT_ERROR
    if reason in ("max_steps", "max_tokens"):
        err.write("minions: warning: the turn stopped: %s\n" % reason)
    return EXIT_OK


# ---------------------------------------------------------------------------- commands


def cmd_ask(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    client = open_client(args)
    try:
        printer = TurnPrinter(client, args, out, err, _stdin_reader(err), _approval_policy(args))
        if args.json:
            result = client.chat(args.message, agent=args.agent, model=args.model, session_id=args.session,
                                 approve=_policy_callback(_approval_policy(args)), max_steps=args.max_steps,
                                 timeout=args.timeout)
            _print_json(dict(result), out)
        else:
            result = printer.run(args.message, args.session)
        if args.show_session:
            err.write("session: %s\n" % result.session_id)
        status = _finish_note(result, err)
        if not args.json and printer.interrupted:
            return EXIT_INTERRUPTED
        return status
    finally:
        client.close()


def _policy_callback(policy: str) -> Callable[[ApprovalRequest], Any]:
    if policy == "allow":
        return lambda _req: True
    if policy == "deny":
        return lambda _req: False

    def ask(req: ApprovalRequest) -> Any:
        sys.stderr.write("\n? %s wants to run %s %s\n" % (req.agent, req.tool, _short(req.arguments, 400)))
        line = _stdin_reader(sys.stderr)("  allow? [y]es / [n]o / [a]lways / ne[v]er: ")
        return {"y": True, "yes": True, "a": "always", "always": "always", "v": "never", "never": "never"}.get(
            (line or "").strip().lower(), False
        ) if line is not None else None

    return ask


def cmd_chat(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    client = open_client(args)
    interactive = sys.stdin.isatty()
    read_line = _stdin_reader(err)
    printer = TurnPrinter(client, args, out, err, read_line, _approval_policy(args))
    session_id = args.session
    status = EXIT_OK
    try:
        if interactive:
            who = (client.user or {}).get("username", "?")
            err.write("Minions chat as %s (agent %s). /new starts a new session, /session shows it, "
                      "/quit or Ctrl-D leaves; Ctrl-C cancels a running turn.\n" % (who, args.agent or "assistant"))
        while True:
            try:
                line = read_line("you> " if interactive else "")
            except KeyboardInterrupt:
                err.write("\n")
                break
            if line is None:
                break
            message = line.strip()
            if not message:
                continue
            if message in ("/quit", "/exit"):
                break
            if message == "/new":
                session_id = None
                err.write("(new session)\n")
                continue
            if message == "/session":
                err.write("session: %s\n" % (session_id or "(none yet)"))
                continue
            if message == "/help":
                err.write("/new  /session  /quit\n")
                continue
            try:
                result = printer.run(message, session_id)
            except MinionsError as exc:
                err.write("minions: error: %s\n" % describe_error(exc))
                status = EXIT_ERROR
                if isinstance(exc, ConnectionClosed):
                    break
                continue
            session_id = result.session_id or session_id
            if result.stop_reason not in ("end_turn", None):
                err.write("(stopped: %s)\n" % result.stop_reason)
        return status
    finally:
        client.close()


def cmd_models(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    client = open_client(args, approvals=False)
    try:
        models = client.models()
        if args.json:
            _print_json(models, out)
            return EXIT_OK
        rows = []
        for m in models:
            stats = m.get("stats") or {}
            rows.append([m.get("name"), m.get("provider"), m.get("available"), m.get("capabilities"),
                         stats.get("requests"), stats.get("p50LatencyMs"), m.get("unavailableReason") or ""])
        out.write(format_table(rows, ["NAME", "PROVIDER", "AVAILABLE", "CAPABILITIES", "REQUESTS", "P50_MS", "NOTE"]) + "\n")
        return EXIT_OK
    finally:
        client.close()


def cmd_select(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    client = open_client(args, approvals=False)
    try:
        result = client.select_model(args.task, required_capabilities=args.require, strategy=args.strategy,
                                     exclude=args.exclude)
        if args.json:
            _print_json(result, out)
            return EXIT_OK
        out.write("%s (%s)  score %s\n" % (result.get("model"), result.get("provider"), _cell(result.get("score"))))
        for reason in result.get("reasons") or []:
            out.write("  - %s\n" % reason)
        cands = result.get("candidates") or []
        if cands:
            out.write("candidates:\n")
            for c in cands:
                out.write("  %s  %s%s\n" % (c.get("model"), _cell(c.get("score")),
                                            ("  excluded: %s" % c["excluded"]) if c.get("excluded") else ""))
        return EXIT_OK
    finally:
        client.close()


def cmd_tools(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    client = open_client(args, approvals=False)
    try:
        tools = client.tools(category=args.category)
        if args.json:
            _print_json(tools, out)
            return EXIT_OK
        rows = [[t.get("name"), t.get("category"), t.get("requiresApproval"), _short(t.get("description") or "", 70)]
                for t in tools]
        out.write(format_table(rows, ["NAME", "CATEGORY", "APPROVAL", "DESCRIPTION"]) + "\n")
        return EXIT_OK
    finally:
        client.close()


def cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    arguments = parse_tool_args(args.arg or [], args.args)
    client = open_client(args, approvals=False)
    try:
        result = client.execute_tool(args.tool, arguments, timeout_ms=args.timeout_ms)
        if args.json:
            _print_json(result, out)
        else:
            texts = [c.get("text", "") for c in result.get("content") or [] if isinstance(c, dict)]
            body = "\n".join(texts)
            target = err if result.get("isError") else out
            target.write(body + ("" if body.endswith("\n") else "\n"))
        return EXIT_ERROR if result.get("isError") else EXIT_OK
    finally:
        client.close()


def cmd_report(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    client = open_client(args, approvals=False)
    try:
        result = client.report(args.type, days=args.days, hours=args.hours, format=args.format)
        if args.format == "json" or "content" not in result:
            _print_json(result, out)
        else:
            content = str(result.get("content", ""))
            out.write(content + ("" if content.endswith("\n") else "\n"))
        return EXIT_OK
    finally:
        client.close()


def cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    client = open_client(args, approvals=False)
    try:
        result = client.export(args.dataset, format=args.format, since=args.since, until=args.until)
        if args.json:
            _print_json(result, out)
        else:
            out.write("%s\n" % result.get("path"))
            err.write("%s rows\n" % result.get("rows"))
        return EXIT_OK
    finally:
        client.close()


def cmd_users(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    client = open_client(args, approvals=False)
    try:
        users = client.call("users/list", {}).get("users", [])
        if args.json:
            _print_json(users, out)
            return EXIT_OK
        rows = [[u.get("username"), u.get("role"), u.get("email"), u.get("disabled"), u.get("locked"),
                 u.get("lastLoginAt")] for u in users]
        out.write(format_table(rows, ["USERNAME", "ROLE", "EMAIL", "DISABLED", "LOCKED", "LAST_LOGIN"]) + "\n")
        return EXIT_OK
    finally:
        client.close()


def cmd_keys(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    client = open_client(args, approvals=False)
    try:
        if args.action == "create":
            if not args.name:
                raise CliError("keys create needs a NAME", EXIT_USAGE)
            params: Dict[str, Any] = {"name": args.name}
            if args.scope:
                params["scopes"] = args.scope
            if args.days is not None:
                params["expiresInDays"] = args.days
            result = client.call("apikeys/create", params)
            if args.json:
                _print_json(result, out)
            else:
                out.write("%s\n" % result.get("key"))
                err.write("key %s created (shown only now); expires %s\n" % (result.get("id"), result.get("expiresAt")))
            return EXIT_OK
        if args.action == "revoke":
            if not args.name:
                raise CliError("keys revoke needs an ID", EXIT_USAGE)
            result = client.call("apikeys/revoke", {"id": args.name})
            if args.json:
                _print_json(result, out)
            else:
                out.write("revoked %s\n" % args.name)
            return EXIT_OK
        keys = client.call("apikeys/list", {"all": True} if args.all else {}).get("keys", [])
        if args.json:
            _print_json(keys, out)
            return EXIT_OK
        rows = [[k.get("id"), k.get("username"), k.get("name"), k.get("prefix"), k.get("scopes"),
                 k.get("expiresAt"), k.get("revoked")] for k in keys]
        out.write(format_table(rows, ["ID", "USER", "NAME", "PREFIX", "SCOPES", "EXPIRES", "REVOKED"]) + "\n")
        return EXIT_OK
    finally:
        client.close()


def cmd_watch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ansi = args.ansi == "always" or (args.ansi == "auto" and out.isatty())
    client = open_client(args, approvals=False)
    writer = FrameWriter(out, ansi)
    per_update_timeout = max(10.0, args.interval_ms / 1000.0 * 3)
    try:
        writer.start()
        with client.metrics(args.interval_ms, count=args.count, timeout=per_update_timeout) as sub:
            for i, snapshot in enumerate(sub, 1):
                if args.json:
                    out.write(json.dumps(snapshot, sort_keys=True) + "\n")
                    out.flush()
                else:
                    writer.draw(render_metrics(snapshot, i, args.count))
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        writer.finish()
        client.close()


# ---------------------------------------------------------------------------- parser


def _add_common(p: argparse.ArgumentParser, suppress: bool) -> None:
    def d(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    g = p.add_argument_group("connection")
    g.add_argument("--engine", metavar="PATH", default=d(None),
                   help="the engine binary to spawn (default: $MINIONS_BIN, else `minions` on PATH)")
    g.add_argument("--connect", metavar="HOST:PORT", default=d(None),
                   help="connect to `minions serve --listen HOST:PORT` instead of spawning")
    g.add_argument("--user", metavar="NAME", default=d(None),
                   help="log in as NAME (password from --password-stdin or a prompt); "
                        "otherwise $MINIONS_TOKEN or $MINIONS_API_KEY is used when set")
    g.add_argument("--password-stdin", action="store_true", default=d(False),
                   help="read the password from the first line of stdin")
    g.add_argument("--data-dir", metavar="DIR", default=d(None),
                   help="MINIONS_DATA_DIR for a spawned engine")
    g.add_argument("--workspace", metavar="DIR", default=d(None),
                   help="the directory file tools may use (spawned engine only)")
    g.add_argument("--log-level", metavar="LEVEL", default=d("warning"),
                   help="log level of a spawned engine (default: warning)")
    g.add_argument("--framing", choices=("lsp", "ndjson"), default=d("lsp"), help="wire framing (default: lsp)")
    g.add_argument("--timeout", metavar="SECONDS", type=float, default=d(None),
                   help="bound every request, turns included (default: %gs per call, turns unbounded)"
                        % DEFAULT_CALL_TIMEOUT)
    g.add_argument("--json", action="store_true", default=d(False), help="print results as JSON")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (global options are accepted before or after the command)."""
    parser = argparse.ArgumentParser(
        prog="python3 -m minions_client",
        description="Command line client for the Minions engine (JSON-RPC over stdio or TCP).",
        epilog="Exit codes: 0 ok, 1 engine error / tool error / cancelled turn, 2 usage, "
               "3 engine unavailable, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version="minions_client " + __version__)
    _add_common(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _add_common(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def add(name: str, help_: str, fn: Callable[..., int]) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_, parents=[common])
        p.set_defaults(func=fn)
        return p

    def turn_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--agent", help="the agent (default: assistant)")
        p.add_argument("--model", help="pin a model (default: the engine selects one)")
        p.add_argument("--session", metavar="ID", help="continue this session")
        p.add_argument("--max-steps", type=int, help="model calls allowed in the turn (1-64, default 8)")
        p.add_argument("--approve", choices=("ask", "allow", "deny"),
                       help="answer tool approvals: ask on the terminal (default when stdin is a terminal), "
                            "allow, or deny (default otherwise)")

    p = add("chat", "interactive chat: streams tokens, asks y/n/always for tool approvals", cmd_chat)
    turn_options(p)
    p = add("ask", "one-shot question: prints the answer (exit code 1 on errors)", cmd_ask)
    p.add_argument("message", help="what to ask")
    turn_options(p)
    p.add_argument("--show-session", action="store_true", help="print the session id on stderr")
    add("models", "list models (models/list)", cmd_models)
    p = add("select", "pick a model for a task (models/select)", cmd_select)
    p.add_argument("task", nargs="?", help="the task, e.g. \"write a python function\"")
    p.add_argument("--strategy", choices=("balanced", "fastest", "cheapest", "quality"))
    p.add_argument("--require", action="append", metavar="CAPABILITY", help="a required capability (repeatable)")
    p.add_argument("--exclude", action="append", metavar="MODEL", help="a model to leave out (repeatable)")
    p = add("tools", "list tools (tools/list)", cmd_tools)
    p.add_argument("--category", help="files, data, web, custom or mcp")
    p = add("run", "run a tool directly (tools/execute)", cmd_run)
    p.add_argument("tool", help="the tool name, e.g. file_operations")
    p.add_argument("--arg", action="append", metavar="KEY=VALUE",
                   help="an argument (repeatable); VALUE is parsed as JSON when it parses, else taken as a string")
    p.add_argument("--args", metavar="JSON", help="arguments as one JSON object (--arg values override)")
    p.add_argument("--timeout-ms", type=int, help="the tool's time limit")
    p = add("report", "an analytics report (analytics/report)", cmd_report)
    p.add_argument("type", choices=("usage", "performance", "models", "tools", "security"))
    period = p.add_mutually_exclusive_group()
    period.add_argument("--days", type=int, help="the last N days (1-366, default 7)")
    period.add_argument("--hours", type=int, help="the last N hours")
    p.add_argument("--format", choices=("json", "markdown", "csv"), default="markdown", help="default: markdown")
    p = add("export", "export a dataset to a file in the data directory (analytics/export)", cmd_export)
    p.add_argument("dataset", choices=("metrics", "events", "requests", "audit"))
    p.add_argument("--format", choices=("csv", "json", "ndjson"), default="csv", help="default: csv")
    p.add_argument("--since", help="RFC 3339 start (inclusive)")
    p.add_argument("--until", help="RFC 3339 end (exclusive)")
    add("users", "list users (users/list)", cmd_users)
    p = add("keys", "API keys: list (default), create NAME, revoke ID", cmd_keys)
    p.add_argument("action", nargs="?", choices=("list", "create", "revoke"), default="list")
    p.add_argument("name", nargs="?", metavar="NAME|ID")
    p.add_argument("--all", action="store_true", help="everyone's keys (needs users.manage)")
    p.add_argument("--scope", action="append", metavar="PERMISSION", help="for create: a scope (repeatable)")
    p.add_argument("--days", type=int, help="for create: expires in N days")
    p = add("watch", "live metrics (metrics/subscribe), redrawn in place", cmd_watch)
    p.add_argument("--interval-ms", type=int, default=1000, help="update interval (100-3600000, default 1000)")
    p.add_argument("--count", type=int, help="stop after N updates")
    p.add_argument("--ansi", choices=("auto", "always", "never"), default="auto",
                   help="redraw with ANSI escapes (auto: when stdout is a terminal)")
    return parser


def main(argv: Optional[Sequence[str]] = None, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> int:
    """Run the command line; returns the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args, out, err))
    except CliError as exc:
        err.write("minions: error: %s\n" % exc)
        return exc.exit_code
    except RequestTimeout as exc:
        err.write("minions: error: %s\n" % describe_error(exc))
        return EXIT_ERROR
    except ConnectionClosed as exc:
        err.write("minions: error: %s\n" % describe_error(exc))
        return EXIT_UNAVAILABLE
    except MinionsError as exc:
        err.write("minions: error: %s\n" % describe_error(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        err.write("\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK
