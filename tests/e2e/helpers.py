"""Talking to the offline stack the way its users do: HTTP to the API, boto3 to its AWS endpoint."""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests

from local.stack import LocalStack
from voice_status.signing import sign_campaign

HTTP_TIMEOUT_SECONDS = 10


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


def callback_body(message_id: str, status: str, at: str, **extra: Any) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "to": "+306900000001",
        "from": "+302100000000",
        "status": {"name": status, "updatedDate": at},
        **extra,
    }


def new_id() -> str:
    return str(uuid.uuid4())


def message_item(stack: LocalStack, message_id: str) -> dict[str, Any] | None:
    """The stored message, read through the stack's AWS endpoint as a user would with the CLI."""
    answer = stack.client("dynamodb").get_item(
        TableName=stack.outputs["TableName"],
        Key={"pk": {"S": f"MESSAGE#{message_id}"}, "sk": {"S": "MESSAGE"}},
        ConsistentRead=True,
    )
    item: dict[str, Any] | None = answer.get("Item")
    return item


def table_item_count(stack: LocalStack) -> int:
    pages = (
        stack.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=stack.outputs["TableName"], Select="COUNT")
    )
    return sum(page["Count"] for page in pages)
