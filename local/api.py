"""The template's API routes as API Gateway REST proxy events (what the HTTP server and tests send),
and the answers API Gateway gives itself, rendered from the template's GatewayResponses."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes, urlsplit

from local.functions import FunctionSpec

_PATH_PARAMETER = re.compile(r"\{(\w+)\+?\}")
# A REST API answers every request that no route takes, whatever its path or method, with this
# 403 (gateway response MISSING_AUTHENTICATION_TOKEN), also when the request is signed.
NO_ROUTE_TYPE, NO_ROUTE_STATUS, NO_ROUTE_MESSAGE = (
    "MISSING_AUTHENTICATION_TOKEN",
    403,
    "Missing Authentication Token",
)
_ERROR_TYPE_HEADER = {"MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException"}
_MESSAGE_STRING = "$context.error.messageString"


@dataclass(frozen=True)
class Route:
    method: str
    resource: str  # the template's path, e.g. /campaigns/{campaignId}
    function: str  # logical id
    pattern: re.Pattern[str]


def api_routes(specs: dict[str, FunctionSpec]) -> list[Route]:
    routes = []
    for spec in specs.values():
        for event in spec.events.values():
            if event.get("Type") != "Api":
                continue
            resource = event["Properties"]["Path"]
            regex = "^" + _PATH_PARAMETER.sub(lambda m: f"(?P<{m.group(1)}>[^/]+)", resource) + "$"
            method = event["Properties"]["Method"].upper()
            routes.append(Route(method, resource, spec.logical_id, re.compile(regex)))
    # Literal paths before parameterised ones, as API Gateway prefers the most specific match.
    return sorted(routes, key=lambda route: route.resource.count("{"))


def match_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for a request; None if no path matches. A path that matches with another method
    returns that route with method "" (API Gateway answers both with its no-route 403)."""
    path_match = None
    for route in routes:
        found = route.pattern.match(path)
        if found and route.method in (method.upper(), "ANY"):
            return route, found.groupdict()
        if found and path_match is None:
            path_match = (Route("", route.resource, route.function, route.pattern), found.groupdict())
    return path_match


def proxy_event(
    route: Route,
    path: str,
    path_parameters: dict[str, str],
    *,
    method: str | None = None,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    query: str = "",
    stage: str = "dev",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event, as `sam local start-api` builds it."""
    headers = dict(headers or {})
    raw = body.encode() if isinstance(body, str) else body
    is_text = raw is None or _is_text(raw)
    query_pairs = parse_qsl(query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for key, value in query_pairs:
        multi_query.setdefault(key, []).append(value)
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": method or route.method,
        "headers": headers or None,
        "multiValueHeaders": {key: [value] for key, value in headers.items()} or None,
        "queryStringParameters": {key: values[-1] for key, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.resource,
            "httpMethod": method or route.method,
            # As `sam local start-api`: the local URL has no stage, so neither has this path
            # (Powertools derives the Swagger UI's server URL from it).
            "path": path,
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", "")},
            "domainName": headers.get("Host", "127.0.0.1"),
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
        },
        "body": None if raw is None else (raw.decode() if is_text else base64.b64encode(raw).decode()),
        "isBase64Encoded": not is_text,
    }


def _is_text(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class GatewayAnswer:
    """A response API Gateway gives itself, without invoking a function."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class GatewayResponses:
    """The API's `GatewayResponses` (template.yaml), filled in as API Gateway fills them.

    A response type without its own entry falls back to DEFAULT_4XX / DEFAULT_5XX, and without
    those to API Gateway's built-in `{"message": ...}`.
    """

    declared: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of_template(cls, template: dict[str, Any]) -> GatewayResponses:
        for resource in template.get("Resources", {}).values():
            if resource.get("Type") == "AWS::Serverless::Api":
                return cls(dict(resource.get("Properties", {}).get("GatewayResponses") or {}))
        return cls()

    def answer(self, response_type: str, status: int, message: str) -> GatewayAnswer:
        family = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
        declared = self.declared.get(response_type) or self.declared.get(family) or {}
        template = (declared.get("ResponseTemplates") or {}).get("application/json")
        # messageString is the message as a quoted JSON string, so the template stays JSON.
        body = (
            template.replace(_MESSAGE_STRING, json.dumps(message))
            if template
            else json.dumps({"message": message})
        )
        headers = [("Content-Type", "application/json")]
        if response_type in _ERROR_TYPE_HEADER:
            headers.append(("x-amzn-ErrorType", _ERROR_TYPE_HEADER[response_type]))
        return GatewayAnswer(int(declared.get("StatusCode") or status), headers, body.encode())

    def no_route(self) -> GatewayAnswer:
        return self.answer(NO_ROUTE_TYPE, NO_ROUTE_STATUS, NO_ROUTE_MESSAGE)

    def bad_request(self) -> GatewayAnswer:
        return self.answer("DEFAULT_4XX", 400, "Bad Request")


@dataclass(frozen=True)
class RoutedRequest:
    route: Route
    path: str
    query: str
    path_parameters: dict[str, str]


def route_request(
    routes: list[Route], gateway: GatewayResponses, method: str, target: str
) -> RoutedRequest | GatewayAnswer:
    """The route that takes `method target` (the raw request-target), or API Gateway's own answer:
    400 for a path that is not a percent-encoded UTF-8 absolute path, the no-route 403 for any
    path or method that no route of the template has."""
    parts = urlsplit(target)
    if not target.startswith("/") or parts.scheme or parts.netloc or not _is_utf8_path(parts.path):
        return gateway.bad_request()
    found = match_route(routes, method, parts.path)
    if found is None or not found[0].method:
        return gateway.no_route()
    route, parameters = found
    decoded = {name: unquote_to_bytes(value).decode() for name, value in parameters.items()}
    return RoutedRequest(route, parts.path, parts.query, decoded)


def _is_utf8_path(path: str) -> bool:
    if re.search(r"%(?![0-9A-Fa-f]{2})", path):
        return False
    try:
        unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
