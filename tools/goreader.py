"""Go's own trace reader as a command, for the tests and benchmarks that compare against it.

``internal/trace`` cannot be imported from outside GOROOT, so its sources are copied into a
temporary module (imports renamed) with a small ``main`` around ``Reader.ReadEvent``::

    from tools.goreader import build_trace_reader
    exe = build_trace_reader(go, workdir, env)
    subprocess.run([exe, "trace.out"])            # prints the number of events
    subprocess.run([exe, "-print", "trace.out"])  # prints ev.String() per event (go tool trace -d=parsed)

Exits 1 with Go's error on standard error when the trace is bad.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Callable, Dict, Optional

#: the module the copy lives in (its import path replaces "internal/trace")
MODULE = "gotrace"
#: the packages a Reader needs, relative to GOROOT/src/internal/trace
PACKAGES = ("", "internal/tracev1", "tracev2", "version")

_MAIN = """package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"

	"gotrace/trace"
)

func main() {
	print := flag.Bool("print", false, "print each event (ev.String()), not only the count")
	flag.Parse()
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	r, err := trace.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	n := 0
	for ; ; n++ {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		} else if err != nil {
			w.Flush()
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if *print {
			fmt.Fprintln(w, ev.String())
		}
	}
	if !*print {
		fmt.Fprintln(w, n)
	}
}
"""


def build_trace_reader(go: Path, workdir: Path, env: Dict[str, str],
                       patch: Optional[Callable[[str, str, str], str]] = None) -> Path:
    """Copy ``go``'s GOROOT/src/internal/trace into ``workdir`` and build the reader command.

    ``patch(package, file name, source)`` may edit each copied source first (the tests sort
    two map iterations so that Go's output is deterministic). Raises CalledProcessError when
    ``go`` cannot build it."""
    goroot = Path(subprocess.run([str(go), "env", "GOROOT"], capture_output=True, text=True, env=env,
                                 check=True).stdout.strip())
    src = goroot / "src" / "internal" / "trace"
    mod = workdir / MODULE
    for pkg in PACKAGES:
        dst = mod / "trace" / pkg
        dst.mkdir(parents=True, exist_ok=True)
        for f in sorted((src / pkg).glob("*.go")):
            if f.name.endswith("_test.go"):
                continue
            text = re.sub(r'"internal/trace(/|")', rf'"{MODULE}/trace\1', f.read_text())
            (dst / f.name).write_text(patch(pkg, f.name, text) if patch else text)
    (mod / "go.mod").write_text(f"module {MODULE}\n\ngo 1.24\n")
    (mod / "cmd").mkdir(exist_ok=True)
    (mod / "cmd" / "main.go").write_text(_MAIN)
    exe = workdir / "gotrace-reader"
    subprocess.run([str(go), "build", "-o", str(exe), "./cmd"], cwd=mod, env=env, check=True,
                   capture_output=True, timeout=900)
    return exe
