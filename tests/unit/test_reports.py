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
