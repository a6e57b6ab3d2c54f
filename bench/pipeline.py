"""The main job at scale: generate -> load -> dbt build, per stage, seconds and peak memory.

Each stage runs in its own process (the real CLI) so its peak RSS is its own. The baseline
is the same pipeline at --baseline-customers in the same run; the report gives each stage's
time as a ratio to the baseline's and per 1,000 customers, so growth that is worse than
linear shows up.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import report

STAGES = (
    ("generate", ["generate"]),
    ("load", ["load"]),
    ("dbt_build", ["build"]),
)


def run_stage(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one CLI stage in a child process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "segmentation.cli", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"stage {' '.join(args)} failed:\n{process.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def measure(customers: int, workdir: Path) -> list[dict]:
    data = workdir / f"n{customers}"
    env = {
        **os.environ,
        "SEGMENTATION_DATA_DIR": str(data),
        "DBT_TARGET_PATH": str(data / "dbt_target"),
        "DBT_LOG_PATH": str(data / "dbt_logs"),
    }
    rows = []
    for name, args in STAGES:
        extra = ["--customers", str(customers), "--out", str(data)] if name == "generate" else []
        seconds, rss = run_stage([*args, *extra], env)
        rows.append({"customers": customers, "stage": name, "seconds": seconds, "peak_rss_mb": rss})
        print(f"  {customers:>9,} {name:<10} {seconds:8.1f} s  {rss:8.0f} MB", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000, help="customers in the measured run")
    parser.add_argument("--baseline-customers", type=int, default=5_000, help="customers in the baseline run")
    parser.add_argument("--workdir", type=Path, default=None, help="where to write data (default: a temp dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="segmentation-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        baseline = measure(args.baseline_customers, workdir)
        target = measure(args.customers, workdir)
    base_seconds = {row["stage"]: row["seconds"] for row in baseline}
    for row in baseline + target:
        row["ratio_to_baseline"] = row["seconds"] / base_seconds[row["stage"]]
        row["seconds_per_1k_customers"] = 1000 * row["seconds"] / row["customers"]
    report("pipeline", baseline + target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
