"""The one fixture product tests take from the offline stack: the template's stack in an in-memory moto.

`in_memory_stack()` gives a fresh mock_aws holding every resource of template.yaml (Step Functions
executing the real ASL), the template's handlers run in-process as `sam local invoke` runs them,
and an `InMemoryStack` to reach them the way API Gateway and Lambda do. Nothing listens on a port:
for the stack over HTTP, use `local.stack.LocalStack`. Both answer `outputs`, `client()` and
`secret()` alike, so a test reads the same either way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws

from local.api import api_routes, match_route, proxy_event
from local.functions import LocalFunctions, function_specs
from local.moto_fixes import apply_fixes
from local.resources import Stack, create_stack
from local.template import load_template

__all__ = [
    "REGION",
    "TEST_PARAMETERS",
    "ApiResponse",
    "InMemoryStack",
    "api_response",
    "in_memory_stack",
    "load_template",
]

REGION = "us-east-1"
# The settings the offline stack's tests use: no network, fast failure, a silent provider.
TEST_PARAMETERS = {"VoiceProvider": "silent", "LogLevel": "WARNING"}


@dataclass
class ApiResponse:
    status_code: int
    body: Any
    headers: dict[str, str]


def api_response(result: dict[str, Any]) -> ApiResponse:
    """An API function's answer (a proxy integration result) as the HTTP client sees it."""
    text = result.get("body") or ""
    try:
        body = json.loads(text)
    except ValueError:
        body = text
    headers = dict(result.get("headers") or {})
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(values)
    return ApiResponse(result["statusCode"], body, headers)


@dataclass
class InMemoryStack:
    """A stack in moto plus helpers that call its functions like API Gateway and Lambda do."""

    __test__ = False  # product tests call it TestStack; it is no test class

    stack: Stack
    functions: LocalFunctions
    session: boto3.Session

    @property
    def outputs(self) -> dict[str, str]:
        return self.stack.outputs

    def client(self, service: Any) -> Any:
        return self.session.client(service)

    def invoke(self, function: str, event: Any) -> Any:
        return self.functions.invoke(function, event)

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> ApiResponse:
        """Send a request through the template's API routes, as API Gateway would."""
        found = match_route(api_routes(self.functions.specs), method, path)
        assert found and found[0].method, f"no route for {method} {path} in template.yaml"
        route, parameters = found
        raw = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
        event = proxy_event(route, path, parameters, body=raw, headers=headers, query=query)
        return self.api_event(route.function, event)

    def api_event(self, function: str, event: dict[str, Any]) -> ApiResponse:
        return api_response(self.invoke(function, event))

    def secret(self, output: str = "CallbackSigningSecretArn") -> str:
        secret_id = self.outputs[output]
        return str(self.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])


def _clear_powertools_caches() -> None:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()


@contextmanager
def in_memory_stack(
    template: dict[str, Any] | None = None, parameters: dict[str, str] | None = None
) -> Iterator[InMemoryStack]:
    """A fresh in-memory stack from template.yaml; call inside fake credentials for one region."""
    apply_fixes()  # moto as the offline stack runs it: isolated operations, bounded streams, ...
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):  # type: ignore[call-overload]
        session = boto3.Session(region_name=REGION)
        created = create_stack(session, parameters=parameters or TEST_PARAMETERS, template=template)
        functions = LocalFunctions(function_specs(created.resolver))
        functions.install_invoke_hook()  # boto3's default session, which mock_aws has just reset
        _clear_powertools_caches()
        try:
            yield InMemoryStack(created, functions, session)
        finally:
            _clear_powertools_caches()
