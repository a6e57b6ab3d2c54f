"""Time to load the Dagster definitions in a fresh interpreter (target: < 3 s).

Baseline: importing dagster alone, in the same run. The difference is what this project
and dagster-dbt add.

Then one more fresh interpreter runs the same statement under `python -X importtime`, and
the time is split by who pulled it in: each module's own import time (its module body,
including work done at import such as building the dbt asset specs) is charged to the
nearest enclosing module that belongs to a known group (dagster, dagster-dbt, dbt-core,
this project), so a dependency such as pydantic counts for whichever package imported it
first. Then the time in resolve_asset_graph() and in tearing the interpreter down after the
statement (part of the timed runs, baseline included). `-X importtime` itself adds overhead,
so those seconds run somewhat above the timed medians; the split is what they are for.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import report

TARGET_SECONDS = 3.0
REPEATS = 3
STATEMENT = "from orchestration.definitions import defs; defs.resolve_asset_graph()"
# Packages whose presence after the load says what the definitions drag in.
HEAVY = {
    "dbt.version": "dbt-core",
    "great_expectations": "great_expectations",
    "pandas": "pandas",
    "scipy": "scipy",
    "numpy": "numpy",
    "duckdb": "duckdb",
    "networkx": "networkx",
}
OTHER = "interpreter start-up and other"


def import_seconds(statement: str) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def group_of(module: str) -> str | None:
    top = module.split(".")[0]
    if top == "dagster_dbt":
        return "dagster-dbt"
    if top.startswith("dagster"):
        return "dagster"
    if top == "dbt" or top.startswith("dbt_"):
        return "dbt-core"
    if top in {"orchestration", "segmentation"}:
        return "project modules (bodies incl. building specs)"
    return None


def components() -> tuple[dict[str, float], list[str]]:
    """Seconds per group under -X importtime (and in resolve_asset_graph, and exiting), heavy modules loaded."""
    probe = (
        "import sys, time\n"
        "from orchestration.definitions import defs\n"
        "started = time.perf_counter(); defs.resolve_asset_graph()\n"
        "print(time.perf_counter() - started)\n"
        f"print(','.join(m for m in {list(HEAVY)!r} if m in sys.modules))\n"
        "print(time.time())\n"
    )
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", probe], check=True, capture_output=True, text=True)
    exited = time.time()
    resolve_line, heavy_line, finished_line = done.stdout.splitlines()[-3:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:") and "[us]" not in line]
    seconds: dict[str, float] = defaultdict(float)
    stack: list[str] = []
    # -X importtime prints a module after the modules it imported: read it backwards, parents first.
    for line in reversed(lines):
        self_us, _cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        module = name.strip()
        stack = [*stack[:depth], module]
        group = next((g for g in map(group_of, reversed(stack)) if g), OTHER)
        seconds[group] += int(self_us) / 1e6
    seconds["resolve_asset_graph()"] = float(resolve_line)
    # Tearing down the interpreter (the baseline pays it too; a code server never does).
    seconds["interpreter exit"] = exited - float(finished_line)
    return dict(seconds), [HEAVY[m] for m in heavy_line.split(",") if m]


def main() -> int:
    baseline = import_seconds("import dagster")
    definitions = import_seconds(STATEMENT)
    rows = [
        {"run": "baseline: import dagster", "seconds": baseline, "ratio_to_baseline": 1.0, "within_target": ""},
        {
            "run": "orchestration.definitions",
            "seconds": definitions,
            "ratio_to_baseline": definitions / baseline,
            "within_target": definitions <= TARGET_SECONDS,
        },
    ]
    report("definitions_load", rows)

    by_group, heavy = components()
    total = sum(by_group.values())
    print("\nwhere the time goes (one run under -X importtime; its overhead inflates the seconds):")
    report(
        "definitions_load_components",
        [
            {"component": group, "seconds": secs, "share": f"{secs / total:.0%}"}
            for group, secs in sorted(by_group.items(), key=lambda item: -item[1])
        ],
    )
    print("heavy packages loaded:", ", ".join(heavy) or "none of " + ", ".join(HEAVY.values()))
    return 0 if definitions <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
