"""`python -m local` (make local) stops within 10 s of SIGTERM or Ctrl-C, also in the middle of a
burst of callbacks (the contract's promise; in-flight requests may fail)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from local.template import ROOT

START_DEADLINE_SECONDS = 90
STOP_DEADLINE_SECONDS = 10
BURST_RECIPIENTS = 300


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_stops_within_ten_seconds_in_the_middle_of_a_burst(tmp_path: Path, stop_signal: int) -> None:
    api_port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    environment |= {
        "LOCAL_API_PORT": str(api_port),
        "LOCAL_AWS_PORT": str(_free_port()),
        "LOCAL_OUTPUTS_FILE": str(tmp_path / "outputs.json"),
        "LOG_LEVEL": "ERROR",
        "VOICE_PROVIDER": "simulated",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready = threading.Event()
    output: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if line.startswith("ready"):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert ready.wait(START_DEADLINE_SECONDS), "".join(output)
        api = f"http://127.0.0.1:{api_port}"
        created = requests.post(
            f"{api}/campaigns",
            json={
                "name": "Burst",
                "from": "+302100000000",
                "message": {"text": "Burst", "language": "en-US", "gender": "female"},
                "recipients": [f"+3069{index:08d}" for index in range(BURST_RECIPIENTS)],
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
            timeout=60,
        )
        assert created.status_code == 201, created.text
        campaign = f"{api}/campaigns/{created.json()['campaignId']}"
        deadline = time.monotonic() + 120
        while not requests.get(campaign, timeout=30).json()["counts"]["final"]:  # callbacks are landing
            assert time.monotonic() < deadline, "no callback was recorded"
            time.sleep(0.2)

        process.send_signal(stop_signal)
        sent_at = time.monotonic()

        assert process.wait(timeout=STOP_DEADLINE_SECONDS + 5) == 0
        assert time.monotonic() - sent_at < STOP_DEADLINE_SECONDS
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
