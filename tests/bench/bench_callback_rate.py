"""Callbacks per second through the offline stack's API, beside raw moto doing the same writes.

The offline stack runs as `make local` runs it (moto server, API over HTTP), with the silent
provider. For each table size a real campaign of that many recipients is created through the API
and dispatched; then 16 client threads post SAMPLE_MESSAGES messages' callbacks, one
intermediate (Ringing) and one final (Completed) each, so half the callbacks are intermediate and
half final. Every DynamoDB write request the callback handler makes is recorded at moto's door.
The anchor: the same write requests replayed directly against moto's endpoint by 16 threads, on
a second campaign of the same size (its id and message ids swapped in), in the same run.
After the burst the campaign's counts must be exact: every message posted counted once, as
Completed, and nothing else.

Environment: RATE_SIZES (default 1000,100000), RATE_SAMPLE (default 1000 messages).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from botocore.config import Config
from botocore.exceptions import ClientError

THREADS = 16
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


@dataclasses.dataclass
class Rates:
    size: int
    callbacks: int
    api_seconds: float
    raw_requests: int
    raw_seconds: float
    counts_exact: bool

    @property
    def api_rate(self) -> float:
        return self.callbacks / self.api_seconds

    @property
    def raw_rate(self) -> float:
        """Callbacks per second if a callback cost only its write requests, sent straight to moto."""
        return self.callbacks / self.raw_seconds


class _WriteRecorder:
    """Records DynamoDB write requests as moto's server receives them (operation, JSON body)."""

    def __init__(self) -> None:
        self.recording = False
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def install(self) -> None:
        from moto.core.responses import BaseResponse

        recorder, call_action = self, BaseResponse.call_action

        def recorded(response: Any) -> Any:
            if recorder.recording and response.service_name == "dynamodb":
                operation = response._get_action()
                if operation in WRITE_OPERATIONS:
                    with recorder._lock:
                        body = response.body
                        recorder.requests.append(
                            (operation, json.loads(json.dumps(body) if isinstance(body, dict) else body))
                        )
            return call_action(response)

        BaseResponse.call_action = recorded  # type: ignore[method-assign]


@contextmanager
def _stack() -> Iterator[Any]:
    from local.stack import LocalStack, Settings

    settings = dataclasses.replace(
        Settings.from_environment(free_ports=True),
        voice_provider="silent",
        log_level="ERROR",
        outputs_file=Path(tempfile.mkdtemp()) / "outputs.json",
    )
    with LocalStack(settings) as stack:
        yield stack


def _dispatched_campaign(stack: Any, size: int, tag: str) -> tuple[str, list[str]]:
    """A campaign created through the API and handed to the (silent) provider: every recipient's
    callbacks are accepted from now on."""
    recipients = [f"+3069{tag}{index:07d}" for index in range(size)]
    response = requests.post(
        f"{stack.api_url}/campaigns",
        json={
            "name": f"Rate {size}",
            "from": "+302100000000",
            "message": {"text": "Rate benchmark", "language": "en-US", "gender": "female"},
            "recipients": recipients,
            "completionTimeoutSeconds": 86400,
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
        timeout=600,
    )
    assert response.status_code == 201, response.text
    campaign_id = response.json()["campaignId"]
    deadline = time.monotonic() + 60 + size / 50
    while True:
        campaign = requests.get(f"{stack.api_url}/campaigns/{campaign_id}", timeout=60).json()
        if campaign["status"] == "Sent":
            return campaign_id, recipients
        assert campaign["status"] in {"Queued", "Running"}, campaign
        assert time.monotonic() < deadline, f"campaign of {size} not dispatched in time: {campaign}"
        time.sleep(0.5)


def _sample(recipients: list[str], count: int) -> list[tuple[int, str]]:
    step = max(1, len(recipients) // count)
    return [(index, recipients[index]) for index in range(0, len(recipients), step)][:count]


def _in_threads(work: list[Any], action: Callable[[Any], None]) -> float:
    """Run `action` over `work` split in THREADS contiguous slices, one thread each; seconds taken."""
    slices = [work[start::THREADS] for start in range(THREADS)]
    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(lambda part: [action(item) for item in part], part) for part in slices]:
            future.result()
    return time.perf_counter() - started


def _post_callbacks(stack: Any, campaign_id: str, messages: list[tuple[int, str]], prefix: str) -> float:
    from voice_status.signing import sign_campaign

    url = f"{stack.api_url}/callbacks/voice/{campaign_id}/{sign_campaign(stack.secret(), campaign_id)}"
    sessions = threading.local()

    def post(message: tuple[int, str]) -> None:
        session = getattr(sessions, "session", None) or requests.Session()
        sessions.session = session
        index, to = message
        for second, status in ((1, "Ringing"), (2, "Completed")):
            body = {
                "messageId": f"{prefix}{index}",
                "to": to,
                "status": {"name": status, "updatedDate": f"2026-11-27T09:00:0{second}.000Z"},
                "duration": 12 if status == "Completed" else 0,
                "price": 0.021 if status == "Completed" else 0.0,
            }
            response = session.post(url, json=body, timeout=60)
            assert response.status_code == 200, response.text

    return _in_threads(messages, post)


def _counts_exact(stack: Any, campaign_id: str, size: int, completed: int) -> bool:
    counts = requests.get(f"{stack.api_url}/campaigns/{campaign_id}", timeout=60).json()["counts"]
    exact = counts == {"total": size, "pending": size - completed, "final": {"Completed": completed}}
    if not exact:
        print(f"  counts of the campaign of {size:,} after {completed:,} final callbacks: {counts}")
    return exact


def _replay(stack: Any, recorded: list[tuple[str, dict[str, Any]]], swap: dict[str, str]) -> float:
    """The recorded write requests, sent straight to moto, ids swapped for the second campaign's."""
    client = stack._session.client(
        "dynamodb", endpoint_url=stack.aws_url, config=Config(max_pool_connections=THREADS)
    )

    def prepared(operation: str, body: dict[str, Any]) -> tuple[Callable[..., Any], dict[str, Any]]:
        text = json.dumps(body)
        for old, new in swap.items():
            text = text.replace(old, new)
        method = "".join(("_" + c.lower()) if c.isupper() else c for c in operation).lstrip("_")
        return getattr(client, method), json.loads(text)

    requests_ = [prepared(operation, body) for operation, body in recorded]

    def send(request: tuple[Callable[..., Any], dict[str, Any]]) -> None:
        method, params = request
        try:
            method(**params)
        except ClientError as error:  # failed conditions, as the handler met them
            code = error.response["Error"]["Code"]
            assert code in {"ConditionalCheckFailedException", "TransactionCanceledException"}, error

    return _in_threads(requests_, send)


def measure(sizes: list[int], sample: int) -> Iterator[Rates]:
    from local.moto_fixes import apply_fixes

    apply_fixes()
    recorder = _WriteRecorder()
    recorder.install()
    with _stack() as stack:
        for number, size in enumerate(sizes):
            api_campaign, api_recipients = _dispatched_campaign(stack, size, f"{2 * number}")
            raw_campaign, _ = _dispatched_campaign(stack, size, f"{2 * number + 1}")
            # Dispatch wrote a stream record per recipient: the poller reads them all first, so
            # that the burst is measured alone.
            stack.drain_streams()
            messages = _sample(api_recipients, sample)
            recorder.requests, recorder.recording = [], True
            api_seconds = _post_callbacks(stack, api_campaign, messages, f"rate-{size}-api-")
            recorder.recording = False
            counts_exact = _counts_exact(stack, api_campaign, size, len(messages))
            recorded = list(recorder.requests)
            swap = {
                api_campaign: raw_campaign,
                f"rate-{size}-api-": f"rate-{size}-raw-",
                f"+3069{2 * number}": f"+3069{2 * number + 1}",
            }
            raw_seconds = _replay(stack, recorded, swap)
            yield Rates(size, 2 * len(messages), api_seconds, len(recorded), raw_seconds, counts_exact)


def main() -> None:
    sizes = [int(s) for s in os.environ.get("RATE_SIZES", "1000,100000").split(",") if s.strip()]
    sample = int(os.environ.get("RATE_SAMPLE", "1000"))
    print(
        f"Callbacks/s, {THREADS} client threads, {sample} messages x (Ringing, Completed), silent provider:"
    )
    results = []
    for rates in measure(sizes, sample):
        results.append(rates)
        print(
            f"  campaign of {rates.size:>7,}: through the local API {rates.api_rate:6.1f}/s; "
            f"raw moto, the same {rates.raw_requests} writes {rates.raw_rate:6.1f}/s; "
            f"ratio {rates.api_rate / rates.raw_rate:.2f}; counts exact: {rates.counts_exact}",
            flush=True,
        )
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(
            f"  rate at {last.size:,} vs {first.size:,} recipients: {last.api_rate / first.api_rate:.2f}x "
            f"(raw moto: {last.raw_rate / first.raw_rate:.2f}x)"
        )


if __name__ == "__main__":
    main()
