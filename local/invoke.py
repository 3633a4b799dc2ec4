"""`python -m local.invoke events/<function>-<case>.json` (make invoke EVENT=...): one sample event
through its function, in this process, on a fresh offline stack; prints the function's answer.

The file name's prefix names the function (`callback-ringing.json` -> the function whose CodeUri
is functions/callback/). The stack is started as `make local` starts it, with the silent provider
(nothing calls back), and the callback signing secret set to the key the sample callbacks are
signed with, so their signatures hold. A callback is accepted only for a dispatched recipient of
its campaign, so for a callback sample the campaign it names is created first and its own
workflow dispatches its two recipients. Otherwise the stack starts empty: a sample that names a
campaign the stack does not hold gets the function's answer to that (404, or the error the
workflow would see).
Exit status: 0 when the function returned, 1 when it raised (Lambda's error payload is printed),
2 when the event cannot be run.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from local.functions import FUNCTION_TYPE, InvocationError
from local.stack import LocalStack, Settings, StackError
from local.template import ROOT, load_template, resources_of_type

# The sample callbacks in events/ are signed with this key (HMAC of their campaign id); it is
# only ever the offline stack's secret. They name this campaign and these recipients.
SAMPLE_EVENTS_SIGNING_KEY = "events-signing-key-not-secret"
SAMPLE_CALLBACK_CAMPAIGN_ID = "3f6c1c9e-5b2a-4d8e-9a41-7c0d2b6e8f10"
SAMPLE_CALLBACK_RECIPIENTS = ["+306900000001", "+306900000002"]
DISPATCH_DEADLINE_SECONDS = 60


class InvokeError(Exception):
    """The event cannot be run; the message says why."""


def function_for(event_file: Path) -> str:
    """The logical id of the function an events/<prefix>-<case>.json file belongs to."""
    by_directory = {
        Path(resource["Properties"]["CodeUri"]).name: logical_id
        for logical_id, resource in resources_of_type(load_template(), FUNCTION_TYPE).items()
    }
    for prefix in sorted(by_directory, key=len, reverse=True):
        if event_file.name.startswith(prefix + "-"):
            return by_directory[prefix]
    raise InvokeError(
        f"{event_file.name} names no function: sample events are <function>-<case>.json, "
        f"with <function> one of {', '.join(sorted(by_directory))}"
    )


def read_event(event_file: Path) -> Any:
    try:
        return json.loads(event_file.read_text())
    except OSError as error:
        raise InvokeError(f"cannot read {event_file}: {error.strerror}") from None
    except ValueError as error:
        raise InvokeError(f"{event_file} is not JSON: {error}") from None


def readable(answer: Any) -> Any:
    """An API proxy answer with its JSON body decoded, so it prints as one document."""
    if isinstance(answer, dict) and isinstance(answer.get("body"), str):
        try:
            return {**answer, "body": json.loads(answer["body"])}
        except ValueError:
            return answer
    return answer


def invoke(event_file: Path) -> tuple[str, Any, bool]:
    """(function, answer, raised) for one event on a fresh offline stack."""
    logical_id = function_for(event_file)
    event = read_event(event_file)
    settings = Settings.from_environment(free_ports=True)
    settings = Settings(
        api_port=settings.api_port,
        aws_port=settings.aws_port,
        voice_provider="silent",
        log_level=settings.log_level,
        region=settings.region,
        outputs_file=ROOT / ".local" / "invoke-outputs.json",  # leaves a running `make local`'s file alone
    )
    with LocalStack(settings) as stack:
        stack.client("secretsmanager").put_secret_value(
            SecretId=stack.outputs["CallbackSigningSecretArn"], SecretString=SAMPLE_EVENTS_SIGNING_KEY
        )
        assert stack.functions is not None
        if logical_id == "CallbackFunction":
            dispatch_sample_campaign(stack)
        try:
            return logical_id, stack.functions.invoke(logical_id, event), False
        except InvocationError as error:
            return logical_id, error.payload, True


def dispatch_sample_campaign(stack: LocalStack) -> None:
    """The campaign the sample callbacks name, created as POST /campaigns creates it and
    dispatched by its own workflow (silent provider), so its recipients can be called back.
    (Imported here: the shared layer is on sys.path once the stack has started.)"""
    from voice_status.campaign import service
    from voice_status.campaign.requests import CreateCampaignRequest
    from voice_status.campaign.store import CampaignStore
    from voice_status.signing import callback_url

    store = CampaignStore(stack.client("dynamodb"), stack.outputs["TableName"])
    request = CreateCampaignRequest.model_validate(
        {
            "name": "Sample campaign",
            "from": "+302100000000",
            "message": {"text": "This is a sample."},
            "recipients": SAMPLE_CALLBACK_RECIPIENTS,
        }
    )
    campaign, plan = service.store_new_campaign(
        store,
        request,
        lambda campaign_id: callback_url(stack.outputs["ApiUrl"], campaign_id, SAMPLE_EVENTS_SIGNING_KEY),
        campaign_id=SAMPLE_CALLBACK_CAMPAIGN_ID,
    )
    workflows = service.Workflows(stack.client("stepfunctions"), stack.outputs["CampaignStateMachineArn"])
    service.start_workflow(store, workflows, campaign, plan)
    deadline = time.monotonic() + DISPATCH_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        listed, _ = store.list_messages(campaign.campaign_id, None, len(SAMPLE_CALLBACK_RECIPIENTS))
        if len(listed) == len(SAMPLE_CALLBACK_RECIPIENTS):
            return
        time.sleep(0.1)
    raise InvokeError("the sample campaign's workflow did not dispatch its recipients in time")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(
            "usage: python -m local.invoke events/<function>-<case>.json  (make invoke EVENT=...)",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s", stream=sys.stderr)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    event_file = Path(argv[0])
    try:
        logical_id, answer, raised = invoke(event_file)
    except (InvokeError, StackError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{logical_id} {'raised' if raised else 'answered'}:", file=sys.stderr)
    print(json.dumps(readable(answer), indent=2))
    return 1 if raised else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
