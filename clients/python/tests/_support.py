"""Shared helpers for the test suite: locating the engine, skipping cleanly without it."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)  # clients/python
if PACKAGE_ROOT not in sys.path:
    sys.path.insert(0, PACKAGE_ROOT)

#: Every bounded wait in the end-to-end tests uses at most this many seconds.
TIMEOUT = 20.0


def engine_path() -> str:
    """The engine binary from ``MINIONS_BIN``; raises ``unittest.SkipTest`` with a clear reason if unusable."""
    path = os.environ.get("MINIONS_BIN")
    if not path:
        raise unittest.SkipTest(
            "MINIONS_BIN is not set: set it to the engine binary "
            "(e.g. MINIONS_BIN=/work/main/.build/debug/minions) to run the end-to-end tests"
        )
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise unittest.SkipTest("MINIONS_BIN=%s is not an executable file: build the engine or fix the path" % path)
    return path
