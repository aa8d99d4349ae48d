#!/usr/bin/env python3
"""The compiled kernels under AddressSanitizer + UndefinedBehaviorSanitizer.

    python tools/sanitize.py [--fuzz-seconds 120] [--tests tests/test_read_fast.py ...]

Builds ``diagnose/read/_fastwire.c`` (the reader), ``diagnose/read/v1/_v1fast.c`` (old formats
to column rows) and ``diagnose/timeline/_fastscan.c`` (the timeline scans) with ``-fsanitize=address,undefined`` (gcc or clang,
``-fno-sanitize-recover``: any report aborts) into a temporary folder whose
``sitecustomize.py`` makes every Python process of the run import it in place of the
in-tree build; the interpreter is not instrumented, so the sanitizer runtimes are preloaded
(``LD_PRELOAD``). Then runs, under it:

1. the kernel tests (default: test_read_fast.py, which compares the reader kernel with the
   reference on every fixture, test_read_fast_v1.py, the same for old formats,
   test_read_hostile.py, the hostile inputs, and test_fastscan.py,
   the scans against their numpy reference);
2. a fuzz smoke run of ``--fuzz-seconds`` (tools/fuzz.py with its plain mutator: libFuzzer's
   coverage does not see inside the C kernel, and atheris' own runtime would clash with the
   preloaded sanitizers).

Exit 0 when both pass with no sanitizer report. Leak checking is off (CPython's allocations
at exit are not ours). Takes a few minutes; not part of the default test run (the CI line
is in .ci/run when its time budget allows).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TESTS = ("tests/test_read_fast.py", "tests/test_read_fast_v1.py", "tests/test_read_hostile.py",
                 "tests/test_fastscan.py")
#: (module, C source) of every compiled kernel
KERNELS = (("diagnose.read._fastwire", "diagnose/read/_fastwire.c"),
           ("diagnose.read.v1._v1fast", "diagnose/read/v1/_v1fast.c"),
           ("diagnose.timeline._fastscan", "diagnose/timeline/_fastscan.c"))


def runtime(cc: str, lib: str) -> str:
    out = subprocess.run([cc, f"-print-file-name={lib}"], capture_output=True, text=True, check=True).stdout.strip()
    if not os.path.isabs(out):
        raise SystemExit(f"sanitize: {cc} has no {lib} (install the compiler's sanitizer runtime)")
    return out


_SITECUSTOMIZE_HEAD = """# Written by tools/sanitize.py: every Python process of the run uses the sanitized kernels.
import importlib.util, sys
"""
_SITECUSTOMIZE_ONE = """_spec = importlib.util.spec_from_file_location({name!r}, {so!r})
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
sys.modules[{name!r}] = _mod
"""


def build(cc: str, dest: Path) -> Path:
    """The sanitized kernels in dest, and a sitecustomize.py in dest that makes every
    interpreter started with dest on PYTHONPATH import them under their package names (ahead
    of the in-tree builds, whatever sys.path the tests set up). Returns the reader kernel's path."""
    site = _SITECUSTOMIZE_HEAD
    built = []
    for name, src in KERNELS:
        so = dest / (name.rsplit(".", 1)[1] + sysconfig.get_config_var("EXT_SUFFIX"))
        cmd = [cc, "-shared", "-fPIC", "-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
               "-fno-sanitize-recover=all", f"-I{sysconfig.get_paths()['include']}", str(REPO / src), "-o", str(so)]
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        site += _SITECUSTOMIZE_ONE.format(name=name, so=str(so))
        built.append(so)
    (dest / "sitecustomize.py").write_text(site)
    return built[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cc", default=os.environ.get("CC", "gcc"))
    ap.add_argument("--fuzz-seconds", type=int, default=120)
    ap.add_argument("--tests", nargs="*", default=list(DEFAULT_TESTS))
    ap.add_argument("-k", default="", help="pytest -k expression for the tests")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="netpoll-asan-") as tmp:
        so = build(a.cc, Path(tmp))
        env = dict(os.environ)
        env.pop("NETPOLL_DIAGNOSE_PURE", None)
        env["PYTHONPATH"] = tmp + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["LD_PRELOAD"] = " ".join((runtime(a.cc, "libasan.so"), runtime(a.cc, "libubsan.so")))
        env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        check = ("import diagnose.timeline.kernel as f; k = f._fastwire; "
                 f"assert k.__file__ == {str(so)!r}, k; assert f.kernel_available(); print('kernel:', k.__file__); "
                 "import diagnose.timeline.analysis as a; assert a.scan_kernel().__file__.startswith("
                 f"{str(so.parent)!r}); print('scans:', a._fastscan.__file__); "
                 "import diagnose.timeline.kernel_v1 as v; assert v.available() and v._v1fast.__file__.startswith("
                 f"{str(so.parent)!r}); print('old formats:', v._v1fast.__file__)")
        subprocess.run([sys.executable, "-c", check], env=env, check=True, cwd=REPO)
        rc = 0
        if a.tests:
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *a.tests]
            if a.k:
                cmd += ["-k", a.k]
            print("+", " ".join(cmd), flush=True)
            rc = subprocess.run(cmd, env=env, cwd=REPO).returncode
        if a.fuzz_seconds:
            cmd = [sys.executable, str(REPO / "tools/fuzz.py"), "--random", "--seconds", str(a.fuzz_seconds),
                   "--artifacts", str(REPO / ".fuzz" / "asan")]
            print("+", " ".join(cmd), flush=True)
            fuzz_rc = subprocess.run(cmd, env=env, cwd=REPO).returncode
            rc = rc or fuzz_rc
        print("sanitize:", "clean" if rc == 0 else f"FAILED (exit {rc})")
        return rc


if __name__ == "__main__":
    sys.exit(main())
