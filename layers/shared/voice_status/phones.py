"""Phone numbers as the contract takes them: E.164 with ASCII digits only."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

# `[0-9]`, not `\d`: `\d` also takes other scripts' digits, and so one phone two ways.
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"

PhoneNumber = Annotated[str, StringConstraints(pattern=E164_PATTERN)]
