"""The event schemas the template registers: loadable by the Schema Registry (JSON Schema draft 4),
the same documents as events/schemas/, and strict enough to reject an event that breaks them.
(tests/integration/test_fan_out.py validates every emitted event against them.)"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from local.template import resources_of_type
from tests.conftest import EVENTS_DIR

SCHEMA_TYPE = "AWS::EventSchemas::Schema"


def registered(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in resources_of_type(template, SCHEMA_TYPE).items()
    }


def test_each_detail_type_has_a_registered_draft_4_schema_equal_to_its_file(template: dict[str, Any]) -> None:
    schemas = registered(template)
    files = sorted((EVENTS_DIR / "schemas").glob("*.schema.json"))
    assert len(schemas) == len(files) == 3
    by_title = {json.loads(path.read_text())["title"]: json.loads(path.read_text()) for path in files}
    for properties in schemas.values():
        assert properties["Type"] == "JSONSchemaDraft4"
        content = json.loads(properties["Content"])
        jsonschema.Draft4Validator.check_schema(content)
        assert content["$schema"] == "http://json-schema.org/draft-04/schema#"
        assert content == by_title[content["title"]], f"{properties['SchemaName']} differs from its file"
        assert properties["SchemaName"] == "voice.status@" + content["title"].replace(" ", "")


def message_finalized_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "5d2b3c4e-0000-4000-8000-000000000000",
        "source": "voice.status",
        "detail-type": "Voice Message Finalized",
        "detail": {
            "version": "1",
            "eventId": "msg-1:Busy",
            "messageId": "msg-1",
            "campaignId": "campaign-1",
            "to": "+306900000004",
            "status": "Busy",
            "finalAt": "2026-11-27T09:00:31.877Z",
            "duration": None,
            "price": 0.0,
        },
    }


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("source",), "someone.else"),
        (("detail", "status"), "Ringing"),
        (("detail", "version"), "2"),
        (("detail", "duration"), -1),
    ],
)
def test_the_schema_rejects_an_event_that_breaks_it(path: tuple[str, ...], value: Any) -> None:
    schema = json.loads((EVENTS_DIR / "schemas" / "voice-message-finalized.schema.json").read_text())
    jsonschema.Draft4Validator(schema).validate(message_finalized_event())
    broken = copy.deepcopy(message_finalized_event())
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(broken)
