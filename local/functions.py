"""The template's Lambda functions, run in this process as `sam local invoke` would run them.

Each function's Handler, CodeUri, Layers, Timeout and Environment come from template.yaml
(Globals merged). Step Functions' Lambda tasks reach them through a `before-call` hook on
boto3's default session that answers lambda:Invoke with the handler's result.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import boto3
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.response import StreamingBody

from local.template import ROOT, Resolver, resources_of_type

FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"


@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    code_dir: str
    handler: str
    timeout: int
    memory_mb: int
    environment: dict[str, str]
    layer_dirs: list[str]
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


class LambdaContext:
    """The attributes of the real context object that handlers and Powertools read."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


class InvocationError(Exception):
    """A handler raised: the payload is what Lambda would return with FunctionError=Unhandled."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("errorMessage", "handler failed"))
        self.payload = payload


def function_specs(resolver: Resolver) -> dict[str, FunctionSpec]:
    template = resolver.template
    globals_ = (template.get("Globals") or {}).get("Function", {})
    layers = {
        logical_id: str(ROOT / resource["Properties"]["ContentUri"])
        for logical_id, resource in resources_of_type(template, LAYER_TYPE).items()
    }
    specs = {}
    for logical_id, resource in resources_of_type(template, FUNCTION_TYPE).items():
        properties = resource["Properties"]
        environment = {
            **resolver.resolve(globals_.get("Environment", {}).get("Variables", {})),
            **resolver.resolve(properties.get("Environment", {}).get("Variables", {})),
        }
        layer_refs = properties.get("Layers", globals_.get("Layers", []))
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=resolver.resource_name(logical_id),
            arn=resolver.function_arn(logical_id),
            code_dir=str(ROOT / properties["CodeUri"]),
            handler=properties.get("Handler", globals_.get("Handler", "")),
            timeout=int(properties.get("Timeout", globals_.get("Timeout", 3))),
            memory_mb=int(properties.get("MemorySize", globals_.get("MemorySize", 128))),
            environment={key: str(value) for key, value in environment.items()},
            layer_dirs=[layers[ref["Ref"]] for ref in layer_refs if ref.get("Ref") in layers],
            events=dict(properties.get("Events") or {}),
        )
    return specs


def merged_environment(specs: dict[str, FunctionSpec]) -> dict[str, str]:
    """All functions share this process's environment, so one variable may not mean two things."""
    merged: dict[str, str] = {}
    for spec in specs.values():
        for key, value in spec.environment.items():
            if merged.get(key, value) != value:
                raise ValueError(f"{key} differs between functions; give it a function-specific name")
            merged[key] = value
    return merged


def _drop_disabled_metrics_on_flush() -> None:
    """Powertools 3.37 keeps disabled metrics when a handler flushes them, and prints the set as an
    EMF line once a metric holds 100 values: offline logs got one every 100 callbacks. Here a flush
    of disabled metrics drops them, quietly: every handler in this process shares one metric set,
    so one handler's flush may leave another's empty, which is no cause for a warning."""
    flush = AmazonCloudWatchEMFProvider.flush_metrics
    if getattr(flush, "drops_disabled_metrics", False):
        return

    @functools.wraps(flush)
    def flush_metrics(self: AmazonCloudWatchEMFProvider, raise_on_empty_metrics: bool = False) -> None:
        if not is_metrics_disabled():
            flush(self, raise_on_empty_metrics)
            return
        self.clear_metrics()

    flush_metrics.drops_disabled_metrics = True  # type: ignore[attr-defined]
    AmazonCloudWatchEMFProvider.flush_metrics = flush_metrics  # type: ignore[method-assign]


class LocalFunctions:
    """Loads handlers lazily and runs one invocation at a time per function, like one warm container."""

    def __init__(self, specs: dict[str, FunctionSpec]) -> None:
        self.specs = specs
        self._by_name = {spec.name: spec for spec in specs.values()} | {
            spec.arn: spec for spec in specs.values()
        }
        self._modules: dict[str, ModuleType] = {}
        self._locks = {logical_id: threading.Lock() for logical_id in specs}
        self._import_lock = threading.Lock()
        self.invocations: Counter[str] = Counter()  # by logical id, for benchmarks
        self.busy_seconds: defaultdict[str, float] = defaultdict(float)  # handler time, for benchmarks
        _drop_disabled_metrics_on_flush()
        os.environ.update(merged_environment(specs))
        for spec in specs.values():
            for layer_dir in spec.layer_dirs:
                if layer_dir not in sys.path:
                    sys.path.insert(0, layer_dir)

    def spec_for(self, name_or_arn: str) -> FunctionSpec:
        if name_or_arn in self.specs:
            return self.specs[name_or_arn]
        # Accept a qualified ARN ("...:function:name:$LATEST") like Lambda does.
        base = name_or_arn.split(":function:", 1)[-1].split(":", 1)[0]
        for candidate in (name_or_arn, base):
            if candidate in self._by_name:
                return self._by_name[candidate]
        raise KeyError(f"no function {name_or_arn!r} in template.yaml")

    def handler(self, logical_id: str) -> Callable[[Any, Any], Any]:
        spec = self.specs[logical_id]
        module_file, function_name = spec.handler.rsplit(".", 1)
        with self._import_lock:  # a concurrent first call must not see a half-imported module
            if logical_id not in self._modules and f"lambda_{logical_id}" in sys.modules:
                # Already imported in this process (an earlier stack): reuse it, as a warm container would.
                self._modules[logical_id] = sys.modules[f"lambda_{logical_id}"]
            if logical_id not in self._modules:
                self._modules[logical_id] = self._import(spec, module_file)
        handler: Callable[[Any, Any], Any] = getattr(self._modules[logical_id], function_name)
        return handler

    @staticmethod
    def _import(spec: FunctionSpec, module_file: str) -> ModuleType:
        path = os.path.join(spec.code_dir, *module_file.split(".")) + ".py"
        module_spec = importlib.util.spec_from_file_location(f"lambda_{spec.logical_id}", path)
        assert module_spec and module_spec.loader
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        try:
            module_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_spec.name]
            raise
        return module

    def module(self, logical_id: str) -> ModuleType:
        self.handler(logical_id)
        return self._modules[logical_id]

    def invoke(self, name_or_arn: str, event: Any) -> Any:
        """Run the handler; raise InvocationError with Lambda's error payload if it raises."""
        spec = self.spec_for(name_or_arn)
        handler = self.handler(spec.logical_id)
        with self._locks[spec.logical_id]:
            self.invocations[spec.logical_id] += 1
            started = time.perf_counter()
            try:
                return handler(event, LambdaContext(spec))
            except Exception as error:
                raise InvocationError(
                    {
                        "errorMessage": str(error),
                        "errorType": type(error).__name__,
                        "stackTrace": traceback.format_exception(error)[-5:],
                    }
                ) from error
            finally:
                self.busy_seconds[spec.logical_id] += time.perf_counter() - started

    def install_invoke_hook(self, session: boto3.Session | None = None) -> Callable[[], None]:
        """Answer lambda:Invoke on `session` (default: boto3's default session, which Step Functions'
        Lambda tasks use in moto) with the local handler. Returns the undo."""
        if session is None and boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        target = session or boto3.DEFAULT_SESSION
        assert target is not None
        target.events.register("before-call.lambda.Invoke", self._answer_invoke)  # type: ignore[arg-type]
        return lambda: target.events.unregister("before-call.lambda.Invoke", self._answer_invoke)  # type: ignore[arg-type]

    def _answer_invoke(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        # before-call hands over the serialized request: the function is in the URL path
        # (/2015-03-31/functions/<name>/invocations) and the event is the body.
        name = params.get("FunctionName") or unquote(
            params["url_path"].split("/functions/", 1)[1].split("/", 1)[0]
        )
        raw = params.get("Payload", params.get("body")) or b"{}"
        event = json.loads(raw.decode() if isinstance(raw, bytes | bytearray) else raw)
        response: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
        try:
            result = self.invoke(name, event)
        except InvocationError as error:
            result = error.payload
            response["FunctionError"] = "Unhandled"
        body = json.dumps(result).encode()
        response["Payload"] = StreamingBody(io.BytesIO(body), len(body))
        return AWSResponse("local://lambda", 200, HTTPHeaders(), None), response
