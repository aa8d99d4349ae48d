#!/usr/bin/env python3
"""Regenerate diagnose/report/profile_pb2.py from diagnose/report/profile.proto.

Uses grpcio-tools' bundled protoc (`pip install grpcio-tools`), so no system protoc is
needed. The generated file is committed: installing the package needs neither tool.

    python tools/gen_proto.py          # regenerate
    python tools/gen_proto.py --check  # exit 1 if the committed file is out of date
"""
from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROTO_DIR = REPO / "diagnose" / "report"
PROTO = PROTO_DIR / "profile.proto"
OUT = PROTO_DIR / "profile_pb2.py"


def generate(out_dir: Path) -> Path:
    try:
        from grpc_tools import protoc  # type: ignore
    except ImportError:
        sys.exit("gen_proto: grpcio-tools is not installed (pip install grpcio-tools)")
    rc = protoc.main(["grpc_tools.protoc", f"-I{PROTO_DIR}", f"--python_out={out_dir}", str(PROTO)])
    if rc != 0:
        sys.exit(f"gen_proto: protoc failed with exit code {rc}")
    return out_dir / "profile_pb2.py"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only compare with the committed file")
    args = ap.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as d:
            fresh = generate(Path(d))
            same = OUT.exists() and filecmp.cmp(fresh, OUT, shallow=False)
            print("profile_pb2.py is up to date" if same else "profile_pb2.py is OUT OF DATE")
            return 0 if same else 1
    generate(PROTO_DIR)
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
