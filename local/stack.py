"""The whole stack offline, in this process (DESIGN.md, "Running it without AWS or Docker").

moto in server mode is the AWS endpoint, every resource comes from template.yaml, the Lambda
handlers run in-process, and the event sources moto does not drive are driven here: the API
(local/api_server.py), the table stream (local/streams.py) and, for VOICE_PROVIDER=simulated,
a carrier that calls back like Routee does (local/carrier/).

`LocalStack` is what `python -m local`, `python -m local.demo` and tests/e2e use.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import requests
from moto.server import ThreadedMotoServer

from local.api_server import ApiServer
from local.functions import FUNCTION_TYPE, LAYER_TYPE, LocalFunctions, function_specs
from local.moto_fixes import apply_fixes
from local.resources import Stack, create_stack
from local.template import ROOT, load_template, resources_of_type

if TYPE_CHECKING:
    from local.carrier import SimulatedCarrier
    from local.streams import StreamPoller

logger = logging.getLogger("local")

HOST = "127.0.0.1"
STACK_NAME = "voice-status-local"
DEFAULT_API_PORT = 3000
DEFAULT_AWS_PORT = 4566
DEFAULT_OUTPUTS_FILE = ROOT / ".local" / "outputs.json"
# Offline there is no real Routee account: the simulated carrier, or no calls at all.
LOCAL_PROVIDERS = ("simulated", "silent")
# Routee credentials the simulated carrier accepts; a real Routee account is never used offline.
LOCAL_ROUTEE_CREDENTIALS = {"applicationId": "local-application", "applicationSecret": "local-secret"}
_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}
# Settings a developer's shell may hold that would send calls elsewhere or to a real account.
_UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")


@dataclass(frozen=True)
class Settings:
    api_port: int = DEFAULT_API_PORT
    aws_port: int = DEFAULT_AWS_PORT
    voice_provider: str = "simulated"
    log_level: str = "INFO"
    region: str = "us-east-1"
    outputs_file: Path = DEFAULT_OUTPUTS_FILE
    # Where the AWS endpoint listens. `sam local` containers cannot reach 127.0.0.1 of this machine:
    # 0.0.0.0 lets them in (through the docker bridge), and keeps http://127.0.0.1 working here.
    aws_bind_address: str = HOST

    @classmethod
    def from_environment(cls, *, free_ports: bool = False) -> Settings:
        """CONTRACT.md section 5's variables; `free_ports` picks any free port where none is set."""
        env = os.environ

        def port(name: str, default: int) -> int:
            value = env.get(name)
            return int(value) if value else (0 if free_ports else default)

        return cls(
            api_port=port("LOCAL_API_PORT", DEFAULT_API_PORT),
            aws_port=port("LOCAL_AWS_PORT", DEFAULT_AWS_PORT),
            voice_provider=env.get("VOICE_PROVIDER") or "simulated",
            log_level=env.get("LOG_LEVEL") or "INFO",
            region=env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or "us-east-1",
            outputs_file=Path(env.get("LOCAL_OUTPUTS_FILE") or DEFAULT_OUTPUTS_FILE),
            aws_bind_address=env.get("LOCAL_AWS_BIND_ADDRESS") or HOST,
        )


class StackError(RuntimeError):
    """The local stack cannot start; the message says why and what to do."""


@dataclass
class LocalStack:
    settings: Settings = field(default_factory=Settings.from_environment)
    stack: Stack | None = None
    functions: LocalFunctions | None = None
    carrier: SimulatedCarrier | None = None  # when VOICE_PROVIDER=simulated
    stream_poller: StreamPoller | None = None
    aws_url: str = ""
    api_url: str = ""
    notes: list[str] = field(default_factory=list)  # what is degraded, for the ready line
    _cleanup: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _session: boto3.Session = field(init=False, repr=False)

    # ----- lifecycle -----

    def start(self) -> LocalStack:
        """Start everything; on any failure, stop what already started and raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop in reverse order of start: servers shut down and their threads joined."""
        self._cleanup.close()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _start(self) -> None:
        settings = self.settings
        self._cleanup.callback(_restore_environment, dict(os.environ))
        for name in _UNSET:
            os.environ.pop(name, None)
        os.environ.update(_FAKE_CREDENTIALS)
        os.environ.update(AWS_DEFAULT_REGION=settings.region, AWS_REGION=settings.region)
        os.environ["POWERTOOLS_TRACE_DISABLED"] = "1"  # no X-Ray daemon here
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "1")  # EMF lines would drown the logs

        self._session = boto3.Session(region_name=settings.region)
        self.aws_url = self._start_moto()
        os.environ["AWS_ENDPOINT_URL"] = self.aws_url  # every boto3 client in this process: moto
        api = self._bind(lambda: ApiServer(HOST, settings.api_port), settings.api_port, "LOCAL_API_PORT")
        self._cleanup.callback(api.stop)
        self.api_url = api.url

        template = load_template()
        _add_layers_to_path(template)  # the carrier and the demo use the shared layer too
        self.stack = create_stack(
            self._session,
            stack_name=STACK_NAME,
            endpoint_url=self.aws_url,
            parameters=self._parameters(template),
            template=template,
        )
        self.stack.outputs["ApiUrl"] = self.api_url
        self.client("secretsmanager").create_secret(
            Name=self.stack.resolver.parameters["RouteeCredentialsSecretName"],
            SecretString=json.dumps(LOCAL_ROUTEE_CREDENTIALS),
        )

        _forget_warm_handlers(template)  # this stack's endpoint and secrets, not an earlier stack's
        self._cleanup.callback(_forget_warm_handlers, template)
        self.functions = LocalFunctions(function_specs(self.stack.resolver))
        self._load_handlers(self.functions)
        self._install_invoke_hook(self.functions)
        self._cleanup.callback(self._stop_running_executions)
        api.start(self.functions)
        self._start_stream_poller()
        self._write_outputs()

    def _start_moto(self) -> str:
        port = self.settings.aws_port
        moto = self._bind(
            lambda: _checked_moto_server(self.settings.aws_bind_address, port), port, "LOCAL_AWS_PORT"
        )  # raises before the server thread starts if the port is taken
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log: a line per call
        moto.start()
        self._cleanup.callback(moto.stop)
        port = moto.get_host_and_port()[1]
        # Step Functions' interpreter builds its clients for http://localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(port)
        url = f"http://{HOST}:{port}"
        requests.post(
            f"{url}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}},
            timeout=10,
        ).raise_for_status()
        return url

    @staticmethod
    def _bind(create: Any, port: int, variable: str) -> Any:
        try:
            return create()
        except OSError as error:
            raise StackError(
                f"cannot listen on {HOST}:{port} ({error.strerror}); is the local stack already "
                f"running? Stop it, or choose another port with {variable}."
            ) from error

    def _parameters(self, template: dict[str, Any]) -> dict[str, str]:
        settings = self.settings
        provider = settings.voice_provider
        parameters = {
            "VoiceProvider": provider,
            "CallbackBaseUrl": self.api_url,
            "LogLevel": settings.log_level,
            "PublicApiDocs": "true",  # Swagger UI at /swagger; on AWS only when asked for
        }
        _check_allowed(template, parameters)
        if provider not in LOCAL_PROVIDERS:
            raise StackError(
                f"VOICE_PROVIDER={provider!r}: the local stack runs {' or '.join(LOCAL_PROVIDERS)}"
            )
        if provider == "simulated":
            from local.carrier import SimulatedCarrier  # uses the shared layer, on sys.path by now

            self.carrier = SimulatedCarrier(
                HOST,
                port=0,
                credentials=(
                    LOCAL_ROUTEE_CREDENTIALS["applicationId"],
                    LOCAL_ROUTEE_CREDENTIALS["applicationSecret"],
                ),
            )
            self.carrier.start()
            self._cleanup.callback(self.carrier.stop)
            parameters["RouteeAuthUrl"] = self.carrier.auth_url
            parameters["RouteeApiUrl"] = self.carrier.url
        return parameters

    def _load_handlers(self, functions: LocalFunctions) -> None:
        """Import every handler now, as Lambda's init would, so a handler that cannot load says so
        at start rather than on the carrier's first burst of callbacks."""
        for logical_id in functions.specs:
            try:
                functions.handler(logical_id)
            except Exception as error:  # keep serving the others; its routes answer 502
                logger.exception("%s cannot be loaded", logical_id)
                self.notes.append(f"{logical_id} cannot be loaded: {error}")

    def _install_invoke_hook(self, functions: LocalFunctions) -> None:
        """Step Functions' Lambda tasks reach the in-process handlers through boto3's default session.

        In server mode nothing swaps boto3.DEFAULT_SESSION (only mock_aws patches it), and moto's
        interpreter creates a fresh client per task with boto3.client(...) (moto
        stepfunctions/parser/asl/utils/boto_client.py), so a before-call hook on the default
        session answers every lambda:Invoke, both `arn:aws:states:::lambda:invoke` and plain
        function ARNs (checked with moto 5.2.5). It is registered after moto is up.
        """
        self._cleanup.callback(functions.install_invoke_hook())

    def _start_stream_poller(self) -> None:
        """Drive the table stream into StreamPublisherFunction, as Lambda's event source mapping would."""
        from local.streams import StreamPoller  # uses the shared layer, on sys.path by now

        assert self.functions is not None and self.stack is not None
        self.stream_poller = StreamPoller(
            self._session,
            self.functions,
            self.stack.resolver,
            endpoint_url=self.aws_url,
        )
        self.stream_poller.start()
        self._cleanup.callback(self.stream_poller.stop)

    def _stop_running_executions(self) -> None:
        """Abort campaigns still in flight, so their workflow threads stop calling the endpoint."""
        if not self.stack or "CampaignStateMachineArn" not in self.stack.outputs:
            return
        sfn = self.client("stepfunctions")
        with contextlib.suppress(Exception):  # best effort while shutting down
            pages = sfn.get_paginator("list_executions").paginate(
                stateMachineArn=self.stack.outputs["CampaignStateMachineArn"], statusFilter="RUNNING"
            )
            for page in pages:
                for execution in page["executions"]:
                    sfn.stop_execution(executionArn=execution["executionArn"], cause="local stack stopped")

    def _write_outputs(self) -> None:
        path = self.settings.outputs_file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.outputs, indent=2, sort_keys=True) + "\n")

    # ----- use -----

    @property
    def outputs(self) -> dict[str, str]:
        assert self.stack is not None, "start() first"
        return self.stack.outputs

    def client(self, service: Any) -> Any:
        """A boto3 client for this stack's AWS endpoint (service: "dynamodb", "sqs", ...)."""
        return self._session.client(service, endpoint_url=self.aws_url)

    def secret(self, output: str = "CallbackSigningSecretArn") -> str:
        secret_id = self.outputs[output]
        return str(self.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])

    def drain_streams(self) -> Any:
        """Deliver every stream record written so far (None until local/streams.py exists)."""
        return self.stream_poller.drain() if self.stream_poller is not None else None

    def ready_line(self) -> str:
        provider = self.stack.resolver.parameters["VoiceProvider"] if self.stack else "?"
        carrier = f" (carrier {self.carrier.url})" if self.carrier is not None else ""
        notes = "".join(f"\n  note: {note}" for note in self.notes)
        return (
            f"ready: API {self.api_url}  AWS endpoint {self.aws_url}  "
            f"provider {provider}{carrier}  outputs {self.settings.outputs_file}{notes}"
        )


def _checked_moto_server(address: str, port: int) -> ThreadedMotoServer:
    # ThreadedMotoServer binds inside its thread and would wait forever if that failed, so find
    # out first whether the port is free.
    if port:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As the server will: a port whose last connections are in TIME_WAIT is free to reuse.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((address, port))
    apply_fixes()
    return ThreadedMotoServer(ip_address=address, port=port, verbose=False)


def _check_allowed(template: dict[str, Any], parameters: dict[str, str]) -> None:
    declared = template.get("Parameters", {})
    for name, value in parameters.items():
        allowed = declared.get(name, {}).get("AllowedValues")
        if allowed and value not in allowed:
            variable = {"VoiceProvider": "VOICE_PROVIDER", "LogLevel": "LOG_LEVEL"}.get(name, name)
            raise StackError(f"{variable}={value!r} is not one of {', '.join(allowed)}")


def _add_layers_to_path(template: dict[str, Any]) -> None:
    for layer in resources_of_type(template, LAYER_TYPE).values():
        path = str(ROOT / layer["Properties"]["ContentUri"])
        if path not in sys.path:
            sys.path.insert(0, path)


def _forget_warm_handlers(template: dict[str, Any]) -> None:
    """Drop imported handler modules (LocalFunctions names them lambda_<logical id>) and Powertools'
    cached secrets and providers: their boto3 clients were made for the endpoint of an earlier
    stack (or mock_aws) in this process."""
    from aws_lambda_powertools.utilities import parameters

    for logical_id in resources_of_type(template, FUNCTION_TYPE):
        sys.modules.pop(f"lambda_{logical_id}", None)
    parameters.clear_caches()


def _restore_environment(saved: dict[str, str]) -> None:
    for name in set(os.environ) - set(saved):
        del os.environ[name]
    os.environ.update(saved)
