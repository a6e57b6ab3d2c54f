"""Shared output for the benchmarks: a table on stdout and a JSON file under data/bench/."""

from __future__ import annotations

import json
import platform
import resource
import time
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent.parent / "data" / "bench"


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its finished children, in MB (Linux: KB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def report(name: str, rows: list[dict]) -> Path:
    keys = list(rows[0])
    widths = [max(len(k), *(len(_fmt(r[k])) for r in rows)) for k in keys]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)))
    for row in rows:
        print("  ".join(_fmt(row[k]).ljust(w) for k, w in zip(keys, widths, strict=True)))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": platform.node(), "rows": rows}, indent=2, default=str))
    print(f"\nwritten: {path}")
    return path


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
