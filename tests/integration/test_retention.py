"""Phone numbers are not kept forever: every record that holds one carries the table's TTL
attribute (read from template.yaml), set to at least `RetentionDays` after the latest time its
campaign can still be running, so DynamoDB deletes it once that has passed."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Any

from tests.workflow.support import Campaigns
from voice_status.campaign.requests import MAX_COMPLETION_TIMEOUT_SECONDS
from voice_status.campaign.store import DEFAULT_RETENTION, RECONCILIATION_MARGIN
from voice_status.signing import sign_campaign

PHONE = re.compile(r"\+[1-9][0-9]{6,14}")
NUMBERS = ["+306900000001", "+306900000002"]


def _holds_a_phone_number(item: dict[str, Any]) -> bool:
    return bool(PHONE.search(json.dumps(item)))


def test_every_record_with_a_phone_number_expires_after_the_retention_period(
    campaigns: Campaigns, template: dict[str, Any]
) -> None:
    ttl = template["Resources"]["VoiceTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl["Enabled"] is True
    started = time.time()
    campaign_id = campaigns.dispatched(NUMBERS)
    path = f"/callbacks/voice/{campaign_id}/{sign_campaign(campaigns.stack.secret(), campaign_id)}"
    body = {
        "messageId": "m-1",
        "to": NUMBERS[0],
        "status": {"name": "Ringing", "updatedDate": "2026-11-27T09:00:00Z"},
    }
    assert campaigns.stack.api("POST", path, body).status_code == 200

    items = campaigns.stack.client("dynamodb").scan(TableName=campaigns.stack.outputs["TableName"])["Items"]
    # The campaign item keeps only the caller id, the team's own number.
    with_numbers = [item for item in items if _holds_a_phone_number(item) and item["sk"]["S"] != "CAMPAIGN"]
    assert {item["sk"]["S"].split("#")[0] for item in with_numbers} == {"CHUNK", "MESSAGE", "MESSAGEID"}
    retention = (DEFAULT_RETENTION + RECONCILIATION_MARGIN).total_seconds()
    for item in with_numbers:
        expires_at = int(item[ttl["AttributeName"]]["N"])
        # At least the retention after the longest the campaign can run, at most the longest wait.
        assert expires_at >= started + retention, item["sk"]
        longest = timedelta(seconds=MAX_COMPLETION_TIMEOUT_SECONDS).total_seconds()
        assert expires_at <= time.time() + retention + longest, item["sk"]
