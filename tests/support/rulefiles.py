"""Rule files the rule tests start from (and edit one line of at a time)."""
from __future__ import annotations

#: a valid team rule: GC too often (f.gc.gc_per_s above 5)
GC_RULE = """\
id: team.gc
title: GC too often
cause: gc_pressure
severity: warning
confidence: 0.7
condition: f.gc.gc_per_s > 5.0
message: "{f.gc.gc_per_s:.1f} cycles/s"
knowledge: gc_pressure
"""
