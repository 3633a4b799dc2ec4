"""docs/openapi.json, the committed document for client generation, is what the API serves."""

from __future__ import annotations

import subprocess
import sys

from local.template import ROOT


def test_the_committed_openapi_document_is_up_to_date() -> None:
    check = subprocess.run(
        [sys.executable, "-m", "local.openapi_document", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
