"""Handlers run in this process as Lambda runs them, without output Lambda would not produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.functions import FunctionSpec, LocalFunctions

COUNTING_HANDLER = """
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

metrics = Metrics(namespace="Test", service="test")


@metrics.log_metrics
def handler(event, context):
    metrics.add_metric(name="Counted", unit=MetricUnit.Count, value=1)
    return {"ok": True}
"""


def test_disabled_metrics_print_nothing_however_many_invocations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "1")
    (tmp_path / "app.py").write_text(COUNTING_HANDLER)
    spec = FunctionSpec(
        logical_id="CountingFunction",
        name="counting",
        arn="arn:aws:lambda:us-east-1:123456789012:function:counting",
        code_dir=str(tmp_path),
        handler="app.handler",
        timeout=3,
        memory_mb=128,
        environment={},
        layer_dirs=[],
    )
    functions = LocalFunctions({spec.logical_id: spec})
    for _ in range(250):  # Powertools prints a metric's values once it holds 100 of them
        assert functions.invoke("counting", {}) == {"ok": True}
    assert '"_aws"' not in capsys.readouterr().out
