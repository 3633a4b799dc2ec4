"""`sam local start-api` serving every route of the template from containers, against the offline
stack: a campaign created over HTTP, dispatched by the workflow, and a signed callback for one of
its recipients. (SAM does not emulate the AWS_IAM authorizer, so no request here is signed.)"""

from __future__ import annotations

from typing import Any

import requests

from local.api import api_routes, match_route
from tests.conftest import TestStack
from tests.container.conftest import INVOCATIONS, SamLocal, free_port
from tests.workflow.support import Campaigns
from voice_status.signing import sign_campaign
from voice_status.timeutil import now_iso

RECIPIENTS = ["+306900000001", "+306900000004"]


class Api:
    """HTTP to `sam local start-api`, remembering which template routes were called."""

    def __init__(self, base_url: str, stack: TestStack) -> None:
        self.base_url = base_url
        self.routes = api_routes(stack.functions.specs)
        self.called: set[tuple[str, str]] = set()

    def __call__(self, method: str, path: str, **options: Any) -> requests.Response:
        found = match_route(self.routes, method, path.split("?", 1)[0])
        assert found and found[0].method, f"{method} {path} is not a route of template.yaml"
        self.called.add((found[0].method, found[0].resource))
        INVOCATIONS.http_requests += 1
        return requests.request(method, self.base_url + path, timeout=120, **options)

    def uncalled(self) -> set[tuple[str, str]]:
        return {(route.method, route.resource) for route in self.routes} - self.called


def test_start_api_serves_a_campaign_and_its_signed_callback(sam: SamLocal, stack: TestStack) -> None:
    port = free_port()
    sam.start("start-api", port, "--warm-containers", "LAZY")
    api = Api(f"http://127.0.0.1:{port}", stack)
    campaigns = Campaigns(stack)

    body = {
        "name": "Over HTTP",
        "from": "+302100000000",
        "message": {"text": "Hello from start-api", "language": "en-US", "gender": "female"},
        "recipients": RECIPIENTS,
    }
    created = api("POST", "/campaigns", json=body, headers={"Idempotency-Key": "start-api-1"})
    assert created.status_code == 201, created.text
    campaign_id = created.json()["campaignId"]
    again = api("POST", "/campaigns", json=body, headers={"Idempotency-Key": "start-api-1"})
    assert (again.status_code, again.json()["campaignId"]) == (201, campaign_id)

    # The workflow (moto's interpreter, in the offline stack) dispatches it through the silent provider.
    campaigns.wait_for_sent(campaign_id)
    shown = api("GET", f"/campaigns/{campaign_id}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["status"] == "Sent"
    assert shown.json()["counts"] == {"total": 2, "pending": 2, "final": {}}
    signature = sign_campaign(stack.secret(), campaign_id)
    assert shown.json()["callbackUrl"].endswith(f"/callbacks/voice/{campaign_id}/{signature}")

    callback = {
        "messageId": "start-api-message-1",
        "to": RECIPIENTS[0],
        "status": {"name": "Completed", "updatedDate": now_iso()},
        "duration": 12,
        "price": 0.02,
    }
    forged = api("POST", f"/callbacks/voice/{campaign_id}/{'A' * 43}", json=callback)
    assert forged.status_code == 403, forged.text
    recorded = api("POST", f"/callbacks/voice/{campaign_id}/{signature}", json=callback)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json() == {"messageId": "start-api-message-1", "status": "Completed", "applied": True}

    stored = campaigns.store.get_message("start-api-message-1")
    assert stored is not None and (stored.campaign_id, stored.to, stored.status) == (
        campaign_id,
        RECIPIENTS[0],
        "Completed",
    )
    assert campaigns.counts(campaign_id) == {"total": 2, "pending": 1, "final": {"Completed": 1}}

    message = api("GET", "/messages/start-api-message-1")
    assert (message.status_code, message.json()["status"], message.json()["final"]) == (
        200,
        "Completed",
        True,
    )
    sent = api("GET", "/campaigns?status=Sent")
    assert sent.status_code == 200, sent.text
    assert [item["campaignId"] for item in sent.json()["items"]] == [campaign_id]
    listed = api("GET", f"/campaigns/{campaign_id}/messages?status=Completed")
    assert listed.status_code == 200, listed.text
    assert [item["messageId"] for item in listed.json()["items"]] == ["start-api-message-1"]
    refused = api("DELETE", f"/campaigns/{campaign_id}")
    assert refused.status_code == 409, refused.text  # it has started: too late to cancel
    document = api("GET", "/openapi.json")
    assert document.status_code == 200 and "/campaigns" in document.json()["paths"]
    swagger = api("GET", "/swagger")  # the offline stack's setting: PublicApiDocs=true
    assert swagger.status_code == 200 and "text/html" in swagger.headers["Content-Type"], swagger.text[:300]

    assert not api.uncalled(), f"routes of template.yaml this test never called: {api.uncalled()}"
