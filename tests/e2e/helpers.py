"""Talking to the offline stack the way its users do: HTTP to the API, boto3 to its AWS endpoint."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests

from local.stack import LocalStack
from voice_status.campaign.model import Message
from voice_status.campaign.store import CampaignStore
from voice_status.signing import sign_campaign

HTTP_TIMEOUT_SECONDS = 10
DISPATCH_DEADLINE_SECONDS = 60
POLL_SECONDS = 0.1


def callback_path(campaign_id: str, signature: str) -> str:
    return f"/callbacks/voice/{campaign_id}/{signature}"


def post_callback(
    stack: LocalStack, campaign_id: str, body: Any, signature: str | None = None
) -> requests.Response:
    """POST a callback over HTTP, signed for `campaign_id` unless `signature` is given; `body` is
    sent as JSON unless it is already bytes."""
    signature = sign_campaign(stack.secret(), campaign_id) if signature is None else signature
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(
        stack.api_url + callback_path(campaign_id, signature),
        data=data,
        headers={"Content-Type": "application/json"},
        timeout=HTTP_TIMEOUT_SECONDS,
    )


def callback_body(message_id: str, to: str, status: str, at: str, **extra: Any) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "to": to,
        "from": "+302100000000",
        "status": {"name": status, "updatedDate": at},
        **extra,
    }


def new_id() -> str:
    return str(uuid.uuid4())


def get(stack: LocalStack, path: str, **params: str) -> requests.Response:
    return requests.get(stack.api_url + path, params=params, timeout=HTTP_TIMEOUT_SECONDS)


def create_campaign(
    stack: LocalStack, recipients: list[str], scheduled_at: str | None = None
) -> dict[str, Any]:
    """POST /campaigns: a text campaign to `recipients`, starting now or at `scheduled_at`."""
    body: dict[str, Any] = {
        "name": "End-to-end callbacks",
        "from": "+302100000000",
        "message": {"text": "This is a test call."},
        "recipients": recipients,
    }
    if scheduled_at is not None:
        body["scheduledAt"] = scheduled_at
    response = requests.post(f"{stack.api_url}/campaigns", json=body, timeout=HTTP_TIMEOUT_SECONDS)
    assert response.status_code == 201, response.text
    campaign: dict[str, Any] = response.json()
    return campaign


def listed_messages(stack: LocalStack, campaign_id: str, **params: str) -> list[dict[str, Any]]:
    """Every message GET /campaigns/{id}/messages lists, all pages."""
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = get(
            stack, f"/campaigns/{campaign_id}/messages", **params, **({"nextToken": token} if token else {})
        )
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        token = page.json()["nextToken"]
        if not token:
            return items


def dispatched_campaign(stack: LocalStack, recipients: list[str]) -> str:
    """A campaign created over HTTP whose recipients are all handed to the provider (each listed by
    GET /campaigns/{id}/messages) and whose workflow has moved on to Sent: what callbacks need."""
    campaign_id = str(create_campaign(stack, recipients)["campaignId"])
    deadline = time.monotonic() + DISPATCH_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        status = get(stack, f"/campaigns/{campaign_id}").json()["status"]
        if status == "Failed":
            pytest.fail(f"campaign {campaign_id} failed before its recipients were dispatched")
        listed = {item["to"] for item in listed_messages(stack, campaign_id)}
        if status == "Sent" and listed == set(recipients):
            return campaign_id
        time.sleep(POLL_SECONDS)
    pytest.fail(f"campaign {campaign_id}'s recipients not dispatched within {DISPATCH_DEADLINE_SECONDS} s")


def listed_message(stack: LocalStack, campaign_id: str, to: str) -> dict[str, Any]:
    """The campaign's message for recipient `to`, as GET /campaigns/{id}/messages lists it."""
    found = [item for item in listed_messages(stack, campaign_id) if item["to"] == to]
    assert len(found) == 1, found
    return found[0]


def stored_message(stack: LocalStack, message_id: str) -> Message | None:
    """The stored message, read through the stack's AWS endpoint with the service's own store."""
    return CampaignStore(stack.client("dynamodb"), stack.outputs["TableName"]).get_message(message_id)


def table_item_count(stack: LocalStack) -> int:
    pages = (
        stack.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=stack.outputs["TableName"], Select="COUNT")
    )
    return sum(page["Count"] for page in pages)
