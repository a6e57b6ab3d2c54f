"""Offline pages of a gate run: an index with the publish verdict and one page per suite.

GX's Data Docs load Bootstrap, jQuery and Vega from CDNs, so they render badly without
network access, and they show one page per validated batch. These pages are plain HTML
with inline CSS and no script: they open from a file anywhere. Each suite page shows every
check of the suite over the whole dataset (chunks merged), with its severity, verdict,
counts and unexpected sample; the index says whether the run may be published.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segmentation.quality.gate import CheckResult, QualityReport

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.ok { color: #176b1f; } .fail { color: #b00020; font-weight: bold; } .warn { color: #a05a00; }
.verdict { font-size: 1.3rem; padding: .6rem 1rem; display: inline-block; border-radius: 4px; }
.verdict.passed { background: #e3f4e5; } .verdict.blocked { background: #fbe3e6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
"""


def write_pages(report: QualityReport, folder: Path) -> Path:
    """Write index.html and one <suite>.html per suite into `folder` (replaced); returns
    the index."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.html"):
        old.unlink()
    suites: dict[str, list[CheckResult]] = {}
    for check in report.checks:
        suites.setdefault(check.suite, []).append(check)
    for suite, checks in suites.items():
        (folder / _page_name(suite)).write_text(_suite_page(report, suite, checks), encoding="utf-8")
    index = folder / "index.html"
    index.write_text(_index_page(report, suites), encoding="utf-8")
    return index


def _page_name(suite: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", suite) + ".html"


def page_path(folder: Path, suite: str) -> Path:
    """Where write_pages puts a suite's page."""
    return folder / _page_name(suite)


def _verdict(report: QualityReport) -> str:
    if report.passed:
        return (
            '<p class="verdict passed">PASSED: no critical check failed; the build may be '
            f"published ({len(report.warnings)} warning(s)).</p>"
        )
    return (
        f'<p class="verdict blocked">BLOCKED: {len(report.blocking_failures)} critical '
        "check(s) failed; the build is not published.</p>"
    )


def _status(check: CheckResult) -> str:
    if check.success:
        return '<span class="ok">passed</span>'
    if check.blocking:
        return '<span class="fail">FAILED (blocks publishing)</span>'
    return '<span class="warn">failed (reported)</span>'


def _document(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def _index_page(report: QualityReport, suites: dict[str, list[CheckResult]]) -> str:
    rows = []
    for suite, checks in suites.items():
        blocking = sum(c.blocking for c in checks)
        warned = sum(not c.success and not c.blocking for c in checks)
        status = (
            '<span class="fail">blocks</span>' if blocking
            else '<span class="warn">warnings</span>' if warned
            else '<span class="ok">passed</span>'
        )
        rows.append(
            f'<tr><td><a href="{_page_name(suite)}">{html.escape(suite)}</a></td>'
            f"<td>{html.escape(checks[0].dataset)}</td><td>{status}</td>"
            f'<td class="num">{len(checks)}</td><td class="num">{blocking}</td>'
            f'<td class="num">{warned}</td><td class="num">{report.chunks.get(suite, "")}</td></tr>'
        )
    skipped = "".join(f"<li>{html.escape(reason)}</li>" for reason in report.skipped)
    body = (
        f"<h1>Data quality gate: {html.escape(report.run_name)}</h1>"
        f"{_verdict(report)}"
        f"<p>Warehouse: <code>{html.escape(str(report.warehouse_path))}</code>; "
        f"{len(report.checks)} checks in {len(suites)} suites in {report.seconds:.1f} s.</p>"
        "<table><tr><th>suite</th><th>dataset</th><th>status</th><th>checks</th>"
        "<th>critical failures</th><th>other failures</th><th>GX batches</th></tr>"
        + "".join(rows)
        + "</table>"
        + (f"<h2>Skipped</h2><ul>{skipped}</ul>" if skipped else "")
    )
    return _document(f"Data quality gate {report.run_name}", body)


def _suite_page(report: QualityReport, suite: str, checks: list[CheckResult]) -> str:
    rows = []
    for check in checks:
        counts = ""
        if check.unexpected_count is not None:
            of = f" of {check.element_count:,}" if check.element_count is not None else ""
            counts = f"{check.unexpected_count:,}{of}"
        rows.append(
            f"<tr><td>{_status(check)}</td><td>{html.escape(check.severity)}</td>"
            f"<td>{html.escape(check.expectation_type)}</td>"
            f"<td>{html.escape(check.column or '')}</td><td>{html.escape(check.criteria)}</td>"
            f'<td class="num">{counts}</td>'
            f"<td>{'<br>'.join(html.escape(item) for item in check.sample)}</td></tr>"
        )
    body = (
        f'<p><a href="index.html">all suites</a></p><h1>{html.escape(suite)}</h1>'
        f"{_verdict(report)}"
        f"<p>Dataset: <code>{html.escape(checks[0].dataset)}</code>; run "
        f"{html.escape(report.run_name)}. Counts are over the whole dataset.</p>"
        "<table><tr><th>status</th><th>severity</th><th>expectation</th><th>column</th>"
        "<th>criteria</th><th>unexpected rows</th><th>sample</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return _document(f"{suite}: data quality", body)
