"""The offline stack's resources come from template.yaml, conditions included."""

from __future__ import annotations

import boto3
from moto import mock_aws

from local.resources import create_stack

WEBHOOK = {"NotificationWebhookUrl": "https://hooks.example.test/voice", "NotificationWebhookApiKey": "k"}


def _rules(session: boto3.Session, bus: str) -> dict[str, list[dict]]:
    events = session.client("events")
    return {
        rule["Name"]: events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
        for rule in events.list_rules(EventBusName=bus)["Rules"]
        if not rule["Name"].startswith("Events-Archive-")  # the archive's own managed rule
    }


def test_without_a_webhook_only_the_queue_rule_exists() -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        stack = create_stack(session)
        rules = _rules(session, stack.outputs["EventBusName"])
        assert list(rules) == ["voice-status-local-FinalStateNotificationsRule"]
        (target,) = rules["voice-status-local-FinalStateNotificationsRule"]
        assert target["Arn"].endswith(":voice-status-local-NotificationsQueue")
        assert target["DeadLetterConfig"]["Arn"].endswith(":voice-status-local-NotificationsDeadLetterQueue")


def test_with_a_webhook_campaign_events_also_go_to_its_api_destination() -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        stack = create_stack(session, parameters=WEBHOOK)
        rules = _rules(session, stack.outputs["EventBusName"])
        (target,) = rules["voice-status-local-CampaignWebhookRule"]
        destination = session.client("events").describe_api_destination(
            Name="voice-status-local-WebhookDestination"
        )
        assert target["Arn"] == destination["ApiDestinationArn"]
        assert destination["InvocationEndpoint"] == WEBHOOK["NotificationWebhookUrl"]
        assert target["RoleArn"].endswith(":role/voice-status-local-WebhookRuleRole")


def test_alarms_watch_the_dead_letter_queues_and_notify_the_topic_when_given() -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:on-call"
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        create_stack(session, parameters={"AlarmTopicArn": topic})
        alarms = {
            alarm["AlarmName"]: alarm
            for alarm in session.client("cloudwatch").describe_alarms()["MetricAlarms"]
        }
        dead_letters = alarms["voice-status-local-StreamPublisherDeadLettersAlarm"]
        assert dead_letters["Dimensions"] == [
            {"Name": "QueueName", "Value": "voice-status-local-StreamPublisherDeadLetterQueue"}
        ]
        assert all(alarm["AlarmActions"] == [topic] for alarm in alarms.values())
        assert "voice-status-local-NotificationsDeadLettersAlarm" in alarms
        assert "voice-status-local-CallbacksFailedAlarm" in alarms
