"""Every events/<workflow function>-*.json invoked like `sam local invoke -e` would, in the order the
workflow calls them, against the sample campaign they name.

The set-up and the expectations live in tests/sample_events.py, shared with the container tier."""

from __future__ import annotations

from tests.conftest import TestStack
from tests.sample_events import (
    WORKFLOW_PREFIXES,
    WORKFLOW_SAMPLES,
    check_workflow_samples,
    in_process,
    prepare_workflow_samples,
    sample_files,
)
from tests.workflow.support import FakeProvider


def test_the_walk_covers_every_workflow_sample() -> None:
    on_disk = set().union(*(sample_files(prefix) for prefix in WORKFLOW_PREFIXES))
    assert {name for _, name in WORKFLOW_SAMPLES} == on_disk


def test_workflow_samples_walk_a_campaign_through_its_tasks(stack: TestStack, provider: FakeProvider) -> None:
    campaign_id, numbers = prepare_workflow_samples(stack)
    provider.tracking = {numbers[0]: "Completed"}

    check_workflow_samples(stack, in_process(stack), campaign_id, tracked=provider.tracking)

    assert len(provider.submissions) == 1, "a later cursor must not resubmit anything"
