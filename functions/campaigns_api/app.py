"""Campaign and message API.

POST /campaigns, GET /campaigns, GET /campaigns/{campaignId}, GET /campaigns/{campaignId}/messages,
GET /messages/{messageId}, DELETE /campaigns/{campaignId}, GET /openapi.json.

Powertools validates requests against the pydantic models (422 in the contract's error shape) and
responses against the views the routes return, makes POST /campaigns idempotent on the
`Idempotency-Key` header, and documents the routes. Each route calls one service function.
"""

import binascii
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
from pydantic import BaseModel, BeforeValidator

from voice_status.campaign import service
from voice_status.campaign.requests import CreateCampaignRequest
from voice_status.campaign.store import CampaignStore
from voice_status.errors import CampaignNotCancellable, CampaignNotFound, InvalidPageToken, MessageNotFound
from voice_status.http import error_response
from voice_status.reports import StatusReport
from voice_status.request_body import BodyRejected, parse_json
from voice_status.signing import callback_url
from voice_status.statuses import CampaignStatus, MessageStatus, parse_message_status
from voice_status.views import (
    CampaignPage,
    CampaignView,
    ErrorBody,
    MessagePage,
    MessageView,
    campaign_view,
    message_view,
)

SECRET_MAX_AGE_SECONDS = 300
IDEMPOTENCY_WINDOW_SECONDS = 24 * 60 * 60
IDEMPOTENCY_RETRY_AFTER_SECONDS = 1
MAX_ERROR_DETAILS = 50  # a 100,000-recipient body can fail in 100,000 places; show the first few

logger = Logger()
tracer = Tracer()
metrics = Metrics()
# parse_json bounds nesting before parsing and refuses NaN/Infinity (BodyRejected -> 400).
app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=parse_json)
app.configure_openapi(
    title="Voice status API",
    version="1.0.0",
    description="Voice campaigns through Routee and the status of each call. Routes use IAM (SigV4).",
)
if os.environ.get("PUBLIC_API_DOCS") == "true":  # template parameter PublicApiDocs; always on offline
    app.enable_swagger(path="/swagger", title="Voice status API", version="1.0.0")  # UI bundled, no CDN

_dynamodb = boto3.client("dynamodb")
store = CampaignStore.from_environment(_dynamodb)
workflows = service.Workflows(boto3.client("stepfunctions"), os.environ["CAMPAIGN_STATE_MACHINE_ARN"])
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
_BAD_TOKEN = {400: _documented("nextToken is not one this listing returned.")}


# ----- errors: one map from exceptions to the contract's {"error", "details"} -----

_HTTP_STATUS: dict[type[Exception], int] = {
    InvalidPageToken: 400,
    CampaignNotFound: 404,
    MessageNotFound: 404,
    NotFoundError: 404,
    CampaignNotCancellable: 409,
    IdempotencyValidationError: 409,
}


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
    else:
        message = str(error)
    logger.info("Request refused", extra={"status_code": status_code, "reason": type(error).__name__})
    return error_response(status_code, message, details)


@app.exception_handler([RequestValidationError, RequestUnsupportedContentType])
def _invalid_request(error: RequestValidationError | RequestUnsupportedContentType) -> Response:
    problems = list(error.errors())
    kinds = {problem.get("type") for problem in problems}
    if "json_invalid" in kinds:
        return error_response(400, "request body is not valid JSON")
    if isinstance(error, RequestUnsupportedContentType):
        return error_response(400, "request body must be application/json")
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
    return error_response(422, "request validation failed", details)


@app.exception_handler([BodyRejected, UnicodeDecodeError, binascii.Error])
def _undecodable_body(error: ValueError) -> Response:
    # Raised while Powertools decodes the body (bad base64, not UTF-8) or by parse_json (too deep).
    message = str(error) if isinstance(error, BodyRejected) else "body is not UTF-8 JSON text"
    return error_response(400, f"request {message}")


@app.exception_handler(IdempotencyAlreadyInProgressError)
def _same_key_in_progress(error: IdempotencyAlreadyInProgressError) -> Response:
    # 409 means "another body"; a concurrent retry of the same request is told to come back,
    # and then gets the first request's campaign.
    response = error_response(429, "a request with this Idempotency-Key is still in progress; retry shortly")
    response.headers["Retry-After"] = str(IDEMPOTENCY_RETRY_AFTER_SECONDS)
    return response


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response:
    # Logged with its stack trace; the caller only learns that it was not their fault.
    logger.exception("Unhandled error")
    metrics.add_metric(name="UnhandledErrors", unit=MetricUnit.Count, value=1)
    return error_response(500, "internal error")


# ----- routes -----


def _message_status(value: Any) -> Any:
    return parse_message_status(value) if isinstance(value, str) else value


CampaignId = Annotated[str, Path(alias="campaignId", min_length=1, max_length=128)]
MessageId = Annotated[str, Path(alias="messageId", min_length=1, max_length=128)]
PageSize = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
NextToken = Annotated[str | None, Query(alias="nextToken", max_length=4096)]


@app.post(
    "/campaigns",
    summary="Create a campaign",
    description="Stores the campaign and its recipients and starts its workflow. A repeat with the "
    "same Idempotency-Key and body returns the same campaign; another body with that key is a 409.",
    responses={
        201: _documented("The campaign.", CampaignView),
        400: _documented("The body is not JSON."),
        409: _documented("Idempotency-Key reused with another body."),
        429: _documented(
            "A request with this Idempotency-Key is still in progress: retry after Retry-After."
        ),
        **_INVALID,
    },
)
def create_campaign(
    request: CreateCampaignRequest,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", min_length=1, max_length=255, description="Makes retries safe."),
    ] = None,
) -> Response[CampaignView]:
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
        body=campaign_view(service.describe_campaign(store, created["campaignId"])),
    )


@app.get(
    "/campaigns",
    summary="List campaigns, newest first",
    description="Optionally only those in one status. Pass nextToken from the previous page to continue.",
    responses={200: _documented("One page of campaigns.", CampaignPage), **_BAD_TOKEN, **_INVALID},
)
def list_campaigns(
    status: Annotated[CampaignStatus | None, Query(description="Only campaigns in this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 50,
    next_token: NextToken = None,
) -> CampaignPage:
    campaigns, token = service.list_campaigns(store, status, limit, next_token)
    return CampaignPage(items=[campaign_view(found) for found in campaigns], nextToken=token)


@app.get(
    "/campaigns/<campaignId>",
    summary="Get a campaign with its counts",
    responses={200: _documented("The campaign.", CampaignView), **_NOT_FOUND, **_INVALID},
)
def get_campaign(campaign_id: CampaignId) -> CampaignView:
    return campaign_view(service.describe_campaign(store, campaign_id))


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
def cancel_campaign(campaign_id: CampaignId) -> CampaignView:
    cancelled = service.cancel_campaign(store, workflows, campaign_id)
    metrics.add_metric(name="CampaignsCancelled", unit=MetricUnit.Count, value=1)
    return campaign_view(cancelled)


@app.get(
    "/campaigns/<campaignId>/messages",
    summary="List a campaign's messages",
    description="Every recipient from the moment its chunk is handed to the provider (Queued, "
    "messageId null until its first callback), by status, then number. Pass nextToken from the "
    "previous page to continue.",
    responses={
        200: _documented("One page of messages.", MessagePage),
        **_BAD_TOKEN,
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
    limit: PageSize = 100,
    next_token: NextToken = None,
) -> MessagePage:
    messages, token = service.list_messages(store, campaign_id, status, limit, next_token)
    return MessagePage(items=[message_view(message) for message in messages], nextToken=token)


@app.get(
    "/messages/<messageId>",
    summary="Get a message with its status history",
    responses={200: _documented("The message.", MessageView), **_NOT_FOUND, **_INVALID},
)
def get_message(message_id: MessageId) -> MessageView:
    return message_view(service.get_message(store, message_id))


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


@tracer.capture_method(capture_response=False)
def _create_campaign(request: CreateCampaignRequest, base_url: str) -> dict[str, str]:
    """The stored result of a create is the campaign id (what an idempotent repeat returns)."""
    secret = _signing_secret()
    campaign = service.create_campaign(
        store, workflows, request, lambda campaign_id: callback_url(base_url, campaign_id, secret)
    )
    metrics.add_metric(name="CampaignsCreated", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="CampaignRecipients", unit=MetricUnit.Count, value=campaign.recipient_count)
    return {"campaignId": campaign.campaign_id}


# ----- helpers -----


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
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    _idempotency_config.register_lambda_context(context)
    return app.resolve(event, context)
