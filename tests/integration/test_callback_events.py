"""Every events/callback-*.json invoked the way `sam local invoke CallbackFunction -e` would.

The set-up and the expectations are tests/sample_events.py's, shared with the container tier."""

from __future__ import annotations

from tests.conftest import TestStack
from tests.sample_events import (
    CALLBACK_SEQUENCE,
    check_callback_events,
    in_process,
    prepare_callback_events,
    sample_files,
)


def test_the_sequence_covers_every_callback_event_file() -> None:
    assert {name for name, *_ in CALLBACK_SEQUENCE} == sample_files("callback")


def test_each_event_file_gets_the_contracts_answer(stack: TestStack) -> None:
    prepare_callback_events(stack)
    check_callback_events(stack, in_process(stack))
