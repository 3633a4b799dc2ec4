"""The shared layer as `sam build` built it for this tier (layers/shared/Makefile): what a deployed
function's cold start reads. The invocations in this tier prove the functions run on it; these
tests prove it carries what makes that start cheap, and what lets either architecture run it."""

from __future__ import annotations

from pathlib import Path

from tests.container.conftest import SamBuild

RUNTIME_CACHE_TAG = "cpython-313"  # Lambda's python3.13 reads only bytecode its version wrote
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source never checked


def _layer(sam_build: SamBuild) -> Path:
    return sam_build.template.parent / "SharedLayer" / "python"


def test_every_module_of_the_layer_ships_bytecode_that_lambda_never_checks_against_its_source(
    sam_build: SamBuild,
) -> None:
    layer = _layer(sam_build)
    sources = list(layer.rglob("*.py"))
    assert len(sources) > 500  # the dependencies are there, not only voice_status
    unusable = []
    for source in sources:
        bytecode = source.parent / "__pycache__" / f"{source.stem}.{RUNTIME_CACHE_TAG}.pyc"
        # Timestamp-checked bytecode would look stale under the zip's timestamps, and Lambda cannot
        # write a fresh one: every cold start would compile the module again.
        if not bytecode.is_file() or int.from_bytes(bytecode.read_bytes()[4:8], "little") != UNCHECKED_HASH:
            unusable.append(str(source.relative_to(layer)))
    assert unusable == []


def test_each_compiled_extension_module_is_shipped_for_both_architectures(sam_build: SamBuild) -> None:
    layer = _layer(sam_build)
    modules = {
        path.relative_to(layer).as_posix().replace(architecture, "{arch}")
        for architecture in ("aarch64", "x86_64")
        for path in layer.rglob(f"*-{architecture}-linux-gnu.so")
    }
    assert "pydantic_core/_pydantic_core.cpython-313-{arch}-linux-gnu.so" in modules
    for module in modules:
        for architecture in ("aarch64", "x86_64"):
            assert (layer / module.replace("{arch}", architecture)).is_file(), module
