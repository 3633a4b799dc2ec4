"""Recipients from a CSV file: the first column holds the numbers; a header row is allowed."""

from __future__ import annotations

import csv
import re
from pathlib import Path

# E.164 as the API accepts it: '+', ASCII digits, no leading zero, at most 15 digits.
E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


class RecipientsError(ValueError):
    """The file cannot give a list of recipients; the message names the file and line."""


def read_recipients(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            rows = [row for row in csv.reader(file) if row and row[0].strip()]
    except OSError as error:
        raise RecipientsError(f"cannot read {path}: {error.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise RecipientsError(f"{path} is not a UTF-8 CSV file ({error})") from None
    numbers = [row[0].strip() for row in rows]
    if numbers and not E164.match(numbers[0]) and not numbers[0].lstrip("+").isdigit():
        numbers = numbers[1:]  # a header row: a first cell that is not even number-like
    if not numbers:
        raise RecipientsError(f"{path} lists no recipients (the first column holds the numbers)")
    for line, number in enumerate(numbers, start=len(rows) - len(numbers) + 1):
        if not E164.match(number):
            raise RecipientsError(f"{path} line {line}: {number!r} is not an E.164 number like +306900000001")
    return numbers
