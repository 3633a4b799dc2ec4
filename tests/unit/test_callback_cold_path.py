"""The callback handler's cold start stays off pydantic's model layer (README, Performance).

Its body is validated by pydantic-core from `voice_status.reports`' core schema; a pydantic model
anywhere on its import path would add about 250 M instructions to every cold start. This checks
the import path, not a time: `make bench` measures the cost.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_callback_handler_loads_pydantic_core_but_not_pydantic() -> None:
    code = (
        "import sys\n"
        f"sys.path[:0] = [{str(ROOT / 'functions' / 'callback')!r}, {str(ROOT / 'layers' / 'shared')!r}]\n"
        "import app\n"
        "print(sorted({name.split('.')[0] for name in sys.modules} & {'pydantic', 'pydantic_core'}))\n"
    )
    environment = {
        key: value for key, value in os.environ.items() if key.startswith(("AWS_", "PATH", "PYTHON"))
    } | {"TABLE_NAME": "campaigns", "POWERTOOLS_SERVICE_NAME": "callback"}
    run = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["['pydantic_core']"]
