"""The `--env-vars` file for `sam local` (local/container/env_file.py), without containers: made from
a stack's outputs alone, it gives every function exactly the Environment the stack resolved."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.container.env_file import EnvFileError, function_environments, main
from local.testing import in_memory_stack, load_template

ENDPOINT = "http://host.docker.internal:4566"
PARAMETERS = {"VoiceProvider": "silent", "LogLevel": "WARNING", "PublicApiDocs": "true"}
API_URL = "http://127.0.0.1:3000"


@dataclass(frozen=True)
class Resolved:
    outputs: dict[str, str]  # as the offline stack writes them to outputs.json
    environments: dict[str, dict[str, str]]  # what the stack gave each function


@pytest.fixture(scope="module")
def resolved() -> Resolved:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(name, "testing")
        with in_memory_stack(parameters=PARAMETERS | {"CallbackBaseUrl": API_URL}) as stack:
            return Resolved(
                stack.outputs | {"ApiUrl": API_URL},
                {logical_id: spec.environment for logical_id, spec in stack.functions.specs.items()},
            )


def test_the_env_file_matches_what_the_stack_resolved(resolved: Resolved) -> None:
    generated = function_environments(
        load_template(), resolved.outputs, endpoint_url=ENDPOINT, parameters=PARAMETERS
    )

    assert generated == {
        function: variables | {"AWS_ENDPOINT_URL": ENDPOINT}
        for function, variables in resolved.environments.items()
    }


def test_a_variable_no_output_exposes_is_an_error_that_says_so(resolved: Resolved) -> None:
    template = load_template()
    template["Resources"]["CallbackFunction"]["Properties"]["Environment"]["Variables"]["QUEUE_URL"] = {
        "Ref": "StreamPublisherDeadLetterQueue"
    }
    del template["Outputs"]["StreamPublisherDeadLetterQueueUrl"]

    with pytest.raises(EnvFileError, match="StreamPublisherDeadLetterQueue"):
        function_environments(template, resolved.outputs, endpoint_url=ENDPOINT)


def test_the_command_reads_the_outputs_file(
    resolved: Resolved, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--outputs", str(tmp_path / "outputs.json")]) == 1
    assert "start the offline stack first" in capsys.readouterr().err

    (tmp_path / "outputs.json").write_text(json.dumps(resolved.outputs))
    assert main(["--outputs", str(tmp_path / "outputs.json")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["CallbackFunction"]["AWS_ENDPOINT_URL"] == ENDPOINT
