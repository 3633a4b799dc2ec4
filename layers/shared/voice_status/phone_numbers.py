"""Phone numbers as this service accepts them: E.164, ASCII digits only.

A regex `\\d` also matches other scripts' digits (Arabic-Indic, full-width), which would let one
phone be stored under several spellings; `[0-9]` does not.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"

PhoneNumber = Annotated[str, StringConstraints(pattern=E164_PATTERN)]
