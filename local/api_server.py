"""The template's API on a local HTTP port: each request becomes the API Gateway REST proxy event
of its route, the route's function runs in-process, and its proxy response goes back over HTTP."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from local.api import Route, api_routes, match_route, proxy_event
from local.functions import LocalFunctions

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
        self.open_prefixes: tuple[str, ...] = ()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self, functions: LocalFunctions) -> None:
        self.functions = functions
        self.routes = api_routes(functions.specs)
        self.open_prefixes = _unauthenticated_prefixes(functions, self.routes)
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
        parts = urlsplit(raw_path)
        found = match_route(self.routes, method, parts.path)
        if found is None:
            if self.open_prefixes and parts.path.startswith(self.open_prefixes):
                # API Gateway answers a path it cannot route with 403; for the provider's callback
                # route that is the contract's answer to a missing signature, so keep it.
                return _json_response(
                    403, {"error": "missing callback signature"}, "(callback, no signature)"
                )
            return _json_response(404, {"error": f"no route for {method} {parts.path}"}, "(no route)")
        route, parameters = found
        if not route.method:
            allowed = sorted({r.method for r in self.routes if r.pattern.match(parts.path)})
            status, response_headers, payload, _ = _json_response(
                405, {"error": f"{method} is not allowed on {route.resource}", "details": allowed}, ""
            )
            return status, [*response_headers, ("Allow", ", ".join(allowed))], payload, route.resource
        event = proxy_event(
            route,
            parts.path,
            {name: unquote(value) for name, value in parameters.items()},
            method=method,
            body=body,
            headers=headers,
            query=parts.query,
        )
        return (*self._invoke(route, event), route.resource)

    def _invoke(self, route: Route, event: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        assert self.functions is not None, "start() first"
        try:
            result = self.functions.invoke(route.function, event)
        except Exception:
            # What API Gateway shows when the integration fails; the traceback goes to the console.
            logger.exception("%s failed for %s %s", route.function, route.method, route.resource)
            status, headers, payload, _ = _json_response(502, {"error": "Internal server error"}, "")
            return status, headers, payload
        single = result.get("headers") or {}
        multi = result.get("multiValueHeaders") or {}
        # API Gateway merges both maps; a name in multiValueHeaders carries all its values there.
        headers = [(str(name), str(value)) for name, value in single.items() if name not in multi]
        headers += [(str(name), str(value)) for name, values in multi.items() for value in values]
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return int(result.get("statusCode", 200)), headers, payload


def _json_response(
    status: int, body: dict[str, Any], label: str
) -> tuple[int, list[tuple[str, str]], bytes, str]:
    return status, [("Content-Type", "application/json")], json.dumps(body).encode(), label


def _unauthenticated_prefixes(functions: LocalFunctions, routes: list[Route]) -> tuple[str, ...]:
    """Literal path prefixes of routes without authorization (the provider's callback route)."""
    open_resources = {
        event["Properties"]["Path"]
        for spec in functions.specs.values()
        for event in spec.events.values()
        if event.get("Type") == "Api" and (event["Properties"].get("Auth") or {}).get("Authorizer") == "NONE"
    }
    return tuple(
        route.resource.split("{", 1)[0]
        for route in routes
        if route.resource in open_resources and "{" in route.resource  # not /swagger's own prefix
    )


def _handler_class(server: ApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as clients of API Gateway expect

        def _handle(self) -> None:
            started = time.monotonic()
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_REQUEST_BYTES:
                status, headers, payload, label = _json_response(
                    413, {"error": "request body is too large"}, "(too large)"
                )
                self.close_connection = True
            else:
                body = self.rfile.read(length) if length else None
                status, headers, payload, label = server.respond(
                    self.command, self.path, body, dict(self.headers.items())
                )
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            # The route's template path, never the raw path: a callback path carries its signature.
            logger.info(
                "%s %s -> %d (%d ms)", self.command, label, status, (time.monotonic() - started) * 1000
            )

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        def log_message(self, format: str, *args: Any) -> None:
            """Silenced: the default access log prints raw paths, and callback paths hold a signature."""

    return Handler
