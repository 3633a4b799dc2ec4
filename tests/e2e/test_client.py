"""The `voice-status` client against the offline stack, run as an operator runs it.

The main journey runs the installed console script in a subprocess (entry point, default API from
the stack's outputs file, exit codes); the error cases call the same entry point in-process.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from local.stack import LocalStack
from voice_status_cli.main import main

pytestmark = pytest.mark.e2e

SCRIPT = Path(sys.executable).parent / "voice-status"
COMMAND_TIMEOUT_SECONDS = 120
# Last digit picks the simulated carrier's lifecycle; none ends in 9 (only reconciliation ends those).
RECIPIENTS = [
    "+306900000010",
    "+306900000014",
    "+306900000015",
    "+306900000016",
    "+306900000017",
    "+306900000018",
]
EXPECTED_FINAL = {
    "+306900000010": "Completed",
    "+306900000014": "Busy",
    "+306900000015": "NoAnswer",
    "+306900000016": "Failed",
    "+306900000017": "Unsent",
    "+306900000018": "Terminated",
}


def voice_status(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), f"{SCRIPT} is missing: `make venv` installs the voice-status command"
    env = {**os.environ, "LOCAL_OUTPUTS_FILE": str(stack.settings.outputs_file), "COLUMNS": "200"}
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )


def test_a_campaign_from_a_csv_is_created_watched_to_its_end_and_exported(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    recipients_file = tmp_path / "recipients.csv"
    recipients_file.write_text("phone,name\n" + "".join(f"{number},someone\n" for number in RECIPIENTS))

    created = voice_status(
        local_stack, "create", "--name", "CLI journey", "--from", "+302100000000",
        "--text", "Hello", "--recipients-file", str(recipients_file),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    campaign_id = created.stdout.strip().splitlines()[-1]
    assert campaign_id and " " not in campaign_id

    watched = voice_status(local_stack, "watch", campaign_id, "--interval", "0.2")
    assert watched.returncode == 0, watched.stderr
    assert "Finished" in watched.stdout

    listed = voice_status(local_stack, "list", "--status", "Finished")
    assert listed.returncode == 0, listed.stderr
    assert campaign_id in listed.stdout and "CLI journey" in listed.stdout
    running = voice_status(local_stack, "list", "--status", "Running")
    assert running.returncode == 0, running.stderr
    assert campaign_id not in running.stdout

    shown = voice_status(local_stack, "show", campaign_id)
    assert shown.returncode == 0, shown.stderr
    assert "CLI journey" in shown.stdout and "Finished" in shown.stdout

    busy = voice_status(local_stack, "messages", campaign_id, "--status", "busy")
    assert busy.returncode == 0, busy.stderr
    assert "+306900000014" in busy.stdout and "+306900000010" not in busy.stdout

    export_file = tmp_path / "results.csv"
    exported = voice_status(local_stack, "export", campaign_id, "--output", str(export_file))
    assert exported.returncode == 0, exported.stderr
    with export_file.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["to", "messageId", "status", "final", "duration", "price", "updatedAt"]
    assert {row["to"]: row["status"] for row in rows} == EXPECTED_FINAL
    assert all(row["final"] == "true" and row["messageId"] and row["updatedAt"] for row in rows)


def test_watch_exits_1_when_the_campaign_fails(local_stack: LocalStack) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    created = voice_status(
        local_stack, "create", "--name", "Cancelled", "--from", "+302100000000",
        "--audio-url", "https://example.com/hello.wav", "--to", "+306900000020", "--scheduled-at", later,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    campaign_id = created.stdout.strip().splitlines()[-1]

    cancelled = voice_status(local_stack, "cancel", campaign_id)
    assert cancelled.returncode == 0, cancelled.stderr
    assert "Failed" in cancelled.stdout and "Cancelled" in cancelled.stdout

    watched = voice_status(local_stack, "watch", campaign_id)
    assert watched.returncode == 1
    assert "Failed (Cancelled)" in watched.stdout


def run_in_process(stack: LocalStack, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main([*args, "--api", stack.api_url])
    captured = capsys.readouterr()
    return code, captured.err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["show", "no-such-campaign"], "error: campaign no-such-campaign not found (HTTP 404)"),
        (["cancel", "no-such-campaign"], "(HTTP 404)"),
        (["messages", "no-such-campaign"], "(HTTP 404)"),
        (
            ["create", "--name", "x", "--from", "+302100000000", "--text", "t", "--to", "0690"],
            "error: --to '0690' is not an E.164 number",
        ),
        (
            ["create", "--name", "x", "--from", "+302100000000", "--to", "+306900000001"],
            "exactly one of --text",
        ),
        (
            ["create", "--name", "x", "--from", "bad", "--text", "t", "--to", "+306900000001"],
            "request validation failed (HTTP 422): from: String should match pattern",
        ),
        (["watch"], "error: Missing argument 'CAMPAIGN_ID'."),
    ],
)
def test_bad_input_gets_one_line_and_a_non_zero_exit(
    local_stack: LocalStack, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    code, err = run_in_process(local_stack, capsys, *args)
    assert code == 2
    assert expected in err
    assert len(err.strip().splitlines()) == 1, err


def test_an_unreachable_api_is_one_line(capsys: pytest.CaptureFixture[str], unused_port: int) -> None:
    code = main(["show", "some-campaign", "--api", f"http://127.0.0.1:{unused_port}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"error: cannot reach the API at http://127.0.0.1:{unused_port} (is the stack running?)\n"


def test_without_api_and_without_a_local_stack_says_how_to_start_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOCAL_OUTPUTS_FILE", str(tmp_path / "missing.json"))
    code = main(["list"])
    assert code == 2
    assert "start the local stack (make local) or pass --api URL" in capsys.readouterr().err


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
