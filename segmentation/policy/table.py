"""The impact table `segmentation simulate` prints: every scenario side by side, then its segments."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

_SCENARIO_COLUMNS = """
    scenario, affected_customers, service_level_downgrades, routing_changes, account_managers_added,
    savings_low, savings_central, savings_high,
    margin_at_risk_low, margin_at_risk_central, margin_at_risk_high,
    net_effect_low, net_effect_central, net_effect_high
"""


def impact_table(warehouse_path: Path, detail_scenarios: Sequence[str] = ()) -> str:
    """Scenarios of marts.policy_scenarios (central value and low..high range), and the value
    tiers of `detail_scenarios` from marts.policy_scenario_impacts."""
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        review_date = con.execute("select max(review_date) from marts.policy_scenarios").fetchone()[0]
        scenarios = con.execute(
            f"select {_SCENARIO_COLUMNS} from marts.policy_scenarios"
            " order by scenario = 'current policy' desc, net_effect_central desc, scenario"
        ).fetchall()
        tiers = con.execute(
            f"""
            select {_SCENARIO_COLUMNS.replace('scenario,', "scenario, segment,", 1)}
            from marts.policy_scenario_impacts
            where segment_family = 'value_tier' and affected_customers > 0 and list_contains(?, scenario)
            order by scenario, net_effect_central desc, segment
            """,
            [list(detail_scenarios)],
        ).fetchall()
        evidence = con.execute(
            "select any_value(evidence_note), any_value(assumed_retention_change_per_level_down_central),"
            " any_value(observed_retention_change_per_level_down) from marts.policy_scenarios"
        ).fetchone()
    finally:
        con.close()
    lines = [
        f"Service-policy what-if on the review of {review_date}, central (low..high).",
        "Savings: cost to serve over the CLV horizon, discounted like CLV; margin at risk: predicted CLV lost;",
        "net effect = savings - margin at risk.",
        "",
    ]
    lines += _table(["scenario"], scenarios)
    if tiers:
        lines += ["", "By value tier:"]
        lines += _table(["scenario", "value tier"], tiers)
    note, assumed, observed = evidence
    lines += ["", f"Assumed retention change per service level step down (central): {assumed:+.1%}; "
              + (f"observed in the review history: {observed:+.1%} ({note})." if observed is not None else f"{note}.")]
    return "\n".join(lines)


def _table(label_headers: list[str], rows: Sequence[tuple]) -> list[str]:
    headers = [*label_headers, "customers", "level down", "rerouted", "managers +", "savings", "margin at risk",
               "net effect"]
    labels = len(label_headers)
    body = []
    for row in rows:
        counts = [f"{value:,}" for value in row[labels:labels + 4]]
        ranges = [_range(*row[labels + 4 + 3 * i:labels + 7 + 3 * i]) for i in range(3)]
        body.append([*(str(value) for value in row[:labels]), *counts, *ranges])
    widths = [max(len(header), *(len(cells[i]) for cells in body)) if body else len(header)
              for i, header in enumerate(headers)]
    aligned = [
        "  ".join(cell.ljust(width) if i < labels else cell.rjust(width) for i, (cell, width) in
                  enumerate(zip(cells, widths, strict=True)))
        for cells in [headers, *body]
    ]
    return [aligned[0], "  ".join("-" * width for width in widths), *aligned[1:]]


def _range(low: float, central: float, high: float) -> str:
    return f"{float(central):,.0f} ({float(low):,.0f}..{float(high):,.0f})"
