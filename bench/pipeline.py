"""`make bench`: every stage of the pipeline at each size, against two baselines of the same run.

Per size (customers), in one run, each stage in its own child process (the real CLI), so
its wall time and peak RSS are its own:

    generate        sample landing files (reported, not a target)
    load            landing files -> raw
    dbt_build       full `dbt build`
    baseline_sql    (a) bench/baseline.sql on the same raw tables, checked against the marts
    baseline_pandas (b) the same in pandas, checked against the marts
    core_selection  `dbt build` of the core results and what they need:
                    +int_customer_rfm_summarized +customer_profitability
                    +int_segment_value_tiers_assigned, on the built warehouse (its
                    incremental models find nothing new: what a rerun costs)
    core_selection_from_scratch
                    the same selection with `--full-refresh`: every model of it
                    recomputed from the raw tables, as baseline (a) does. The
                    1.5x target is evaluated on this one
    validate        the quality gate (`segmentation validate`)
    publish         `segmentation publish --skip-build` (gate, atomic publish, Parquet export)
    export          the Parquet export alone (`segmentation export`)
    report          `segmentation report`
    clv_fit         our BG/NBD + Gamma-Gamma fit vs lifetimes on the warehouse's RFM summary
    refresh_load    after adding ~1% new orders, lines and tickets (bench/delta.py; half of
                    them dated before the latest order: late-arriving), loading them
    refresh_build   the `dbt build` that follows
    refresh_check   baseline (a) again, checked against the refreshed marts

The whole `segmentation run` figure is the sum load + dbt_build + publish + report (what
`run` does, without dbt docs and the one-off build of the previous review). Ratios are to
baseline (a) of the same size; targets (docs/benchmarks.md) are evaluated on the largest
size, and linear growth between the two largest.

    python bench/pipeline.py --sizes 10000,100000 [--workdir DIR] [--repeat 3] [--docs docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
# Baseline (b) runs up to this many customers (pandas keeps every order line in memory).
PANDAS_MAX_CUSTOMERS = int(os.environ.get("BENCH_PANDAS_MAX_CUSTOMERS", "300000"))
CORE_SELECTION = "+int_customer_rfm_summarized +customer_profitability +int_segment_value_tiers_assigned"
STAGE_NAMES = (
    "generate",
    "load",
    "dbt_build",
    "baseline_sql",
    "baseline_pandas",
    "core_selection",
    "core_selection_from_scratch",
    "validate",
    "publish",
    "export",
    "report",
    "clv_fit",
    "refresh_delta",
    "refresh_load",
    "refresh_build",
    "refresh_check",
)
RUN_STAGES = ("load", "dbt_build", "publish", "report")
# The project's stages, whose peak RSS the 4 GB target is about (not the baselines, the
# generator, the delta writer or the CLV comparison, which also runs lifetimes).
PROJECT_STAGES = (
    "load",
    "dbt_build",
    "core_selection",
    "core_selection_from_scratch",
    "validate",
    "publish",
    "export",
    "report",
    "refresh_load",
    "refresh_build",
)
TARGETS = {
    "core_selection_vs_sql": 1.5,
    "whole_run_vs_sql": 4.0,
    "peak_rss_gb": 4.0,
    "per_1k_growth": 1.2,
    "refresh_vs_full_build": 0.10,
    "clv_vs_lifetimes": 0.2,
}


class StageFailed(RuntimeError):
    pass


def run_child(
    command: list[str], env: dict[str, str], log: Path, ok_codes: tuple[int, ...] = (0,)
) -> tuple[float, float, str, float]:
    """Seconds, peak RSS (MB), stdout and CPU seconds of one child process; StageFailed on a
    non-zero exit. CPU = user + system of all its threads: on a busy shared machine the wall
    time includes waiting for a core, the CPU time does not."""
    started = time.perf_counter()
    with log.open("ab") as err:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=err, cwd=ROOT)
        stdout = process.stdout.read().decode()
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in ok_codes:
        tail = log.read_text(errors="replace")[-3000:]
        raise StageFailed(f"{' '.join(command)} failed (log: {log}):\n{stdout[-2000:]}\n{tail}")
    return seconds, usage.ru_maxrss / 1024, stdout, usage.ru_utime + usage.ru_stime


def measure_size(customers: int, workdir: Path, repeat: int, progress) -> dict:
    data = workdir / f"n{customers}"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    log = data / "stages.log"
    # Every path of the run under `data` (an inherited SEGMENTATION_WAREHOUSE_PATH etc. would
    # point the stages elsewhere); other settings (dbt target, threads) are kept.
    paths = ("_PATH", "_DIR")
    inherited = {k: v for k, v in os.environ.items() if not (k.startswith("SEGMENTATION_") and k.endswith(paths))}
    env = {
        **inherited,
        "SEGMENTATION_DATA_DIR": str(data),
        "DBT_TARGET_PATH": str(data / "dbt_target"),
        "DBT_LOG_PATH": str(data / "dbt_logs"),
    }
    cli = [sys.executable, "-m", "segmentation.cli"]
    py = [sys.executable]
    dbt = [sys.executable, "-m", "segmentation.dbt_cli", "--no-use-colors"]
    stages: dict[str, dict] = {}

    def stage(name: str, command: list[str], times: int = 1) -> str:
        runs = [run_child(command, env, log) for _ in range(times)]
        seconds = min(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        stages[name] = {
            "seconds": seconds,
            "cpu_seconds": min(r[3] for r in runs),
            "peak_rss_mb": rss,
            **({"runs": [r[0] for r in runs]} if times > 1 else {}),
        }
        progress(f"  {customers:>9,} {name:<27} {seconds:8.1f} s  {rss:8.0f} MB")
        return runs[-1][2]

    def baseline(name: str, which: str, times: int) -> None:
        # The time is the baseline's own (measured inside the child: reading raw to results,
        # no interpreter start, no check); the minimum of `times` runs. The peak RSS is the
        # child's. The first run also checks the results against the marts.
        command = [*py, str(BENCH_DIR / "baselines.py"), which, "--data-dir", str(data)]
        reports, peaks = [], []
        for run in range(times):
            # Exit 1 = the check found differences: recorded, and the bench fails at the end.
            seconds, rss, output, _ = run_child([*command, "--check"] if run == 0 else command, env, log, (0, 1))
            reports.append(json.loads(output.strip().splitlines()[-1]))
            peaks.append(rss)
        seconds = min(r["seconds"] for r in reports)
        stages[name] = {
            "seconds": seconds,
            "cpu_seconds": min(r["cpu_seconds"] for r in reports),
            "peak_rss_mb": max(peaks),
            "runs": [r["seconds"] for r in reports],
            "rows": reports[0]["rows"],
            "equal_to_marts": not reports[0]["problems"],
            **({"problems": reports[0]["problems"]} if reports[0]["problems"] else {}),
        }
        progress(
            f"  {customers:>9,} {name:<27} {seconds:8.1f} s  {max(peaks):8.0f} MB"
            f"  {'= marts' if not reports[0]['problems'] else 'DIFFERS FROM THE MARTS'}"
        )

    def dbt_nodes(name: str) -> None:
        # Where a dbt stage's time goes: its slowest nodes and the sum of node times.
        results = json.loads((data / "dbt_target" / "run_results.json").read_text())["results"]
        timed = sorted(results, key=lambda r: r.get("execution_time") or 0, reverse=True)
        stages[name]["dbt_nodes"] = len(results)
        stages[name]["dbt_node_seconds"] = sum(r.get("execution_time") or 0 for r in results)
        stages[name]["slowest_nodes"] = [
            {"node": r["unique_id"].split(".", 1)[1], "seconds": r.get("execution_time")} for r in timed[:12]
        ]

    stage("generate", [*cli, "generate", "--customers", str(customers), "--out", str(data)])
    stage("load", [*cli, "load"])
    stage("dbt_build", [*cli, "build"])
    dbt_nodes("dbt_build")
    baseline("baseline_sql", "sql", repeat)
    if customers <= PANDAS_MAX_CUSTOMERS:
        baseline("baseline_pandas", "pandas", repeat)
    else:
        # pandas holds every order line in memory: 3.4 GB at 100k customers, so ~30 GB at 1M,
        # more than the 24 GB these machines have. Recorded as skipped, not as a failure.
        stages["baseline_pandas"] = {"seconds": None, "skipped": f"above {PANDAS_MAX_CUSTOMERS:,} customers "
                                     "(pandas would need more memory than the machine has)"}
        progress(f"  {customers:>9,} {'baseline_pandas':<27} skipped (above {PANDAS_MAX_CUSTOMERS:,} customers)")
    stage("core_selection", [*cli, "build", "--select", CORE_SELECTION])
    dbt_nodes("core_selection")
    # dbt itself (segmentation-dbt: dbt's command line with the secrets handed over), since
    # `segmentation build` has no --full-refresh: on a whole build that would drop the
    # review history.
    stage("core_selection_from_scratch", [*dbt, "build", "--select", CORE_SELECTION, "--full-refresh",
                                          "--project-dir", str(ROOT), "--profiles-dir", str(ROOT)])
    dbt_nodes("core_selection_from_scratch")
    stage("validate", [*cli, "validate"])
    stage("publish", [*cli, "publish", "--skip-build"])
    stage("export", [*cli, "export"])
    stage("report", [*cli, "report"])
    clv = json.loads(
        stage("clv_fit", [*py, str(BENCH_DIR / "clv_vs_lifetimes.py"), "--warehouse", str(data / "warehouse.duckdb")])
    )
    stages["clv_fit"].update(clv)
    delta = stage("refresh_delta", [*py, str(BENCH_DIR / "delta.py"), "--landing", str(data / "landing")])
    stages["refresh_delta"]["rows"] = {
        entity: int(text.split()[0].replace(",", ""))
        for entity, text in (line.split(": ", 1) for line in delta.strip().splitlines())
    }
    stage("refresh_load", [*cli, "load"])
    stage("refresh_build", [*cli, "build"])
    dbt_nodes("refresh_build")
    baseline("refresh_check", "sql", 1)

    result = {"customers": customers, "stages": stages}
    result["summary"] = summarize(result)
    return result


def summarize(result: dict) -> dict:
    stages, customers = result["stages"], result["customers"]
    sql = stages["baseline_sql"]["seconds"]
    whole = sum(stages[s]["seconds"] for s in RUN_STAGES)
    clv = stages["clv_fit"]
    return {
        "whole_run_seconds": whole,
        "whole_run_per_1k_customers": 1000 * whole / customers,
        "ratios_to_baseline_sql": {name: s["seconds"] / sql for name, s in stages.items() if s.get("seconds")}
        | {"whole_run": whole / sql},
        "core_selection_vs_sql": stages["core_selection_from_scratch"]["seconds"] / sql,
        "core_selection_rerun_vs_sql": stages["core_selection"]["seconds"] / sql,
        "whole_run_vs_sql": whole / sql,
        "pandas_vs_sql": stages["baseline_pandas"]["seconds"] / sql if stages["baseline_pandas"]["seconds"] else None,
        "max_peak_rss_gb": max(stages[name]["peak_rss_mb"] for name in PROJECT_STAGES) / 1024,
        "max_peak_rss_stage": max(PROJECT_STAGES, key=lambda name: stages[name]["peak_rss_mb"]),
        "refresh_vs_full_build": (stages["refresh_load"]["seconds"] + stages["refresh_build"]["seconds"])
        / stages["dbt_build"]["seconds"],
        "clv_vs_lifetimes": clv.get("time_ratio"),
        "clv_params_equal_6_digits": clv.get("params_equal_6_digits"),
        "baselines_equal_to_marts": all(
            stages[s].get("equal_to_marts") for s in ("baseline_sql", "baseline_pandas", "refresh_check")
            if not stages[s].get("skipped")
        ),
        **cpu_figures(stages),
    }


def cpu_figures(stages: dict) -> dict:
    """The same ratios in CPU seconds (less sensitive to other work on the machine)."""
    if any("cpu_seconds" not in stages[name] for name in (*RUN_STAGES, "baseline_sql", "core_selection_from_scratch")):
        return {}
    sql = stages["baseline_sql"]["cpu_seconds"]
    whole = sum(stages[s]["cpu_seconds"] for s in RUN_STAGES)
    return {
        "whole_run_cpu_seconds": whole,
        "core_selection_vs_sql_cpu": stages["core_selection_from_scratch"]["cpu_seconds"] / sql,
        "whole_run_vs_sql_cpu": whole / sql,
        "refresh_vs_full_build_cpu": (stages["refresh_load"]["cpu_seconds"] + stages["refresh_build"]["cpu_seconds"])
        / stages["dbt_build"]["cpu_seconds"],
    }


def evaluate_targets(sizes: list[dict]) -> dict:
    """Each target: the figure, the limit and whether it is met, on the largest size."""
    largest = sizes[-1]["summary"]
    targets = {
        name: {
            "value": largest[name],
            "limit": TARGETS[name],
            "met": largest[name] is not None and largest[name] <= TARGETS[name],
        }
        for name in ("core_selection_vs_sql", "whole_run_vs_sql", "refresh_vs_full_build", "clv_vs_lifetimes")
    }
    targets["peak_rss_gb"] = {
        "value": largest["max_peak_rss_gb"],
        "limit": TARGETS["peak_rss_gb"],
        "met": largest["max_peak_rss_gb"] <= TARGETS["peak_rss_gb"],
    }
    if len(sizes) > 1:
        growth = largest["whole_run_per_1k_customers"] / sizes[-2]["summary"]["whole_run_per_1k_customers"]
        targets["per_1k_growth"] = {
            "value": growth,
            "limit": TARGETS["per_1k_growth"],
            "met": growth <= TARGETS["per_1k_growth"],
            "between": [sizes[-2]["customers"], sizes[-1]["customers"]],
        }
    targets["clv_params_equal_6_digits"] = {
        "value": largest["clv_params_equal_6_digits"],
        "met": bool(largest["clv_params_equal_6_digits"]),
    }
    targets["baselines_equal_to_marts"] = {
        "value": largest["baselines_equal_to_marts"],
        "met": largest["baselines_equal_to_marts"],
    }
    targets["evaluated_at_customers"] = sizes[-1]["customers"]
    return targets


def machine_info() -> dict:
    def first(path: str, prefix: str) -> str | None:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
        except OSError:
            return None
        return None

    versions = {}
    for package in ("duckdb", "dbt-core", "dbt-duckdb", "pandas", "numpy", "scipy", "great-expectations", "lifetimes"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:
            versions[package] = None
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "host": platform.node(),
        "cpu_model": first("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "memory_gb": round(int(first("/proc/meminfo", "MemTotal").split()[0]) / 1024**2, 1)
        if first("/proc/meminfo", "MemTotal")
        else None,
        "load_average_at_start": os.getloadavg(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "git_commit": commit,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000", help="customers per run, comma-separated (default: 10000)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the data goes (default: a temp dir, removed)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each baseline; the minimum is reported (default: 3)"
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS_DIR, help="folder of the JSON results (default: bench/results)"
    )
    parser.add_argument("--docs", type=Path, default=None, help="also render this Markdown page from the results")
    args = parser.parse_args()
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())

    started = dt.datetime.now(dt.UTC)
    run = {"started": started.isoformat(timespec="seconds"), "machine": machine_info(), "sizes": []}
    with tempfile.TemporaryDirectory(prefix="segmentation-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        for customers in sizes:
            print(f"{customers:,} customers (data: {workdir / f'n{customers}'})", flush=True)
            run["sizes"].append(measure_size(customers, workdir, args.repeat, lambda m: print(m, flush=True)))
    run["targets"] = evaluate_targets(run["sizes"])
    run["seconds"] = (dt.datetime.now(dt.UTC) - started).total_seconds()

    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(run, indent=2, default=str) + "\n")
    print(f"\nresults: {path}")
    if args.docs:
        from render_docs import render

        args.docs.write_text(render(run, path))
        print(f"docs:    {args.docs}")
    for name, target in run["targets"].items():
        if isinstance(target, dict):
            print(f"  {name:<28} {target['value']!s:<24} {'met' if target['met'] else 'MISSED'}")
    # A baseline that does not equal the marts is no baseline: the bench fails.
    return 0 if run["targets"]["baselines_equal_to_marts"]["met"] else 1


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH_DIR))
    sys.exit(main())
