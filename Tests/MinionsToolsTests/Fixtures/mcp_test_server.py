#!/usr/bin/env python3
"""A small MCP server for the MCP client tests: NDJSON JSON-RPC 2.0 over stdio, Python stdlib only.

Tools: echo {text} and add {a, b} (read-only), fail (an isError result), slow {seconds} (honours
notifications/cancelled), crash (exits with code 3; listed without an inputSchema), ping_client (pings
the client and waits for its answer), ask_client {method} (sends any request to the client and returns
its answer), cancellations (the request ids the client cancelled), picture (an image part), pid,
announce (sends notifications/tools/list_changed).
tools/list has pages of PAGE_SIZE tools. Requests are handled on threads, so calls run concurrently.

Flags: --garbage (non-JSON lines on stdout around the messages), --silent (never answers anything),
--protocol VERSION (answers initialize with it), --stubborn (ignores SIGTERM and the end of stdin),
--exit-at-start CODE (writes to stderr and exits before reading anything).
"""

import json
import os
import signal
import sys
import threading
import time

PAGE_SIZE = 4
args = sys.argv[1:]
garbage = "--garbage" in args
silent = "--silent" in args
stubborn = "--stubborn" in args
protocol = args[args.index("--protocol") + 1] if "--protocol" in args else None

if "--exit-at-start" in args:
    sys.stderr.write("fixture: refusing to start on purpose\n")
    sys.stderr.flush()
    sys.exit(int(args[args.index("--exit-at-start") + 1]))
if stubborn:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

out_lock = threading.Lock()
state_lock = threading.Lock()
cancelled = set()
cancel_log = []
client_waiters = {}  # id -> [Event, answer]
next_client_id = [0]


def send(message):
    text = json.dumps(message)
    with out_lock:
        if garbage:
            sys.stdout.write("fixture says hello (not JSON)\n")
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def text_result(text, **extra):
    result = {"content": [{"type": "text", "text": text}]}
    result.update(extra)
    return result


def ask_client(method, params=None, timeout=10):
    with state_lock:
        next_client_id[0] += 1
        request_id = "srv-%d" % next_client_id[0]
        waiter = [threading.Event(), None]
        client_waiters[request_id] = waiter
    message = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    send(message)
    if not waiter[0].wait(timeout):
        return {"timeout": True}
    return waiter[1]


TOOLS = [
    {"name": "echo", "description": "Echoes its text", "annotations": {"readOnlyHint": True},
     "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
    {"name": "add", "description": "Adds two numbers", "annotations": {"readOnlyHint": True, "title": "Add"},
     "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                     "required": ["a", "b"]}},
    {"name": "fail", "description": "Always fails", "inputSchema": {"type": "object"}},
    {"name": "slow", "description": "Sleeps", "annotations": {"readOnlyHint": False},
     "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}}},
    {"name": "crash", "description": "Exits the server"},
    {"name": "ping_client", "description": "Pings the client", "inputSchema": {"type": "object"}},
    {"name": "ask_client", "description": "Sends a request to the client",
     "inputSchema": {"type": "object", "properties": {"method": {"type": "string"}}}},
    {"name": "cancellations", "description": "Cancelled request ids", "inputSchema": {"type": "object"}},
    {"name": "picture", "description": "Returns an image", "inputSchema": {"type": "object"}},
    {"name": "pid", "description": "The server's process id", "inputSchema": {"type": "object"}},
    {"name": "announce", "description": "Sends notifications/tools/list_changed", "inputSchema": {"type": "object"}},
]


def call_tool(request_id, name, arguments):
    if name == "echo":
        return text_result(arguments.get("text", ""))
    if name == "add":
        total = arguments["a"] + arguments["b"]
        return text_result(str(total), structuredContent={"sum": total})
    if name == "fail":
        return text_result("this tool always fails", isError=True)
    if name == "slow":
        deadline = time.monotonic() + float(arguments.get("seconds", 1))
        while time.monotonic() < deadline:
            with state_lock:
                if request_id in cancelled:
                    return None
            time.sleep(0.02)
        return text_result("slept")
    if name == "crash":
        sys.stderr.write("fixture: crashing on purpose\n")
        sys.stderr.flush()
        os._exit(3)
    if name == "ping_client":
        answer = ask_client("ping")
        return text_result(json.dumps(answer), structuredContent={"answer": answer})
    if name == "ask_client":
        answer = ask_client(arguments["method"], {})
        return text_result(json.dumps(answer), structuredContent={"answer": answer})
    if name == "cancellations":
        with state_lock:
            log = list(cancel_log)
        return text_result(json.dumps(log), structuredContent={"cancelled": log})
    if name == "picture":
        return {"content": [{"type": "text", "text": "a picture:"},
                            {"type": "image", "mimeType": "image/png", "data": "iVBORw0KGgo="}]}
    if name == "announce":
        send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
        return text_result("announced")
    if name == "pid":
        return text_result(str(os.getpid()), structuredContent={"pid": os.getpid()})
    raise KeyError(name)


def handle_request(message):
    request_id = message["id"]
    method = message["method"]
    params = message.get("params") or {}
    try:
        if method == "initialize":
            result = {"protocolVersion": protocol or params.get("protocolVersion", "2025-06-18"),
                      "capabilities": {"tools": {"listChanged": True}},
                      "serverInfo": {"name": "fixture", "version": "1.0"}}
        elif method == "tools/list":
            start = int(params.get("cursor") or 0)
            result = {"tools": TOOLS[start:start + PAGE_SIZE]}
            if start + PAGE_SIZE < len(TOOLS):
                result["nextCursor"] = str(start + PAGE_SIZE)
        elif method == "tools/call":
            if params.get("name") not in [t["name"] for t in TOOLS]:
                send({"jsonrpc": "2.0", "id": request_id,
                      "error": {"code": -32602, "message": "Unknown tool: %s" % params.get("name")}})
                return
            result = call_tool(request_id, params["name"], params.get("arguments") or {})
            if result is None:
                return  # cancelled: no answer
        elif method == "ping":
            result = {}
        else:
            send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32601, "message": "Method not found"}})
            return
    except Exception as error:  # a bug in a tool is a JSON-RPC error, never a hang
        send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32603, "message": repr(error)}})
        return
    send({"jsonrpc": "2.0", "id": request_id, "result": result})


def main():
    if garbage:
        with out_lock:
            sys.stdout.write("Starting fixture server... (a banner on stdout, as some servers print)\n")
            sys.stdout.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line or silent:
            continue
        message = json.loads(line)
        if "method" not in message:
            with state_lock:
                waiter = client_waiters.pop(message.get("id"), None)
            if waiter is not None:
                waiter[1] = message
                waiter[0].set()
        elif "id" in message:
            threading.Thread(target=handle_request, args=(message,), daemon=True).start()
        elif message["method"] == "notifications/cancelled":
            request_id = (message.get("params") or {}).get("requestId")
            with state_lock:
                cancelled.add(request_id)
                cancel_log.append(request_id)
    while stubborn:
        time.sleep(1)


main()
