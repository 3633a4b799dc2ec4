"""The deployed shape, read from the SAM-transformed template (what CloudFormation receives).

SAM adds things that the source template does not show (integration credentials, managed
policies, stage settings), so these checks run on its output, made by the same translator that
`sam deploy` uses: aws-sam-translator, installed with the SAM CLI in its own virtualenv
(.venv/sam, which `make venv` creates), run there in a subprocess.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from local.template import ROOT, load_template

SAM_PYTHON = ROOT / ".venv" / "sam" / "bin" / "python"
_TRANSFORM = """
import json, sys
from samtranslator.translator.transform import transform

class NoManagedPolicyNames:
    # The template names no managed policy by name; SAM asks IAM only to resolve such names.
    def load(self):
        return {}

template, values = json.load(sys.stdin)
json.dump(transform(template, values, NoManagedPolicyNames()), sys.stdout)
"""

ALLOWED_MANAGED_POLICIES = {
    # Logs of the function's own groups; the groups themselves are created by the stack.
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    # X-Ray's write APIs take no resource.
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}
# Actions that AWS documents as taking no resource, so "*" is their only possible scope.
RESOURCELESS_ACTIONS = re.compile(
    r"^(xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)"
    r"|cloudwatch:PutMetricData"
    # Step Functions' log delivery to CloudWatch Logs (the state machine's logging).
    r"|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries"
    r"|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))$"
)


def _transformed(parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    template = copy.deepcopy(load_template())
    for resource in template["Resources"].values():
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):  # sam package would upload these
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = "s3://bucket/key"
    values = {"AWS::Region": "us-east-1", "AWS::Partition": "aws", **(parameters or {})}
    if not Path(SAM_PYTHON).exists():
        pytest.fail(f"{SAM_PYTHON} is missing: `make venv` installs the SAM CLI there")
    answer = subprocess.run(
        [str(SAM_PYTHON), "-c", _TRANSFORM],
        input=json.dumps([template, values], default=str),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},  # SAM also asks boto3 for the region
    )
    transformed: dict[str, Any] = json.loads(answer.stdout)
    return transformed


@pytest.fixture(scope="module")
def deployed() -> dict[str, Any]:
    return _transformed()


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def _openapi(deployed: dict[str, Any]) -> dict[str, Any]:
    [api] = _of_type(deployed, "AWS::ApiGateway::RestApi").values()
    return api["Properties"]["Body"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_route_invokes_its_function_with_the_callers_credentials(deployed: dict[str, Any]) -> None:
    routes = [
        (path, method, operation["x-amazon-apigateway-integration"])
        for path, operations in _openapi(deployed)["paths"].items()
        for method, operation in operations.items()
    ]
    assert len(routes) >= 7
    assert [(path, method) for path, method, integration in routes if "credentials" in integration] == []
    # Without credentials API Gateway needs the function's permission instead: one per route.
    assert len(_of_type(deployed, "AWS::Lambda::Permission")) == len(routes)


def test_api_gateways_own_errors_answer_in_the_contract_shape(deployed: dict[str, Any]) -> None:
    responses = _openapi(deployed)["x-amazon-apigateway-gateway-responses"]
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        template = responses[kind]["responseTemplates"]["application/json"]
        # messageString is a quoted JSON string already; the template must stay JSON once filled.
        filled = json.loads(template.replace("$context.error.messageString", json.dumps("Forbidden")))
        assert filled["error"] == "Forbidden"


def test_every_function_logs_to_a_log_group_that_expires(deployed: dict[str, Any]) -> None:
    groups = _of_type(deployed, "AWS::Logs::LogGroup")
    functions = _of_type(deployed, "AWS::Lambda::Function")
    assert len(functions) >= 8
    for name, function in functions.items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
    [stage] = _of_type(deployed, "AWS::ApiGateway::Stage").values()
    access_log = stage["Properties"]["AccessLogSetting"]
    assert groups[access_log["DestinationArn"]["Fn::GetAtt"][0]]["Properties"]["RetentionInDays"] == {
        "Ref": "LogRetentionDays"
    }
    [machine] = _of_type(deployed, "AWS::StepFunctions::StateMachine").values()
    [destination] = machine["Properties"]["LoggingConfiguration"]["Destinations"]
    machine_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert groups[machine_group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_no_log_or_trace_records_a_callback_url(deployed: dict[str, Any]) -> None:
    [stage] = _of_type(deployed, "AWS::ApiGateway::Stage").values()
    log_format = stage["Properties"]["AccessLogSetting"]["Format"]
    json.loads(log_format)  # one JSON object per line
    assert "$context.resourcePath" in log_format
    assert "$context.path" not in log_format  # the request path holds a callback's signature
    assert stage["Properties"]["TracingEnabled"] is False  # API Gateway's trace records the URL
    assert not any(setting.get("DataTraceEnabled") for setting in stage["Properties"]["MethodSettings"])
    for name, function in _of_type(deployed, "AWS::Lambda::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false", name


def test_the_callback_route_has_a_throttle_of_its_own(deployed: dict[str, Any]) -> None:
    [stage] = _of_type(deployed, "AWS::ApiGateway::Stage").values()
    settings = {s["ResourcePath"]: s for s in stage["Properties"]["MethodSettings"]}
    callback = settings["/~1callbacks~1voice~1{campaignId}~1{signature}"]
    assert (callback["HttpMethod"], callback["ThrottlingRateLimit"]) == (
        "POST",
        {"Ref": "CallbackThrottleRateLimit"},
    )


def test_no_iam_statement_grants_every_action_or_every_resource(deployed: dict[str, Any]) -> None:
    wide = []
    for name, role in _of_type(deployed, "AWS::IAM::Role").items():
        assert set(role["Properties"].get("ManagedPolicyArns", [])) <= ALLOWED_MANAGED_POLICIES, name
        for policy in role["Properties"].get("Policies", []):
            for statement in _as_list(policy["PolicyDocument"]["Statement"]):
                actions = _as_list(statement["Action"])
                wide += [(name, action) for action in actions if action == "*" or action.endswith(":*")]
                if "*" in _as_list(statement["Resource"]):
                    wide += [(name, action) for action in actions if not RESOURCELESS_ACTIONS.match(action)]
    assert wide == []


def test_the_stream_publisher_reads_only_the_tables_stream(deployed: dict[str, Any]) -> None:
    role = deployed["Resources"]["StreamPublisherRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in _as_list(p["PolicyDocument"]["Statement"])]
    stream_reads = [s for s in statements if any(a.startswith("dynamodb:") for a in _as_list(s["Action"]))]
    assert {json.dumps(s["Resource"]) for s in stream_reads} == {
        json.dumps({"Fn::GetAtt": ["VoiceTable", "StreamArn"]}),
        json.dumps({"Fn::Sub": "${VoiceTable.Arn}/stream/*"}),
    }


def test_the_table_is_protected_and_expires_phone_numbers(deployed: dict[str, Any]) -> None:
    table = deployed["Resources"]["VoiceTable"]["Properties"]
    assert table["DeletionProtectionEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://connect.routee.net", True),
        ("https://auth.routee.net/oauth/token", True),
        ("http://127.0.0.1:4010/oauth/token", True),  # the offline stack's simulated carrier
        ("http://connect.routee.net", False),
        ("http://127.0.0.1.example.com/x", False),
        ("ftp://connect.routee.net", False),
        ("https://", False),
    ],
)
def test_routee_urls_must_be_https(url: str, accepted: bool) -> None:
    parameters = load_template()["Parameters"]
    for name in ("RouteeAuthUrl", "RouteeApiUrl"):
        # CloudFormation matches AllowedPattern against the whole value.
        assert bool(re.fullmatch(parameters[name]["AllowedPattern"], url)) is accepted, name


def test_a_deployment_refuses_the_simulated_provider() -> None:
    [rule] = load_template()["Rules"].values()
    assert rule["Assertions"] == [
        {
            "Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "VoiceProvider"}, "simulated"]}]},
            "AssertDescription": rule["Assertions"][0]["AssertDescription"],
        }
    ]


def test_optional_edge_protection_is_off_by_default(deployed: dict[str, Any]) -> None:
    conditions = deployed["Conditions"]
    for resource in ("CallbackWebAcl", "CallbackWebAclAssociation"):
        assert deployed["Resources"][resource]["Condition"] == "HasCallbackWafRule"
    assert conditions["HasCallbackWafRule"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CallbackWafRateLimit"}, 0]}]
    }
    assert deployed["Parameters"]["CallbackWafRateLimit"]["Default"] == 0
    assert deployed["Parameters"]["CallbackAllowedCidrs"]["Default"] == ""
    allow, deny = _openapi(deployed)["x-amazon-apigateway-policy"]["Statement"]
    assert allow["Effect"] == "Allow" and allow["Resource"] == "execute-api:/*/POST/callbacks/voice/*"
    assert deny["Fn::If"][0] == "HasCallbackAllowedCidrs"


def test_allowed_cidrs_deny_every_other_source_on_the_callback_route() -> None:
    guarded = _transformed({"CallbackAllowedCidrs": ["203.0.113.0/24", "198.51.100.7/32"]})
    deny = _openapi(guarded)["x-amazon-apigateway-policy"]["Statement"][1]["Fn::If"][1]
    assert (deny["Effect"], deny["Resource"]) == ("Deny", "execute-api:/*/POST/callbacks/voice/*")
    assert deny["Condition"] == {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.7/32"]}}
