"""Drives `minions serve` with the official MCP Python SDK, as an MCP host would: initialize, list the
tools, call some. Prints one JSON object with what it saw. Usage: mcp_sdk_client.py MINIONS WORKSPACE DATA_DIR"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def field(obj, camel, snake):
    """The SDK's field under its 1.x (camelCase) or 2.x (snake_case) name."""
    return getattr(obj, snake) if hasattr(obj, snake) else getattr(obj, camel)


async def main():
    minions, workspace, data_dir = sys.argv[1:4]
    params = StdioServerParameters(
        command=minions, args=["serve", "--workspace", workspace],
        env={"MINIONS_DATA_DIR": data_dir, "MINIONS_LOG": "warning", "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    out = {}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            out["protocolVersion"] = field(init, "protocolVersion", "protocol_version")
            out["serverName"] = field(init, "serverInfo", "server_info").name
            out["hasTools"] = init.capabilities.tools is not None
            listed = await session.list_tools()
            out["tools"] = sorted(t.name for t in listed.tools)
            out["fileSchemaType"] = next(
                field(t, "inputSchema", "input_schema")["type"] for t in listed.tools if t.name == "file_operations")
            read_result = await session.call_tool("file_operations", {"operation": "read", "path": "hello.txt"})
            out["read"] = {"isError": field(read_result, "isError", "is_error"), "text": read_result.content[0].text}
            escape = await session.call_tool("file_operations", {"operation": "read", "path": "../outside.txt"})
            out["escape"] = {"isError": field(escape, "isError", "is_error"), "text": escape.content[0].text}
            try:
                await session.call_tool("no_such_tool", {})
                out["unknown"] = "no error"
            except Exception as e:  # McpError carrying -32602
                out["unknown"] = getattr(getattr(e, "error", None), "code", str(e))
            await session.send_ping()
            out["ping"] = True
    print(json.dumps(out))


asyncio.run(main())
