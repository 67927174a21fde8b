"""Drives `minions acp` with the Agent Client Protocol's Python SDK (a real ACP client library).

Usage: python acp_client.py MINIONS_BIN WORKDIR. Prints PASS lines; exits 1 with FAIL on the first
failed check. Every wait is bounded.
"""

import asyncio
import json
import os
import subprocess
import sys

import acp
from acp import text_block
from acp.schema import (
    AllowedOutcome,
    ClientCapabilities,
    DeniedOutcome,
    EnvVariable,
    FileSystemCapabilities,
    McpServerStdio,
    ReadTextFileResponse,
    RequestPermissionResponse,
    WriteTextFileResponse,
)

BIN, WORK = sys.argv[1], os.path.realpath(sys.argv[2])
DATA = os.path.join(WORK, "data")
WS = os.path.join(WORK, "workspace")
os.makedirs(DATA, exist_ok=True)
os.makedirs(WS, exist_ok=True)
ENV = dict(os.environ, MINIONS_DATA_DIR=DATA, MINIONS_LOG="warning")


def check(ok, what):
    if not ok:
        print("FAIL:", what, flush=True)
        sys.exit(1)
    print("PASS:", what, flush=True)


def register_script_models():
    """Registers the script models through `minions serve` (they persist in the data directory)."""
    scripts = {
        "notes": {"turns": [
            {"match": "^save", "events": [{"text": "Saving. "}, {"toolCall": {"tool": "file_operations", "arguments": {"operation": "write", "path": "note.txt", "content": "hi"}}}]},
            {"match": "^save", "events": [{"text": "Saving. "}, {"toolCall": {"tool": "file_operations", "arguments": {"operation": "write", "path": "note.txt", "content": "again"}}}]},
            {"match": "^read", "events": [{"toolCall": {"tool": "file_operations", "arguments": {"operation": "read", "path": "draft.txt"}}}]},
            {"match": "unsaved draft", "events": [{"text": "The draft says: unsaved draft."}]},
            {"match": "^what time", "events": [{"toolCall": {"tool": "time.get_current_time", "arguments": {"timezone": "UTC"}}}]},
            {"match": "timezone", "events": [{"text": "It is time."}]},
            {"match": "^slow", "events": [{"text": "Once"}, {"delayMs": 10000}, {"text": " upon a time"}]},
            {"events": [{"text": "Done."}]},
            {"events": [{"text": "Done."}]},
        ]}
    }
    lines = [json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize"})]
    for i, (name, script) in enumerate(scripts.items()):
        path = os.path.join(WORK, name + ".json")
        with open(path, "w") as f:
            json.dump(script, f)
        lines.append(json.dumps({"jsonrpc": "2.0", "id": 10 + i, "method": "models/register", "params": {
            "name": name, "provider": "script", "capabilities": ["text_generation", "tool_use"], "script": path}}))
    out = subprocess.run([BIN, "serve"], input="\n".join(lines) + "\n", capture_output=True, text=True, env=ENV,
                         timeout=30).stdout
    check(all('"error"' not in l for l in out.splitlines()) and out.count('"result"') == len(lines),
          "script models registered through serve")


class EditorClient:
    """An editor: keeps unsaved buffers, answers permission requests from a queue, records updates."""

    def __init__(self):
        self.updates = []
        self.answers = []
        self.permission_requests = []
        self.buffers = {os.path.join(WS, "draft.txt"): "unsaved draft"}
        self.writes = []

    async def request_permission(self, session_id, tool_call, options, **kwargs):
        self.permission_requests.append((tool_call, [o.kind for o in options]))
        choice = self.answers.pop(0) if self.answers else "reject_once"
        if choice == "cancelled":
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected", option_id=choice))

    async def session_update(self, session_id, update, **kwargs):
        self.updates.append(update)

    async def write_text_file(self, session_id, path, content, **kwargs):
        self.writes.append((path, content))
        self.buffers[path] = content
        return WriteTextFileResponse()

    async def read_text_file(self, session_id, path, line=None, limit=None, **kwargs):
        return ReadTextFileResponse(content=self.buffers.get(path, ""))

    def kinds(self):
        return [u.session_update for u in self.updates]

    def text(self):
        return "".join(u.content.text for u in self.updates if u.session_update == "agent_message_chunk")

    def on_connect(self, conn):
        pass


async def main():
    register_script_models()
    client = EditorClient()
    async with acp.spawn_agent_process(client, BIN, "acp", env=ENV, cwd=WS) as (conn, proc):
        init = await asyncio.wait_for(conn.initialize(
            protocol_version=acp.PROTOCOL_VERSION,
            client_capabilities=ClientCapabilities(fs=FileSystemCapabilities(read_text_file=True, write_text_file=True))),
            10)
        check(init.protocol_version == 1 and init.agent_capabilities.load_session, "initialize negotiates v1 with loadSession")
        check(init.auth_methods == [], "no auth methods on stdio")

        python = sys.executable
        session = await asyncio.wait_for(conn.new_session(cwd=WS, mcp_servers=[
            McpServerStdio(name="time", command=python, args=["-m", "mcp_server_time", "--local-timezone", "UTC"], env=[])]), 30)
        sid = session.session_id
        ids = [o.root.id if hasattr(o, "root") else o.id for o in session.config_options]
        check("agent" in ids and "model" in ids, "session/new offers agent and model config options")
        await conn.set_config_option(config_id="model", session_id=sid, value="notes")
        changed = await conn.set_config_option(config_id="agent", session_id=sid, value="coder")
        current = {(o.root if hasattr(o, "root") else o).id: (o.root if hasattr(o, "root") else o).current_value
                   for o in changed.config_options}
        check(current == {"agent": "coder", "model": "notes"}, "set_config_option picks the agent and the model")

        # A tool call approved through session/request_permission, its write going through the editor.
        client.answers = ["allow_once"]
        r = await asyncio.wait_for(conn.prompt(session_id=sid, prompt=[text_block("save a note")]), 30)
        check(r.stop_reason == "end_turn", "the prompt ends with end_turn")
        kinds = client.kinds()
        check("tool_call" in kinds and "tool_call_update" in kinds and "usage_update" in kinds,
              "tool_call, tool_call_update and usage_update updates: %s" % kinds)
        check(client.permission_requests and client.permission_requests[0][1] == ["allow_once", "allow_always", "reject_once", "reject_always"],
              "the permission request offers ACP's four option kinds")
        check(client.writes == [(os.path.join(WS, "note.txt"), "hi")], "the write went through the editor's fs/write_text_file")
        check(client.text() == "Saving. Done.", "agent_message_chunk text is the answer")
        final = [u for u in client.updates if u.session_update == "tool_call_update"][-1]
        check(final.status == "completed", "the tool call completed")

        # Rejected: the tool reports the refusal, nothing is written.
        client.updates.clear()
        client.answers = ["reject_once"]
        r = await asyncio.wait_for(conn.prompt(session_id=sid, prompt=[text_block("save it again")]), 30)
        failed = [u for u in client.updates if u.session_update == "tool_call_update"]
        check(r.stop_reason == "end_turn" and failed and failed[-1].status == "failed" and len(client.writes) == 1,
              "a rejected permission fails the tool call and writes nothing")

        # Reads see the editor's unsaved buffer.
        client.updates.clear()
        r = await asyncio.wait_for(conn.prompt(session_id=sid, prompt=[text_block("read the draft")]), 30)
        check("unsaved draft" in client.text(), "a read sees the editor's unsaved buffer")

        # A tool of the session's MCP server (the reference mcp-server-time).
        client.updates.clear()
        r = await asyncio.wait_for(conn.prompt(session_id=sid, prompt=[text_block("what time is it")]), 30)
        done = [u for u in client.updates if u.session_update == "tool_call_update"]
        check(done and done[-1].status == "completed" and "UTC" in json.dumps([c.model_dump() for c in (done[-1].content or [])]),
              "the session's MCP server tool ran")

        # Cancel mid-turn.
        client.updates.clear()
        task = asyncio.create_task(conn.prompt(session_id=sid, prompt=[text_block("slow story")]))
        for _ in range(200):
            if client.text():
                break
            await asyncio.sleep(0.02)
        await conn.cancel(session_id=sid)
        r = await asyncio.wait_for(task, 10)
        check(r.stop_reason == "cancelled" and client.text() == "Once", "session/cancel ends the turn with cancelled")

        listed = await conn.list_sessions()
        check(any(s.session_id == sid for s in listed.sessions), "session/list includes the session")

    # A new connection loads the session: its history is replayed as updates.
    client2 = EditorClient()
    async with acp.spawn_agent_process(client2, BIN, "acp", env=ENV, cwd=WS) as (conn, proc):
        await conn.initialize(protocol_version=1)
        await asyncio.wait_for(conn.load_session(cwd=WS, session_id=sid, mcp_servers=[]), 20)
        kinds = client2.kinds()
        users = [u.content.text for u in client2.updates if u.session_update == "user_message_chunk"]
        check(users[:2] == ["save a note", "save it again"] and "tool_call" in kinds,
              "session/load replays the history (%d updates)" % len(kinds))
    print("ALL PASSED", flush=True)


asyncio.run(main())
