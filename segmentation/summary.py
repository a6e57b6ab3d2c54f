"""The short report `segmentation run` prints: what was loaded, rejected and quarantined."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb


def warehouse_summary(warehouse_path: Path) -> str:
    """Row counts per entity (file, raw, clean, rejected, quarantined) and top reasons."""
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        return summary_from(lambda sql: con.execute(sql).fetchall())
    finally:
        con.close()


def summary_from(fetch: Callable[[str], list[tuple]]) -> str:
    """The summary from any engine: `fetch` runs a query (DuckDB or Spark SQL) and returns its rows."""
    rows = fetch(
        """
        select entity, file_rows_read, file_rows_rejected, raw_rows, clean_rows,
               quarantined_rows, is_reconciled
        from audit.audit_row_reconciliation
        order by entity
        """
    )
    quarantine = fetch(
        """
        select entity, quarantine_reason, count(*) as n_rows
        from audit.audit_quarantine
        group by all
        order by n_rows desc, entity
        limit 10
        """
    )
    rejects = fetch(
        """
        select entity, column_name, reject_reason, count(*) as n_rows
        from staging.stg_loader__load_rejects
        group by all
        order by n_rows desc, entity
        limit 10
        """
    )

    header = ("entity", "file rows", "rejected", "raw", "clean", "quarantined", "reconciled")
    table = [header, *[(r[0], *(f"{int(v):,}" for v in r[1:6]), "yes" if r[6] else "NO") for r in rows]]
    widths = [max(len(str(line[i])) for line in table) for i in range(len(header))]
    lines = ["  ".join(_align(line, widths)) for line in table]
    if rejects:
        lines += ["", "Rejected at load (raw._load_rejects):"]
        lines += [f"  {entity}.{column or '*'}: {reason} x{n:,}" for entity, column, reason, n in rejects]
    if quarantine:
        lines += ["", "Quarantined by business rules (audit.audit_quarantine):"]
        lines += [f"  {entity}: {reason} x{n:,}" for entity, reason, n in quarantine]
    return "\n".join(lines)


def _align(cells: tuple, widths: list[int]) -> list[str]:
    """First column left-aligned (names), the rest right-aligned (numbers)."""
    return [str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
