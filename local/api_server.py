"""The template's API on a local HTTP port: each request becomes the API Gateway REST proxy event
of its route, the route's function runs in-process, and its proxy response goes back over HTTP.

What API Gateway answers itself (no route for a path or method, e.g. TRACE; a malformed
request; a body over its limit; a function that fails) comes from the template's
GatewayResponses, as on AWS, never from http.server's HTML error pages.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.api import GatewayAnswer, GatewayResponses, Route, api_routes, proxy_event, route_request
from local.functions import LocalFunctions
from local.template import load_template

logger = logging.getLogger("local.api")

# API Gateway's own payload limit; bigger requests are refused before they are read.
MAX_REQUEST_BYTES = 10 * 1024 * 1024


class ApiServer:
    """Binds at construction (so the port is known before the stack is created); serves after start()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 3000) -> None:
        self._host = host
        self._server = ThreadingHTTPServer((host, port), _handler_class(self))
        self._thread: threading.Thread | None = None
        self.functions: LocalFunctions | None = None
        self.routes: list[Route] = []
        self.gateway = GatewayResponses()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self, functions: LocalFunctions, gateway: GatewayResponses | None = None) -> None:
        self.functions = functions
        self.routes = api_routes(functions.specs)
        self.gateway = gateway or GatewayResponses.of_template(load_template())
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def respond(
        self, method: str, raw_path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes, str]:
        """(status, headers, body, route label for the access log) for one request."""
        routed = route_request(self.routes, self.gateway, method, raw_path)
        if isinstance(routed, GatewayAnswer):
            return _answered(
                routed, "(bad path)" if routed.status == HTTPStatus.BAD_REQUEST else "(no route)"
            )
        event = proxy_event(
            routed.route,
            routed.path,
            routed.path_parameters,
            method=method,
            body=body,
            headers=headers,
            query=routed.query,
        )
        return (*self._invoke(routed.route, event), routed.route.resource)

    def _invoke(self, route: Route, event: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        assert self.functions is not None, "start() first"
        try:
            result = self.functions.invoke(route.function, event)
        except Exception:
            # What API Gateway shows when the integration fails; the traceback goes to the console.
            logger.exception("%s failed for %s %s", route.function, route.method, route.resource)
            failed = self.gateway.answer("DEFAULT_5XX", 502, "Internal server error")
            return failed.status, failed.headers, failed.body
        single = result.get("headers") or {}
        multi = result.get("multiValueHeaders") or {}
        # API Gateway merges both maps; a name in multiValueHeaders carries all its values there.
        headers = [(str(name), str(value)) for name, value in single.items() if name not in multi]
        headers += [(str(name), str(value)) for name, values in multi.items() for value in values]
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return int(result.get("statusCode", 200)), headers, payload


def _answered(answer: GatewayAnswer, label: str) -> tuple[int, list[tuple[str, str]], bytes, str]:
    return answer.status, answer.headers, answer.body, label


def _handler_class(server: ApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as clients of API Gateway expect

        def _handle(self) -> None:
            started = time.monotonic()
            length = _content_length(self.headers.get("Content-Length"))
            if length is None:
                status, headers, payload, label = _answered(server.gateway.bad_request(), "(bad length)")
                self.close_connection = True
            elif length > MAX_REQUEST_BYTES:
                too_large = server.gateway.answer("REQUEST_TOO_LARGE", 413, "Request Too Long")
                status, headers, payload, label = _answered(too_large, "(too large)")
                self.close_connection = True
            else:
                body = self.rfile.read(length) if length else None
                status, headers, payload, label = server.respond(
                    self.command, self.path, body, dict(self.headers.items())
                )
            self._send(status, headers, payload)
            # The route's template path, never the raw path: a callback path carries its signature.
            logger.info(
                "%s %s -> %d (%d ms)", self.command, label, status, (time.monotonic() - started) * 1000
            )

        def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """http.server's own refusals (a method it has no do_ for, e.g. TRACE, or a request line
            or header it cannot parse) in API Gateway's answers instead of its HTML page."""
            if code == HTTPStatus.NOT_IMPLEMENTED:  # an unknown method: no route has it
                answer = server.gateway.no_route()
            elif code >= 500:  # e.g. 505 for an HTTP version it does not speak: the client's fault
                answer = server.gateway.bad_request()
            else:
                answer = server.gateway.answer("DEFAULT_4XX", code, HTTPStatus(code).phrase)
            self.close_connection = True  # the rest of the request was not read
            self.request_version = self.protocol_version  # never an HTTP/0.9 answer without a status line
            self._send(answer.status, answer.headers, answer.body)
            logger.info("%s (refused) -> %d", self.command or "?", answer.status)

        def log_message(self, format: str, *args: Any) -> None:
            """Silenced: the default access log prints raw paths, and callback paths hold a signature."""

    return Handler


def _content_length(value: str | None) -> int | None:
    """The declared body length; None when it is not a plain non-negative integer."""
    if value is None or value == "":
        return 0
    return int(value) if value.isascii() and value.isdigit() else None
