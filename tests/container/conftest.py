"""The container tier: the real SAM CLI running the built functions in containers, against the
offline stack.

`make test-container` sets it up (local/container/run-tier.sh: a container engine, the Lambda
runtime image, `sam build` for this machine's architecture) and names what it built in the
environment; without those variables every test here is skipped, saying so.

One offline stack (local/stack.py) serves the whole tier, its AWS endpoint listening where
containers reach it, with a `--env-vars` file generated from template.yaml and that stack's
outputs.json. The sample events go through `sam local start-lambda --warm-containers EAGER` (the
emulator `sam local invoke` uses, with one warm container per function instead of a new one per
call: about 15 s less per event here); `sam local invoke` itself and `sam local start-api` are
run as a developer runs them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local.container.env_file import function_environments
from local.stack import LocalStack, Settings
from local.template import ROOT, load_template
from tests.conftest import EVENTS_DIR, REGION, TestStack

CONTAINER_HOST = "host.docker.internal"  # this machine, as `--add-host ...:host-gateway` names it
INVOKE_TIMEOUT_SECONDS = 180
START_TIMEOUT_SECONDS = 180


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.container)


@dataclass(frozen=True)
class SamBuild:
    """What run-tier.sh built: the template to run, its architecture and the runtime image."""

    template: Path
    architecture: str
    invoke_image: str  # empty: SAM pulls AWS's public image (a machine with registry access)


@dataclass
class Invocations:
    """Real invocations made by this session, for the summary line."""

    warm: int = 0
    cold: int = 0
    cold_seconds: float = 0.0
    http_requests: int = 0


INVOCATIONS = Invocations()


@pytest.fixture(scope="session")
def sam_build() -> SamBuild:
    template = os.environ.get("SAM_LOCAL_TEMPLATE")
    if not template:
        pytest.skip(
            "the container tier runs with `make test-container` (it sets up a container engine, the "
            "runtime image and the sam build this tier invokes)"
        )
    return SamBuild(
        template=Path(template),
        architecture=os.environ.get("SAM_LOCAL_ARCHITECTURE", "x86_64"),
        invoke_image=os.environ.get("SAM_LOCAL_INVOKE_IMAGE", ""),
    )


@pytest.fixture(scope="session")
def local_stack(sam_build: SamBuild, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = Settings(
        api_port=0,
        aws_port=0,
        voice_provider="silent",  # the only provider a container can use offline
        log_level="WARNING",
        outputs_file=tmp_path_factory.mktemp("local") / "outputs.json",
        aws_bind_address="0.0.0.0",  # containers come in through the docker bridge
    )
    with LocalStack(settings) as stack:
        os.environ["API_URL"] = stack.api_url  # the callback URLs tests/workflow/support.py writes
        yield stack


@pytest.fixture(autouse=True)
def _aws_environment() -> None:
    """Replaces tests/conftest.py's fixture of the same name, which removes AWS_ENDPOINT_URL: here
    the offline stack has set fake credentials and its endpoint for every client in this process."""


@pytest.fixture(scope="session")
def stack(local_stack: LocalStack) -> TestStack:
    """The offline stack as the shared set-up code (tests/sample_events.py) expects it."""
    assert local_stack.stack is not None and local_stack.functions is not None
    return TestStack(local_stack.stack, local_stack.functions, boto3.Session(region_name=REGION))


@pytest.fixture(autouse=True)
def _empty_stack(request: pytest.FixtureRequest) -> None:
    """Each test starts with empty tables and queues and no campaign running, as each in-process
    test does with its fresh moto (the samples of different functions share ids). The offline stack
    itself stays up: the warm containers' env file names its endpoint and secret."""
    if "stack" not in request.fixturenames:
        return
    local_stack: LocalStack = request.getfixturevalue("local_stack")
    stack: TestStack = request.getfixturevalue("stack")
    sfn = stack.client("stepfunctions")
    running = sfn.list_executions(
        stateMachineArn=stack.outputs["CampaignStateMachineArn"], statusFilter="RUNNING"
    )
    for execution in running["executions"]:
        sfn.stop_execution(executionArn=execution["executionArn"])
    dynamodb = stack.client("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        key_names = [
            key["AttributeName"] for key in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        ]
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                dynamodb.delete_item(TableName=table, Key={name: item[name] for name in key_names})
    local_stack.drain_streams()  # what the stream publisher does with them happens now, not in a test
    sqs = stack.client("sqs")
    for queue_url in sqs.list_queues().get("QueueUrls", []):  # PurgeQueue is allowed once a minute
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(number), "ReceiptHandle": message["ReceiptHandle"]}
                    for number, message in enumerate(messages)
                ],
            )


@dataclass
class SamLocal:
    build: SamBuild
    env_file: Path
    endpoint_url: str
    logs: Path
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    _lambda: Any = None

    def common_options(self) -> list[str]:
        options = [
            "--template",
            str(self.build.template),
            "--env-vars",
            str(self.env_file),
            "--parameter-overrides",
            f"Architecture={self.build.architecture}",
            "--add-host",
            f"{CONTAINER_HOST}:host-gateway",
        ]
        if self.build.invoke_image:
            options += ["--invoke-image", self.build.invoke_image, "--skip-pull-image"]
        return options

    @staticmethod
    def environment() -> dict[str, str]:
        # SAM hands these to the containers; the offline endpoint accepts any.
        return os.environ | {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "SAM_CLI_TELEMETRY": "0",
        }

    def invoke_command(self, function: str, event_file: str) -> Any:
        """`sam local invoke <function> -e events/<event_file>` in a fresh container; its answer."""
        started = time.monotonic()
        run = subprocess.run(
            [_sam(), "local", "invoke", function, "--event", f"events/{event_file}", *self.common_options()],
            cwd=ROOT,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=INVOKE_TIMEOUT_SECONDS,
            check=False,
        )
        INVOCATIONS.cold += 1
        INVOCATIONS.cold_seconds += time.monotonic() - started
        assert run.returncode == 0, f"sam local invoke {function} -e {event_file}:\n{run.stderr[-3000:]}"
        lines = run.stdout.strip().splitlines()
        assert lines, f"sam local invoke {function} -e {event_file} printed no answer:\n{run.stderr[-3000:]}"
        return json.loads(lines[-1])

    def invoke(self, function: str, event_file: str) -> Any:
        """The sample through `sam local start-lambda` (warm containers); what the function returned."""
        if self._lambda is None:
            port = free_port()
            self.start("start-lambda", port, "--warm-containers", "EAGER")
            self._lambda = boto3.client(
                "lambda",
                endpoint_url=f"http://127.0.0.1:{port}",
                region_name=REGION,
                aws_access_key_id="local",
                aws_secret_access_key="local",
                config=Config(read_timeout=INVOKE_TIMEOUT_SECONDS, retries={"max_attempts": 0}),
            )
        answer = self._lambda.invoke(FunctionName=function, Payload=(EVENTS_DIR / event_file).read_bytes())
        INVOCATIONS.warm += 1
        return json.loads(answer["Payload"].read())

    def start(self, command: str, port: int, *options: str) -> subprocess.Popen[str]:
        """`sam local <command>` in the background; returns once it accepts connections."""
        log = self.logs / f"sam-{command}.log"
        process = subprocess.Popen(
            [
                _sam(),
                "local",
                command,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *options,
                *self.common_options(),
            ],
            cwd=ROOT,
            env=self.environment(),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.processes.append(process)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"sam local {command} exited {process.returncode}:\n{log.read_text()[-3000:]}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return process
            time.sleep(0.2)
        pytest.fail(
            f"sam local {command} did not listen within {START_TIMEOUT_SECONDS} s:\n{log.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        for process in self.processes:
            _stop(process)


def _sam() -> str:
    return str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "sam")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def sam(
    sam_build: SamBuild, local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SamLocal]:
    """The SAM CLI against the offline stack, with the env file made from its outputs."""
    aws_port = local_stack.aws_url.rsplit(":", 1)[1]
    endpoint_url = f"http://{CONTAINER_HOST}:{aws_port}"
    outputs = json.loads(local_stack.settings.outputs_file.read_text())
    environments = function_environments(
        load_template(),
        outputs,
        endpoint_url=endpoint_url,
        parameters={"LogLevel": local_stack.settings.log_level},  # the offline stack's, as it ran
    )
    directory = tmp_path_factory.mktemp("sam")
    env_file = directory / "env.json"
    env_file.write_text(json.dumps(environments, indent=2))
    sam_local = SamLocal(sam_build, env_file, endpoint_url, logs=directory)
    yield sam_local
    sam_local.stop()


def _stop(process: subprocess.Popen[str]) -> None:
    """Ctrl-C, as a developer would stop it: SAM then removes its warm containers."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    counted = INVOCATIONS
    if counted.warm or counted.cold or counted.http_requests:
        terminalreporter.write_line(
            f"container tier: {counted.warm + counted.cold + counted.http_requests} real invocations: "
            f"{counted.warm} through `sam local start-lambda` (warm), {counted.cold} `sam local invoke` "
            f"runs ({counted.cold_seconds:.1f} s), {counted.http_requests} requests to `sam local start-api`"
        )
