#!/usr/bin/env python3
"""A command tool: reads its JSON arguments on stdin and answers by `mode`.

mode "echo": prints the arguments back as JSON; "mcp": prints an MCP-shaped result ({content, isError,
structuredContent}); "text": prints plain text; "fail": writes to stderr and exits with code 3;
"env": prints the environment as JSON; "cwd": prints the working directory; "big": prints `bytes` bytes.
"""

import json
import os
import sys

arguments = json.load(sys.stdin)
mode = arguments.get("mode", "echo")
if mode == "echo":
    print(json.dumps({"received": arguments}))
elif mode == "mcp":
    print(json.dumps({"content": [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}],
                      "isError": arguments.get("isError", False), "structuredContent": {"n": 2}}))
elif mode == "text":
    print("plain text, not JSON")
elif mode == "fail":
    print("partial output")
    sys.stderr.write("something went wrong: %s\n" % arguments.get("why", "no reason"))
    sys.exit(3)
elif mode == "env":
    print(json.dumps(dict(os.environ)))
elif mode == "cwd":
    print(os.getcwd())
elif mode == "big":
    sys.stdout.write("x" * int(arguments["bytes"]))
elif mode == "signal":
    os.kill(os.getpid(), 9)
