"""A whole simulated campaign through the HTTP API: what `make demo` shows, as a test."""

from __future__ import annotations

import pytest

from local.demo import DemoFailed, run
from local.stack import LocalStack

pytestmark = pytest.mark.e2e

# Short: the numbers ending in 9 finish only by reconciliation, after this timeout.
COMPLETION_TIMEOUT_SECONDS = 5


def test_simulated_campaign_reaches_finished_with_the_carriers_outcome(local_stack: LocalStack) -> None:
    try:
        run(local_stack, completion_timeout_seconds=COMPLETION_TIMEOUT_SECONDS)
    except DemoFailed as failure:
        pytest.fail(str(failure))
