"""The template's API routes as API Gateway REST proxy events (what the HTTP server and tests send)."""

from __future__ import annotations

import base64
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from local.functions import FunctionSpec

_PATH_PARAMETER = re.compile(r"\{(\w+)\+?\}")


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
    returns that route with method "" so the caller can answer 405."""
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
