"""The simulated carrier's HTTP face: Routee's paths and bodies, request validation, error answers.

POST /oauth/token                              Basic auth, form grant_type=client_credentials
POST /voice/campaign                           Bearer; <= 1000 `to`; answers trackingId, state, ...
GET  /voice/tracking/campaign/{id}?page&size   Bearer; Spring-like pages of tracking records
GET  /voice/tracking/{messageId}               Bearer; one tracking record
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from local.carrier.planning import MAX_RECIPIENTS, last_digit

if TYPE_CHECKING:
    from local.carrier import SimulatedCarrier


class CarrierError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def int_param(query: Mapping[str, list[str]], name: str, default: int, minimum: int) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        value = int(values[0])
    except ValueError:
        raise CarrierError(HTTPStatus.BAD_REQUEST, f"{name} must be an integer") from None
    if value < minimum:
        raise CarrierError(HTTPStatus.BAD_REQUEST, f"{name} must be at least {minimum}")
    return value


def campaign_fields(body: Any) -> dict[str, Any]:
    """Validate POST /voice/campaign the way Routee documents it; 400 otherwise."""

    def bad(message: str) -> CarrierError:
        return CarrierError(HTTPStatus.BAD_REQUEST, message)

    if not isinstance(body, dict):
        raise bad("body must be a JSON object")
    sender, recipients, name = body.get("from"), body.get("to"), body.get("name")
    if not isinstance(sender, str) or not sender:
        raise bad("from is required")
    if not isinstance(recipients, list) or not recipients or not all(isinstance(n, str) for n in recipients):
        raise bad("to must be a non-empty list of numbers")
    if len(recipients) > MAX_RECIPIENTS:
        raise bad(f"to holds at most {MAX_RECIPIENTS} numbers")
    try:
        for number in recipients:
            last_digit(number)
    except ValueError as error:
        raise bad(str(error)) from None
    if not isinstance(name, str) or not 2 <= len(name) <= 30:
        raise bad("name must be 2 to 30 characters")
    message, file_url = body.get("message"), body.get("fileURL")
    if (message is None) == (file_url is None):
        raise bad("exactly one of message and fileURL is required")
    if message is not None and (
        not isinstance(message, dict)
        or not isinstance(message.get("text"), str)
        or len(message["text"]) > 1000
    ):
        raise bad("message.text is required, at most 1000 characters")
    callback = body.get("callback")
    callback_url, strategy = None, "OnChange"
    if callback is not None:
        if not isinstance(callback, dict) or not isinstance(callback.get("url"), str):
            raise bad("callback.url is required")
        callback_url, strategy = callback["url"], callback.get("strategy", "OnChange")
        if strategy != "OnChange":
            # The simulation sends every status change; a final-only strategy is not simulated.
            raise bad("the simulated carrier supports callback strategy OnChange only")
    return {
        "from": sender,
        "to": recipients,
        "name": name,
        "message": message,
        "file_url": file_url,
        "callback_url": callback_url,
        "strategy": strategy,
    }


class CarrierHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops connections under load (1 s SYN retries)
    carrier: SimulatedCarrier  # set by SimulatedCarrier.start()


class CarrierRequestHandler(BaseHTTPRequestHandler):
    server_version = "SimulatedRoutee/1.0"

    @property
    def carrier(self) -> SimulatedCarrier:
        assert isinstance(self.server, CarrierHTTPServer)
        return self.server.carrier

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test and demo output clean

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == "/oauth/token":
            form = parse_qs(self._body().decode("utf-8", "replace"))
            self._answer(lambda: self.carrier.issue_token(self.headers.get("Authorization"), form))
        elif path == "/voice/campaign":
            self._answer(lambda: self._authorized(lambda: self.carrier.create_campaign(self._json_body())))
        else:
            self._send(HTTPStatus.NOT_FOUND, {"developerMessage": f"no route POST {path}"})

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        segments = [segment for segment in parts.path.split("/") if segment]
        query = parse_qs(parts.query)
        if segments[:3] == ["voice", "tracking", "campaign"] and len(segments) == 4:
            self._answer(lambda: self._authorized(lambda: self.carrier.track_campaign(segments[3], query)))
        elif segments[:2] == ["voice", "tracking"] and len(segments) == 3:
            self._answer(lambda: self._authorized(lambda: self.carrier.track_message(segments[2])))
        else:
            self._send(HTTPStatus.NOT_FOUND, {"developerMessage": f"no route GET {parts.path}"})

    def _authorized(self, action: Any) -> Any:
        self.carrier.check_bearer(self.headers.get("Authorization"))
        return action()

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json_body(self) -> Any:
        try:
            return json.loads(self._body() or b"null")
        except ValueError:
            raise CarrierError(HTTPStatus.BAD_REQUEST, "body is not JSON") from None

    def _answer(self, action: Any) -> None:
        try:
            result = action()
        except CarrierError as error:
            self.carrier.count_rejection()
            self._send(error.status, {"code": str(error.status.value), "developerMessage": str(error)})
            return
        self._send(HTTPStatus.OK, result)

    def _send(self, status: HTTPStatus, body: Any) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
