"""The peer a user would otherwise deploy: an MCP server as a python3.12-style
Lambda handler, stdlib only (no MCP SDK, no web framework), with the same
behaviour the benchmark exercises in the Rust function: Streamable HTTP over a
Function URL event (POST, JSON), initialize / tools/list / tools/call with
demo_echo and word_count. Run by awslambdaric, as the Python runtime would.
"""

import base64
import json

SERVER_INFO = {"name": "python-mcp-handler", "version": "1.0.0"}
VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
TOOLS = [
    {
        "name": "demo_echo",
        "description": "Return the given message unchanged.",
        "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]},
        "outputSchema": {"type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"]},
    },
    {
        "name": "word_count",
        "description": "Count the words and characters in a text.",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    },
]


def _http(status, body=None):
    response = {"statusCode": status, "headers": {}}
    if body is not None:
        response["headers"]["content-type"] = "application/json"
        response["body"] = json.dumps(body)
    return response


def _error(id_, code, message):
    return {"jsonrpc": "2.0", "id": id_, "error": {"code": code, "message": message}}


def _tool_result(value):
    return {"content": [{"type": "text", "text": json.dumps(value)}], "structuredContent": value, "isError": False}


def _call(params):
    name, args = params.get("name"), params.get("arguments") or {}
    if name == "demo_echo" and isinstance(args.get("message"), str):
        return _tool_result({"echo": args["message"]})
    if name == "word_count" and isinstance(args.get("text"), str):
        return _tool_result({"words": len(args["text"].split()), "characters": len(args["text"])})
    if name in ("demo_echo", "word_count"):
        return {"content": [{"type": "text", "text": f"invalid arguments for {name}"}], "isError": True}
    return None


def handler(event, context):
    method = event.get("requestContext", {}).get("http", {}).get("method", "POST")
    if method != "POST":
        response = _http(405, _error(None, -32600, "POST only"))
        response["headers"]["allow"] = "POST"
        return response
    headers = event.get("headers") or {}
    if not headers.get("content-type", "").startswith("application/json"):
        return _http(415, _error(None, -32600, "Content-Type must be application/json"))
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode("utf-8", "replace")
    try:
        message = json.loads(raw)
    except ValueError as e:
        return _http(400, _error(None, -32700, f"Parse error: {e}"))
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or not isinstance(message.get("method"), str):
        return _http(400, _error(None, -32600, "Invalid request"))
    if "id" not in message:
        return _http(202)
    id_, rpc, params = message["id"], message["method"], message.get("params") or {}
    if rpc == "initialize":
        requested = params.get("protocolVersion")
        version = requested if requested in VERSIONS else VERSIONS[0]
        result = {"protocolVersion": version, "capabilities": {"tools": {"listChanged": False}}, "serverInfo": SERVER_INFO}
    elif rpc == "ping":
        result = {}
    elif rpc == "tools/list":
        result = {"tools": TOOLS}
    elif rpc == "tools/call":
        result = _call(params)
        if result is None:
            return _http(200, _error(id_, -32602, f"Unknown tool: {params.get('name')}"))
    else:
        return _http(200, _error(id_, -32601, f"Method not found: {rpc}"))
    return _http(200, {"jsonrpc": "2.0", "id": id_, "result": result})
