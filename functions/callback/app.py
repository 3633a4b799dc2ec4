"""POST /callbacks/voice/{campaignId}/{signature}: record one Routee status callback.

Order matters: signature, size, encoding, JSON (depth-bounded), schema, and only then a write,
so a rejected callback writes nothing. The write itself is bound to the URL's campaign and the
callback's `to` (unknown recipient 404, another message's id 409). A 200 is returned only after
the write succeeded.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic_core import ValidationError

from voice_status.campaign import callbacks
from voice_status.campaign.store import CampaignStore
from voice_status.errors import MessageIdConflict, RecipientNotFound, StorageBusy
from voice_status.http import error_response
from voice_status.reports import StatusReport
from voice_status.request_body import BodyRejected, body_text, parse_json
from voice_status.signing import is_valid_signature

MAX_BODY_BYTES = 64 * 1024
SECRET_MAX_AGE_SECONDS = 300

logger = Logger()
# Every call this function makes goes through botocore: patching only it traces them all, and keeps
# the X-Ray SDK from importing the other libraries it can patch (requests, sqlite3) at cold start.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()
app = APIGatewayRestResolver()

store = CampaignStore.from_environment()


@cache
def _stepfunctions() -> Any:
    # Only final callbacks may wake a workflow: keep this client off the cold-start path.
    return boto3.client("stepfunctions")


def _rejected(status_code: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    metrics.add_metric(name="CallbacksRejected", unit=MetricUnit.Count, value=1)
    logger.warning("Callback rejected", extra={"status_code": status_code, "reason": message})
    return error_response(status_code, message, details)


def _validation_details(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(part) for part in issue["loc"]), "message": issue["msg"]}
        for issue in error.errors(include_url=False, include_input=False)
    ]


@app.exception_handler(RecipientNotFound)
def _unknown_recipient(error: RecipientNotFound) -> Response:
    return _rejected(404, str(error))


@app.exception_handler(MessageIdConflict)
def _message_id_conflict(error: MessageIdConflict) -> Response:
    return _rejected(409, str(error))


@app.exception_handler(StorageBusy)
def _storage_busy(error: StorageBusy) -> Response:
    # Not stored: the provider retries. A 5xx here means only that storage failed.
    logger.warning("Callback not recorded: storage busy", extra={"reason": str(error)})
    metrics.add_metric(name="CallbacksFailed", unit=MetricUnit.Count, value=1)
    return error_response(503, "storage is busy; retry later")


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response:
    # Not stored: a 500 makes Routee retry the callback later. The body stays JSON.
    logger.exception("Callback not recorded")
    metrics.add_metric(name="CallbacksFailed", unit=MetricUnit.Count, value=1)
    return error_response(500, "internal error")


@app.post("/callbacks/voice/<campaign_id>/<signature>")
# Errors are answered (and the unexpected ones logged) by the handlers above: a forged callback's
# 404 is no error of ours to trace.
@tracer.capture_method(capture_response=False, capture_error=False)
def record_callback(campaign_id: str, signature: str) -> Response:
    secret = parameters.get_secret(os.environ["CALLBACK_SIGNING_SECRET_ARN"], max_age=SECRET_MAX_AGE_SECONDS)
    if not is_valid_signature(str(secret), campaign_id, signature):
        return _rejected(403, "invalid callback signature")

    event = app.current_event
    try:
        body = parse_json(body_text(event.body, bool(event.is_base64_encoded), MAX_BODY_BYTES))
    except BodyRejected as rejected:
        return _rejected(rejected.status_code, f"callback {rejected}")
    try:
        report = StatusReport.parse(body)
    except ValidationError as error:
        return _rejected(422, "not a valid voice status callback", _validation_details(error))

    logger.append_keys(campaign_id=campaign_id, message_id=report.message_id)
    result = callbacks.record_callback(store, _stepfunctions(), campaign_id, report)
    logger.info(
        "Callback recorded",
        extra={"reported": report.status_name, "status": result.status, "applied": result.applied},
    )
    metrics.add_metric(
        name="CallbacksApplied" if result.applied else "CallbacksNotApplied", unit=MetricUnit.Count, value=1
    )
    if result.write_retries:
        metrics.add_metric(name="CallbackWriteRetries", unit=MetricUnit.Count, value=result.write_retries)
    if result.became_final:
        metrics.add_metric(name="MessagesFinalized", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body={"messageId": report.message_id, "status": result.status.value, "applied": result.applied},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
