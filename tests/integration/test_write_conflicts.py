"""Conflicts and throttling on the callback path back off and retry within a bounded time; a
callback that still cannot be stored answers 503 (the provider retries) and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.workflow.support import Campaigns
from voice_status.campaign.store import CampaignStore, WriteRetryPolicy
from voice_status.errors import StorageBusy
from voice_status.reports import StatusReport
from voice_status.signing import sign_campaign

NUMBERS = ["+306900000001", "+306900000002"]


class Conflicting:
    """A DynamoDB client whose first `conflicts` transactions are cancelled for a conflict (or
    throttled), as concurrent final callbacks on one counter shard can be; the rest go through."""

    def __init__(self, client: Any, conflicts: int, code: str = "TransactionConflict") -> None:
        self._client = client
        self.conflicts = conflicts
        self.code = code
        self.attempts = 0

    def transact_write_items(self, **request: Any) -> Any:
        self.attempts += 1
        if self.attempts <= self.conflicts:
            reasons = [{"Code": self.code} for _ in request["TransactItems"]]
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": reasons,
                },  # type: ignore[typeddict-unknown-key]
                "TransactWriteItems",
            )
        return self._client.transact_write_items(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _report(message_id: str, to: str, status: str) -> StatusReport:
    return StatusReport.parse(
        {"messageId": message_id, "to": to, "status": {"name": status, "updatedDate": "2026-11-27T09:00:00Z"}}
    )


@pytest.mark.parametrize("code", ["TransactionConflict", "ThrottlingError"])
def test_a_conflicting_final_callback_is_retried_and_counted_once(campaigns: Campaigns, code: str) -> None:
    campaign_id = campaigns.dispatched(NUMBERS)
    client = Conflicting(campaigns.stack.client("dynamodb"), conflicts=3, code=code)
    sleeps: list[float] = []
    store = CampaignStore(client, campaigns.stack.outputs["TableName"], sleep=sleeps.append)

    result = store.record_report(campaign_id, _report("m-1", NUMBERS[0], "Completed"))

    assert (result.applied, result.became_final, result.write_retries) == (True, True, 3)
    assert len(sleeps) == 3 and all(0 <= pause <= WriteRetryPolicy().max_delay_seconds for pause in sleeps)
    assert campaigns.counts(campaign_id)["final"] == {"Completed": 1}


def test_conflicts_beyond_the_budget_give_up_without_writing(campaigns: Campaigns) -> None:
    campaign_id = campaigns.dispatched(NUMBERS)
    client = Conflicting(campaigns.stack.client("dynamodb"), conflicts=10**6)
    store = CampaignStore(
        client,
        campaigns.stack.outputs["TableName"],
        retry=WriteRetryPolicy(budget_seconds=0.05),
        sleep=lambda _: None,
    )

    with pytest.raises(StorageBusy):
        store.record_report(campaign_id, _report("m-1", NUMBERS[0], "Busy"))

    assert client.attempts > 1
    assert campaigns.counts(campaign_id)["final"] == {}
    assert campaigns.store.get_message("m-1") is None


def test_a_callback_that_cannot_be_stored_answers_503_json(
    campaigns: Campaigns, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = campaigns.dispatched(NUMBERS)
    module = campaigns.stack.functions.module("CallbackFunction")
    busy = CampaignStore(
        Conflicting(campaigns.stack.client("dynamodb"), conflicts=10**6),
        campaigns.stack.outputs["TableName"],
        retry=WriteRetryPolicy(budget_seconds=0.05),
        sleep=lambda _: None,
    )
    monkeypatch.setattr(module, "store", busy)
    path = f"/callbacks/voice/{campaign_id}/{sign_campaign(campaigns.stack.secret(), campaign_id)}"
    body = {
        "messageId": "m-2",
        "to": NUMBERS[1],
        "status": {"name": "Completed", "updatedDate": "2026-11-27T09:00:00Z"},
    }

    response = campaigns.stack.api("POST", path, body)

    assert response.status_code == 503
    assert response.body == {"error": "storage is busy; retry later", "details": []}
    assert campaigns.counts(campaign_id)["final"] == {}
