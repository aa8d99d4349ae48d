"""Compare `netpoll-diagnose dump` of this checkout with another checkout's, byte for byte.

    python tools/compare_dump.py --base /path/to/other/checkout [--cache out.json] [TRACE...]

For every trace (default: the committed fixture traces, Go's old-format test traces, the
hostile/repro/fuzz inputs, and cut and bit-flipped copies of one fixture per format made in a
temporary directory) it runs `dump` with the base checkout (as it is configured) and with this
one twice -- the compiled readers, then NETPOLL_DIAGNOSE_PURE=1 -- and compares exit code,
stdout (sha256, streamed: a dump is often 100x its trace) and stderr. Prints one line per
difference and the counts; exit 1 on any difference. `--cache` keeps the base's results
(keyed by path, size and mtime) so that a re-run only runs this checkout.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def default_traces(tmp: Path) -> list[Path]:
    """Every committed trace-like input, plus cut and damaged copies of one fixture per format."""
    out: list[Path] = []
    for d in ("fixtures/traces", "fixtures/strace", "fixtures/examples", "tests/data/tracev1/fixtures"):
        out += sorted((REPO / d).glob("*.trace"))
    out += sorted(p for p in (REPO / "tests/data/tracev1/go-testdata").iterdir() if p.is_file() and p.name != "LICENSE")
    for d in ("tests/data/hostile", "tests/data/repro", "tests/data/fuzz"):
        out += sorted(p for p in (REPO / d).rglob("*") if p.is_file() and p.suffix not in (".md", ".json", ".txt"))
    shared = Path("/work/shared/repro")
    if shared.is_dir():
        out += sorted(shared.glob("*.trace"))
    seen: set[str] = set()
    for p in sorted((REPO / "fixtures/traces").glob("healthy-light-go*.trace")):
        fmt = p.name.rsplit("-go", 1)[1]
        if fmt in seen:
            continue
        seen.add(fmt)
        data = p.read_bytes()
        for frac in (0.02, 0.31, 0.77, 0.999):
            q = tmp / f"cut{frac}-{p.name}"
            q.write_bytes(data[:max(int(len(data) * frac), 20)])
            out.append(q)
        for frac in (0.13, 0.5, 0.9):
            b = bytearray(data)
            i = int(len(b) * frac)
            b[i] ^= 0x5A
            q = tmp / f"flip{frac}-{p.name}"
            q.write_bytes(bytes(b))
            out.append(q)
    return out


def run_dump(checkout: Path, trace: Path, pure: bool) -> dict:
    env = dict(os.environ)
    env.pop("NETPOLL_DIAGNOSE_PURE", None)
    if pure:
        env["NETPOLL_DIAGNOSE_PURE"] = "1"
    env["PYTHONPATH"] = str(checkout)
    env["TZ"] = "UTC"
    h = hashlib.sha256()
    n = 0
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen([sys.executable, "-m", "diagnose.cli", "dump", str(trace)], cwd=checkout, env=env,
                             stdout=subprocess.PIPE, stderr=err)
        assert p.stdout is not None
        while True:
            b = p.stdout.read(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
        rc = p.wait(timeout=600)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return {"rc": rc, "sha256": h.hexdigest(), "bytes": n, "stderr": stderr}


def _key(p: Path) -> str:
    st = p.stat()
    return f"{p}:{st.st_size}:{int(st.st_mtime)}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", type=Path, required=True, help="the checkout whose dump is the reference")
    ap.add_argument("--cache", type=Path, help="JSON file keeping the base's results between runs")
    ap.add_argument("traces", nargs="*", type=Path)
    a = ap.parse_args()
    cache = json.loads(a.cache.read_text()) if a.cache and a.cache.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        traces = a.traces or default_traces(Path(tmp))
        same = differ = 0
        kinds = {"error": 0, "warning": 0}
        for t in traces:
            k = _key(t) if not str(t).startswith(tmp) else None
            base = cache.get(k) if k else None
            if base is None:
                base = run_dump(a.base, t, pure=False)
                if k:
                    cache[k] = base
            if base["rc"] == 2:
                kinds["error"] += 1
            elif base["stderr"]:
                kinds["warning"] += 1
            for mode, pure in (("kernel", False), ("pure", True)):
                got = run_dump(REPO, t, pure)
                if got == base:
                    same += 1
                else:
                    differ += 1
                    why = [f"{f}: {base[f]!r:.200} -> {got[f]!r:.200}" for f in ("rc", "bytes", "sha256", "stderr")
                           if base[f] != got[f]]
                    print(f"DIFFER {mode} {t.name}: " + "; ".join(why), flush=True)
        if a.cache:
            a.cache.write_text(json.dumps(cache, indent=0))
    print(f"{len(traces)} inputs ({kinds['error']} refused with exit 2, {kinds['warning']} cut with a warning), "
          f"{same} runs identical to the base, {differ} differ (kernel and pure per input)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
