"""`segmentation`: generate sample data, load landing files, build and summarize the warehouse.

Every path has a default under ./data and an environment variable to override it (see
segmentation/config.py and the README's configuration table).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import shutil
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from segmentation.config import Settings
from segmentation.errors import UsageError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    settings = Settings.from_env()
    try:
        with _writer_lock(args, settings):
            return args.handler(args, settings)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the CLI's job is a clear message, not a traceback
        if args.debug:
            raise
        from segmentation.errors import explain

        print(f"error: {explain(exc)}", file=sys.stderr)
        return 1


def _writer_lock(args: argparse.Namespace, settings: Settings) -> AbstractContextManager[None]:
    """The warehouse's writer lock for the commands that write it (segmentation.writer_lock)."""
    if not getattr(args, "writes_warehouse", False):
        return nullcontext()
    from segmentation.writer_lock import writer_lock

    return writer_lock(settings.warehouse_path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segmentation",
        description="Customer profitability, CLV and service segmentation warehouse (dbt + DuckDB).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error instead of a one-line message")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser(
        "generate",
        help="write a deterministic sample landing data set (and its ground truth)",
        description="Write sample landing files to <out>/landing and the generator's ground "
        "truth (latent value classes, injected defects) to <out>/ground_truth.",
    )
    _generator_options(gen)
    gen.add_argument("--out", type=Path, default=None,
                     help="output folder (default: SEGMENTATION_DATA_DIR, ./data)")
    gen.set_defaults(handler=_generate)

    load = sub.add_parser(
        "load",
        help="load new landing files into the typed Parquet raw zone",
        description="Load every landing file not loaded before into the raw zone "
        "(SEGMENTATION_RAW_DIR, Parquet; dbt reads it as raw.<entity>); bad records go to "
        "raw._load_rejects. Atomic: a failed load leaves nothing visible.",
    )
    load.add_argument("--landing", type=Path, default=None,
                      help="landing folder (default: SEGMENTATION_LANDING_DIR, ./data/landing)")
    load.set_defaults(handler=_load)

    build = sub.add_parser(
        "build",
        help="run `dbt build` (models, seeds, tests) on the warehouse",
        description="Run dbt build on this project against SEGMENTATION_WAREHOUSE_PATH.",
    )
    build.add_argument("--select", default=None,
                       help="dbt selection, built exactly as given, without the CLV step (default: everything: "
                       "dbt up to the RFM summary, the CLV step, then the rest)")
    _vars_option(build)
    build.set_defaults(handler=_build, writes_warehouse=True)

    clv = sub.add_parser(
        "clv",
        help="the CLV step alone: fit and score CLV from int_customer_rfm_summarized, write the clv tables",
        description="Read intermediate.int_customer_rfm_summarized through the engine of the dbt target "
        "(SEGMENTATION_DBT_TARGET), fit BG/NBD and Gamma-Gamma, score every customer and write the tables "
        "of the dbt source `clv`. `segmentation build` runs it between its two dbt builds; run it alone "
        "when you drive dbt yourself.",
    )
    _vars_option(clv)
    clv.set_defaults(handler=_clv, writes_warehouse=True)

    run = sub.add_parser(
        "run",
        help="end to end: generate sample data if none, load, build, validate, publish, summarize",
        description="The main job. Generates the built-in sample data when the landing folder "
        "is empty (or with --regenerate), loads it, runs dbt build and the data-quality gate, "
        "publishes the marts when every critical check passed, and prints a summary. Exit "
        "code 1 when the build or the gate blocked publishing.",
    )
    _generator_options(run)
    run.add_argument("--regenerate", action="store_true",
                     help="replace the sample data and start from a new warehouse file")
    run.add_argument("--force", action="store_true",
                     help="build, check and publish even when nothing changed since the last publish")
    run.add_argument("--previous-review-months", type=int, default=12,
                     help="on a warehouse without reviews, first build the rolling review this many "
                     "months before the latest order, so the report can show migrations (0: don't; "
                     "default: 12)")
    _vars_option(run)
    run.set_defaults(handler=_run, writes_warehouse=True)

    report = sub.add_parser(
        "report",
        help="write the HTML report of the published review (charts, links to dbt and GX docs)",
        description="Write a self-contained HTML report of the review in the published warehouse "
        "to SEGMENTATION_REPORTS_DIR (./data/reports): segment mix, service allocation, whale "
        "curve, cost to serve vs contribution, tier migrations, CLV distribution and CLV model "
        "diagnostics. Reads only the published file, so it can run while a build is running.",
    )
    report.set_defaults(handler=_report)

    validate = sub.add_parser(
        "validate",
        help="run the data-quality gate (Great Expectations) on the warehouse",
        description="Validate the warehouse with the suites of segmentation/quality/suites.py; prints every "
        "failed check and the Data Docs path. Exit code 1 when a critical check fails.",
    )
    validate.add_argument("--chunk-rows", type=int, default=500_000,
                          help="rows per chunk for row-level checks (default: 500,000)")
    validate.add_argument("--no-docs", action="store_true", help="do not rebuild Data Docs")
    validate.set_defaults(handler=_validate)

    publish = sub.add_parser(
        "publish",
        help="dbt build, validate, and publish marts + audit to the file BI tools read",
        description="Run dbt build, the data-quality gate, and, only if no critical check failed, "
        "replace the published file atomically with the marts and audit schemas. Exit code 1 "
        "when blocked; the published file is then unchanged.",
    )
    publish.add_argument("--skip-build", action="store_true",
                         help="validate and publish the warehouse as it is (no dbt build)")
    publish.add_argument("--to", type=Path, default=None,
                         help="published file (default: SEGMENTATION_PUBLISHED_PATH, "
                         "./data/published/warehouse.duckdb)")
    publish.add_argument("--chunk-rows", type=int, default=500_000,
                         help="rows per chunk for row-level checks (default: 500,000)")
    _vars_option(publish)
    publish.set_defaults(handler=_publish, writes_warehouse=True)

    export = sub.add_parser(
        "export",
        help="export the BI marts of the published file as Parquet (publish does this too)",
        description="Write the BI marts of SEGMENTATION_PUBLISHED_PATH as Parquet, partitioned by "
        "review, to SEGMENTATION_PARQUET_DIR (current/ is the latest export). `publish` runs "
        "it after every publish; this command re-runs it alone (e.g. to time it).",
    )
    export.set_defaults(handler=_export)

    simulate = sub.add_parser(
        "simulate",
        help="service-policy what-if: who a proposed policy changes, savings and margin at risk",
        description="Build the what-if marts (policy_scenarios, policy_scenario_impacts, "
        "policy_scenario_customers) in the working warehouse for the current policy, the scenarios of "
        "seeds/service_policy_scenarios.csv and the proposed policies given here, and print the impact "
        "table. Needs a built warehouse (segmentation run). The published file is unchanged until the "
        "next publish; a later build without --policy drops the file's scenarios again.",
    )
    simulate.add_argument("--policy", type=Path, action="append", default=[], metavar="FILE",
                          help="a proposed policy: a CSV in the shape of seeds/service_policy.csv (optionally "
                          "with a scenario column holding several); repeat for several files")
    simulate.add_argument("--name", action="append", default=[],
                          help="the scenario's name, one per --policy in the same order (default: the file name)")
    _vars_option(simulate)
    simulate.set_defaults(handler=_simulate, writes_warehouse=True)

    summary = sub.add_parser("summary", help="print row counts, rejects and quarantine of the warehouse")
    summary.set_defaults(handler=_summary)

    contract = sub.add_parser(
        "contract",
        help="print the raw data contract as Markdown (from the dbt source YAML)",
    )
    contract.add_argument("--write", type=Path, default=None, help="write to this file instead of stdout")
    contract.set_defaults(handler=_contract)
    return parser


def _vars_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--vars", default=None, metavar="YAML",
        help="dbt vars for this build, YAML or JSON, e.g. --vars '{review_date: 2025-06-30, "
        "clv_holdout_weeks: 13}'. Checked against dbt_project.yml (names and shapes) "
        "before dbt runs.",
    )


def _dbt_vars(args: argparse.Namespace) -> dict[str, object]:
    from segmentation.dbt_vars import parse_vars, validate_vars

    return validate_vars(parse_vars(getattr(args, "vars", None)))


def _vars_argument(dbt_vars: dict[str, object]) -> list[str]:
    from segmentation.dbt_vars import dbt_vars_argument

    return dbt_vars_argument(dbt_vars)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("customer-service-segmentation")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _generator_options(parser: argparse.ArgumentParser) -> None:
    from segmentation.sample.generate import GeneratorConfig

    defaults = GeneratorConfig()
    parser.add_argument("--customers", type=int, default=defaults.customers,
                        help=f"number of customers (default: {defaults.customers:,})")
    parser.add_argument("--years", type=int, default=defaults.years,
                        help=f"years of history ending at --end-date (default: {defaults.years})")
    parser.add_argument("--end-date", type=dt.date.fromisoformat, default=defaults.end_date,
                        help=f"last day of the history, YYYY-MM-DD (default: {defaults.end_date})")
    parser.add_argument("--seed", type=int, default=defaults.seed,
                        help=f"random seed; the same seed gives the same files (default: {defaults.seed})")
    parser.add_argument("--defect-rate", type=float, default=defaults.defect_rate,
                        help="share of rows given a known business-rule defect, to exercise "
                        f"quarantine (default: {defaults.defect_rate})")


def _generator_config(args: argparse.Namespace):
    from segmentation.sample.generate import GeneratorConfig

    return GeneratorConfig(
        customers=args.customers,
        years=args.years,
        end_date=args.end_date,
        seed=args.seed,
        defect_rate=args.defect_rate,
    )


def _generate(args: argparse.Namespace, settings: Settings) -> int:
    from segmentation.sample.generate import generate

    out = (args.out or settings.data_dir).resolve()
    summary = generate(_generator_config(args), out, progress=_progress)
    rows = ", ".join(f"{name} {n:,}" for name, n in summary.rows.items())
    print(f"wrote {out / 'landing'} in {summary.seconds:.1f}s: {rows}")
    print(f"ground truth: {out / 'ground_truth'} ({summary.defects:,} injected defect rows)")
    return 0


def _load(args: argparse.Namespace, settings: Settings) -> int:
    from segmentation.ingest.load import load_landing

    landing = (args.landing or settings.landing_dir).resolve()
    report = load_landing(landing, settings.raw_dir, progress=_progress)
    for result in report.files:
        if result.status == "loaded":
            print(f"loaded  {result.path.relative_to(landing)}: {result.rows_loaded:,} rows"
                  + (f", {result.rows_rejected:,} rejected" if result.rows_rejected else ""))
        else:
            print(f"{result.status:<7} {result.path.relative_to(landing)}: {result.note}")
    for warning in report.warnings:
        print(f"warning: {warning}")
    print(f"raw zone: {settings.raw_dir}")
    return 0


def _build(args: argparse.Namespace, settings: Settings) -> int:
    from segmentation.dbt_runner import run_dbt
    from segmentation.pipeline import dbt_build_with_clv

    if args.select:  # exactly this selection; the CLV tables stay as the last full build wrote them
        run_dbt(["build", "--select", args.select, *_vars_argument(_dbt_vars(args))], settings, progress=_progress)
    else:
        dbt_build_with_clv(settings, _vars_argument(_dbt_vars(args)), progress=_progress)
    return 0


def _clv(args: argparse.Namespace, settings: Settings) -> int:
    from segmentation.clv.step import clv_settings, run_clv_step
    from segmentation.engines import table_engine

    engine = table_engine(settings)
    try:
        result = run_clv_step(engine, clv_settings(_dbt_vars(args)))
    finally:
        engine.close()
    print(result.summary())
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from segmentation.engines import warehouse_engine
    from segmentation.ingest.load import load_landing
    from segmentation.pipeline import (
        build_previous_review,
        build_validate_publish,
        generate_dbt_docs,
        has_review_history,
        row_accounting,
    )
    from segmentation.report.review import write_report
    from segmentation.run_state import record_publish, run_inputs, unchanged_since_last_publish
    from segmentation.sample.generate import generate

    started = time.monotonic()
    dbt_vars = _dbt_vars(args)  # checked before anything runs
    previous_review_results = []
    landing = settings.landing_dir
    steps = 5
    if args.regenerate or not landing.is_dir() or not any(landing.iterdir()):
        print(f"[1/{steps}] generating sample data ({args.customers:,} customers, {args.years} years)")
        if args.regenerate:
            for suffix in ("", ".wal"):
                Path(f"{settings.warehouse_path}{suffix}").unlink(missing_ok=True)
            shutil.rmtree(settings.raw_dir, ignore_errors=True)
        generate(_generator_config(args), settings.data_dir, progress=_progress)
    else:
        print(f"[1/{steps}] using existing landing files in {landing}")
    print(f"[2/{steps}] loading landing files into the raw zone")
    load = load_landing(landing, settings.raw_dir, progress=_progress)
    loaded = load.loaded_files
    print(f"      {len(loaded)} new file(s), {sum(f.rows_loaded for f in loaded):,} rows loaded, "
          f"{sum(f.rows_rejected for f in loaded):,} rejected; "
          f"{sum(f.status == 'skipped' for f in load.files)} file(s) already loaded"
          + (f", {sum(f.status == 'ignored' for f in load.files)} ignored (see the warnings)"
             if any(f.status == "ignored" for f in load.files) else ""))
    inputs = run_inputs(settings, dbt_vars)
    published_at = unchanged_since_last_publish(settings, inputs)
    if published_at and settings.warehouse_path.is_file() and not args.force:
        print(f"nothing changed since the publish of {published_at} (no new landing files, code, seeds or vars):")
        print(f"the published warehouse is current: {settings.published_path}")
        print("(segmentation run --force rebuilds anyway)")
        print(f"done in {time.monotonic() - started:.0f}s")
        return 0
    if "review_date" in dbt_vars:
        print(f"[3/{steps}] --vars sets review_date: no earlier review is built first")
    elif args.previous_review_months > 0 and not has_review_history(settings):
        print(f"[3/{steps}] building the review of {args.previous_review_months} months ago (to compare with)")
        previous_review_results = build_previous_review(
            settings, args.previous_review_months, progress=_progress, extra_vars=dbt_vars
        )
    else:
        print(f"[3/{steps}] the warehouse already holds a review to compare with")
    print(f"[4/{steps}] dbt build, then the data-quality gate, publish and Parquet export")
    result = build_validate_publish(settings, dbt_args=("build", *_vars_argument(dbt_vars)), progress=_progress)
    report = None
    engine = warehouse_engine(settings)  # the report reads the published marts through it
    if result.published:
        record_publish(settings, inputs)
        dbt_docs = generate_dbt_docs(settings, progress=_progress)
        report = write_report(engine, settings.reports_dir, dbt_docs=dbt_docs, gx_docs=result.docs_index)
    print(f"[5/{steps}] summary")
    print()
    if result.dbt_invocation_id or result.quality is not None:
        print(row_accounting(settings))
        print()
    print(result.summary())
    print()
    print(f"working warehouse:   {engine.working_location}")
    if result.published:
        print(f"published warehouse: {result.published_path}  (BI tools: open read-only)")
    if result.export is not None:
        print(f"Parquet export:      {result.export.current}  (one folder per mart, partitioned by review)")
    if result.docs_index:
        print(f"GX Data Docs:        {result.docs_index}")
    if report is not None:
        print(f"dbt docs:            {dbt_docs}  (or: .venv/bin/dbt docs serve --profiles-dir .)")
        print(f"report:              {report.path}")
    _record_in_dagster(settings, load_report=load, dbt_results=[*previous_review_results, *result.dbt_results],
                       dbt_invocation_id=result.dbt_invocation_id, pipeline_result=result,
                       report_path=report.path if report is not None else None)
    print(f"done in {time.monotonic() - started:.0f}s")
    return 0 if result.published else 1


def _record_in_dagster(settings: Settings, **run) -> None:
    """Let Dagster's UI show what this run materialized (orchestration/cli_runs.py).

    A failure here never fails the run: the warehouse is built either way."""
    try:
        from orchestration.cli_runs import record_cli_run

        print(record_cli_run(settings, **run).summary())
    except Exception as exc:  # any failure to record is reported, never raised
        print(f"warning: could not record this run in Dagster ({type(exc).__name__}: {exc}); the UI will not show it")


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from segmentation.engines import warehouse_engine
    from segmentation.report.review import ReportError, write_report

    try:
        result = write_report(
            warehouse_engine(settings), settings.reports_dir,
            dbt_docs=settings.dbt_docs_index, gx_docs=settings.gx_docs_index,
        )
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for note in result.notes:
        print(f"note: {note}")
    print(result.summary())
    return 0


def _validate(args: argparse.Namespace, settings: Settings) -> int:
    from segmentation.engines import warehouse_engine

    report = warehouse_engine(settings).validate(
        chunk_rows=args.chunk_rows, build_docs=not args.no_docs, progress=_progress,
    )
    print(report.summary())
    return 0 if report.passed else 1


def _publish(args: argparse.Namespace, settings: Settings) -> int:
    from segmentation.pipeline import build_validate_publish
    from segmentation.publish.warehouse import check_settled

    if args.skip_build and args.vars:
        raise UsageError("--vars applies to the build; with --skip-build nothing is built. "
                         "Drop --skip-build to rebuild with these vars, or drop --vars")
    if args.skip_build:
        check_settled(settings.warehouse_path, build_marker_too=True)  # e.g. after a killed `segmentation run`
    result = build_validate_publish(
        settings, dbt_args=None if args.skip_build else ("build", *_vars_argument(_dbt_vars(args))),
        publish_to=args.to,
        chunk_rows=args.chunk_rows, progress=_progress,
    )
    print(result.summary())
    return 0 if result.published else 1


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from segmentation.engines import warehouse_engine
    from segmentation.publish.parquet_export import ExportError

    try:
        print(warehouse_engine(settings).export_parquet(settings.parquet_dir).summary())
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from segmentation.policy.simulate import simulate

    if len(args.name) > len(args.policy):
        raise UsageError("more --name than --policy: give one --name per --policy file, in the same order")
    names = [*args.name, *[None] * (len(args.policy) - len(args.name))]
    print(simulate(settings, list(zip(args.policy, names, strict=True)), _dbt_vars(args), progress=_progress))
    return 0


def _summary(args: argparse.Namespace, settings: Settings) -> int:
    from segmentation.summary import warehouse_summary

    print(warehouse_summary(settings.warehouse_path))
    print(f"\nwarehouse: {settings.warehouse_path}")
    return 0


def _contract(args: argparse.Namespace, settings: Settings) -> int:
    from segmentation.ingest.contract import load_contract, render_markdown

    text = render_markdown(load_contract(settings.project_dir)) + "\n"
    if args.write:
        args.write.write_text(text, encoding="utf-8")
        print(f"wrote {args.write}")
    else:
        sys.stdout.write(text)
    return 0


def _progress(message: str) -> None:
    print(f"      {message}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
