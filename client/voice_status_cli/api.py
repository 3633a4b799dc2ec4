"""The voice status API over HTTP: one method per route, answers as plain JSON dicts.

Owns the wire: where the API is (the local stack's outputs file, or a deployed stack's URL),
SigV4 signing for deployed stacks, pagination and turning every failure into `ApiError`.
It never prints; the commands decide what the user sees.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError
from botocore.session import Session

DEFAULT_OUTPUTS_FILE = Path(".local") / "outputs.json"
HTTP_TIMEOUT_SECONDS = 30
PAGE_SIZE = 1000  # the API's largest page
SIGNING_SERVICE = "execute-api"
# https://{api id}.execute-api.{region}.amazonaws.com/{stage}: the region is in the host.
_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


class ApiError(Exception):
    """Anything that kept a request from an answer the command can use, said in one line."""


@dataclass(frozen=True)
class Endpoint:
    """Where the API is, and the credentials its requests are signed with (None: unsigned)."""

    url: str
    credentials: Credentials | None = None
    region: str | None = None


def local_endpoint(outputs_file: Path | None = None) -> Endpoint:
    """The local stack's API, from the outputs file `make local` writes."""
    path = outputs_file or Path(os.environ.get("LOCAL_OUTPUTS_FILE") or DEFAULT_OUTPUTS_FILE)
    try:
        outputs = json.loads(path.read_text())
        return Endpoint(url=str(outputs["ApiUrl"]).rstrip("/"))
    except FileNotFoundError:
        raise ApiError(
            f"no --api given and {path} does not exist: start the local stack (make local) or pass --api URL"
        ) from None
    except (ValueError, KeyError, TypeError):
        raise ApiError(f"{path} has no ApiUrl: restart the local stack (make local)") from None


def deployed_endpoint(url: str) -> Endpoint:
    """A stack's API URL. Loopback URLs are the local stack (no IAM); others are signed with the
    caller's AWS credentials for execute-api in the URL's region (else AWS_REGION)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(f"--api {url!r} is not an http(s) URL")
    if parts.hostname in _LOOPBACK_HOSTS:
        return Endpoint(url=url.rstrip("/"))
    region = region_of(parts.hostname)
    try:
        session = Session()
        credentials = session.get_credentials()
    except BotoCoreError as error:
        raise ApiError(f"cannot load AWS credentials: {error}") from None
    if credentials is None:
        raise ApiError("no AWS credentials found to sign requests to --api (set AWS_PROFILE or keys)")
    region = region or session.get_config_variable("region")
    if not region:
        raise ApiError(f"cannot tell the region of {url}: set AWS_REGION")
    return Endpoint(url=url.rstrip("/"), credentials=credentials, region=region)


def region_of(host: str) -> str | None:
    found = _EXECUTE_API_HOST.match(host)
    return found.group(1) if found else None


def signed_headers(
    endpoint: Endpoint, method: str, url: str, body: bytes | None, headers: dict[str, str]
) -> dict[str, str]:
    """The headers to send: with SigV4's Authorization (and token) when the endpoint is signed."""
    if endpoint.credentials is None:
        return headers
    request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
    SigV4Auth(endpoint.credentials.get_frozen_credentials(), SIGNING_SERVICE, endpoint.region or "").add_auth(
        request
    )
    return dict(request.headers.items())


class VoiceStatusApi:
    def __init__(self, endpoint: Endpoint, http: requests.Session | None = None) -> None:
        self.endpoint = endpoint
        self._http = http or requests.Session()

    # ----- routes -----

    def create_campaign(self, request: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._call("POST", "/campaigns", body=request, headers=headers)

    def get_campaign(self, campaign_id: str) -> dict[str, Any]:
        return self._call("GET", f"/campaigns/{_segment(campaign_id)}")

    def cancel_campaign(self, campaign_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/campaigns/{_segment(campaign_id)}")

    def campaigns(self, status: str | None = None, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Campaigns newest first, page after page, at most `limit` of them."""
        return self._items("/campaigns", {"status": status}, limit)

    def messages(
        self, campaign_id: str, status: str | None = None, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """A campaign's messages, page after page, at most `limit` of them."""
        return self._items(f"/campaigns/{_segment(campaign_id)}/messages", {"status": status}, limit)

    # ----- transport -----

    def _items(self, path: str, query: dict[str, str | None], limit: int | None) -> Iterator[dict[str, Any]]:
        next_token: str | None = None
        remaining = limit
        while remaining is None or remaining > 0:
            page_size = PAGE_SIZE if remaining is None else min(PAGE_SIZE, remaining)
            page = self._call("GET", path, query={**query, "limit": str(page_size), "nextToken": next_token})
            items = page.get("items") or []
            yield from items[:remaining]
            if remaining is not None:
                remaining -= len(items)
            next_token = page.get("nextToken")
            if not next_token:
                return

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str | None] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        present = {key: value for key, value in (query or {}).items() if value is not None}
        url = self.endpoint.url + path + (f"?{urlencode(present)}" if present else "")
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers = signed_headers(self.endpoint, method, url, data, all_headers)
        try:
            response = self._http.request(
                method, url, data=data, headers=all_headers, timeout=HTTP_TIMEOUT_SECONDS
            )
        except requests.ConnectionError:
            raise ApiError(f"cannot reach the API at {self.endpoint.url} (is the stack running?)") from None
        except requests.Timeout:
            raise ApiError(
                f"the API at {self.endpoint.url} did not answer within {HTTP_TIMEOUT_SECONDS} s"
            ) from None
        except requests.RequestException as error:
            raise ApiError(f"request to {url} failed: {error}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 400 or not isinstance(answer, dict):
            raise ApiError(_describe_failure(method, path, response.status_code, answer))
        return answer


def _segment(value: str) -> str:
    """A path parameter as one URL segment; ids never contain '/', so refuse rather than escape."""
    if not value or "/" in value or value in (".", ".."):
        raise ApiError(f"{value!r} is not an id")
    return quote(value, safe="")


def _describe_failure(method: str, path: str, status_code: int, answer: Any) -> str:
    if not isinstance(answer, dict):
        return f"{method} {path}: HTTP {status_code} without a JSON answer"
    message = answer.get("error") or answer.get("message") or answer.get("Message") or "no reason given"
    details = answer.get("details") or []
    shown = "; ".join(_detail(detail) for detail in details[:3] if isinstance(detail, dict))
    more = f" (+{len(details) - 3} more)" if len(details) > 3 else ""
    return f"{message} (HTTP {status_code})" + (f": {shown}{more}" if shown else "")


def _detail(detail: dict[str, Any]) -> str:
    where = detail.get("field") or detail.get("in") or ""
    return f"{where}: {detail.get('message', '')}" if where else str(detail.get("message", detail))
