"""POST /callbacks/voice/{campaignId}/{signature}: record one Routee status callback.

Order matters: signature, size, encoding, JSON (depth-bounded), schema, and only then a write,
so a rejected callback writes nothing. A 200 is returned only after the write succeeded.
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
from pydantic import ValidationError

from voice_status.completion import notify_if_complete
from voice_status.reports import StatusReport
from voice_status.repository import CampaignRepository, MessageRepository
from voice_status.request_body import BodyRejected, body_text, parse_json
from voice_status.signing import is_valid_signature

MAX_BODY_BYTES = 64 * 1024
SECRET_MAX_AGE_SECONDS = 300

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()

_dynamodb = boto3.client("dynamodb")
messages = MessageRepository(_dynamodb, os.environ["TABLE_NAME"], int(os.environ.get("COUNTER_SHARDS", "10")))
campaigns = CampaignRepository(_dynamodb, os.environ["TABLE_NAME"])


@cache
def _stepfunctions() -> Any:
    # Only final callbacks may wake a workflow: keep this client off the cold-start path.
    return boto3.client("stepfunctions")


def _error(status_code: int, message: str, details: list | None = None) -> Response:
    body: dict = {"error": message}
    if details is not None:
        body["details"] = details
    metrics.add_metric(name="CallbacksRejected", unit=MetricUnit.Count, value=1)
    logger.warning("Callback rejected", extra={"status_code": status_code, "reason": message})
    return Response(status_code=status_code, content_type=content_types.APPLICATION_JSON, body=body)


def _validation_details(error: ValidationError) -> list[dict]:
    return [
        {"field": ".".join(str(part) for part in issue["loc"]), "message": issue["msg"]}
        for issue in error.errors(include_url=False, include_input=False)
    ]


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response:
    # Not stored: a 500 makes Routee retry the callback later. The body stays JSON.
    logger.exception("Callback not recorded")
    metrics.add_metric(name="CallbacksFailed", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=500, content_type=content_types.APPLICATION_JSON, body={"error": "internal error"}
    )


@app.post("/callbacks/voice/<campaign_id>/<signature>")
@tracer.capture_method
def record_callback(campaign_id: str, signature: str) -> Response:
    secret = parameters.get_secret(os.environ["CALLBACK_SIGNING_SECRET_ARN"], max_age=SECRET_MAX_AGE_SECONDS)
    if not is_valid_signature(str(secret), campaign_id, signature):
        return _error(403, "invalid callback signature")

    event = app.current_event
    try:
        body = parse_json(body_text(event.body, bool(event.is_base64_encoded), MAX_BODY_BYTES))
    except BodyRejected as rejected:
        return _error(rejected.status_code, f"callback {rejected}")
    try:
        report = StatusReport.model_validate(body)
    except ValidationError as error:
        return _error(422, "not a valid voice status callback", _validation_details(error))

    logger.append_keys(campaign_id=campaign_id, message_id=report.message_id)
    result = messages.record(campaign_id, report)
    logger.info(
        "Callback recorded",
        extra={"reported": report.status_name, "status": result.status, "applied": result.applied},
    )
    metrics.add_metric(
        name="CallbacksApplied" if result.applied else "CallbacksNotApplied", unit=MetricUnit.Count, value=1
    )
    if result.became_final:
        metrics.add_metric(name="MessagesFinalized", unit=MetricUnit.Count, value=1)
        notify_if_complete(campaigns, _stepfunctions(), result.campaign_id)
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body={"messageId": report.message_id, "status": result.status.value, "applied": result.applied},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
