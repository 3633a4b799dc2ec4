"""samconfig.toml: each deployable environment is one stack with one set of settings."""

from __future__ import annotations

import shlex
import tomllib
from typing import Any

import pytest

from local.template import ROOT, load_template

CONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text())
ENVIRONMENTS = [name for name in CONFIG if isinstance(CONFIG[name], dict)]


def deployable() -> list[str]:
    return [name for name in ENVIRONMENTS if "deploy" in CONFIG[name]]


def test_default_deploys_nothing_so_no_two_sections_share_a_stack() -> None:
    assert "deploy" not in CONFIG["default"] and "stack_name" not in CONFIG["default"].get("global", {}).get(
        "parameters", {}
    )
    stacks = [CONFIG[name]["global"]["parameters"]["stack_name"] for name in deployable()]
    assert sorted(deployable()) == ["dev", "prod"]
    assert len(set(stacks)) == len(stacks)


@pytest.mark.parametrize("environment", deployable())
def test_overrides_are_template_parameters_with_allowed_values(environment: str) -> None:
    parameters: dict[str, Any] = load_template()["Parameters"]
    overrides = CONFIG[environment]["deploy"]["parameters"]["parameter_overrides"]
    for pair in shlex.split(overrides):
        name, value = pair.split("=", 1)
        assert name in parameters, f"{environment}: {name} is not a template parameter"
        allowed = parameters[name].get("AllowedValues")
        assert allowed is None or value in allowed, f"{environment}: {name}={value}"
    assert f"Stage={environment}" in overrides
