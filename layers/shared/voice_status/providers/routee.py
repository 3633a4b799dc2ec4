"""Routee Voice API client: OAuth2 client credentials, campaign submission, campaign tracking.

The same client serves `VOICE_PROVIDER=simulated`: the local stack points ROUTEE_AUTH_URL and
ROUTEE_API_URL at `local/carrier/` (the simulated carrier), which speaks the same HTTP shapes.

Sending is at most once: POST /voice/campaign is resent only when Routee certainly did not
process it (it answered 429, or no connection was ever made).
Never logged: the application secret, access tokens, and the callback URL (its last
path segment is the campaign's signature).
"""

from __future__ import annotations

import base64
import email.utils
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from pydantic_core import ValidationError
from urllib3.exceptions import MaxRetryError, NewConnectionError

from voice_status.providers.base import Accepted, ProviderError, Submission, validate_submission
from voice_status.reports import StatusReport

logger = Logger(child=True)

CAMPAIGN_NAME_MIN = 2
CAMPAIGN_NAME_MAX = 30
# A campaign's recipients fit in a few pages; this only stops a provider that never says "last".
MAX_TRACKING_PAGES = 10_000
_NAME_UNSAFE = re.compile(r"[^\w .\-]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and full jitter."""

    attempts: int = 4  # tries per request, the first one included
    base_delay_seconds: float = 0.5
    max_delay_seconds: float = 8.0  # also the longest Retry-After we wait for; longer gives up

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Delay before retry `retry_number` (1-based): uniform in [0, min(max, base * 2^(n-1))]."""
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2 ** (retry_number - 1))
        return rng.uniform(0, ceiling)


@dataclass(frozen=True)
class RouteeSettings:
    auth_url: str
    api_url: str
    credentials_secret_name: str
    connect_timeout_seconds: float = 3.05
    read_timeout_seconds: float = 10.0
    page_size: int = 500
    secret_max_age_seconds: int = 300
    token_refresh_margin_seconds: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> RouteeSettings:
        env = os.environ if environ is None else environ
        missing = [
            name
            for name in ("ROUTEE_AUTH_URL", "ROUTEE_API_URL", "ROUTEE_CREDENTIALS_SECRET_NAME")
            if not env.get(name)
        ]
        if missing:
            raise ValueError(f"Routee provider needs environment variables {', '.join(missing)}")
        return cls(
            auth_url=env["ROUTEE_AUTH_URL"],
            api_url=env["ROUTEE_API_URL"].rstrip("/"),
            credentials_secret_name=env["ROUTEE_CREDENTIALS_SECRET_NAME"],
        )


@dataclass(frozen=True)
class Credentials:
    application_id: str
    application_secret: str = field(repr=False)

    def basic_authorization(self) -> str:
        pair = f"{self.application_id}:{self.application_secret}".encode()
        return "Basic " + base64.b64encode(pair).decode()


CredentialsLoader = Callable[[bool], Credentials]  # argument: bypass the cache (after a refusal)


def secrets_manager_credentials(secret_name: str, max_age_seconds: int) -> CredentialsLoader:
    """Read {"applicationId", "applicationSecret"} from Secrets Manager through Powertools (cached)."""

    def load(force_fetch: bool) -> Credentials:
        try:
            value = parameters.get_secret(
                secret_name, transform="json", max_age=max_age_seconds, force_fetch=force_fetch
            )
        except (GetParameterError, TransformParameterError) as error:
            # Nothing was sent yet, so a later attempt is safe.
            raise ProviderError(
                f"cannot read the Routee credentials secret {secret_name!r}: {type(error).__name__}",
                retryable=True,
            ) from error
        if not isinstance(value, dict) or not all(
            isinstance(value.get(key), str) and value[key] for key in ("applicationId", "applicationSecret")
        ):
            raise ProviderError(
                f"the Routee credentials secret {secret_name!r} must hold applicationId and applicationSecret",
                retryable=False,
            )
        return Credentials(value["applicationId"], value["applicationSecret"])

    return load


def provider_campaign_name(name: str, campaign_id: str) -> str:
    """A Routee campaign name (2-30 chars) from ours: unsafe characters dropped, cut at 30."""
    cleaned = _SPACES.sub(" ", _NAME_UNSAFE.sub(" ", name)).strip()[:CAMPAIGN_NAME_MAX].rstrip()
    if len(cleaned) >= CAMPAIGN_NAME_MIN:
        return cleaned
    fallback = _SPACES.sub("", _NAME_UNSAFE.sub("", f"campaign-{campaign_id}"))
    return fallback[:CAMPAIGN_NAME_MAX]


def campaign_request(submission: Submission) -> dict[str, Any]:
    """The body of POST /voice/campaign for one submission (validated first)."""
    validate_submission(submission)
    if not submission.callback_url:
        raise ProviderError("a Routee submission needs a callback URL", retryable=False)
    body: dict[str, Any] = {
        "from": submission.from_number,
        "to": list(submission.recipients),
        "name": provider_campaign_name(submission.name, submission.campaign_id),
        "callback": {"url": submission.callback_url, "strategy": "OnChange"},
    }
    if submission.message is not None:
        body["message"] = {
            "text": submission.message.text,
            "language": submission.message.language,
            "gender": submission.message.gender,
        }
    else:
        body["fileURL"] = submission.audio_url
    return body


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def _never_reached_provider(error: requests.RequestException) -> bool:
    """True when no connection was made (connect timeout, refused, DNS): the request was not sent."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    if isinstance(error, requests.ConnectionError) and not isinstance(error, requests.exceptions.SSLError):
        reason = error.args[0] if error.args else None
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        return isinstance(reason, NewConnectionError)
    return False


def _error_summary(response: requests.Response) -> str:
    """Routee's error code and message, short; never the request body (it holds the callback URL)."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    parts = [str(body[key])[:200] for key in ("code", "developerMessage", "message") if body.get(key)]
    return f"HTTP {response.status_code}" + (f" ({'; '.join(parts)})" if parts else "")


def _page_parts(body: Any, page: int) -> tuple[list[Any], bool]:
    """(records, is_last) of tracking page `page`: Spring-like pages, tolerant of missing keys.

    Last when `last` is true, or page + 1 >= `totalPages`, or the page is empty; a plain list
    is taken as the only page.
    """
    if isinstance(body, list):
        return body, True
    if not isinstance(body, dict):
        raise ProviderError("Routee tracking answer is not a JSON object", retryable=True)
    content = body.get("content")
    records = content if isinstance(content, list) else []
    total_pages = body.get("totalPages")
    last = (
        body.get("last") is True
        or not records
        or (isinstance(total_pages, int) and not isinstance(total_pages, bool) and page + 1 >= total_pages)
    )
    return records, last


@dataclass
class _Token:
    value: str = field(repr=False)
    expires_at: float  # on the client's monotonic clock


class RouteeClient:
    """VoiceProvider for Routee (and the simulated carrier). Thread-safe; reuse one per process."""

    def __init__(
        self,
        settings: RouteeSettings,
        *,
        credentials: CredentialsLoader | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._credentials = credentials or secrets_manager_credentials(
            settings.credentials_secret_name, settings.secret_max_age_seconds
        )
        self._session = session or requests.Session()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()  # jitter only  # noqa: S311
        self._token_lock = threading.Lock()
        self._token: _Token | None = None

    # --- VoiceProvider -------------------------------------------------------------------

    def submit(self, submission: Submission) -> Accepted:
        body = campaign_request(submission)
        try:
            answer = self._call_api(
                "POST", "/voice/campaign", json=body, resend_safe=False, what="submit campaign"
            )
        except ProviderError as error:
            # Routee's error text may quote the request; keep the callback signature out of it.
            signature = submission.callback_url.rstrip("/").rsplit("/", 1)[-1]
            if signature and signature in str(error):
                raise ProviderError(
                    str(error).replace(signature, "***"),
                    retryable=error.retryable,
                    status_code=error.status_code,
                ) from None
            raise
        tracking_id = answer.get("trackingId") if isinstance(answer, dict) else None
        if not isinstance(tracking_id, str) or not tracking_id:
            # Routee answered 2xx, so the calls may be placed: never resend this one.
            raise ProviderError("Routee accepted the campaign without a trackingId", retryable=False)
        logger.info(
            "Routee campaign accepted",
            extra={
                "campaign_id": submission.campaign_id,
                "tracking_id": tracking_id,
                "recipients": len(submission.recipients),
            },
        )
        return Accepted(tracking_id=tracking_id, accepted=len(submission.recipients))

    def track(self, tracking_id: str) -> Iterator[StatusReport]:
        path = f"/voice/tracking/campaign/{quote(tracking_id, safe='')}"
        for page in range(MAX_TRACKING_PAGES):
            answer = self._call_api(
                "GET",
                path,
                params={"page": page, "size": self.settings.page_size},
                resend_safe=True,
                what="track campaign",
            )
            records, last = _page_parts(answer, page)
            yield from self._reports(records, tracking_id)
            if last:
                return
        raise ProviderError(f"Routee tracking of {tracking_id} did not end after {MAX_TRACKING_PAGES} pages")

    def track_message(self, message_id: str) -> StatusReport:
        """The latest status of one message (GET /voice/tracking/{messageId})."""
        answer = self._call_api(
            "GET", f"/voice/tracking/{quote(message_id, safe='')}", resend_safe=True, what="track message"
        )
        try:
            return StatusReport.parse(answer)
        except ValidationError as error:
            raise ProviderError(
                f"Routee tracking record of {message_id} is not valid: {error.error_count()} errors"
            ) from None

    # --- HTTP plumbing -------------------------------------------------------------------

    @staticmethod
    def _reports(records: list[Any], tracking_id: str) -> Iterator[StatusReport]:
        skipped = 0
        for record in records:
            try:
                yield StatusReport.parse(record)
            except ValidationError:
                skipped += 1  # e.g. a message without a status yet; the next reconciliation sees it
        if skipped:
            logger.warning(
                "Skipped unreadable tracking records", extra={"tracking_id": tracking_id, "skipped": skipped}
            )

    def _call_api(self, method: str, path: str, *, resend_safe: bool, what: str, **kwargs: Any) -> Any:
        """One authorised API call; on 401/403 fetches a new token once and tries again."""
        url = self.settings.api_url + path
        for renewed in (False, True):
            token = self._access_token()
            response = self._send(
                method,
                url,
                what=what,
                resend_safe=resend_safe,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                **kwargs,
            )
            if response.status_code in (401, 403) and not renewed:
                # Refused before processing, so sending again with a fresh token is safe.
                logger.info(
                    "Routee refused the access token; fetching a new one",
                    extra={"status": response.status_code},
                )
                self._forget_token(token)
                continue
            return self._json(response, what=what, resend_safe=resend_safe)
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, response: requests.Response, *, what: str, resend_safe: bool) -> Any:
        if response.status_code >= 400:
            raise ProviderError(
                f"Routee refused to {what}: {_error_summary(response)}",
                retryable=False,
                status_code=response.status_code,
            )
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                f"Routee answered {what} with a body that is not JSON (HTTP {response.status_code})",
                retryable=resend_safe,
                status_code=response.status_code,
            ) from None

    def _send(
        self, method: str, url: str, *, what: str, resend_safe: bool, **kwargs: Any
    ) -> requests.Response:
        """Send with timeouts; retry what certainly was not processed, with backoff and jitter.

        At most once: a POST /voice/campaign is resent only when it certainly was not processed,
        that is on 429 (Routee's "not now") or a connection that never opened. Any other failure
        after the request left (5xx, which a proxy may send after Routee took the request, a read
        timeout, a reset) may have placed calls: it fails as not retryable and reconciliation
        finds out what happened. GETs and token requests have no side effects and are retried on
        every transient failure.
        """
        policy = self.settings.retry
        timeout = (self.settings.connect_timeout_seconds, self.settings.read_timeout_seconds)
        for attempt in range(1, policy.attempts + 1):
            try:
                response = self._session.request(method, url, timeout=timeout, **kwargs)
            except requests.RequestException as error:
                if not isinstance(error, requests.ConnectionError | requests.Timeout):
                    raise ProviderError(f"cannot {what}: {type(error).__name__}", retryable=False) from None
                if not resend_safe and not _never_reached_provider(error):
                    raise ProviderError(
                        f"no answer from Routee to {what} ({type(error).__name__}); it may have been "
                        "processed, so it is not resent",
                        retryable=False,
                    ) from None
                problem, status, retry_after = type(error).__name__, None, None
            else:
                status = response.status_code
                if status != 429 and status < 500:
                    return response
                if status != 429 and not resend_safe:
                    # A 5xx may come from a proxy after Routee took the request: calls may be placed.
                    raise ProviderError(
                        f"Routee answered {what} with HTTP {status}; it may have been processed, "
                        "so it is not resent",
                        retryable=False,
                        status_code=status,
                    )
                problem, retry_after = (
                    f"HTTP {status}",
                    retry_after_seconds(response.headers.get("Retry-After")),
                )
                response.close()
            if attempt == policy.attempts:
                raise ProviderError(
                    f"cannot {what}: {problem} after {attempt} attempts", retryable=True, status_code=status
                )
            if retry_after is not None and retry_after > policy.max_delay_seconds:
                raise ProviderError(
                    f"cannot {what}: Routee asks to retry after {retry_after:.0f} s",
                    retryable=True,
                    status_code=status,
                )
            delay = max(policy.backoff(attempt, self._rng), retry_after or 0.0)
            logger.warning(
                "Routee request failed, retrying",
                extra={
                    "request": what,
                    "problem": problem,
                    "attempt": attempt,
                    "delay_seconds": round(delay, 3),
                },
            )
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # --- OAuth2 client credentials ------------------------------------------------------

    def _access_token(self) -> str:
        # One fetch at a time: concurrent callers wait for it and share the token.
        with self._token_lock:
            if self._token is None or self._clock() >= self._token.expires_at:
                self._token = self._fetch_token()
            return self._token.value

    def _forget_token(self, token: str) -> None:
        with self._token_lock:
            if self._token is not None and self._token.value == token:
                self._token = None

    def _fetch_token(self) -> _Token:
        for reread_secret in (False, True):
            credentials = self._credentials(reread_secret)
            response = self._send(
                "POST",
                self.settings.auth_url,
                what="get an access token",
                resend_safe=True,
                headers={"Authorization": credentials.basic_authorization(), "Accept": "application/json"},
                data={"grant_type": "client_credentials"},
            )
            if response.status_code in (400, 401, 403) and not reread_secret:
                # The secret may have been rotated since it was cached: read it afresh once.
                continue
            answer = self._json(response, what="get an access token", resend_safe=True)
            token = answer.get("access_token") if isinstance(answer, dict) else None
            if not isinstance(token, str) or not token:
                raise ProviderError("Routee token answer has no access_token", retryable=True)
            expires_in = answer.get("expires_in")
            lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 3600.0
            margin = min(self.settings.token_refresh_margin_seconds, lifetime / 2)
            return _Token(value=token, expires_at=self._clock() + lifetime - margin)
        raise AssertionError("unreachable")  # pragma: no cover
