"""State machine definitions are parsed once per process (local/moto_fixes.py), with moto's
behaviour unchanged: executions still run, and an invalid definition is still refused each time."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from local.moto_fixes import apply_fixes

ROLE = "arn:aws:iam::123456789012:role/states"
DEFINITION = json.dumps(
    {
        "StartAt": "Greet",
        "States": {
            "Greet": {
                "Type": "Pass",
                "Parameters": {"greeting.$": "States.Format('hi {}', $.name)"},
                "End": True,
            }
        },
    }
)


@pytest.fixture
def stepfunctions(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    apply_fixes()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions")


@pytest.fixture
def antlr_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One entry per time ANTLR parses a whole definition."""
    parses: list[str] = []
    moto_state_machine = ASLParser.state_machine

    def counted(self: ASLParser) -> Any:
        parses.append("parsed")
        return moto_state_machine(self)

    monkeypatch.setattr(ASLParser, "state_machine", counted)
    return parses


def _output_of(stepfunctions: Any, machine_arn: str, name: str) -> Any:
    execution = stepfunctions.start_execution(stateMachineArn=machine_arn, input=json.dumps({"name": name}))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described = stepfunctions.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            assert described["status"] == "SUCCEEDED", described
            return json.loads(described["output"])
        time.sleep(0.05)
    raise AssertionError("the execution did not end within 30 s")


def test_a_definition_is_parsed_once_for_every_machine_and_execution_of_it(
    stepfunctions: Any, antlr_parses: list[str]
) -> None:
    # A definition no other test parses, so the process-wide cache has not seen it yet.
    definition = DEFINITION.replace("Greet", "GreetOnce")
    first = stepfunctions.create_state_machine(name="first", definition=definition, roleArn=ROLE)
    second = stepfunctions.create_state_machine(name="second", definition=definition, roleArn=ROLE)

    assert _output_of(stepfunctions, first["stateMachineArn"], "ada") == {"greeting": "hi ada"}
    assert _output_of(stepfunctions, second["stateMachineArn"], "bob") == {"greeting": "hi bob"}
    assert antlr_parses == ["parsed"]


def test_each_parse_gets_a_program_of_its_own_from_the_shared_tree(stepfunctions: Any) -> None:
    first_program, first_tree = AmazonStateLanguageParser.parse(DEFINITION)
    second_program, second_tree = AmazonStateLanguageParser.parse(DEFINITION)
    assert second_tree is first_tree
    assert second_program is not first_program  # executions never share evaluation state


def test_an_invalid_definition_is_refused_every_time(stepfunctions: Any, antlr_parses: list[str]) -> None:
    invalid = '{"StartAt": "Nowhere", "States": {"Nowhere": {"Type": "NotAType", "End": true}}}'
    for name in ("one", "two"):
        with pytest.raises(ClientError, match="ASLParserException"):  # moto's refusal, as before
            stepfunctions.create_state_machine(name=name, definition=invalid, roleArn=ROLE)
    assert len(antlr_parses) == 2  # a refusal is not kept: the definition is parsed again
