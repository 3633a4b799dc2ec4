"""Phone numbers as the contract takes them: E.164 with ASCII digits only."""

# `[0-9]`, not `\d`: `\d` also takes other scripts' digits, and so one phone two ways.
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
