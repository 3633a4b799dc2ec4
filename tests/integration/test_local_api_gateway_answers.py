"""The offline API server answers what API Gateway answers itself with the template's
GatewayResponses: a path or method that no route has, a malformed request, a function failure."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from local.api import GatewayResponses
from local.api_server import ApiServer
from local.template import load_template
from tests.conftest import TestStack

NO_ROUTE = {"error": "Missing Authentication Token", "details": []}
TIMEOUT_SECONDS = 10.0


@pytest.fixture(scope="module")
def server(module_stack: TestStack) -> Iterator[ApiServer]:
    api = ApiServer("127.0.0.1", 0)
    api.start(module_stack.functions)
    yield api
    api.stop()


def _exchange(server: ApiServer, request: bytes) -> tuple[int, dict[str, str], Any]:
    """One raw HTTP/1.1 exchange (http.client would refuse to send most of these requests)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT_SECONDS) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            headers = _headers(head)
            if len(body) >= int(headers.get("content-length", "0")):
                break
    status_line, *_ = head.split(b"\r\n")
    return int(status_line.split()[1]), headers, json.loads(body) if body else None


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}


def _request(method: str, target: str, extra: str = "") -> bytes:
    return f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}\r\n".encode()


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/nothing/here"),
        ("GET", "/callbacks/voice/c1/signature"),  # the route exists for POST only
        ("POST", "/callbacks/voice/c1"),  # no signature segment
        ("POST", "/callbacks/voice//sig"),  # an empty segment matches no parameter
        ("TRACE", "/campaigns"),
        ("CONNECT", "/campaigns"),
        ("PROPFIND", "/campaigns"),
        ("HEAD", "/campaigns"),
    ],
)
def test_what_no_route_takes_is_api_gateways_403_in_the_error_shape(
    server: ApiServer, method: str, target: str
) -> None:
    status, headers, body = _exchange(server, _request(method, target))
    assert (status, body) == (403, None if method == "HEAD" else NO_ROUTE)
    assert headers["content-type"] == "application/json"
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


@pytest.mark.parametrize(
    "request_bytes",
    [
        _request("GET", "/campaigns/%zz"),  # not percent-encoding
        _request("GET", "/campaigns/%FF%FE"),  # not UTF-8 once decoded
        _request("GET", "http://example.com/campaigns/c1"),  # absolute form
        _request("GET", "*"),
        _request("POST", "/campaigns", "Content-Length: -5\r\n"),
        _request("POST", "/campaigns", "Content-Length: many\r\n"),
        b"NONSENSE\r\n\r\n",
        b"GET /campaigns HTTP/9.9\r\n\r\n",
    ],
    ids=[
        "bad escape",
        "not UTF-8",
        "absolute form",
        "asterisk",
        "negative length",
        "bad length",
        "no version",
        "bad version",
    ],
)
def test_malformed_requests_are_400_in_the_error_shape(server: ApiServer, request_bytes: bytes) -> None:
    status, headers, body = _exchange(server, request_bytes)
    assert (status, body["details"]) == (400, []) and body["error"]
    assert headers["content-type"] == "application/json"


def test_the_answers_are_the_templates_gateway_responses() -> None:
    declared = GatewayResponses.of_template(load_template()).declared
    assert set(declared) >= {"DEFAULT_4XX", "DEFAULT_5XX"}
    gateway = GatewayResponses(declared)
    assert json.loads(gateway.no_route().body) == NO_ROUTE
    failed = gateway.answer("DEFAULT_5XX", 502, 'Internal "server" error')
    assert (failed.status, json.loads(failed.body)["error"]) == (502, 'Internal "server" error')
    # Without GatewayResponses, API Gateway's built-in body.
    assert json.loads(GatewayResponses().no_route().body) == {"message": "Missing Authentication Token"}
