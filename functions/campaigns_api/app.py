"""Campaign and message API (CONTRACT.md section 3).

POST /campaigns, GET /campaigns/{campaignId}, GET /campaigns/{campaignId}/messages,
GET /messages/{messageId}, DELETE /campaigns/{campaignId}, GET /openapi.json.

Powertools validates requests against the pydantic models (422 in the contract's error shape),
makes POST /campaigns idempotent on the `Idempotency-Key` header, and documents the routes.
"""

import json
import os
from functools import cache
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from pydantic import BaseModel, BeforeValidator

from voice_status import views
from voice_status.campaigns import (
    CampaignView,
    CreateCampaignRequest,
    ErrorBody,
    MessagePage,
    MessageView,
    chunk_recipients,
    decode_page_token,
    encode_page_token,
    new_campaign_id,
    new_campaign_item,
    plan_start,
    workflow_input,
)
from voice_status.completion import is_stale_token
from voice_status.errors import CampaignNotCancellable, CampaignNotFound, InvalidPageToken, MessageNotFound
from voice_status.reports import StatusReport
from voice_status.repository import CampaignRepository, MessageRepository
from voice_status.signing import callback_url
from voice_status.statuses import MessageStatus, parse_message_status
from voice_status.timeutil import to_iso, utc_now

SECRET_MAX_AGE_SECONDS = 300
IDEMPOTENCY_WINDOW_SECONDS = 24 * 60 * 60
MAX_ERROR_DETAILS = 50  # a 100,000-recipient body can fail in 100,000 places; show the first few

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(
    title="Voice status API",
    version="1.0.0",
    description="Voice campaigns through Routee and the status of each call. Routes use IAM (SigV4).",
)
if os.environ.get("PUBLIC_API_DOCS") == "true":  # template parameter PublicApiDocs; always on offline
    app.enable_swagger(path="/swagger", title="Voice status API", version="1.0.0")  # UI bundled, no CDN

_dynamodb = boto3.client("dynamodb")
_sfn = boto3.client("stepfunctions")
campaigns = CampaignRepository(_dynamodb, os.environ["TABLE_NAME"])
messages = MessageRepository(_dynamodb, os.environ["TABLE_NAME"])
# Same caller, key and body: the stored result (the campaign id). Same key, other body: 409.
_idempotency_store = DynamoDBPersistenceLayer(
    table_name=os.environ["IDEMPOTENCY_TABLE_NAME"], boto3_client=_dynamodb
)
_idempotency_config = IdempotencyConfig(
    event_key_jmespath="[caller, idempotencyKey]",
    payload_validation_jmespath="body",
    expires_after_seconds=IDEMPOTENCY_WINDOW_SECONDS,
)


def _documented(description: str, model: type[BaseModel] = ErrorBody) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": model}}}


_NOT_FOUND = {404: _documented("No such campaign or message.")}
_INVALID = {422: _documented("The request does not match the schema; `details` lists each problem.")}


# ----- errors: one map from exceptions to the contract's {"error", "details"} -----

_HTTP_STATUS: dict[type[Exception], int] = {
    InvalidPageToken: 400,
    CampaignNotFound: 404,
    MessageNotFound: 404,
    NotFoundError: 404,
    CampaignNotCancellable: 409,
    IdempotencyValidationError: 409,
    IdempotencyAlreadyInProgressError: 409,
}


def _error_body(status_code: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    return Response(
        status_code=status_code,
        content_type=content_types.APPLICATION_JSON,
        body={"error": message, "details": details or []},
    )


@app.exception_handler(list(_HTTP_STATUS))
def _domain_error(error: Exception) -> Response:
    status_code = _HTTP_STATUS[next(kind for kind in type(error).__mro__ if kind in _HTTP_STATUS)]
    details: list[dict[str, Any]] = []
    if isinstance(error, NotFoundError):
        message = f"no route {app.current_event.http_method} {app.current_event.path}"
    elif isinstance(error, CampaignNotCancellable):
        message, details = str(error), [{"field": "status", "message": error.status}]
    elif isinstance(error, IdempotencyValidationError):
        message = "Idempotency-Key was already used with a different request body"
    elif isinstance(error, IdempotencyAlreadyInProgressError):
        message = "a request with this Idempotency-Key is still in progress; retry shortly"
    else:
        message = str(error)
    logger.info("Request refused", extra={"status_code": status_code, "reason": type(error).__name__})
    return _error_body(status_code, message, details)


@app.exception_handler([RequestValidationError, RequestUnsupportedContentType])
def _invalid_request(error: RequestValidationError | RequestUnsupportedContentType) -> Response:
    problems = list(error.errors())
    kinds = {problem.get("type") for problem in problems}
    if "json_invalid" in kinds:
        return _error_body(400, "request body is not valid JSON")
    if isinstance(error, RequestUnsupportedContentType):
        return _error_body(400, "request body must be application/json")
    # Only where and what: never echo the input back (recipients' numbers are personal data).
    details = [
        {
            "in": str(problem["loc"][0]) if problem.get("loc") else "body",
            "field": ".".join(str(part) for part in problem.get("loc", ())[1:]),
            "message": problem.get("msg", problem.get("type", "invalid")),
        }
        for problem in problems[:MAX_ERROR_DETAILS]
    ]
    logger.info("Request invalid", extra={"problems": len(problems)})
    return _error_body(422, "request validation failed", details)


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response:
    # Logged with its stack trace; the caller only learns that it was not their fault.
    logger.exception("Unhandled error")
    metrics.add_metric(name="UnhandledErrors", unit=MetricUnit.Count, value=1)
    return _error_body(500, "internal error")


# ----- routes -----


def _message_status(value: Any) -> Any:
    return parse_message_status(value) if isinstance(value, str) else value


CampaignId = Annotated[str, Path(alias="campaignId", min_length=1, max_length=128)]
MessageId = Annotated[str, Path(alias="messageId", min_length=1, max_length=128)]


@app.post(
    "/campaigns",
    summary="Create a campaign",
    description="Stores the campaign and its recipients and starts its workflow. A repeat with the "
    "same Idempotency-Key and body returns the same campaign; another body with that key is a 409.",
    responses={
        201: _documented("The campaign.", CampaignView),
        400: _documented("The body is not JSON."),
        409: _documented("Idempotency-Key reused with another body."),
        **_INVALID,
    },
)
def create_campaign(
    request: CreateCampaignRequest,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", min_length=1, max_length=255, description="Makes retries safe."),
    ] = None,
) -> Response[dict[str, Any]]:
    base_url = _callback_base_url()
    if idempotency_key is None:
        created = _create_campaign(request, base_url)
    else:
        # The caller and key pick the record (two callers may pick the same key); the hash of the
        # body as sent tells a retry from a reuse.
        identity = app.current_event.request_context.identity
        attempt = {
            "caller": identity.user_arn or identity.caller or "",
            "idempotencyKey": idempotency_key,
            "body": app.current_event.json_body,
        }
        created = _create_campaign_once(request=request, base_url=base_url, attempt=attempt)
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body=_campaign_view(created["campaignId"]),
    )


@app.get(
    "/campaigns/<campaignId>",
    summary="Get a campaign with its counts",
    responses={
        200: _documented("The campaign.", CampaignView),
        **_NOT_FOUND,
        **_INVALID,
    },
)
def get_campaign(campaign_id: CampaignId) -> dict[str, Any]:
    return _campaign_view(campaign_id)


@app.delete(
    "/campaigns/<campaignId>",
    summary="Cancel a campaign that is still Scheduled or Queued",
    responses={
        200: _documented("The cancelled campaign.", CampaignView),
        409: _documented("The campaign already started (or ended)."),
        **_NOT_FOUND,
        **_INVALID,
    },
)
def cancel_campaign(campaign_id: CampaignId) -> dict[str, Any]:
    logger.append_keys(campaign_id=campaign_id)
    cancelled = campaigns.cancel(campaign_id, to_iso(utc_now()))
    if cancelled.get("scheduleTaskToken"):
        _release_scheduled_wait(campaign_id, cancelled["scheduleTaskToken"])
    metrics.add_metric(name="CampaignsCancelled", unit=MetricUnit.Count, value=1)
    logger.info("Campaign cancelled")
    return _campaign_view(campaign_id)


@app.get(
    "/campaigns/<campaignId>/messages",
    summary="List a campaign's messages",
    description="By status, then message id. Pass nextToken from the previous page to continue.",
    responses={
        200: _documented("One page of messages.", MessagePage),
        400: _documented("nextToken is not one this listing returned."),
        **_NOT_FOUND,
        **_INVALID,
    },
)
def list_campaign_messages(
    campaign_id: CampaignId,
    status: Annotated[
        MessageStatus | None,
        BeforeValidator(_message_status),
        Query(description="Only messages in this status (case, spaces, '_' and '-' ignored)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
    next_token: Annotated[str | None, Query(alias="nextToken", max_length=4096)] = None,
) -> dict[str, Any]:
    if campaigns.get(campaign_id) is None:
        raise CampaignNotFound(campaign_id)
    start_key = decode_page_token(next_token) if next_token else None
    status_name = status.value if status else None
    items, last_key = campaigns.list_messages(campaign_id, status_name, limit, start_key)
    return {
        "items": [views.message_view(item) for item in items],
        "nextToken": encode_page_token(last_key) if last_key else None,
    }


@app.get(
    "/messages/<messageId>",
    summary="Get a message with its status history",
    responses={
        200: _documented("The message.", MessageView),
        **_NOT_FOUND,
        **_INVALID,
    },
)
def get_message(message_id: MessageId) -> dict[str, Any]:
    item = messages.get(message_id)
    if item is None:
        raise MessageNotFound(message_id)
    return views.message_view(item)


@app.get("/openapi.json", summary="This API's OpenAPI 3 document", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=_openapi_json())


# ----- the create flow -----


@idempotent_function(
    data_keyword_argument="attempt",
    persistence_store=_idempotency_store,
    config=_idempotency_config,
    key_prefix="CreateCampaign",
)
def _create_campaign_once(
    *, request: CreateCampaignRequest, base_url: str, attempt: dict[str, Any]
) -> dict[str, str]:
    return _create_campaign(request, base_url)


@tracer.capture_method
def _create_campaign(request: CreateCampaignRequest, base_url: str) -> dict[str, str]:
    """Validated request -> stored campaign and chunks -> started workflow. Returns the id."""
    campaign_id = new_campaign_id()
    logger.append_keys(campaign_id=campaign_id)
    now = utc_now()
    plan = plan_start(request.scheduled_at, now)
    chunks = chunk_recipients(request.recipients)
    item = new_campaign_item(
        campaign_id,
        request,
        plan,
        created_at=to_iso(now),
        callback_url=callback_url(base_url, campaign_id, _signing_secret()),
        chunk_count=len(chunks),
    )
    campaigns.create(item, chunks)
    _start_workflow(campaign_id, workflow_input(campaign_id, plan, request.completion_timeout_seconds))
    metrics.add_metric(name="CampaignsCreated", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="CampaignRecipients", unit=MetricUnit.Count, value=len(request.recipients))
    logger.info(
        "Campaign created",
        extra={"status": plan.status, "recipients": len(request.recipients), "chunks": len(chunks)},
    )
    return {"campaignId": campaign_id}


def _start_workflow(campaign_id: str, execution_input: dict[str, Any]) -> None:
    """One execution per campaign, named after it, so a repeated start cannot run it twice."""
    arn = os.environ["CAMPAIGN_STATE_MACHINE_ARN"]
    try:
        started = _sfn.start_execution(
            stateMachineArn=arn, name=campaign_id, input=json.dumps(execution_input)
        )
        execution_arn = started["executionArn"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
            # Without a workflow nothing would ever move the campaign: end it visibly.
            campaigns.fail_unstarted(campaign_id, "Workflow could not be started", to_iso(utc_now()))
            raise
        execution_arn = f"{arn.replace(':stateMachine:', ':execution:')}:{campaign_id}"
    campaigns.set_execution_arn(campaign_id, execution_arn)


def _release_scheduled_wait(campaign_id: str, task_token: str) -> None:
    """Wake the workflow waiting for the scheduled start, so it ends now instead of at scheduledAt."""
    try:
        _sfn.send_task_failure(
            taskToken=task_token, error="CampaignCancelled", cause="Cancelled through the API"
        )
    except ClientError as error:
        if not is_stale_token(error):
            raise
        logger.info("Scheduled wait already over", extra={"campaign_id": campaign_id})


# ----- helpers -----


def _campaign_view(campaign_id: str) -> dict[str, Any]:
    item, counts = campaigns.get_with_counts(campaign_id)
    if item is None:
        raise CampaignNotFound(campaign_id)
    return views.campaign_view(item, counts, item.get("callbackUrl"))


def _callback_base_url() -> str:
    """The configured public URL, else this API stage's own URL as the request reached it."""
    configured = os.environ.get("CALLBACK_BASE_URL", "").strip()
    if configured:
        return configured
    context = app.current_event.request_context
    return f"https://{context.domain_name}/{context.stage}"


def _signing_secret() -> str:
    # Read the ARN per call: it is the stack's, not the module's (tests create a stack each).
    secret_arn = os.environ["CALLBACK_SIGNING_SECRET_ARN"]
    return str(parameters.get_secret(secret_arn, max_age=SECRET_MAX_AGE_SECONDS))


@cache
@cache
def _openapi_json() -> str:
    """This function's routes, plus the provider's callback route, which another function serves."""
    document = json.loads(app.get_openapi_json_schema())
    document["paths"]["/callbacks/voice/{campaignId}/{signature}"] = _callback_route()
    report = StatusReport.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(report.pop("$defs", {}))
    schemas["StatusReport"] = report
    return json.dumps(document)


def _callback_route() -> dict[str, Any]:
    def answer(description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}

    path_parameter = {"in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "post": {
            "summary": "Routee voice status callback",
            "description": "Unauthenticated: the signature (base64url HMAC-SHA256 of the campaign id) "
            "is the credential. Duplicates and stale statuses answer 200 with applied=false.",
            "security": [],
            "parameters": [
                {"name": "campaignId", **path_parameter},
                {"name": "signature", **path_parameter},
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StatusReport"}}},
            },
            "responses": {
                "200": answer("Recorded (or a harmless duplicate): messageId, status, applied."),
                "400": answer("The body is not JSON."),
                "403": answer("Bad or missing signature, or a signature for another campaign."),
                "413": answer("The body is over 64 KiB."),
                "422": answer("Not a valid callback; `details` lists each problem."),
            },
        }
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    _idempotency_config.register_lambda_context(context)
    return app.resolve(event, context)
