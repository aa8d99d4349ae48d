"""Reading pprof profiles back, to compare ours with `go tool trace -pprof=KIND` (tests only)."""
from __future__ import annotations

import gzip
from pathlib import Path


def read_profile(path: str | Path):
    """Parse a (gzipped or raw) profile.proto file into a Profile message."""
    from diagnose.report import profile_pb2 as pb

    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    p = pb.Profile()
    p.ParseFromString(data)
    return p


def profile_totals(p) -> dict[str, int]:
    """Sum of each sample type over all samples: {"contentions/count": N, "delay/nanoseconds": T}."""
    names = [f"{p.string_table[v.type]}/{p.string_table[v.unit]}" for v in p.sample_type]
    tot = [0] * len(names)
    for smp in p.sample:
        for i, v in enumerate(smp.value):
            tot[i] += v
    return dict(zip(names, tot))


def profile_by_stack(p) -> dict[tuple[str, ...], tuple[int, ...]]:
    """{(leaf func, ..., root func): summed values} -- to compare profiles stack by stack."""
    fname = {f.id: p.string_table[f.name] for f in p.function}
    lfunc = {loc.id: tuple(fname[ln.function_id] for ln in loc.line) for loc in p.location}
    out: dict[tuple[str, ...], list[int]] = {}
    for smp in p.sample:
        key = tuple(fn for lid in smp.location_id for fn in lfunc[lid])
        acc = out.setdefault(key, [0] * len(smp.value))
        for i, v in enumerate(smp.value):
            acc[i] += v
    return {k: tuple(v) for k, v in out.items()}
