"""`make local` (python -m local) as a user runs it, and the outputs file it writes (CONTRACT.md section 5)."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from local.stack import LocalStack
from local.template import ROOT
from tests.e2e.helpers import HTTP_TIMEOUT_SECONDS

pytestmark = pytest.mark.e2e

CONTRACT_OUTPUTS = {
    "ApiUrl",
    "TableName",
    "EventBusName",
    "NotificationsQueueUrl",
    "CampaignStateMachineArn",
    "CallbackSigningSecretArn",
}
START_DEADLINE_SECONDS = 60
STOP_DEADLINE_SECONDS = 30


def test_outputs_file_has_the_contract_keys_with_local_values(local_stack: LocalStack) -> None:
    outputs = json.loads(local_stack.settings.outputs_file.read_text())

    assert set(outputs) >= CONTRACT_OUTPUTS
    assert outputs["ApiUrl"] == local_stack.api_url
    assert outputs["NotificationsQueueUrl"].startswith(local_stack.aws_url)
    table = local_stack.client("dynamodb").describe_table(TableName=outputs["TableName"])["Table"]
    assert table["StreamSpecification"]["StreamEnabled"] is True
    assert local_stack.client("events").describe_event_bus(Name=outputs["EventBusName"])["Name"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _lines(stream: object) -> queue.Queue[str | None]:
    """The stream's lines as they come (None at its end), so reads can have a deadline."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for_ready(lines: queue.Queue[str | None], process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    seen: list[str] = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
        except queue.Empty:
            break
        if line is None:
            pytest.fail(f"python -m local exited ({process.wait()}) before ready:\n{''.join(seen)}")
        if line.startswith("ready"):
            return line
        seen.append(line)
    pytest.fail(f"no 'ready' line within {START_DEADLINE_SECONDS} s:\n{''.join(seen)}")


def test_python_m_local_serves_until_sigterm_and_exits_0(tmp_path: Path) -> None:
    api_port, aws_port = _free_port(), _free_port()
    outputs_file = tmp_path / "outputs.json"
    # A user's shell: none of this test process's stack settings.
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    environment |= {
        "LOCAL_API_PORT": str(api_port),
        "LOCAL_AWS_PORT": str(aws_port),
        "LOCAL_OUTPUTS_FILE": str(outputs_file),
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _lines(process.stdout)
        ready = _wait_for_ready(lines, process)
        api_url = f"http://127.0.0.1:{api_port}"
        assert api_url in ready
        assert f"http://127.0.0.1:{aws_port}" in ready
        outputs = json.loads(outputs_file.read_text())
        assert set(outputs) >= CONTRACT_OUTPUTS
        assert outputs["ApiUrl"] == api_url
        refused = requests.post(
            f"{api_url}/callbacks/voice/c1/not-a-signature", json={}, timeout=HTTP_TIMEOUT_SECONDS
        )
        assert refused.status_code == 403

        process.send_signal(signal.SIGTERM)

        assert process.wait(timeout=STOP_DEADLINE_SECONDS) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
