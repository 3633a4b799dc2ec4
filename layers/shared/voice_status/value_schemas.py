"""pydantic-core schemas for frozen dataclasses: validation by pydantic's engine without pydantic's
model layer, for the value types on the callback handler's import path (see `voice_status.reports`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic_core import core_schema as schema

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue


class SchemaDataclass:
    """Base of the frozen dataclasses validated here. pydantic models that embed one validate it
    with its `core_schema` (set by `frozen_dataclass_schema`) and document its fields with
    `field_descriptions` (a core schema has no place for them)."""

    core_schema: ClassVar[schema.CoreSchema]
    field_descriptions: ClassVar[Mapping[str, str]] = MappingProxyType({})

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> schema.CoreSchema:
        return cls.core_schema

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler.resolve_ref_schema(handler(core_schema))
        for name, description in cls.field_descriptions.items():
            json_schema["properties"][name]["description"] = description
        return json_schema


def frozen_dataclass_schema(
    cls: type[SchemaDataclass],
    fields: list[schema.DataclassField],
    *,
    extra: Literal["ignore", "forbid"],
    by_name: bool = False,
) -> schema.DataclassSchema:
    """`cls`'s fields, in order, validated as a pydantic model with `extra` and `populate_by_name`
    would validate them; named after the class in JSON Schema. Also `cls.core_schema`."""
    cls.core_schema = schema.dataclass_schema(
        cls,
        schema.dataclass_args_schema(cls.__name__, fields, extra_behavior=extra),
        [field["name"] for field in fields],
        frozen=True,
        ref=cls.__name__,
        config=schema.CoreConfig(
            title=cls.__name__,
            extra_fields_behavior=extra,
            validate_by_alias=True,
            validate_by_name=by_name,
        ),
    )
    return cls.core_schema


def optional(value_schema: schema.CoreSchema) -> schema.CoreSchema:
    """May be absent or null: None then."""
    return schema.with_default_schema(schema.nullable_schema(value_schema), default=None)


def either_key(*keys: str) -> list[list[str | int]]:
    """A field read from the first of `keys` present (pydantic's AliasChoices)."""
    return [[key] for key in keys]
