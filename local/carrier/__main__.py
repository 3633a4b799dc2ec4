"""`python -m local.carrier [port]`: the simulated carrier alone, until Ctrl-C."""

from __future__ import annotations

import contextlib
import sys
import threading

from local.carrier import SimulatedCarrier


def main(argv: list[str]) -> None:
    port = int(argv[1]) if len(argv) > 1 else 0
    with SimulatedCarrier(port=port) as carrier:
        print(f"simulated carrier on {carrier.url} (token: {carrier.auth_url}); Ctrl-C stops it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv)
