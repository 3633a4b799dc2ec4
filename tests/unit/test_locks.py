"""The hashed locks: the layer is deployed from layers/shared/requirements.txt, and the dev
environment runs the same versions of what they share, so tests exercise what is deployed."""

from __future__ import annotations

import re

from local.template import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def pins(path: str) -> dict[str, str]:
    text = (ROOT / path).read_text()
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in PIN.findall(text)}


def test_every_pin_of_the_layer_lock_carries_hashes() -> None:
    text = (ROOT / "layers/shared/requirements.txt").read_text()
    entries = re.split(r"\n(?=[A-Za-z])", text.split("\n", 2)[2])
    assert len(entries) == len(pins("layers/shared/requirements.txt")) > 3
    assert all("--hash=sha256:" in entry for entry in entries)


def test_the_dev_environment_runs_the_layers_versions() -> None:
    layer, dev = pins("layers/shared/requirements.txt"), pins("requirements-dev.txt")
    differing = {
        name: (version, dev[name]) for name, version in layer.items() if name in dev and dev[name] != version
    }
    assert differing == {}
    assert {"aws-lambda-powertools", "pydantic", "boto3", "botocore"} <= layer.keys() & dev.keys()
