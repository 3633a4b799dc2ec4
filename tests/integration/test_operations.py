"""What on-call sees: the template's dashboard and alarms, and the metric names the code emits.

The dashboard is created from template.yaml in moto and read back; the names it charts in the
VoiceStatus namespace, and the README's list, are compared with the metrics the functions emit
(found in their source), so a renamed metric cannot leave a silent chart behind.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import pytest

from local.template import ROOT, resources_of_type
from tests.conftest import TestStack, load_event

NAMESPACE = "VoiceStatus"
DASHBOARD = "OperationsDashboard"


def emitted_metrics() -> tuple[set[str], set[str]]:
    """(exact names, f-string prefixes) of every metric the functions' code adds."""
    names: set[str] = set()
    prefixes: set[str] = set()
    for source in ROOT.glob("functions/*/app.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_metric"):
                continue
            name = next(keyword.value for keyword in node.keywords if keyword.arg == "name")
            for part in ast.walk(name):
                if isinstance(part, ast.JoinedStr):
                    first = part.values[0]
                    assert isinstance(first, ast.Constant)
                    prefixes.add(str(first.value))
                    break
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    names.add(part.value)
    return names, prefixes


def is_emitted(name: str) -> bool:
    names, prefixes = emitted_metrics()
    return name in names or any(name.startswith(prefix) for prefix in prefixes)


def dashboard_body(stack: TestStack) -> dict[str, Any]:
    name = stack.stack.resolver.physical[DASHBOARD]
    body: dict[str, Any] = json.loads(
        stack.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"]
    )
    return body


def charted(body: dict[str, Any], namespace: str, metric_name: str | None = None) -> list[list[Any]]:
    rows = []
    for widget in body["widgets"]:
        for row in widget["properties"].get("metrics", []):
            if row[0] == namespace and (metric_name is None or row[1] == metric_name):
                rows.append(row)
    return rows


def test_the_dashboard_charts_only_metrics_the_code_emits(stack: TestStack) -> None:
    body = dashboard_body(stack)
    names = {row[1] for row in charted(body, NAMESPACE)}
    assert names, "no VoiceStatus metric on the dashboard"
    assert {name for name in names if not is_emitted(name)} == set()
    assert {
        "CallbacksApplied",
        "CallbacksRejected",
        "CallbacksFailed",
        "CampaignsFinished",
        "CampaignsFailed",
    } <= names


def test_the_dashboard_shows_errors_and_throttles_of_every_function_and_every_alarm(stack: TestStack) -> None:
    body = dashboard_body(stack)
    functions = {
        stack.stack.resolver.resource_name(logical_id)
        for logical_id in resources_of_type(stack.stack.resolver.template, "AWS::Serverless::Function")
    }
    for metric_name in ("Errors", "Throttles"):
        assert {row[3] for row in charted(body, "AWS/Lambda", metric_name)} == functions
    alarms = {alarm["AlarmArn"] for alarm in stack.client("cloudwatch").describe_alarms()["MetricAlarms"]}
    shown = {
        arn
        for widget in body["widgets"]
        if widget["type"] == "alarm"
        for arn in widget["properties"]["alarms"]
    }
    assert shown == alarms


@pytest.mark.parametrize(
    ("alarm", "signal"),
    [
        ("StreamIteratorAgeAlarm", "IteratorAge"),
        ("LambdaErrorsAlarm", "Errors"),
        ("LambdaThrottlesAlarm", "Throttles"),
        ("Api5xxAlarm", "5XXError"),
        ("WorkflowExecutionsFailedAlarm", "ExecutionsFailed"),
        ("WorkflowExecutionsFailedAlarm", "ExecutionsTimedOut"),
        ("CallbacksFailedAlarm", "CallbacksFailed"),
    ],
)
def test_each_failure_signal_has_an_alarm(stack: TestStack, alarm: str, signal: str) -> None:
    name = stack.stack.resolver.physical[alarm]
    found = stack.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    watched = {found.get("MetricName")} | {
        query["MetricStat"]["Metric"]["MetricName"]
        for query in found.get("Metrics", [])
        if "MetricStat" in query
    }
    assert signal in watched


def test_the_readme_lists_exactly_the_metrics_the_code_emits() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("- Metrics (namespace `VoiceStatus`", 1)[1].split("\n- ", 1)[0]
    listed = set(re.findall(r"`([A-Z][A-Za-z]+)`", section))
    names, prefixes = emitted_metrics()
    assert names - listed == set(), "emitted but not in the README"
    assert {name for name in listed if not is_emitted(name)} == set(), "in the README but never emitted"
    for prefix in prefixes:
        assert any(name.startswith(prefix) for name in listed), f"no {prefix}* metric in the README"


def test_finalized_messages_are_counted_per_status(
    stack: TestStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "0")
    stack.invoke("StreamPublisherFunction", load_event("stream_publisher-mixed-batch.json"))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    by_status = {
        line["status"]: line["MessagesFinalizedByStatus"]
        for line in lines
        if "MessagesFinalizedByStatus" in line
    }
    assert by_status, "no MessagesFinalizedByStatus metric was emitted"
    for line in lines:
        if "MessagesFinalizedByStatus" in line:
            assert set(line["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == {"status", "service"}
