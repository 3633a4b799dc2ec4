"""The offline stack (local/stack.py) for the end-to-end tests, on free ports.

Two flavours, as `make local` offers them: `local_stack` with the simulated carrier (it calls
back for every recipient, like Routee) and `silent_stack` with VOICE_PROVIDER=silent (campaigns
are dispatched and nobody calls back, so a test posts the callbacks itself). A stack sets
process-wide settings (AWS endpoint, credentials), so only one runs at a time: asking for the
other flavour stops the running one. Keep to one flavour per test module, so each starts once.
The last one stops after the package's last test, so the unit and integration tests that follow
run in a process without its servers or environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from local.stack import LocalStack, Settings
from tests.e2e.helpers import HTTP_TIMEOUT_SECONDS


class LocalStacks:
    """Starts the stack flavour asked for, stopping the other one first."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._running: LocalStack | None = None

    def get(self, voice_provider: str) -> LocalStack:
        running = self._running
        if running is not None and running.settings.voice_provider == voice_provider:
            return running
        self.stop()
        settings = Settings(
            api_port=0,
            aws_port=0,
            voice_provider=voice_provider,
            log_level="WARNING",
            outputs_file=self._directory / voice_provider / "outputs.json",
        )
        self._running = LocalStack(settings).start()
        return self._running

    def stop(self) -> None:
        if self._running is not None:
            # moto keeps its resources in this process, not in the server: forget them, or the
            # next stack finds the template's resources there already.
            requests.post(
                f"{self._running.aws_url}/moto-api/reset", timeout=HTTP_TIMEOUT_SECONDS
            ).raise_for_status()
            self._running.stop()
            self._running = None


@pytest.fixture(scope="package")
def local_stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStacks]:
    stacks = LocalStacks(tmp_path_factory.mktemp("local"))
    yield stacks
    stacks.stop()


@pytest.fixture(scope="module")
def local_stack(local_stacks: LocalStacks) -> LocalStack:
    """The offline stack with the simulated carrier (VOICE_PROVIDER=simulated, the default)."""
    return local_stacks.get("simulated")


@pytest.fixture(scope="module")
def silent_stack(local_stacks: LocalStacks) -> LocalStack:
    """The offline stack with VOICE_PROVIDER=silent: recipients are dispatched, nobody calls back."""
    return local_stacks.get("silent")


@pytest.fixture(autouse=True)
def _aws_environment() -> None:
    """Replaces tests/conftest.py's fixture of the same name, which removes AWS_ENDPOINT_URL: here
    the running stack has set fake credentials and its endpoint for every client in this process
    (the workflow's Lambda tasks make their clients as they run)."""
