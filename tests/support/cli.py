"""Running the command line from tests: in this interpreter (fast) or as a child process."""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def run_main(*args: str) -> tuple[int, str]:
    """(exit code, stdout) of `netpoll-diagnose ARGS` run in this interpreter, with only the
    shipped rules (a developer's $NETPOLL_DIAGNOSE_RULES is set aside); stderr is left to
    pytest's capsys."""
    code, out, _err = _in_process(args, capture_err=False)
    return code, out


def run_main_captured(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `netpoll-diagnose ARGS` run in this interpreter."""
    return _in_process(args, capture_err=True)


def _in_process(args: tuple[str, ...], capture_err: bool) -> tuple[int, str, str]:
    from diagnose.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = os.environ.pop("NETPOLL_DIAGNOSE_RULES", None)
    try:
        with contextlib.redirect_stdout(out), (contextlib.redirect_stderr(err) if capture_err
                                               else contextlib.nullcontext()):
            code = main(list(args))
    finally:
        if saved is not None:
            os.environ["NETPOLL_DIAGNOSE_RULES"] = saved
    return code, out.getvalue(), err.getvalue()


def run_cli(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None, text: bool = True,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m diagnose ARGS` as a child process (the console script's behaviour, exit codes
    and stderr), with only the shipped rules unless `env` says otherwise."""
    full_env = {k: v for k, v in os.environ.items() if k != "NETPOLL_DIAGNOSE_RULES"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "diagnose", *args], input=stdin, capture_output=True, text=text,
                          cwd=REPO, env=full_env, timeout=timeout)
