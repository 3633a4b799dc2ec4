"""The offline stack (local/stack.py) started once for the end-to-end tests, on free ports.

Package scope: it starts with the first e2e test and stops after the last one, so the unit
and integration tests that follow run in a process without its servers or environment.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.stack import LocalStack, Settings


@pytest.fixture(scope="package")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = Settings(
        api_port=0,
        aws_port=0,
        voice_provider="simulated",
        log_level="WARNING",
        outputs_file=tmp_path_factory.mktemp("local") / "outputs.json",
    )
    with LocalStack(settings) as stack:
        yield stack


@pytest.fixture(autouse=True)
def _aws_environment(local_stack: LocalStack) -> None:
    """Replaces tests/conftest.py's fixture of the same name, which removes AWS_ENDPOINT_URL: here
    the stack has set fake credentials and its endpoint for every client in this process."""
