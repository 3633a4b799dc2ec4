"""Opaque page tokens: base64url (no padding) of a DynamoDB LastEvaluatedKey."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from voice_status.errors import InvalidPageToken


def encode_page_token(last_key: dict[str, Any]) -> str:
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_page_token(token: str) -> dict[str, Any]:
    """The key a token stands for; InvalidPageToken for anything this API did not hand out.

    The store checks that the key belongs to the listing it is used with."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidPageToken() from None
    if not isinstance(key, dict) or not all(
        isinstance(name, str)
        and isinstance(value, dict)
        and set(value) == {"S"}
        and isinstance(value["S"], str)
        for name, value in key.items()
    ):
        raise InvalidPageToken()
    return key
