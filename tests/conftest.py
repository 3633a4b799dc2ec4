"""Shared fixtures: the stack's resources created in moto from template.yaml, handlers run in-process.

`stack` gives a fresh in-memory AWS (moto, with the Step Functions interpreter executing
ASL) holding every resource of the template, and a `LocalFunctions` that runs the template's
handlers the way `sam local invoke` would.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.api import api_routes, match_route, proxy_event
from local.functions import LocalFunctions, function_specs
from local.moto_fixes import complete_event_envelopes, serialize_dynamodb
from local.resources import Stack, create_stack
from local.template import ROOT, load_template

EVENTS_DIR = ROOT / "events"
REGION = "us-east-1"
# The same settings the offline stack uses: no network, fast failure, a silent provider.
TEST_PARAMETERS = {"VoiceProvider": "silent", "LogLevel": "WARNING"}


complete_event_envelopes()  # moto omits the envelope's account field
serialize_dynamodb()  # moto's transaction rollback is only safe one operation at a time


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(autouse=True)
def _aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and one region, so nothing can reach a real account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # botocore 1.44 sends DynamoDB Streams calls to {account}.streams-ddb.{region}, which moto 5.2.5's
    # mock does not route; the regional endpoint is the same API.
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@dataclass
class ApiResponse:
    status_code: int
    body: Any
    headers: dict[str, str]


@dataclass
class TestStack:
    """A stack in moto plus helpers that call its functions like API Gateway and Lambda do."""

    __test__ = False  # not a test class, despite the name

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
        result = self.invoke(function, event)
        text = result.get("body") or ""
        try:
            body = json.loads(text)
        except ValueError:
            body = text
        headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(values)
        return ApiResponse(result["statusCode"], body, headers)

    def secret(self, output: str = "CallbackSigningSecretArn") -> str:
        secret_id = self.outputs[output]
        return str(self.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])


def _clear_powertools_caches() -> None:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()


@pytest.fixture
def stack(template: dict[str, Any]) -> Iterator[TestStack]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        session = boto3.Session(region_name=REGION)
        created = create_stack(session, parameters=TEST_PARAMETERS, template=template)
        specs = function_specs(created.resolver)
        functions = LocalFunctions(specs)
        functions.install_invoke_hook()  # boto3's default session, which mock_aws has just reset
        _clear_powertools_caches()
        os.environ["API_URL"] = "https://api.example.test/dev"
        yield TestStack(created, functions, session)
        _clear_powertools_caches()


def load_event(name: str) -> dict[str, Any]:
    return json.loads(Path(EVENTS_DIR, name).read_text())
