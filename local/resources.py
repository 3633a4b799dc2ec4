"""Create the template's AWS resources in moto, from their Properties in template.yaml.

Only the resource types the stack uses are known here; an unknown type fails loudly so a
new resource in the template cannot silently go missing offline.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass
from typing import Any

import boto3

from local.template import ROOT, Resolver, load_template

# Types that need nothing locally: API Gateway is served by local/api_server.py, functions run
# in-process (local/functions.py), IAM is not enforced by moto, logs go to the console, and no
# WAF stands in front of a local port.
_NOTHING_TO_CREATE = {
    "AWS::Serverless::Function",
    "AWS::Serverless::LayerVersion",
    "AWS::Serverless::Api",
    "AWS::WAFv2::WebACL",
    "AWS::WAFv2::WebACLAssociation",
    # moto has no schema registry; tests check the registered documents against emitted events.
    "AWS::EventSchemas::Registry",
    "AWS::EventSchemas::Schema",
}
# Creation order: what others refer to comes first.
_ORDER = [
    "AWS::IAM::Role",
    "AWS::Logs::LogGroup",
    "AWS::DynamoDB::Table",
    "AWS::SecretsManager::Secret",
    "AWS::SQS::Queue",
    "AWS::Events::EventBus",
    "AWS::Events::Archive",
    "AWS::Events::Connection",
    "AWS::Events::ApiDestination",
    "AWS::Events::Rule",
    "AWS::SQS::QueuePolicy",
    "AWS::Serverless::StateMachine",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
]


@dataclass
class Stack:
    resolver: Resolver
    outputs: dict[str, str]


def _generate_secret(spec: dict[str, Any]) -> str:
    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
    return "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))


class _Creator:
    def __init__(self, session: boto3.Session, resolver: Resolver, endpoint_url: str | None) -> None:
        self.session = session
        self.resolver = resolver
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}

    def client(self, service: Any) -> Any:
        # One client per service for the whole stack: creating one costs more than most of the
        # calls it makes, and every test creates a stack.
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)
        return self._clients[service]

    def create(self, logical_id: str, resource: dict[str, Any]) -> None:
        kind = resource["Type"]
        if kind in _NOTHING_TO_CREATE:
            return
        creator = getattr(self, "_" + kind.replace("::", "_").lower(), None)
        if creator is None:
            raise NotImplementedError(
                f"{logical_id}: {kind} has no local equivalent yet (local/resources.py)"
            )
        creator(logical_id, self.resolver.resolve(resource.get("Properties", {})))

    def _aws_iam_role(self, logical_id: str, properties: dict[str, Any]) -> None:
        # moto does not enforce IAM: the role only needs an ARN for the resources naming it.
        name = properties.get("RoleName") or self.resolver.resource_name(logical_id)
        self.resolver.physical[logical_id] = name
        self.resolver.attributes[(logical_id, "Arn")] = f"arn:aws:iam::123456789012:role/{name}"

    def _aws_events_connection(self, logical_id: str, properties: dict[str, Any]) -> None:
        name = properties.get("Name") or self.resolver.resource_name(logical_id)
        arn = self.client("events").create_connection(
            Name=name,
            AuthorizationType=properties["AuthorizationType"],
            AuthParameters=properties["AuthParameters"],
        )["ConnectionArn"]
        self.resolver.physical[logical_id] = name
        self.resolver.attributes[(logical_id, "Arn")] = arn

    def _aws_events_apidestination(self, logical_id: str, properties: dict[str, Any]) -> None:
        name = properties.get("Name") or self.resolver.resource_name(logical_id)
        request = {key: properties[key] for key in ("ConnectionArn", "InvocationEndpoint", "HttpMethod")}
        if "InvocationRateLimitPerSecond" in properties:
            request["InvocationRateLimitPerSecond"] = int(properties["InvocationRateLimitPerSecond"])
        arn = self.client("events").create_api_destination(Name=name, **request)["ApiDestinationArn"]
        self.resolver.physical[logical_id] = name
        self.resolver.attributes[(logical_id, "Arn")] = arn

    def _aws_cloudwatch_alarm(self, logical_id: str, properties: dict[str, Any]) -> None:
        name = properties.get("AlarmName") or self.resolver.resource_name(logical_id)
        request = {key: value for key, value in properties.items() if key != "AlarmName"}
        for number in ("Period", "EvaluationPeriods"):  # a metric-math alarm has no Period of its own
            if number in request:
                request[number] = int(request[number])
        request["Threshold"] = float(request["Threshold"])
        cloudwatch = self.client("cloudwatch")
        cloudwatch.put_metric_alarm(AlarmName=name, **request)
        self.resolver.physical[logical_id] = name
        alarm = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
        self.resolver.attributes[(logical_id, "Arn")] = alarm["AlarmArn"]

    def _aws_cloudwatch_dashboard(self, logical_id: str, properties: dict[str, Any]) -> None:
        name = properties.get("DashboardName") or self.resolver.resource_name(logical_id)
        self.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=properties["DashboardBody"])
        self.resolver.physical[logical_id] = name

    def _aws_logs_loggroup(self, logical_id: str, properties: dict[str, Any]) -> None:
        name = properties.get("LogGroupName") or self.resolver.resource_name(logical_id)
        self.client("logs").create_log_group(logGroupName=name)
        region = self.session.region_name
        self.resolver.physical[logical_id] = name
        self.resolver.attributes[(logical_id, "Arn")] = (
            f"arn:aws:logs:{region}:123456789012:log-group:{name}:*"
        )

    def _aws_dynamodb_table(self, logical_id: str, properties: dict[str, Any]) -> None:
        name = properties.get("TableName") or self.resolver.resource_name(logical_id)
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "KeySchema": properties["KeySchema"],
            "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if properties.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
        if properties.get("StreamSpecification"):
            request["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
        dynamodb = self.client("dynamodb")
        table = dynamodb.create_table(**request)["TableDescription"]
        if properties.get("TimeToLiveSpecification"):
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification=properties["TimeToLiveSpecification"]
            )
        self.resolver.physical[logical_id] = name
        self.resolver.attributes[(logical_id, "Arn")] = table["TableArn"]
        if "LatestStreamArn" in table:
            self.resolver.attributes[(logical_id, "StreamArn")] = table["LatestStreamArn"]

    def _aws_secretsmanager_secret(self, logical_id: str, properties: dict[str, Any]) -> None:
        value = properties.get("SecretString") or _generate_secret(properties.get("GenerateSecretString", {}))
        name = properties.get("Name") or self.resolver.resource_name(logical_id)
        arn = self.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
        self.resolver.physical[logical_id] = arn
        self.resolver.attributes[(logical_id, "Id")] = arn

    def _aws_sqs_queue(self, logical_id: str, properties: dict[str, Any]) -> None:
        name = properties.get("QueueName") or self.resolver.resource_name(logical_id)
        attributes = {
            key: json.dumps(value) if isinstance(value, dict) else str(value)
            for key, value in properties.items()
            if key not in {"QueueName", "Tags", "SqsManagedSseEnabled", "KmsMasterKeyId"}
        }
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.resolver.physical[logical_id] = url
        self.resolver.attributes[(logical_id, "Arn")] = arn
        self.resolver.attributes[(logical_id, "QueueName")] = name
        self.resolver.attributes[(logical_id, "QueueUrl")] = url

    def _aws_events_eventbus(self, logical_id: str, properties: dict[str, Any]) -> None:
        name = properties.get("Name") or self.resolver.resource_name(logical_id)
        arn = self.client("events").create_event_bus(Name=name)["EventBusArn"]
        self.resolver.physical[logical_id] = name
        self.resolver.attributes[(logical_id, "Arn")] = arn
        self.resolver.attributes[(logical_id, "Name")] = name

    def _aws_events_archive(self, logical_id: str, properties: dict[str, Any]) -> None:
        name = properties.get("ArchiveName") or self.resolver.resource_name(logical_id)
        request = {"ArchiveName": name, "EventSourceArn": properties["SourceArn"]}
        if "RetentionDays" in properties:
            request["RetentionDays"] = int(properties["RetentionDays"])
        if "EventPattern" in properties:
            request["EventPattern"] = json.dumps(properties["EventPattern"])
        arn = self.client("events").create_archive(**request)["ArchiveArn"]
        self.resolver.physical[logical_id] = name
        self.resolver.attributes[(logical_id, "Arn")] = arn

    def _aws_events_rule(self, logical_id: str, properties: dict[str, Any]) -> None:
        name = properties.get("Name") or self.resolver.resource_name(logical_id)
        events = self.client("events")
        bus = properties.get("EventBusName", "default")
        arn = events.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern=json.dumps(properties["EventPattern"]),
            State=properties.get("State", "ENABLED"),
        )["RuleArn"]
        targets = [
            {
                key: value
                for key, value in target.items()
                if key
                in {
                    "Id",
                    "Arn",
                    "Input",
                    "InputPath",
                    "DeadLetterConfig",
                    "RetryPolicy",
                    "SqsParameters",
                    "RoleArn",
                }
            }
            for target in properties.get("Targets", [])
        ]
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        self.resolver.physical[logical_id] = name
        self.resolver.attributes[(logical_id, "Arn")] = arn

    def _aws_sqs_queuepolicy(self, logical_id: str, properties: dict[str, Any]) -> None:
        sqs = self.client("sqs")
        for url in properties["Queues"]:
            sqs.set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": json.dumps(properties["PolicyDocument"])}
            )

    def _aws_serverless_statemachine(self, logical_id: str, properties: dict[str, Any]) -> None:
        definition = (ROOT / properties["DefinitionUri"]).read_text()
        for key, value in (properties.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        name = properties.get("Name") or self.resolver.resource_name(logical_id)
        arn = self.client("stepfunctions").create_state_machine(
            name=name,
            definition=definition,
            roleArn=f"arn:aws:iam::123456789012:role/{name}",
            type=properties.get("Type", "STANDARD"),
        )["stateMachineArn"]
        self.resolver.physical[logical_id] = arn
        self.resolver.attributes[(logical_id, "Name")] = name
        self.resolver.attributes[(logical_id, "Arn")] = arn


def create_stack(
    session: boto3.Session,
    *,
    stack_name: str = "voice-status-local",
    parameters: dict[str, str] | None = None,
    endpoint_url: str | None = None,
    template: dict[str, Any] | None = None,
) -> Stack:
    """Create every resource of template.yaml in the moto behind `session` and return the Outputs."""
    template = template or load_template()
    resolver = Resolver(template, stack_name, session.region_name or "us-east-1", dict(parameters or {}))
    creator = _Creator(session, resolver, endpoint_url)
    resources = template["Resources"]
    unknown = {r["Type"] for r in resources.values()} - set(_ORDER) - _NOTHING_TO_CREATE
    if unknown:
        raise NotImplementedError(f"no local equivalent for {sorted(unknown)} (local/resources.py)")
    # By type order; a resource that refers to one not created yet waits for the next round.
    pending = sorted(
        (logical_id for logical_id, resource in resources.items() if resolver.is_enabled(resource)),
        key=lambda logical_id: (
            _ORDER.index(resources[logical_id]["Type"]) if resources[logical_id]["Type"] in _ORDER else -1
        ),
    )
    while pending:
        waiting = []
        for logical_id in pending:
            try:
                creator.create(logical_id, resources[logical_id])
            except KeyError:
                waiting.append(logical_id)
        if len(waiting) == len(pending):
            raise ValueError(f"cannot resolve references of {waiting} (a cycle, or a missing resource)")
        pending = waiting
    outputs = {}
    for name, output in (template.get("Outputs") or {}).items():
        if resolver.is_enabled(output):
            try:
                outputs[name] = str(resolver.resolve(output["Value"]))
            except KeyError:
                continue  # refers to something with no local equivalent (e.g. the API id)
    return Stack(resolver=resolver, outputs=outputs)
