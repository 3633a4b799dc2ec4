"""`make invoke EVENT=...` (python -m local.invoke): a sample event through its function, printed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from local.template import ROOT

pytestmark = pytest.mark.e2e


def invoke(event: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local.invoke", event],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={"PATH": "/usr/bin:/bin", "LOG_LEVEL": "WARNING"},  # as from a clean shell
    )


def answer(run: subprocess.CompletedProcess[str]) -> dict:
    # The function's own log lines come first; the answer is the indented document at the end.
    text = run.stdout[run.stdout.index("\n{\n") + 1 :] if not run.stdout.startswith("{\n") else run.stdout
    parsed: dict = json.loads(text)
    return parsed


def test_a_signed_sample_callback_is_recorded() -> None:
    run = invoke("events/callback-ringing.json")
    assert run.returncode == 0, run.stderr
    assert "CallbackFunction answered:" in run.stderr
    assert answer(run)["statusCode"] == 200
    assert answer(run)["body"]["applied"] is True


def test_a_file_that_names_no_function_is_one_line() -> None:
    run = invoke("events/schemas/CONSUMERS.md")
    assert run.returncode == 2
    assert run.stderr.startswith("error: CONSUMERS.md names no function")
    assert len(run.stderr.strip().splitlines()) == 1
