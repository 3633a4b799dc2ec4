"""The contract's one error body, `{"error": ..., "details": [...]}`, for every HTTP answer."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types


def error_response(status_code: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    return Response(
        status_code=status_code,
        content_type=content_types.APPLICATION_JSON,
        body={"error": message, "details": details or []},
    )
