"""`make bench`: every benchmark, one after the other. Not part of `make test`."""

from __future__ import annotations

import importlib

BENCHMARKS = [
    "bench_transactions",
    "bench_callback_rate",
    "bench_callback",
    "bench_cold_start",
    "bench_integrity",
    "bench_workflow",
    "bench_putevents",
]

for name in BENCHMARKS:
    try:
        module = importlib.import_module(f"tests.bench.{name}")
    except ModuleNotFoundError as missing:
        print(f"== {name}: not available ({missing})")
        continue
    print(f"== {name}")
    module.main()
    print()
