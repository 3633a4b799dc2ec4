"""Small real HTTP servers on 127.0.0.1 for provider and carrier tests.

`CallbackReceiver` records the JSON POSTed to it (a stand-in for our callback endpoint);
`ScriptedServer` answers each route from a script (a stand-in for Routee misbehaving).
Both wait on conditions with deadlines, never on sleeps.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

# Read timeouts for clients of these servers. They answer in milliseconds, but a busy CI machine
# can stall one answer for longer than a short timeout, and the client then (rightly) retries or
# gives up: a test counting requests would fail for the machine's sake. Only a server that never
# answers (`Reply(hang=True)`) gets the short one, so that its timeout fires soon.
READ_TIMEOUT_SECONDS = 5.0
HANG_READ_TIMEOUT_SECONDS = 1.0


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # never answer (until the server stops): the client's read timeout fires
    drop: bool = False  # close the connection without an answer


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # the default backlog (5) drops concurrent connections: 1 s SYN retries


class _Server:
    def __init__(self, respond: Callable[[Recorded], Reply]) -> None:
        self._respond = respond
        self.requests: list[Recorded] = []
        self.released = threading.Event()
        self._changed = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Recorded(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    dict(self.headers.items()),
                    self.rfile.read(length) if length else b"",
                )
                with owner._changed:
                    owner.requests.append(request)
                    owner._changed.notify_all()
                reply = owner._respond(request)
                if reply.hang:
                    owner.released.wait(10)
                    return
                if reply.drop:
                    self.close_connection = True
                    return
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _handle

        self._http = _HTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.released.set()
        self._http.shutdown()
        self._http.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Recorded]:
        """The requests once at least `count` arrived; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"expected {count} requests, got {len(self.requests)}"
                self._changed.wait(remaining)
            return list(self.requests)

    def to(self, method: str, path: str) -> list[Recorded]:
        with self._changed:
            return [r for r in self.requests if r.method == method and r.path == path]


class CallbackReceiver(_Server):
    """Answers every POST with `status_for(n)` (n = 1-based request number), 200 by default."""

    def __init__(self, status_for: Callable[[int], int] | None = None) -> None:
        counter = iter(range(1, 1_000_000))
        choose = status_for or (lambda _: 200)
        super().__init__(lambda _request: Reply(status=choose(next(counter)), body={"ok": True}))

    def callback_url(self, campaign_id: str = "c-1", signature: str = "SIGNATURE") -> str:
        return f"{self.url}/callbacks/voice/{campaign_id}/{signature}"

    def bodies(self) -> list[dict[str, Any]]:
        return [request.json() for request in self.requests]


class ScriptedServer(_Server):
    """Each (method, path) answers from its list of replies in turn, repeating the last one.

    POST /oauth/token answers a fresh token unless scripted otherwise.
    """

    def __init__(self) -> None:
        self.scripts: dict[tuple[str, str], list[Reply]] = {}
        self._lock = threading.Lock()
        self._tokens = iter(range(1, 1_000_000))
        super().__init__(self._reply)

    def script(self, method: str, path: str, *replies: Reply) -> None:
        self.scripts[(method, path)] = list(replies)

    def _reply(self, request: Recorded) -> Reply:
        with self._lock:
            replies = self.scripts.get((request.method, request.path))
            if replies:
                return replies.pop(0) if len(replies) > 1 else replies[0]
        if (request.method, request.path) == ("POST", "/oauth/token"):
            return Reply(body={"access_token": f"token-{next(self._tokens)}", "expires_in": 3600})
        return Reply(404, {"developerMessage": "not scripted"})
