"""The real `sam local invoke` on every events/*.json file. Needs a container runtime (Docker);
skipped, with the reason shown, where there is none.

AWS calls from inside the container go to a moto server on this machine holding the stack's
resources from template.yaml, so the answers match tests/integration/test_callback_events.py.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import boto3
import pytest

from local.resources import create_stack
from local.template import ROOT
from tests.conftest import EVENTS_DIR
from tests.integration.test_callback_events import EVENTS_SIGNING_KEY, SEQUENCE


def _container_runtime_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    if probe.returncode != 0:
        return "docker client present but no container engine answers (`docker info` failed)"
    return None


pytestmark = [pytest.mark.container]


def _function_for_event(event_file: Path, template_functions: dict[str, str]) -> str | None:
    prefix = event_file.stem.split("-", 1)[0]
    return template_functions.get(prefix)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_sam_local_invoke_answers_every_event_file(tmp_path: Path, template: dict) -> None:
    problem = _container_runtime_problem()
    if problem:
        pytest.skip(f"sam local invoke needs a container runtime: {problem}")
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="0.0.0.0", port=port)  # the container reaches it via host-gateway
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        session = boto3.Session(
            region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local"
        )
        stack = create_stack(session, endpoint_url=endpoint, parameters={"VoiceProvider": "silent"})
        session.client("secretsmanager", endpoint_url=endpoint).put_secret_value(
            SecretId=stack.outputs["CallbackSigningSecretArn"], SecretString=EVENTS_SIGNING_KEY
        )
        functions = {
            Path(resource["Properties"]["CodeUri"]).name: logical_id
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == "AWS::Serverless::Function"
        }
        container_endpoint = f"http://host.docker.internal:{port}"
        env_vars = tmp_path / "env.json"
        env_vars.write_text(
            json.dumps(
                {
                    logical_id: {
                        "AWS_ENDPOINT_URL": container_endpoint,
                        "AWS_ACCESS_KEY_ID": "local",
                        "AWS_SECRET_ACCESS_KEY": "local",
                        "CALLBACK_SIGNING_SECRET_ARN": stack.outputs["CallbackSigningSecretArn"],
                        "TABLE_NAME": stack.outputs["TableName"],
                    }
                    for logical_id in functions.values()
                }
            )
        )
        build_dir = tmp_path / "build"
        sam = str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "sam")
        subprocess.run([sam, "build", "--build-dir", str(build_dir)], cwd=ROOT, check=True, timeout=900)
        expected_codes = {name: code for name, code, *_ in SEQUENCE}
        for event_file in sorted(EVENTS_DIR.glob("*.json")):
            function = _function_for_event(event_file, functions)
            assert function, f"{event_file.name}: no function whose CodeUri folder names its prefix"
            run = subprocess.run(
                [
                    sam,
                    "local",
                    "invoke",
                    function,
                    "-t",
                    str(build_dir / "template.yaml"),
                    "-e",
                    str(event_file),
                    "--env-vars",
                    str(env_vars),
                    "--add-host",
                    "host.docker.internal:host-gateway",
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert run.returncode == 0, f"{event_file.name}: {run.stderr[-2000:]}"
            answer = json.loads(run.stdout.strip().splitlines()[-1])
            if event_file.name in expected_codes:
                assert answer["statusCode"] == expected_codes[event_file.name], event_file.name
    finally:
        server.stop()
