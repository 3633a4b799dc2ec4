"""Cold import of the callback handler as Lambda loads it, beside the naive AWS-samples handler.

A virtualenv shaped like the function's runtime is built once in .local/lambda-venv: this Python,
boto3 and botocore at the project's pinned versions (the runtime brings its own boto3), and only
the layer's pinned requirements (layers/shared/requirements.txt), no dev packages. Each handler
module is imported in fresh interpreters (medians of RUNS), with the template's environment and the
runtime's own variables. LAMBDA_TASK_ROOT matters: without it Powertools turns Tracer off (nothing
is patched) and the X-Ray SDK, believing itself outside Lambda, builds a sampling client at import,
work a deployed function never does. With it, tracing is on as deployed (Tracer patches botocore
and the other libraries it knows). The naive shape: Powertools Logger, Tracer and Metrics,
`APIGatewayRestResolver`, one DynamoDB table and `put_item` of the body. Two more handlers say
what validation costs: the naive one validating its body as the callback does (the report's
pydantic-core schema) before the write, and the naive one with a one-field pydantic model (what
validating with any pydantic model costs: pydantic's model layer and schema machinery). One more
imports pydantic-core and nothing else, which the callback's validation cannot do without. Where
valgrind is installed, the instructions each import executes are counted too, a measure that a
busy machine barely moves. Then `-X importtime` says which top-level packages make the difference.

Those imports read bytecode the virtualenv compiled. `sam build`'s python builder ships none: it
unpacks the wheels and copies the sources, and Lambda's file system is read-only outside /tmp, so
a function built that way compiles every module of the layer and of its own code at each cold
start and keeps nothing. The naive and the callback handler are measured that way too: the same
packages and code copied without `__pycache__`, imported with PYTHONDONTWRITEBYTECODE set. Beside
them, the callback handler with the layer as this template builds it (layers/shared/Makefile,
bytecode included), its own code still as sources.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from collections import Counter
from pathlib import Path

from local.template import ROOT, load_template

RUNS = 9
IMPORTTIME_RUNS = 5
VENV = ROOT / ".local" / "lambda-venv"
AS_SHIPPED = ROOT / ".local" / "lambda-as-shipped"  # the layer and handlers without bytecode
AS_BUILT = ROOT / ".local" / "lambda-as-built"  # the layer as layers/shared/Makefile builds it
LAYER = ROOT / "layers" / "shared"
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six")

NAIVE_HANDLER = """
import json
import os

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

logger, tracer, metrics = Logger(), Tracer(), Metrics()
app = APIGatewayRestResolver()
table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


@app.post("/callbacks/voice/<campaign_id>/<signature>")
@tracer.capture_method
def record(campaign_id: str, signature: str):
    table.put_item(Item={"pk": campaign_id, **app.current_event.json_body})
    return {"ok": True}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
"""


# The naive shape, with the one thing it lacks that the callback may not drop: the body validated.
VALIDATING_HANDLER = NAIVE_HANDLER.replace(
    "import boto3\n", "import boto3\nfrom voice_status.reports import StatusReport\n"
).replace("    table.put_item(", "    StatusReport.parse(app.current_event.json_body)\n    table.put_item(")
# The naive shape with pydantic's validation engine imported, nothing else: what the engine costs.
PYDANTIC_CORE_HANDLER = NAIVE_HANDLER.replace("import boto3\n", "import boto3\nimport pydantic_core\n")
# The naive shape validating with a pydantic model, the smallest there is: what a model costs.
PYDANTIC_MODEL_HANDLER = NAIVE_HANDLER.replace(
    "import boto3\n",
    "import boto3\nfrom pydantic import BaseModel\n\n\nclass Probe(BaseModel):\n    value: int\n\n\n",
)
HANDLER_MODULE = "(the handler module's own body)"
SAM_PYTHON_BUILDER = "built by SAM's python builder (sources only)"
THIS_BUILD = "callback, layer built by this template (bytecode)"


def _pinned(name: str) -> str:
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        if line.split("==")[0].strip().lower() == name:
            # The lock may carry hashes on continuation lines: the requirement is what comes first.
            return line.split("#")[0].split(";")[0].rstrip("\\ ").strip()
    raise LookupError(f"{name} is not pinned in requirements-dev.txt")


def lambda_venv() -> Path:
    """.local/lambda-venv/bin/python, built on first use. The layer's lock pins boto3 and botocore
    too (the runtime's own are then shadowed by the layer's, as in Lambda); where it does not, the
    dev environment's pins stand in for the runtime's."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".requirements"
    layer_lock = (LAYER / "requirements.txt").read_text()
    runtime = [_pinned(name) for name in ("boto3", "botocore") if f"\n{name}==" not in f"\n{layer_lock}"]
    wanted = layer_lock + "".join(line + "\n" for line in runtime)
    if stamp.exists() and stamp.read_text() == wanted:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(LAYER / "requirements.txt")],
        check=True,
    )
    if runtime:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *runtime], check=True)
    stamp.write_text(wanted)
    return python


def _environment() -> dict[str, str]:
    """The callback function's variables as the template gives them (made-up values for references)."""
    template = load_template()
    resource = template["Resources"]["CallbackFunction"]["Properties"]
    variables = {
        **(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})),
        **resource.get("Environment", {}).get("Variables", {}),
    }
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_LAMBDA_FUNCTION_NAME": "callback",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": "app.lambda_handler",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    }
    parameters = template.get("Parameters", {})
    for name, declared in variables.items():
        if isinstance(declared, dict) and "Fn::If" in declared:
            continue  # conditional (AWS_ENDPOINT_URL for sam local): absent on AWS by default
        value = declared
        if isinstance(declared, dict) and declared.get("Ref") in parameters:
            value = parameters[declared["Ref"]].get("Default", "")
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            environment[name] = str(value)
        elif name.endswith("_ARN"):
            environment[name] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench"
        else:
            environment[name] = f"bench-{name.lower().replace('_', '-')}"
    return environment


def _printed_by(python: Path, code: str) -> str:
    """What `code` prints, run by `python` (the Lambda-shaped virtualenv's interpreter)."""
    return subprocess.run(
        [str(python), "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()


def as_shipped(python: Path, handlers: dict[str, Path]) -> tuple[Path, dict[str, Path]]:
    """The virtualenv's packages with the layer's code, and each handler's directory (by a short
    name), as `sam build` ships them: sources only. Made afresh each run (the code may have changed)."""
    shutil.rmtree(AS_SHIPPED, ignore_errors=True)
    no_bytecode = shutil.ignore_patterns("__pycache__", "*.pyc")
    site_packages = _printed_by(python, "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    layer = AS_SHIPPED / "python"
    shutil.copytree(site_packages, layer, ignore=no_bytecode)
    shutil.copytree(LAYER / "voice_status", layer / "voice_status", ignore=no_bytecode)
    directories = {}
    for label, directory in handlers.items():
        directories[label] = AS_SHIPPED / "functions" / label
        shutil.copytree(directory, directories[label], ignore=no_bytecode)
    return layer, directories


def as_built(python: Path) -> Path | None:
    """The layer as `sam build` builds it from template.yaml (layers/shared/Makefile, with `python`
    compiling), None if that Python cannot (the layer's bytecode is for python3.13 only)."""
    shutil.rmtree(AS_BUILT, ignore_errors=True)
    build = subprocess.run(
        [
            "make",
            "--silent",
            "-C",
            str(LAYER),
            "build-SharedLayer",
            f"ARTIFACTS_DIR={AS_BUILT}",
            f"PYTHON={python}",
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        # make's own last line only names the step that failed: the reason comes before it.
        lines = [line for line in build.stderr.strip().splitlines() if not line.startswith("make")]
        reason = (lines or [f"make exited with {build.returncode}"])[-1]
        print(f"  the layer as this template builds it is not measured: {reason}")
        return None
    return AS_BUILT / "python"


# A handler to import: its directory, its module, and the layer's directory it reads.
Handler = tuple[Path, str, Path]


def _import_code(directory: Path, module: str, layer: Path) -> str:
    return textwrap.dedent(
        f"""
        import sys, time
        sys.path[:0] = [{str(directory)!r}, {str(layer)!r}]
        start = time.perf_counter()
        import {module}
        print(time.perf_counter() - start)
        """
    )


def median_import_ms(
    python: Path, handlers: dict[str, Handler], environment: dict[str, str]
) -> dict[str, float]:
    """Per handler, the median import time; runs alternate between handlers so load drifts evenly."""
    samples: dict[str, list[float]] = {label: [] for label in handlers}
    for _ in range(RUNS + 1):  # the first round compiles the layer's bytecode: not counted
        for label, (directory, module, layer) in handlers.items():
            run = subprocess.run(
                [str(python), "-c", _import_code(directory, module, layer)],
                env=environment,
                check=True,
                capture_output=True,
                text=True,
            )
            samples[label].append(float(run.stdout.strip().splitlines()[-1]) * 1000)
    return {label: statistics.median(values[1:]) for label, values in samples.items()}


def instructions(python: Path, handler: Handler, environment: dict[str, str]) -> int | None:
    """Instructions the whole interpreter run executes (valgrind's callgrind), None without valgrind.
    Unlike time, this count barely moves when other processes share the machine."""
    if shutil.which("valgrind") is None:
        return None
    valgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    run = subprocess.run(
        [*valgrind, str(python), "-c", _import_code(*handler)],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    found = re.search(r"Collected : (\d+)", run.stderr)
    return int(found.group(1)) if found else None


def import_costs(python: Path, handler: Handler, environment: dict[str, str]) -> Counter[str]:
    """Microseconds per top-level package: `-X importtime` self times, each module's median of
    IMPORTTIME_RUNS runs, summed per package."""
    samples: dict[str, list[int]] = {}
    for _ in range(IMPORTTIME_RUNS):
        run = subprocess.run(
            [str(python), "-X", "importtime", "-c", _import_code(*handler)],
            env=environment,
            check=True,
            capture_output=True,
            text=True,
        )
        for line in run.stderr.splitlines():
            found = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
            if found:
                samples.setdefault(found.group(2), []).append(int(found.group(1)))
    costs: Counter[str] = Counter()
    for name, values in samples.items():
        # The handler's own lines (its clients, decorators, the Tracer's patching) under one name.
        costs[HANDLER_MODULE if name == handler[1] else name.split(".")[0]] += int(statistics.median(values))
    return costs


def main() -> None:
    python = lambda_venv()
    version = _printed_by(
        python, "import sys, boto3; print(sys.version.split()[0], boto3.__version__)"
    ).split()
    environment = _environment()
    naive_label, callback_label = "naive AWS-samples handler", "callback handler (functions/callback/app.py)"
    shipped_naive_label = f"naive, {SAM_PYTHON_BUILDER}"
    with tempfile.TemporaryDirectory() as naive:
        Path(naive, "naive_app.py").write_text(NAIVE_HANDLER)
        Path(naive, "validating_app.py").write_text(VALIDATING_HANDLER)
        Path(naive, "pydantic_model_app.py").write_text(PYDANTIC_MODEL_HANDLER)
        Path(naive, "pydantic_core_app.py").write_text(PYDANTIC_CORE_HANDLER)
        handlers: dict[str, Handler] = {
            naive_label: (Path(naive), "naive_app", LAYER),
            "naive handler + a one-field pydantic model": (Path(naive), "pydantic_model_app", LAYER),
            "naive handler + import pydantic_core": (Path(naive), "pydantic_core_app", LAYER),
            "naive handler + the body validated as callback": (Path(naive), "validating_app", LAYER),
            callback_label: (ROOT / "functions" / "callback", "app", LAYER),
        }
        medians = median_import_ms(python, handlers, environment)
        costs = {
            label: import_costs(python, handlers[label], environment)
            for label in (naive_label, callback_label)
        }
        counts = {label: instructions(python, handler, environment) for label, handler in handlers.items()}
        shipped_layer, shipped = as_shipped(
            python, {"naive": Path(naive), "callback": handlers[callback_label][0]}
        )
        shipped_handlers: dict[str, Handler] = {
            shipped_naive_label: (shipped["naive"], "naive_app", shipped_layer),
            f"callback, {SAM_PYTHON_BUILDER}": (shipped["callback"], "app", shipped_layer),
        }
        built_layer = as_built(python)
        if built_layer is not None:
            shipped_handlers[THIS_BUILD] = (shipped["callback"], "app", built_layer)
        # Lambda cannot write the bytecode it compiles (its file system is read-only): nor may we.
        shipped_environment = {**environment, "PYTHONDONTWRITEBYTECODE": "1"}
        shipped_medians = median_import_ms(python, shipped_handlers, shipped_environment)
        shipped_counts = {
            label: instructions(python, handler, shipped_environment)
            for label, handler in shipped_handlers.items()
        }
    print(
        f"Cold import as Lambda loads it (Python {version[0]}, boto3 {version[1]}, layer requirements only, "
        f"tracing on), median of {RUNS} fresh interpreters:"
    )
    naive_ms = medians[naive_label]
    for label, milliseconds in medians.items():
        print(f"  {label:<48} {milliseconds:7.1f} ms  ({milliseconds / naive_ms:.2f}x naive)")
    naive_count = counts[naive_label]
    if naive_count is None:
        print("  instructions: valgrind is not installed, not counted")
    else:
        print("  instructions executed by the whole interpreter run (valgrind callgrind):")
        for label, count in counts.items():
            print(f"  {label:<48} {(count or 0) / 1e6:7.0f} M   ({(count or 0) / naive_count:.2f}x naive)")
    print(
        "  as built for Lambda (nothing compiled at a cold start is kept), each against the naive handler "
        f"{SAM_PYTHON_BUILDER}; after the semicolon, against the naive handler above, with bytecode:"
    )
    shipped_naive_ms, shipped_naive_count = (
        shipped_medians[shipped_naive_label],
        shipped_counts[shipped_naive_label],
    )
    for label, milliseconds in shipped_medians.items():
        count = shipped_counts[label]
        instructions_text = (
            f"{count / 1e6:7.0f} M ({count / shipped_naive_count:.2f}x; {count / naive_count:.2f}x)"
            if count is not None and shipped_naive_count is not None and naive_count is not None
            else "instructions not counted"
        )
        print(
            f"  {label:<56} {milliseconds:7.1f} ms  ({milliseconds / shipped_naive_ms:.2f}x; "
            f"{milliseconds / naive_ms:.2f}x)   {instructions_text}"
        )
    naive_costs, callback_costs = costs[naive_label], costs[callback_label]
    print("  callback minus naive, by top-level package (-X importtime self times, medians of 5):")
    names = set(callback_costs) | set(naive_costs)
    differences = Counter({name: callback_costs[name] - naive_costs[name] for name in names})
    ranked = differences.most_common()
    for name, micros in ranked[:6] + ranked[-4:]:
        if abs(micros) > 2000:
            print(f"    {name:<32} {micros / 1000:+7.1f} ms")


if __name__ == "__main__":
    main()
