"""The `--env-vars` file for `sam local invoke` / `start-api` against the offline stack.

Every variable a function gets is the one template.yaml declares for it (Globals merged), resolved
the way the offline stack resolves it, with each resource's local name or ARN taken from the
stack's `.local/outputs.json` (the template Output whose Value refers to that resource). So the
file cannot drift from the template: a variable that refers to a resource no Output exposes is an
error that says so.

    python -m local.container.env_file --endpoint http://host.docker.internal:4566 > .local/env.json

SAM passes a variable only when the template declares it; AWS_ENDPOINT_URL is declared behind the
AwsEndpointUrl parameter for this reason. Credentials are not in the file: SAM hands the caller's
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY to the container (any value works offline).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local.functions import function_specs
from local.stack import DEFAULT_OUTPUTS_FILE, STACK_NAME
from local.template import Resolver, load_template

DEFAULT_ENDPOINT = "http://host.docker.internal:4566"
# Inside a container the simulated carrier (on this machine's loopback) is out of reach; silent is
# the provider that never calls out.
DEFAULT_PROVIDER = "silent"


class EnvFileError(ValueError):
    """The template and the outputs do not give every variable a value."""


def function_environments(
    template: dict[str, Any],
    outputs: Mapping[str, str],
    *,
    endpoint_url: str,
    parameters: Mapping[str, str] | None = None,
    region: str = "us-east-1",
) -> dict[str, dict[str, str]]:
    """{function logical id: {variable: value}} for the stack that wrote `outputs`."""
    resolver = Resolver(
        template,
        STACK_NAME,
        region,
        {
            # The parameters local/stack.py starts the offline stack with (the container tier
            # compares the result with the stack's own functions, so a change shows there).
            "VoiceProvider": DEFAULT_PROVIDER,
            "CallbackBaseUrl": outputs.get("ApiUrl", ""),
            "PublicApiDocs": "true",
            **(parameters or {}),
            "AwsEndpointUrl": endpoint_url,
        },
    )
    for name, output in (template.get("Outputs") or {}).items():
        value = output.get("Value")
        if name not in outputs or not isinstance(value, dict) or len(value) != 1:
            continue
        if "Ref" in value:
            resolver.physical[value["Ref"]] = outputs[name]
        elif "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            logical_id, attribute = target if isinstance(target, list) else target.split(".", 1)
            resolver.attributes[(logical_id, attribute)] = outputs[name]
    try:
        specs = function_specs(resolver)
    except KeyError as error:
        raise EnvFileError(
            f"{error.args[0]}: a function's Environment refers to a resource that no Output of "
            "template.yaml exposes (add an Output for it)"
        ) from error
    return {logical_id: spec.environment for logical_id, spec in specs.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.container.env_file", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--outputs", type=Path, default=DEFAULT_OUTPUTS_FILE, help="the offline stack's outputs.json"
    )
    parser.add_argument(
        "--endpoint", default=DEFAULT_ENDPOINT, help="the AWS endpoint as a container reaches it"
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter (repeatable)",
    )
    args = parser.parse_args(argv)
    if not args.outputs.exists():
        print(
            f"error: {args.outputs} does not exist; start the offline stack first (make local)",
            file=sys.stderr,
        )
        return 1
    parameters = dict(item.split("=", 1) for item in args.parameter)
    try:
        environments = function_environments(
            load_template(),
            json.loads(args.outputs.read_text()),
            endpoint_url=args.endpoint,
            parameters=parameters,
        )
    except EnvFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(environments, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
