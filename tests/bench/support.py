"""The stack every benchmark measures: template.yaml's resources in an in-memory moto, handlers
in-process, fake credentials, and no tracing or metrics output to disturb the figures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from moto import mock_aws

from local.functions import LocalFunctions, function_specs
from local.moto_fixes import apply_fixes
from local.resources import Stack, create_stack

REGION = "us-east-1"
PARAMETERS = {"VoiceProvider": "silent", "LogLevel": "ERROR"}


@contextmanager
def in_memory_stack(
    execute_state_machine: bool = False,
) -> Iterator[tuple[boto3.Session, Stack, LocalFunctions]]:
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGION)
    os.environ.update(POWERTOOLS_TRACE_DISABLED="1", POWERTOOLS_METRICS_DISABLED="1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"  # moto 5.2.5 does not route streams-ddb
    config = {
        "stepfunctions": {"execute_state_machine": execute_state_machine},
        "lambda": {"use_docker": False},
    }
    apply_fixes()  # moto as the offline stack runs it: undo-log transactions, bounded memory, ...
    with mock_aws(config=config):  # type: ignore[call-overload]
        session = boto3.Session(region_name=REGION)
        stack = create_stack(session, parameters=PARAMETERS)
        functions = LocalFunctions(function_specs(stack.resolver))
        undo = functions.install_invoke_hook()
        try:
            yield session, stack, functions
        finally:
            undo()
