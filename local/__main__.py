"""`python -m local` (make local): serve the whole stack offline until Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import warnings
from types import FrameType

from local.stack import LocalStack, Settings, StackError


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="No application metrics to publish")  # metrics are off
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("local").info("%s received, stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack = LocalStack(Settings.from_environment()).start()
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        print(stack.ready_line(), flush=True)
        # Python runs signal handlers only in the main thread, between bytecodes: waking up every
        # second bounds how long a pending handler can wait, however the signal reached the process.
        while not stopping.wait(timeout=1.0):
            pass
    finally:
        stack.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    # Everything the stack held lived in this process's memory and is gone with it. Python's own
    # teardown (joining threads still finishing in-flight requests, freeing a large heap) took over
    # 10 s after a stop in the middle of a burst, so leave at once.
    os._exit(code)
