import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from voice_status.reports import StatusReport
from voice_status.statuses import MessageStatus

# Copies of the sample payloads in Routee's documentation, kept with the tests.
ROUTEE_SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "routee"


def _sample(name: str) -> dict:
    return json.loads((ROUTEE_SAMPLES / name).read_text())


def test_callback_shape_is_read_with_its_useful_fields() -> None:
    report = StatusReport.parse(_sample("callback-completed.json"))
    assert report.message_id == "8d3c2a4e-8b8e-4c8f-9d3e-2f5b6a7c8d90"
    assert report.status_name is MessageStatus.COMPLETED
    assert report.reported_at == "2026-11-27T09:00:31.877Z"
    assert report.to == "+306900000001"
    assert report.details() == {
        "from": "+302100000000",
        "campaignTrackingId": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        "duration": 23,
        "price": 0.021,
        "country": "GR",
        "operator": "Example Mobile",
        "createdAt": "2026-11-27T09:00:00.105Z",
    }


def test_tracking_shape_is_accepted_too() -> None:
    report = StatusReport.parse(_sample("tracking-message.json"))
    assert report.status_name is MessageStatus.COMPLETED
    assert report.reported_at == "2026-11-27T09:00:31.877Z"


def test_dates_in_other_zones_are_normalised_to_utc_and_naive_dates_read_as_utc() -> None:
    zoned = StatusReport.parse(
        {
            "messageId": "m",
            "to": "+306900000001",
            "status": {"name": "Queued", "updatedDate": "2026-11-27T11:00:00+02:00"},
        }
    )
    naive = StatusReport.parse(
        {
            "messageId": "m",
            "to": "+306900000001",
            "status": {"name": "Queued", "updatedDate": "2026-11-27T09:00:00"},
        }
    )
    assert zoned.reported_at == naive.reported_at == "2026-11-27T09:00:00.000Z"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": {"name": "Queued", "updatedDate": "2026-11-27T09:00:00Z"}}, "messageId"),
        ({"messageId": "m"}, "status"),
        (
            {"messageId": "m", "status": {"name": "Exploded", "updatedDate": "2026-11-27T09:00:00Z"}},
            "status.name",
        ),
        ({"messageId": "m", "status": {"name": "Queued", "updatedDate": "soon"}}, "status.updatedDate"),
        ({"messageId": "", "status": {"name": "Queued", "updatedDate": "2026-11-27T09:00:00Z"}}, "messageId"),
        ({"messageId": "m", "status": {"name": 3, "updatedDate": "2026-11-27T09:00:00Z"}}, "status.name"),
        ({"messageId": "m", "status": {"name": "Queued", "updatedDate": "2026-11-27T09:00:00Z"}}, "to"),
        (
            {
                "messageId": "m",
                "to": "+3069\u0660\u0660\u0660\u0660\u0660\u0661",
                "status": {"name": "Queued", "updatedDate": "2026-11-27T09:00:00Z"},
            },
            "to",
        ),
    ],
)
def test_invalid_callbacks_name_the_field(body: dict, field: str) -> None:
    with pytest.raises(ValidationError) as error:
        StatusReport.parse(body)
    assert field in {".".join(str(p) for p in issue["loc"]) for issue in error.value.errors()}


def test_unknown_extra_fields_are_ignored() -> None:
    body = _sample("callback-ringing.json") | {"somethingNew": {"nested": True}}
    assert StatusReport.parse(body).status_name is MessageStatus.RINGING


def _queued(**fields: object) -> dict:
    return {
        "messageId": "m",
        "to": "+306900000001",
        "status": {"name": "Queued", "updatedDate": "2026-11-27"},
    } | fields


# The report's schema is written by hand (voice_status/reports.py): these pin what the pydantic model
# it replaced accepted, in pydantic's lax mode, so the two cannot drift apart unseen.
@pytest.mark.parametrize(
    ("body", "read"),
    [
        (_queued(duration="5"), {"duration": 5}),
        (_queued(price="0.1234567891"), {"price": 0.123457}),
        (_queued(price=True), {"price": 1.0}),
        (_queued(createdAt="2026-11-27 09:00"), {"createdAt": "2026-11-27T09:00:00.000Z"}),
        (_queued(createdAt="1700000000"), {"createdAt": "2023-11-14T22:13:20.000Z"}),
        (_queued(country=None, operator="Example"), {"operator": "Example"}),
    ],
)
def test_numbers_and_dates_are_read_as_pydantic_reads_them(body: dict, read: dict) -> None:
    assert StatusReport.parse(body).details() == read


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_queued(duration=86_401), "duration"),
        (_queued(duration="5.5"), "duration"),
        (_queued(price=float("nan")), "price"),
        (_queued(createdAt=1700000000), "createdAt"),
        (_queued(createdAt="1999-12-31T23:59:59Z"), "createdAt"),
        (_queued(country="Greece, mainland"), "country"),
    ],
)
def test_out_of_range_numbers_and_dates_are_refused(body: dict, field: str) -> None:
    with pytest.raises(ValidationError) as error:
        StatusReport.parse(body)
    assert [".".join(str(p) for p in issue["loc"]) for issue in error.value.errors()] == [field]


def test_field_names_are_accepted_beside_the_providers_names() -> None:
    by_name = {"message_id": "m", "to": "+306900000001", "status": {"status": "Busy", "date": "2026-11-27"}}
    assert StatusReport.parse(by_name).status_name is MessageStatus.BUSY
