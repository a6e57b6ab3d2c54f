"""Time to import the Dagster definitions in a fresh interpreter (target: < 3 s).

Baseline: importing dagster alone, in the same run. The difference is what this project
and dagster-dbt (which imports dbt-core) add.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import report

TARGET_SECONDS = 3.0
REPEATS = 3


def import_seconds(statement: str) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    baseline = import_seconds("import dagster")
    definitions = import_seconds("from orchestration.definitions import defs; defs.resolve_asset_graph()")
    rows = [
        {"run": "baseline: import dagster", "seconds": baseline, "ratio_to_baseline": 1.0, "within_target": ""},
        {"run": "orchestration.definitions", "seconds": definitions,
         "ratio_to_baseline": definitions / baseline, "within_target": definitions <= TARGET_SECONDS},
    ]
    report("definitions_load", rows)
    return 0 if definitions <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
