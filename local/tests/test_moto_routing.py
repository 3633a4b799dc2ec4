"""moto's server routes by its list of service modules, which is now listed once per process."""

from __future__ import annotations

import os

import moto
import pytest
from moto import backends

from local.moto_fixes import apply_fixes


def test_the_listing_is_moto_own_and_made_once(monkeypatch: pytest.MonkeyPatch) -> None:
    apply_fixes()
    package = os.path.dirname(moto.__file__)
    expected = {
        entry
        for entry in os.listdir(package)
        if os.path.isdir(os.path.join(package, entry)) and not entry.startswith("__")
    }
    assert set(backends.list_of_moto_modules()) == expected
    assert {"dynamodb", "sqs", "events", "stepfunctions"} <= expected

    def listed_again(path: str) -> list[str]:
        raise AssertionError("moto's package directory was listed again")

    monkeypatch.setattr(os, "listdir", listed_again)
    assert "dynamodb" in backends.list_of_moto_modules()
    assert "dynamodb.us-east-1.amazonaws.com" not in backends.list_of_moto_modules()
