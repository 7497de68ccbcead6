"""A Streamable HTTP stand-in in front of a stdio MCP server, for peers that
speak only HTTP (the conformance suite's `server` command takes a URL and
nothing else).

It carries messages and adds no protocol of its own: each POSTed message is
written as one line to the server's stdin, and the lines the server writes
until the message's response (its notifications, then the response) come back
as the body - SSE when there were notifications and the client accepts
`text/event-stream`, else the response as JSON. Every answer is 200 (202 for
a notification): stdio has no HTTP status, and the bridge invents none, so a
check of an HTTP status measures the bridge, not the server, and is listed as
such in the stdio expected-failures files. Headers are not passed on either
(stdio has none).

Requests outside a session share one server process, as a stdio client's
requests share the process it launched (2026-07-28 requests stand alone, but a
multi round-trip request's retry must reach the server whose key sealed its
state; mcp-local's key lives as long as its process). `initialize` starts a process that
lives on as the session (`Mcp-Session-Id`) for the handshake revisions,
served one message at a time, until DELETE or the bridge stops. Binds
127.0.0.1 only; every read is bounded in time.

Server-to-client requests (a tool's `sampling/createMessage`,
`elicitation/create`, `roots/list` at the handshake revisions) go as a
Streamable HTTP server sends them: on the SSE stream of the POST whose call
asked, as they come (the response switches to a stream at the first such
request, with what was written before it, and ends with the call's response);
the client's answer is a POST of its own, a JSON-RPC response, which the
bridge writes to the stdin of the process the POST's session (or the shared
process) names and answers 202, while that process's call still runs. A
client that does not accept `text/event-stream` cannot be asked: the request
is dropped and the server's bounded wait ends the call with an error.
"""

import json
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY_TIMEOUT_S = 30


def is_response(message) -> bool:
    return isinstance(message, dict) and "method" not in message and ("result" in message or "error" in message)


class _Process:
    """One stdio server process, one message at a time."""

    def __init__(self, command: list[str], env: dict):
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, text=True, bufsize=1,
        )
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()

    def write(self, raw: str) -> None:
        """Writes one line; a client's answer is written while a call runs."""
        with self.write_lock:
            self.proc.stdin.write(raw + "\n")
            self.proc.stdin.flush()

    def exchange(self, message: dict | None, raw: str):
        """Writes one line; yields each line the server writes until the
        response (notifications, requests to the client, then the
        response; nothing for a notification, which gets no response)."""
        with self.lock:
            self.write(raw)
            if message is not None and "id" not in message:
                return
            wanted = message.get("id") if isinstance(message, dict) else None
            timer = threading.Timer(REPLY_TIMEOUT_S, self.proc.kill)
            timer.start()
            try:
                for line in self.proc.stdout:
                    if not line.strip():
                        continue
                    out = json.loads(line)
                    yield out
                    if is_response(out) and out.get("id") == wanted:
                        return
            finally:
                timer.cancel()
            raise RuntimeError("the stdio server ended (or timed out) before its response")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


class Bridge:
    def __init__(self, command: list[str], env: dict):
        self.command, self.env = command, env
        self.sessions: dict[str, _Process] = {}
        self.shared: _Process | None = None
        self.shared_lock = threading.Lock()
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_):
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._send(405, headers={"Allow": "POST, DELETE"})

            def do_DELETE(self):
                process = bridge.sessions.pop(self.headers.get("Mcp-Session-Id", ""), None)
                if process:
                    process.stop()
                self._send(200 if process else 404)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                try:
                    message = json.loads(raw)
                    raw = json.dumps(message, separators=(",", ":"))
                except ValueError:
                    message = None  # the server answers the parse error
                session = self.headers.get("Mcp-Session-Id")
                headers = {}
                if session:
                    process, owned = bridge.sessions.get(session), False
                    if process is None:
                        return self._send(404)
                elif isinstance(message, dict) and message.get("method") == "initialize":
                    process, owned = _Process(bridge.command, bridge.env), True
                else:
                    process, owned = bridge.shared_process(), False
                if is_response(message) and not owned:
                    # A client's answer to a server-to-client request: its
                    # process is waiting for it in the middle of a call.
                    process.write(raw)
                    return self._send(202)
                initialize = isinstance(message, dict) and message.get("method") == "initialize"
                sse = "text/event-stream" in self.headers.get("Accept", "")
                notes, reply, streaming = [], None, False
                try:
                    for out in process.exchange(message, raw):
                        if is_response(out):
                            reply = out
                        elif streaming:
                            self._event(out)
                        elif "id" in out and sse:
                            # The first request to the client: from here the
                            # answer is a stream, the request sent now.
                            streaming = True
                            self.send_response(200)
                            self.send_header("Content-Type", "text/event-stream")
                            self.end_headers()
                            for note in [*notes, out]:
                                self._event(note)
                        else:
                            notes.append(out)
                except RuntimeError as e:
                    if streaming:
                        return
                    return self._send(502, str(e).encode())
                finally:
                    if owned and not initialize:
                        process.stop()
                if streaming:
                    if reply is not None:
                        self._event(reply)
                    return
                if owned and initialize:
                    if reply is not None and "result" in reply:
                        session = str(uuid.uuid4())
                        bridge.sessions[session] = process
                        headers["Mcp-Session-Id"] = session
                    else:
                        process.stop()
                if reply is None:
                    return self._send(202, headers=headers)
                if notes and sse:
                    events = "".join(f"event: message\ndata: {json.dumps(m)}\n\n" for m in [*notes, reply])
                    headers["Content-Type"] = "text/event-stream"
                    return self._send(200, events.encode(), headers)
                headers["Content-Type"] = "application/json"
                self._send(200, json.dumps(reply).encode(), headers)

            def _event(self, message: dict) -> None:
                self.wfile.write(f"event: message\ndata: {json.dumps(message)}\n\n".encode())
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mcp"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def shared_process(self) -> _Process:
        """The process sessionless requests share (started again if it ended)."""
        with self.shared_lock:
            if self.shared is None or self.shared.proc.poll() is not None:
                self.shared = _Process(self.command, self.env)
            return self.shared

    def __enter__(self) -> "Bridge":
        self.thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.server.shutdown()
        self.server.server_close()
        for process in self.sessions.values():
            process.stop()
        self.sessions.clear()
        if self.shared is not None:
            self.shared.stop()
