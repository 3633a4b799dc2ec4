"""`python -m local.invoke events/<function>-<case>.json` (make invoke EVENT=...): one sample event
through its function, in this process, on a fresh offline stack; prints the function's answer.

The file name's prefix names the function (`callback-ringing.json` -> the function whose CodeUri
is functions/callback/). The stack is started as `make local` starts it, with the silent provider
(nothing calls back), and the callback signing secret set to the key the sample callbacks are
signed with, so their signatures hold. It starts empty: a sample that names a campaign the stack
does not hold gets the function's answer to that (404, or the error the workflow would see).
Exit status: 0 when the function returned, 1 when it raised (Lambda's error payload is printed),
2 when the event cannot be run.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

from local.functions import FUNCTION_TYPE, InvocationError
from local.stack import LocalStack, Settings, StackError
from local.template import ROOT, load_template, resources_of_type

# The sample callbacks in events/ are signed with this key (HMAC of their campaign id); it is
# only ever the offline stack's secret.
SAMPLE_EVENTS_SIGNING_KEY = "events-signing-key-not-secret"


class InvokeError(Exception):
    """The event cannot be run; the message says why."""


def function_for(event_file: Path) -> str:
    """The logical id of the function an events/<prefix>-<case>.json file belongs to."""
    by_directory = {
        Path(resource["Properties"]["CodeUri"]).name: logical_id
        for logical_id, resource in resources_of_type(load_template(), FUNCTION_TYPE).items()
    }
    for prefix in sorted(by_directory, key=len, reverse=True):
        if event_file.name.startswith(prefix + "-"):
            return by_directory[prefix]
    raise InvokeError(
        f"{event_file.name} names no function: sample events are <function>-<case>.json, "
        f"with <function> one of {', '.join(sorted(by_directory))}"
    )


def read_event(event_file: Path) -> Any:
    try:
        return json.loads(event_file.read_text())
    except OSError as error:
        raise InvokeError(f"cannot read {event_file}: {error.strerror}") from None
    except ValueError as error:
        raise InvokeError(f"{event_file} is not JSON: {error}") from None


def readable(answer: Any) -> Any:
    """An API proxy answer with its JSON body decoded, so it prints as one document."""
    if isinstance(answer, dict) and isinstance(answer.get("body"), str):
        try:
            return {**answer, "body": json.loads(answer["body"])}
        except ValueError:
            return answer
    return answer


def invoke(event_file: Path) -> tuple[str, Any, bool]:
    """(function, answer, raised) for one event on a fresh offline stack."""
    logical_id = function_for(event_file)
    event = read_event(event_file)
    settings = Settings.from_environment(free_ports=True)
    settings = Settings(
        api_port=settings.api_port,
        aws_port=settings.aws_port,
        voice_provider="silent",
        log_level=settings.log_level,
        region=settings.region,
        outputs_file=ROOT / ".local" / "invoke-outputs.json",  # leaves a running `make local`'s file alone
    )
    with LocalStack(settings) as stack:
        stack.client("secretsmanager").put_secret_value(
            SecretId=stack.outputs["CallbackSigningSecretArn"], SecretString=SAMPLE_EVENTS_SIGNING_KEY
        )
        assert stack.functions is not None
        try:
            return logical_id, stack.functions.invoke(logical_id, event), False
        except InvocationError as error:
            return logical_id, error.payload, True


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(
            "usage: python -m local.invoke events/<function>-<case>.json  (make invoke EVENT=...)",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s", stream=sys.stderr)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    event_file = Path(argv[0])
    try:
        logical_id, answer, raised = invoke(event_file)
    except (InvokeError, StackError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{logical_id} {'raised' if raised else 'answered'}:", file=sys.stderr)
    print(json.dumps(readable(answer), indent=2))
    return 1 if raised else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
