"""Reading template.yaml: the single source of every local resource.

cfn-lint's decoder understands the short intrinsic forms (!Ref, !GetAtt, !Sub, ...);
`Resolver` turns them into local values: physical names chosen here, ARNs in the
local account and region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
ACCOUNT_ID = "123456789012"
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")
NO_VALUE = object()  # AWS::NoValue: the property or list item is left out


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    template, errors = decode(str(path))
    if errors or template is None:
        raise ValueError(f"cannot read {path}: {errors}")
    return dict(template)


@dataclass
class Resolver:
    """Resolves intrinsic functions against local names. `physical` maps logical id -> Ref value,
    `attributes` maps (logical id, attribute) -> GetAtt value; both fill in as resources are created."""

    template: dict[str, Any]
    stack_name: str
    region: str
    parameters: dict[str, str] = field(default_factory=dict)
    physical: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, spec in (self.template.get("Parameters") or {}).items():
            self.parameters.setdefault(name, str(spec.get("Default", "")))

    @property
    def pseudo(self) -> dict[str, Any]:
        return {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }

    def resource_name(self, logical_id: str) -> str:
        return f"{self.stack_name}-{logical_id}"

    def function_arn(self, logical_id: str) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.resource_name(logical_id)}"

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template.get("Conditions", {})[name]))

    def is_enabled(self, resource: dict[str, Any]) -> bool:
        name = resource.get("Condition")
        return name is None or self.condition(name)

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.physical:
            return self.physical[name]
        if self._type(name) == "AWS::Serverless::Function":
            return self.resource_name(name)
        raise KeyError(f"Ref to {name} before it exists locally")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if (logical_id, attribute) in self.attributes:
            return self.attributes[(logical_id, attribute)]
        if attribute == "Arn" and self._type(logical_id) == "AWS::Serverless::Function":
            return self.function_arn(logical_id)
        raise KeyError(f"GetAtt {logical_id}.{attribute} before it exists locally")

    def _type(self, logical_id: str) -> str:
        return str(self.template["Resources"].get(logical_id, {}).get("Type", ""))

    def sub(self, text: str, variables: dict[str, Any] | None = None) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if variables and name in variables:
                return str(self.resolve(variables[name]))
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.ref(name)

        return _SUB_VARIABLE.sub(replace, text)

    def resolve(self, value: Any) -> Any:  # noqa: PLR0911 - one branch per intrinsic
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                if isinstance(argument, list):
                    return self.sub(argument[0], argument[1])
                return self.sub(argument)
            if key == "Fn::If":
                name, when_true, when_false = argument
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = self.resolve(argument)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(argument[0])
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(item) for item in self.resolve(items))
            if key == "Condition":
                return self.condition(argument)
        resolved = {key: self.resolve(inner) for key, inner in value.items()}
        return {key: inner for key, inner in resolved.items() if inner is not NO_VALUE}


def resources_of_type(template: dict[str, Any], *types: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") in types
    }
