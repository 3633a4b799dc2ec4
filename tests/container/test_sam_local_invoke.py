"""Every events/ file through SAM's local Lambda emulator in a container, with the set-up and the
expectations of the in-process tests (tests/sample_events.py); and the `sam local invoke -e`
command line as the README gives it."""

from __future__ import annotations

import json

import pytest

from local.stack import LocalStack
from local.testing import api_response
from tests.conftest import EVENTS_DIR, TestStack
from tests.container.conftest import SamLocal
from tests.sample_events import (
    check_api_samples,
    check_callback_samples,
    check_stream_publisher_sample,
    check_workflow_samples,
    every_sample,
    prepare_api_samples,
    prepare_callback_samples,
    prepare_workflow_samples,
    sample_files,
    table_items,
)


def test_every_events_file_has_a_set_up_and_an_expectation() -> None:
    assert every_sample() == {path.name for path in EVENTS_DIR.glob("*.json")}


def test_the_env_file_gives_each_function_what_the_offline_stack_gives_it(
    sam: SamLocal, local_stack: LocalStack
) -> None:
    generated = json.loads(sam.env_file.read_text())
    assert local_stack.functions is not None
    offline = {logical_id: spec.environment for logical_id, spec in local_stack.functions.specs.items()}
    assert {
        function: {name: value for name, value in variables.items() if name != "AWS_ENDPOINT_URL"}
        for function, variables in generated.items()
    } == offline
    assert {variables["AWS_ENDPOINT_URL"] for variables in generated.values()} == {sam.endpoint_url}


def test_callback_events(sam: SamLocal, stack: TestStack) -> None:
    prepare_callback_samples(stack)
    check_callback_samples(stack, sam.invoke)


def test_campaigns_api_events(sam: SamLocal, stack: TestStack) -> None:
    prepare_api_samples(stack)
    check_api_samples(stack, sam.invoke)


def test_workflow_events(sam: SamLocal, stack: TestStack) -> None:
    campaign_id, _ = prepare_workflow_samples(stack)
    check_workflow_samples(stack, sam.invoke, campaign_id, tracked={})  # the silent provider tracks nothing


@pytest.mark.parametrize("sample", sorted(sample_files("stream_publisher")))
def test_stream_publisher_events(sam: SamLocal, stack: TestStack, sample: str) -> None:
    check_stream_publisher_sample(stack, sam.invoke, sample)


def test_the_sam_local_invoke_command_answers_a_sample(sam: SamLocal, stack: TestStack) -> None:
    """The command the README gives, in a fresh container: the function reads the signing secret
    from the offline endpoint and refuses the sample's signature."""
    before = table_items(stack)
    answer = api_response(sam.invoke_command("CallbackFunction", "callback-bad-signature.json"))
    assert answer.status_code == 403, answer.body
    assert answer.body["error"]
    assert table_items(stack) == before
