"""An API Gateway request body turned into JSON values safely: size, encoding and nesting first.

Owns the checks that must happen before `json.loads` sees a byte: the body fits the limit,
base64 (when API Gateway used it) is valid, the bytes are UTF-8, and brackets nest no deeper
than `MAX_JSON_DEPTH` (Python's parser recurses once per level, so 30,000 `[` would raise
RecursionError deep inside it). `NaN` and `Infinity` are refused: they are not JSON.
Never logs or echoes the body: it may hold phone numbers.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from itertools import accumulate
from typing import Any

# Deeper than any body this API accepts (a campaign is 3 levels, a callback 2), far below
# the interpreter's recursion limit.
MAX_JSON_DEPTH = 32

_STRING = re.compile(r'"[^"]*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class BodyRejected(ValueError):
    """The body cannot be JSON text; `status_code` is the HTTP answer (400, or 413 when too large)."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


def body_text(body: str | None, is_base64_encoded: bool, max_bytes: int | None = None) -> str:
    """The body as text: base64 undone when flagged, then strict UTF-8. Raises BodyRejected."""
    if body is None:
        return ""
    if max_bytes is not None and _max_decoded_size(body, is_base64_encoded) > max_bytes:
        raise BodyRejected(f"body is larger than {max_bytes} bytes", status_code=413)
    if not is_base64_encoded:
        # API Gateway hands over text bodies as str already; it is UTF-8 by construction.
        return body
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise BodyRejected("body is not valid base64") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyRejected("body is not UTF-8 text") from None


def parse_json(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """JSON value of `text`; BodyRejected for bad JSON, NaN/Infinity, or nesting past `max_depth`."""
    check_depth(text, max_depth)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and over-long integers are ValueErrors
        raise BodyRejected("body is not valid JSON") from None


def check_depth(text: str, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise BodyRejected when arrays/objects nest deeper than `max_depth`.

    Linear passes in C, no recursion. Brackets inside strings do not count. A body with fewer
    brackets than the limit (most bodies) is let through after two counts.
    """
    if text.count("[") + text.count("{") <= max_depth:
        return
    # Escape pairs first (left to right, as JSON pairs them), so every quote left delimits a string.
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", unescaped))
    if max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > max_depth:
        raise BodyRejected(f"body nests deeper than {max_depth} levels")


def _max_decoded_size(body: str, is_base64_encoded: bool) -> int:
    if is_base64_encoded:
        return (len(body) * 3) // 4
    return len(body.encode("utf-8", errors="surrogatepass"))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
