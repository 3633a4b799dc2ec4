"""The voice-status client's own rules: reading recipients and signing requests for a deployed API."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.credentials import Credentials

from voice_status_cli.api import ApiError, Endpoint, deployed_endpoint, region_of, signed_headers
from voice_status_cli.recipients import RecipientsError, read_recipients

API_URL = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipients.csv"
    path.write_text(text)
    return path


def test_the_first_column_holds_the_numbers_and_a_header_row_is_skipped(tmp_path: Path) -> None:
    path = write(tmp_path, "phone,name\n+306900000001,Ann\n\n+306900000002,Bob\n")
    assert read_recipients(path) == ["+306900000001", "+306900000002"]


def test_a_file_without_header_keeps_its_first_row(tmp_path: Path) -> None:
    assert read_recipients(write(tmp_path, "+306900000001\n+306900000002\n")) == [
        "+306900000001",
        "+306900000002",
    ]


def test_a_bad_number_is_named_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(RecipientsError, match=r"line 3: '6900000002' is not an E.164 number"):
        read_recipients(write(tmp_path, "phone\n+306900000001\n6900000002\n"))


@pytest.mark.parametrize("text", ["", "phone\n", "\n\n"])
def test_a_file_without_numbers_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(RecipientsError, match="lists no recipients"):
        read_recipients(write(tmp_path, text))


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RecipientsError, match="cannot read"):
        read_recipients(tmp_path / "nope.csv")


def test_the_region_comes_from_the_execute_api_host() -> None:
    assert region_of("a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com") == "eu-west-1"
    assert region_of("api.example.com") is None


def test_a_deployed_api_is_signed_for_execute_api_in_its_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the URL's region wins
    endpoint = deployed_endpoint(API_URL)
    headers = signed_headers(
        endpoint, "GET", API_URL + "/campaigns?limit=5", None, {"Accept": "application/json"}
    )
    authorization = headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in authorization
    assert "X-Amz-Date" in headers


def test_a_signed_body_carries_its_hash_and_the_session_token() -> None:
    endpoint = Endpoint(API_URL, Credentials("AKIDEXAMPLE", "secret", "token"), "eu-west-1")
    headers = signed_headers(endpoint, "POST", API_URL + "/campaigns", b'{"name": "x"}', {})
    assert headers["X-Amz-Security-Token"] == "token"
    other = signed_headers(endpoint, "POST", API_URL + "/campaigns", b'{"name": "y"}', {})
    assert headers["Authorization"] != other["Authorization"]


def test_the_local_stack_is_not_signed() -> None:
    endpoint = deployed_endpoint("http://127.0.0.1:3000/")
    assert endpoint == Endpoint("http://127.0.0.1:3000")
    assert signed_headers(endpoint, "GET", endpoint.url + "/campaigns", None, {"A": "b"}) == {"A": "b"}


def test_a_host_that_is_not_execute_api_needs_a_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ApiError, match="set AWS_REGION"):
        deployed_endpoint("https://voice.example.com/v1")


def test_an_api_that_is_not_a_url_is_refused() -> None:
    with pytest.raises(ApiError, match="is not an http"):
        deployed_endpoint("voice.example.com")
