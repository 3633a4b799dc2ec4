"""Write the API's OpenAPI document (what GET /openapi.json answers) to docs/openapi.json.

`python -m local.openapi_document` rewrites the file (`make openapi`); `--check` exits 1 when the
committed file differs from what the code would serve, which the test suite checks. The document
comes from the campaigns API handler itself, imported with placeholder settings (its routes need
no AWS resources to describe themselves) and asked GET /openapi.json as API Gateway would.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import warnings
from typing import Any

from local.api import Route, proxy_event
from local.template import NO_VALUE, ROOT, Resolver, load_template

DOCUMENT_PATH = ROOT / "docs" / "openapi.json"
FUNCTION = "CampaignsApiFunction"
OPENAPI_ROUTE = "/openapi.json"


def served_document() -> dict[str, Any]:
    template = load_template()
    function = template["Resources"][FUNCTION]["Properties"]
    globals_ = (template.get("Globals") or {}).get("Function", {})
    # Every variable the template gives the function, resolved with the parameters' defaults;
    # references to resources become placeholders (only requests that touch AWS need those, and
    # /openapi.json touches none), and variables the template leaves out stay unset.
    resolver = Resolver(template, "openapi-document", "us-east-1", {})
    for variables in (globals_.get("Environment", {}), function.get("Environment", {})):
        for name, value in variables.get("Variables", {}).items():
            try:
                resolved = resolver.resolve(value)
            except KeyError:
                resolved = "openapi-document"
            if resolved is NO_VALUE:
                os.environ.pop(name, None)
            else:
                os.environ[name] = str(resolved)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.update(POWERTOOLS_TRACE_DISABLED="1", POWERTOOLS_METRICS_DISABLED="1")
    sys.path.insert(0, str(ROOT / "layers" / "shared"))
    module_file, handler_name = function["Handler"].rsplit(".", 1)
    path = ROOT / function["CodeUri"] / f"{module_file}.py"
    spec = importlib.util.spec_from_file_location("openapi_document_source", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    route = Route("GET", OPENAPI_ROUTE, FUNCTION, pattern=None)  # type: ignore[arg-type]
    warnings.filterwarnings("ignore", message="No application metrics")  # this request records none
    answer = getattr(module, handler_name)(proxy_event(route, OPENAPI_ROUTE, {}), _Context())
    if answer.get("statusCode") != 200:
        raise SystemExit(f"GET {OPENAPI_ROUTE} answered {answer.get('statusCode')}: {answer.get('body')}")
    document: dict[str, Any] = json.loads(answer["body"])
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class _Context:
    function_name = FUNCTION
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"
    memory_limit_in_mb = 1024
    aws_request_id = "openapi-document"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def main(argv: list[str]) -> int:
    text = render(served_document())
    if "--check" in argv:
        if not DOCUMENT_PATH.exists() or DOCUMENT_PATH.read_text() != text:
            print(f"{DOCUMENT_PATH.relative_to(ROOT)} is out of date: run `make openapi` and commit it")
            return 1
        return 0
    DOCUMENT_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOCUMENT_PATH.write_text(text)
    print(f"wrote {DOCUMENT_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
