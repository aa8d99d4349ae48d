"""Run the `netpoll-diagnose` entry point in-process (no process per call) and capture it."""
from __future__ import annotations

import contextlib
import io
import os

from diagnose.cli import main


def run_cli(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `netpoll-diagnose ARGS`, with only the shipped rules and
    the ones given (a $NETPOLL_DIAGNOSE_RULES of the caller's environment is set aside)."""
    out, err = io.StringIO(), io.StringIO()
    saved = os.environ.pop("NETPOLL_DIAGNOSE_RULES", None)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        if saved is not None:
            os.environ["NETPOLL_DIAGNOSE_RULES"] = saved
    return code, out.getvalue(), err.getvalue()
