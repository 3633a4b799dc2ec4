"""Every events/callback-*.json invoked the way `sam local invoke CallbackFunction -e` would.

The sample events name one campaign and are signed with a fixed key; `prepare_callback_samples`
sets up that campaign with the product's own functions (its two recipients dispatched), so the
events meet the state they were written for. The set-up and the expectations live in
tests/sample_events.py, shared with the container tier."""

from __future__ import annotations

from tests.conftest import TestStack
from tests.sample_events import (
    CALLBACK_SEQUENCE,
    check_callback_samples,
    in_process,
    prepare_callback_samples,
    sample_files,
)


def test_the_sequence_covers_every_callback_event_file() -> None:
    assert {name for name, *_ in CALLBACK_SEQUENCE} == sample_files("callback")


def test_each_event_file_gets_the_contracts_answer(stack: TestStack) -> None:
    prepare_callback_samples(stack)
    check_callback_samples(stack, in_process(stack))
