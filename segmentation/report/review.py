"""The review report: one self-contained HTML file that service managers open in a browser.

Everything is read from the *published* warehouse (read-only), so the report shows only
checked data and can be written while dbt builds the working file. Charts are Plotly
figures; plotly.js is inlined once, so the file works offline and can be mailed around.

First the action lists (tables, see below), then the charts (in this order; `CHART_IDS`
names them for tests):

1. segment mix: customers, revenue and profit share per value tier, and the routing queues;
2. profit concentration: the whale curve of the rolling window, with the top-20% share;
3. tier migrations between the last two reviews of the same type (heatmap);
4. CLV distribution per value tier (binned in SQL, so 1M customers stay a small file);
5. CLV model diagnostics: predicted vs actual holdout purchases per frequency bucket;
6. service-policy scenarios: savings against margin at risk, with their low-high ranges.

The tables (`TABLE_IDS`): the action lists a service manager acts on (entitlement gaps,
valuable customers at high churn risk with their account manager and predicted CLV, the top
look-alike upgrade candidates), and after the charts cost to serve against budget and
contribution per segment, sorted by over-service cost (it replaces a bubble chart that was
readable only by hovering), the service attach rate per value tier with its change since the
previous review, and the service-policy scenarios side by side (policy_scenarios). Every
amount says its currency, the CLV its horizon, the rolling figures their window; codes are
shown as readable names (`label`). Links are relative to the report's folder (a static dbt
docs page is copied next to the report), so the folder can be moved or mailed; no path of
the build machine is written into the page.

Large tables are aggregated or limited in DuckDB before they reach Python: the report's
size does not grow with the number of customers.
"""

from __future__ import annotations

import html
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

if TYPE_CHECKING:
    from segmentation.engines import WarehouseEngine

TIER_ORDER = ("platinum", "gold", "silver", "bronze", "unprofitable")
TIER_COLOURS = {
    "platinum": "#5b2a86",
    "gold": "#c9a227",
    "silver": "#8a9ba8",
    "bronze": "#a0522d",
    "unprofitable": "#c0392b",
}
CHART_IDS = (
    "segment-mix",
    "routing-queues",
    "whale-curve",
    "migration-heatmap",
    "clv-distribution",
    "clv-diagnostics",
    "policy-scenarios",
)
TABLE_IDS = (
    "entitlement-gaps",
    "valuable-at-churn-risk",
    "lookalike-candidates",
    "over-service",
    "attach-rate",
    "policy-scenarios",
)
WHALE_CURVE_POINTS = 2_000
CLV_BINS = 40
ACTION_LIST_ROWS = 25
ACTION_LISTS = 3  # the first three of TABLE_IDS, shown above the charts
# The file name the static dbt docs page gets next to the report.
DBT_DOCS_FILE = "dbt_docs.html"

# Readable names of the codes the marts use; anything else is shown as "Snake case".
LABELS = {
    "platinum": "Platinum", "gold": "Gold", "silver": "Silver", "bronze": "Bronze",
    "unprofitable": "Unprofitable",
    "senior_agents": "Senior agents", "retention": "Retention team", "onboarding": "Onboarding team",
    "standard": "Standard", "self_service": "Self-service",
    "concierge": "Concierge", "priority": "Priority", "essential": "Essential",
    "value_tier": "Value tier", "lifecycle_stage": "Lifecycle stage", "churn_risk": "Churn risk",
    "support_channel": "Support channel", "support_intensity": "Support intensity",
    "product_adoption": "Product adoption", "firmographic_group": "Firmographic group",
    "service_plan": "Service plan",
    "account_manager_missing": "No account manager, though entitled",
    "valuable_routed_to_self_service": "Valuable, routed to self-service",
    "csat_below_threshold": "CSAT below threshold",
    "first_response_above_sla": "First response slower than the SLA",
    "account_manager_not_entitled": "Account manager not entitled",
    "cost_to_serve_above_budget": "Cost to serve above budget",
    "entitled_and_assigned": "Assigned (entitled)", "entitled_not_assigned": "Missing (entitled)",
    "assigned_not_entitled": "Assigned (not entitled)", "not_entitled": "Not entitled",
    "retention_call": "Retention call", "onboarding_check_in": "Onboarding check-in",
    "win_back_offer": "Win-back offer", "move_to_self_service": "Move to self-service",
    "offer_premium_plan": "Offer premium plan", "upsell_category": "Upsell a category",
    "keep_current_service": "Keep current service",
    "current policy": "Current policy (no change)",
}


def label(code: object) -> str:
    """The readable name of a mart code (value tier, queue, service level, family, ...)."""
    if code is None or (isinstance(code, float) and pd.isna(code)):
        return ""
    text = str(code)
    if text in LABELS:
        return LABELS[text]
    return text.replace("__", " / ").replace("_", " ").capitalize()


# The published marts the report reads (an engine hands over only these).
REPORT_TABLES = (
    "dim_customer_segments", "segment_economics", "whale_curve", "profit_concentration", "segment_reviews",
    "segment_migrations", "customer_clv", "clv_holdout_validation", "clv_model_fit", "customer_service_handoff",
    "customer_entitlement_gaps", "policy_scenarios",
)


class ReportError(RuntimeError):
    """The report cannot be written from this warehouse (named in the message)."""


@dataclass
class ReportResult:
    path: Path
    review_id: str
    review_date: str
    charts: list[str] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)  # table id -> rows shown
    notes: list[str] = field(default_factory=list)  # charts drawn with a caveat

    def summary(self) -> str:
        return f"report for review {self.review_id}: {self.path} ({len(self.charts)} charts)"


def write_report(
    published: Path | WarehouseEngine,
    reports_dir: Path,
    *,
    dbt_docs: Path | None = None,
    gx_docs: Path | None = None,
) -> ReportResult:
    """Write `review_<review date>.html` for the review the published marts hold.

    `published`: the engine whose published marts to read (segmentation.engines.warehouse_engine;
    DuckDB's published file, or Spark's `published` views), or a published DuckDB file. Either
    way the engine hands over a DuckDB connection to those marts, and the report's one set of
    queries reads them there.
    `dbt_docs` (dbt's static page, `dbt docs generate --static`, copied next to the report)
    and `gx_docs` (the GX Data Docs site, linked relative to the report) are left out when
    they do not exist (docs not generated yet).
    """
    import plotly.io as pio

    from segmentation.engines import NothingPublished

    if isinstance(published, str | Path):
        from segmentation.engines.duckdb import PublishedFile

        published = PublishedFile(Path(published))
    engine = published
    try:
        con = engine.open_published(REPORT_TABLES)
    except NothingPublished as exc:
        raise ReportError(str(exc)) from exc
    try:
        data = _ReportData.read(con)
    finally:
        con.close()
    published_path = engine.published_location

    figures = _figures(data)
    parts = []
    for index, (chart_id, title, explanation, figure) in enumerate(figures):
        div = pio.to_html(
            figure,
            full_html=False,
            include_plotlyjs=index == 0,  # plotly.js once, inline: the file is self-contained
            div_id=chart_id,
            config={"displaylogo": False, "responsive": True},
        )
        parts.append(
            f'<section class="chart" data-chart="{chart_id}"><h2>{html.escape(title)}</h2>'
            f"<p>{html.escape(explanation)}</p>{div}</section>"
        )
    tables = _tables(data)
    table_parts = [_table_section(*table) for table in tables]
    # The action lists first (what a service manager acts on), then the charts, then the
    # per-segment cost table.
    parts = table_parts[:ACTION_LISTS] + parts + table_parts[ACTION_LISTS:]
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    links = _links(reports_dir, dbt_docs, gx_docs)
    path = reports_dir / f"review_{data.review_date}.html"
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(_page(data, parts, links, published_path), encoding="utf-8")
    temporary.replace(path)
    return ReportResult(
        path=path,
        review_id=data.review_id,
        review_date=data.review_date,
        charts=[chart_id for chart_id, *_ in figures],
        tables={table_id: len(rows) for table_id, _, _, _, rows in tables},
        notes=data.notes,
    )


def _links(reports_dir: Path, dbt_docs: Path | None, gx_docs: Path | None) -> list[tuple[str, str]]:
    """(label, href relative to the report) of the docs that exist. dbt's static page is one
    self-contained file: it is copied next to the report, so the link works wherever the
    folder goes. The GX site is many files: linked relative to the report's folder."""
    links = []
    if dbt_docs is not None and Path(dbt_docs).is_file():
        copy = reports_dir / DBT_DOCS_FILE
        if Path(dbt_docs).resolve() != copy.resolve():
            shutil.copyfile(dbt_docs, copy)
        links.append(("dbt docs (models, columns, lineage, tests)", DBT_DOCS_FILE))
    if gx_docs is not None and Path(gx_docs).is_file():
        relative = os.path.relpath(Path(gx_docs).resolve(), reports_dir.resolve())
        links.append(("Great Expectations Data Docs (data-quality checks)", Path(relative).as_posix()))
    return links


@dataclass
class _ReportData:
    review_id: str
    review_date: str
    headline: dict[str, float]
    tier_mix: pd.DataFrame
    queues: pd.DataFrame
    whale: pd.DataFrame
    concentration: pd.DataFrame
    economics: pd.DataFrame
    migrations: pd.DataFrame
    migration_reviews: tuple[str, str] | None
    clv_bins: pd.DataFrame
    holdout: pd.DataFrame
    model_fit: pd.DataFrame
    currency: str
    clv_horizon_months: int
    window_months: int
    entitlement_gaps: pd.DataFrame
    over_served: pd.DataFrame
    valuable_at_risk: pd.DataFrame
    lookalikes: pd.DataFrame
    over_service: pd.DataFrame
    attach_rates: pd.DataFrame
    scenarios: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection) -> _ReportData:
        def frame(sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
            return con.execute(sql, list(params)).df()

        tables = {row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()}
        missing = sorted({"dim_customer_segments", "segment_economics", "whale_curve", "segment_reviews",
                          "segment_migrations", "customer_clv", "clv_holdout_validation",
                          "customer_service_handoff", "customer_entitlement_gaps"} - tables)
        if missing:
            raise ReportError(f"the published warehouse has no marts.{', marts.'.join(missing)}; rebuild and publish")
        review_date = con.execute("select max(review_date) from marts.dim_customer_segments").fetchone()[0]
        if review_date is None:
            raise ReportError("marts.dim_customer_segments is empty: there is no review to report on")
        review = con.execute(
            "select review_id from marts.segment_reviews where review_date = ? "
            "order by case review_type when 'rolling' then 0 else 1 end limit 1",
            [review_date],
        ).fetchone()
        review_id = review[0] if review else f"review-{review_date}"

        headline = frame(
            """
            select
                count(*) as customers,
                sum(rolling_net_revenue) as net_revenue,
                sum(rolling_net_profit) as net_profit,
                sum(predicted_clv) as predicted_clv
            from marts.dim_customer_segments
            """
        ).iloc[0].to_dict()
        concentration = frame(
            "select * from marts.profit_concentration where period_type like 'rolling%' order by period_end desc"
        )
        tier_mix = frame(
            """
            select segment as value_tier, customers, customer_share, revenue_share, net_profit_share,
                   cost_to_serve_per_customer, avg_predicted_clv
            from marts.segment_economics
            where segment_family = 'value_tier'
            """
        )
        tier_mix["order"] = tier_mix["value_tier"].map({t: i for i, t in enumerate(TIER_ORDER)})
        queues = frame(
            """
            select routing_queue, effective_service_level, count(*) as customers
            from marts.dim_customer_segments
            group by routing_queue, effective_service_level
            order by routing_queue, effective_service_level
            """
        )
        # Every k-th customer of the curve (and the last): a faithful line at any size.
        whale = frame(
            f"""
            select cumulative_customer_share, cumulative_profit_share
            from marts.whale_curve
            where period_type like 'rolling%'
              and (profit_rank % greatest(1, customers // {WHALE_CURVE_POINTS}) = 0 or profit_rank = customers)
            order by profit_rank
            """
        )
        economics = frame(
            """
            select segment_family, segment, customers, net_profit / customers as net_profit_per_customer,
                   cost_to_serve_per_customer, is_over_served, net_profit_share
            from marts.segment_economics
            where customers > 0
            """
        )
        # Into the reported review from the one before it of the same type.
        pair = con.execute(
            """
            select from_review_id, to_review_id
            from marts.segment_migrations
            where presence = 'both' and to_review_id = ?
            limit 1
            """,
            [review_id],
        ).fetchone()
        migrations = pd.DataFrame()
        notes: list[str] = []
        if pair:
            migrations = frame(
                """
                select from_tier, to_tier, sum(customers) as customers
                from marts.segment_migrations
                where from_review_id = ? and to_review_id = ? and presence = 'both'
                group by from_tier, to_tier
                """,
                pair,
            )
        else:
            notes.append(f"tier migrations: {review_id} is the first review of its type; build an earlier one")
        clv_bins = frame(
            f"""
            with bounds as (
                select quantile_cont(predicted_clv, 0.99) as upper_bound
                from marts.dim_customer_segments where predicted_clv is not null
            ),
            binned as (
                select
                    value_tier,
                    least(
                        {CLV_BINS - 1},
                        greatest(0, cast(floor(predicted_clv / nullif(upper_bound, 0) * {CLV_BINS}) as integer))
                    ) as bin,
                    upper_bound
                from marts.dim_customer_segments cross join bounds
                where predicted_clv is not null
            )
            select value_tier, bin, any_value(upper_bound) as upper_bound, count(*) as customers
            from binned group by value_tier, bin order by value_tier, bin
            """
        )
        holdout = frame("select * from marts.clv_holdout_validation order by level desc, bucket")
        model_fit = frame("select * from marts.clv_model_fit")
        currency, clv_horizon_months = con.execute(
            "select any_value(currency), any_value(clv_horizon_months) from marts.customer_service_handoff"
        ).fetchone()
        rolling_period = str(concentration["period_type"].iloc[0]) if len(concentration) else ""
        window = re.fullmatch(r"rolling_(\d+)m", rolling_period)
        entitlement_gaps = frame(
            f"""
            select customer_id, value_tier, gap_type, gap_reason, account_manager_id, routing_queue,
                   predicted_clv
            from marts.customer_entitlement_gaps
            where gap_direction = 'under_served'
            order by predicted_clv desc nulls last, customer_id, gap_type
            limit {ACTION_LIST_ROWS}
            """
        )
        over_served = frame(
            """
            select gap_direction, gap_type, count(*) as customers, sum(over_service_cost_per_year) as cost_per_year
            from marts.customer_entitlement_gaps
            group by gap_direction, gap_type
            order by gap_direction desc, customers desc
            """
        )
        valuable_at_risk = frame(
            f"""
            select customer_id, value_tier, account_manager_id, account_manager_status, predicted_clv, p_alive,
                   routing_queue, sla_first_response_hours, next_best_action
            from marts.customer_service_handoff
            where value_tier in ('platinum', 'gold') and churn_risk = 'high'
            order by predicted_clv desc nulls last, customer_id
            limit {ACTION_LIST_ROWS}
            """
        )
        lookalikes = frame(
            f"""
            select customer_id, value_tier, tenure_band, lookalike_score, rolling_net_profit, predicted_clv,
                   next_best_action
            from marts.dim_customer_segments
            where lookalike_rank is not null
            order by lookalike_score desc, customer_id
            limit {ACTION_LIST_ROWS}
            """
        )
        over_service = frame(
            """
            select segment_family, segment, customers, cost_to_serve_per_customer, avg_cost_to_serve_budget,
                   net_profit / customers as net_profit_per_customer, is_over_served,
                   greatest(cost_to_serve_per_customer - avg_cost_to_serve_budget, 0) * customers
                       as over_service_cost
            from marts.segment_economics
            where customers > 0
            order by over_service_cost desc, net_profit_per_customer, segment_family, segment
            """
        )
        attach_rates = frame(
            """
            select segment, customers, contract_customers, attach_rate, contract_revenue, previous_attach_rate,
                   attach_rate_change
            from marts.segment_economics
            where segment_family = 'value_tier'
            """
        )
        attach_rates["order"] = attach_rates["segment"].map({t: i for i, t in enumerate(TIER_ORDER)})
        scenarios = pd.DataFrame()
        if "policy_scenarios" in tables:
            scenarios = frame(
                """
                select scenario, affected_customers, service_level_downgrades, routing_changes,
                       account_managers_added, cost_to_serve_change_central,
                       savings_low, savings_central, savings_high,
                       margin_at_risk_low, margin_at_risk_central, margin_at_risk_high,
                       net_effect_low, net_effect_central, net_effect_high,
                       assumed_retention_change_per_level_down_central, observed_retention_change_per_level_down,
                       evidence_note
                from marts.policy_scenarios
                order by scenario = 'current policy' desc, net_effect_central desc, scenario
                """
            )
        else:
            notes.append("policy scenarios: the published warehouse has no marts.policy_scenarios; rebuild and publish")
        return cls(
            review_id=review_id,
            review_date=str(review_date),
            headline=headline,
            tier_mix=tier_mix.sort_values("order"),
            queues=queues,
            whale=whale,
            concentration=concentration,
            economics=economics,
            migrations=migrations,
            migration_reviews=tuple(pair) if pair else None,
            clv_bins=clv_bins,
            holdout=holdout,
            model_fit=model_fit,
            currency=str(currency or "currency units"),
            clv_horizon_months=int(clv_horizon_months or 0),
            window_months=int(window.group(1)) if window else 12,
            entitlement_gaps=entitlement_gaps,
            over_served=over_served,
            valuable_at_risk=valuable_at_risk,
            lookalikes=lookalikes,
            over_service=over_service,
            attach_rates=attach_rates.sort_values("order"),
            scenarios=scenarios,
            notes=notes,
        )


def _figures(data: _ReportData) -> list[tuple[str, str, str, object]]:
    import plotly.graph_objects as go

    layout = {"template": "plotly_white", "height": 420, "margin": {"t": 40, "r": 20, "b": 50, "l": 60}}
    figures: list[tuple[str, str, str, object]] = []

    window = f"last {data.window_months} months"
    mix = data.tier_mix
    tiers = mix["value_tier"].map(label)
    segment_mix = go.Figure(
        [
            go.Bar(name="Customers", x=tiers, y=mix["customer_share"], marker_color="#7f8c8d"),
            go.Bar(name="Net revenue", x=tiers, y=mix["revenue_share"], marker_color="#2980b9"),
            go.Bar(name="Net profit", x=tiers, y=mix["net_profit_share"], marker_color="#27ae60"),
        ]
    )
    segment_mix.update_layout(barmode="group", yaxis_tickformat=".0%", yaxis_title="share of the review", **layout)
    figures.append((
        "segment-mix", "Segment mix: who brings the profit",
        f"Share of customers, net revenue and net profit ({window}) per value tier.",
        segment_mix,
    ))

    queues = data.queues
    routing = go.Figure(
        [
            go.Bar(name=label(level), x=rows["routing_queue"].map(label), y=rows["customers"])
            for level, rows in queues.groupby("effective_service_level", sort=True)
        ]
    )
    routing.update_layout(barmode="stack", yaxis_title="customers", legend_title="service level", **layout)
    figures.append((
        "routing-queues", "Service allocation: routing queues and service levels",
        "Customers per routing queue (senior agents, retention team, onboarding team, standard, "
        "self-service), coloured by the service level the service policy gives them.",
        routing,
    ))

    whale = go.Figure(
        [
            go.Scatter(
                x=[0.0, *data.whale["cumulative_customer_share"]],
                y=[0.0, *data.whale["cumulative_profit_share"]],
                mode="lines", name="cumulative profit", line={"color": "#27ae60", "width": 3},
            ),
            go.Scatter(x=[0, 1], y=[1, 1], mode="lines", name="total profit",
                       line={"dash": "dot", "color": "#7f8c8d"}),
        ]
    )
    caption = f"Customers ranked from most to least profitable (net profit, {window})."
    if not data.concentration.empty:
        top = data.concentration.iloc[0]
        caption += (
            f" The top 20% bring {top['top_20pct_profit_share']:.0%} of the profit; "
            f"{top['negative_profit_customer_share']:.0%} of customers lose money; the curve peaks at "
            f"{top['peak_cumulative_profit_share']:.0%} of total profit."
        )
        whale.add_vline(x=0.2, line_dash="dash", line_color="#c9a227", annotation_text="top 20%")
    whale.update_layout(xaxis_tickformat=".0%", yaxis_tickformat=".0%", xaxis_title="share of customers",
                        yaxis_title="cumulative share of net profit", **layout)
    figures.append(("whale-curve", "Profit concentration: the whale curve", caption, whale))

    if data.migration_reviews is not None and not data.migrations.empty:
        present = [t for t in TIER_ORDER if t in set(data.migrations["from_tier"]) | set(data.migrations["to_tier"])]
        matrix = (
            data.migrations.pivot_table(index="from_tier", columns="to_tier", values="customers", aggfunc="sum")
            .reindex(index=present, columns=present)
            .fillna(0)
        )
        heatmap = go.Figure(
            go.Heatmap(
                z=matrix.values, x=[label(t) for t in matrix.columns], y=[label(t) for t in matrix.index],
                colorscale="Blues",
                text=matrix.values.astype(int), texttemplate="%{text}",
                hovertemplate="%{y} -> %{x}: %{z} customers<extra></extra>",
            )
        )
        heatmap.update_layout(xaxis_title=f"tier at {data.migration_reviews[1]}",
                              yaxis_title=f"tier at {data.migration_reviews[0]}", yaxis_autorange="reversed",
                              **layout)
        explanation = (f"Customers in both {data.migration_reviews[0]} and {data.migration_reviews[1]}: "
                       "rows are the earlier tier, columns the later one; the diagonal stayed.")
    else:
        heatmap = go.Figure()
        heatmap.add_annotation(text="needs an earlier review of the same type", showarrow=False, font={"size": 16})
        heatmap.update_layout(**layout)
        explanation = f"Not drawn: {data.review_id} is the first review of its type in the warehouse."
    figures.append(("migration-heatmap", "Tier migrations between the last two reviews", explanation, heatmap))

    bins = data.clv_bins
    upper = float(bins["upper_bound"].max()) if not bins.empty else 0.0
    width = upper / CLV_BINS if upper else 1.0
    clv = go.Figure(
        [
            go.Bar(
                name=label(tier),
                x=rows["bin"] * width + width / 2,
                y=rows["customers"],
                width=width,
                marker_color=TIER_COLOURS.get(tier),
            )
            for tier in TIER_ORDER
            if not (rows := bins[bins["value_tier"] == tier]).empty
        ]
    )
    clv.update_layout(
        barmode="stack",
        xaxis_title=f"predicted CLV, next {data.clv_horizon_months} months, {data.currency} "
        "(last bin: 99th percentile and above)",
        xaxis_tickformat=",.0f", yaxis_title="customers", **layout,
    )
    figures.append((
        "clv-distribution", f"Predicted customer lifetime value (next {data.clv_horizon_months} months)",
        f"Distribution of predicted CLV (BG/NBD x Gamma-Gamma, discounted margin over the next "
        f"{data.clv_horizon_months} months, {data.currency}) per value tier.",
        clv,
    ))

    buckets = data.holdout[data.holdout["level"] == "bucket"]
    total = data.holdout[data.holdout["level"] == "total"]
    diagnostics = go.Figure(
        [
            go.Bar(name="Actual", x=buckets["bucket"], y=buckets["actual_mean"], marker_color="#34495e"),
            go.Bar(name="BG/NBD predicted", x=buckets["bucket"], y=buckets["predicted_mean"], marker_color="#27ae60"),
            go.Bar(name="Naive (past rate)", x=buckets["bucket"], y=buckets["naive_mean"], marker_color="#bdc3c7"),
        ]
    )
    diagnostics.update_layout(barmode="group", xaxis_title="repeat purchases in the calibration period",
                              yaxis_title="mean purchases in the holdout", **layout)
    explanation = "Purchases in the holdout period per calibration-frequency bucket: actual vs predicted."
    if not total.empty:
        row = total.iloc[0]
        explanation += (f" Mean absolute error per customer: model {row['mae_model']:.2f}, "
                        f"naive {row['mae_naive']:.2f} ({int(row['holdout_weeks'])}-week holdout).")
    figures.append(("clv-diagnostics", "CLV model diagnostics: holdout purchases", explanation, diagnostics))
    figures.append(_scenario_figure(data, layout))
    return figures


def _scenario_figure(data: _ReportData, layout: dict) -> tuple[str, str, str, object]:
    """Savings, margin at risk and net effect per scenario: central values, low-high ranges as error bars."""
    import plotly.graph_objects as go

    scenarios = data.scenarios
    title = "Service-policy scenarios: savings against margin at risk"
    if scenarios.empty:
        figure = go.Figure()
        figure.add_annotation(text="no scenarios in the published warehouse", showarrow=False, font={"size": 16})
        figure.update_layout(**layout)
        return "policy-scenarios", title, "Not drawn: the published warehouse has no policy scenarios.", figure
    values = scenarios.astype({column: float for column in scenarios.columns if column.startswith(
        ("savings_", "margin_at_risk_", "net_effect_"))})
    names = values["scenario"].map(label)

    def bars(measure: str, name: str, colour: str) -> object:
        return go.Bar(
            name=name, x=names, y=values[f"{measure}_central"], marker_color=colour,
            text=[f"{value:,.0f}" for value in values[f"{measure}_central"]], textposition="outside",
            error_y={"type": "data", "symmetric": False,
                     "array": values[f"{measure}_high"] - values[f"{measure}_central"],
                     "arrayminus": values[f"{measure}_central"] - values[f"{measure}_low"]},
        )

    figure = go.Figure([
        bars("savings", "Savings in cost to serve", "#27ae60"),
        bars("margin_at_risk", "Margin at risk (predicted CLV lost)", "#c0392b"),
        bars("net_effect", "Net effect", "#34495e"),
    ])
    figure.update_layout(
        barmode="group", yaxis_title=f"{data.currency}, next {data.clv_horizon_months} months",
        yaxis_tickformat=",.0f", **layout,
    )
    explanation = (
        "Each proposed service policy (seed service_policy_scenarios, segmentation simulate) on this review: "
        "what it saves in cost to serve against the future margin it puts at risk, central values with "
        "low-high ranges of the assumptions (seed policy_assumptions) as error bars. Savings recur over the "
        "CLV horizon and are discounted like CLV; net effect = savings - margin at risk. The current policy "
        "changes nothing, so it is zero."
    )
    return "policy-scenarios", title, explanation, figure


def _money(value: object, currency: str) -> str:
    if value is None or pd.isna(value):
        return ""
    return f"{currency} {float(value):,.0f}"


def _tables(data: _ReportData) -> list[tuple[str, str, str, list[str], list[list[str]]]]:
    """(id, title, explanation, column headers, rows as text) of every table, in TABLE_IDS order."""
    currency, horizon, window = data.currency, data.clv_horizon_months, data.window_months
    clv_header = f"Predicted CLV, next {horizon} months"
    tables = []

    gaps = data.entitlement_gaps
    summary = "; ".join(
        f"{label(row.gap_type)}: {int(row.customers):,} customers"
        + (f" costing {_money(row.cost_per_year, currency)} a year" if row.gap_direction == "over_served" else "")
        for row in data.over_served.itertuples()
    )
    tables.append((
        "entitlement-gaps", "Action list: entitlement gaps",
        "Customers whose service policy promises something they do not get, highest predicted CLV "
        f"first (top {ACTION_LIST_ROWS}; all of them in customer_entitlement_gaps). All gaps: "
        f"{summary or 'none'}.",
        ["Customer", "Value tier", "Gap", "Why", "Account manager", "Routing queue", clv_header],
        [[row.customer_id, label(row.value_tier), label(row.gap_type), row.gap_reason,
          row.account_manager_id or "none", label(row.routing_queue), _money(row.predicted_clv, currency)]
         for row in gaps.itertuples()],
    ))

    risk = data.valuable_at_risk
    tables.append((
        "valuable-at-churn-risk", "Action list: valuable customers at high churn risk",
        "Platinum and gold customers at high churn risk, with their account manager and predicted CLV, "
        f"highest CLV first (top {ACTION_LIST_ROWS}; all of them in customer_service_handoff).",
        ["Customer", "Value tier", "Account manager", "Account manager status", clv_header,
         "P(alive)", "Routing queue", "First-response SLA", "Next best action"],
        [[row.customer_id, label(row.value_tier), row.account_manager_id or "none",
          label(row.account_manager_status), _money(row.predicted_clv, currency),
          "" if pd.isna(row.p_alive) else f"{row.p_alive:.0%}", label(row.routing_queue),
          "" if pd.isna(row.sla_first_response_hours) else f"{row.sla_first_response_hours:g} h",
          label(row.next_best_action)]
         for row in risk.itertuples()],
    ))

    lookalikes = data.lookalikes
    tables.append((
        "lookalike-candidates", "Action list: upgrade candidates (look-alikes of the top tiers)",
        "Silver and bronze customers who look most like the platinum and gold customers of their tenure "
        f"band (similarity 0-1), top {ACTION_LIST_ROWS}.",
        ["Customer", "Value tier", "Tenure", "Look-alike score", f"Net profit, last {window} months",
         clv_header, "Next best action"],
        [[row.customer_id, label(row.value_tier), label(row.tenure_band), f"{row.lookalike_score:.2f}",
          _money(row.rolling_net_profit, currency), _money(row.predicted_clv, currency),
          label(row.next_best_action)]
         for row in lookalikes.itertuples()],
    ))

    economics = data.over_service
    tables.append((
        "over-service", "Cost to serve against budget and contribution, per segment",
        f"Every segment, most over-served first: cost to serve per customer over the last {window} months "
        "against the service policy's yearly budget, the excess times the customers (over-service cost), "
        f"and net profit per customer. Amounts in {currency}.",
        ["Segment family", "Segment", "Customers", "Cost to serve per customer", "Budget per customer",
         "Over-service cost", "Net profit per customer", "Over-served"],
        [[label(row.segment_family), label(row.segment), f"{int(row.customers):,}",
          _money(row.cost_to_serve_per_customer, currency), _money(row.avg_cost_to_serve_budget, currency),
          _money(row.over_service_cost, currency), _money(row.net_profit_per_customer, currency),
          "yes" if row.is_over_served else "no"]
         for row in economics.itertuples()],
    ))

    attach = data.attach_rates
    tables.append((
        "attach-rate", "Service attach rate per value tier",
        "Customers with a paid service or support contract running on the review date, their share of the "
        f"tier (attach rate), contract revenue over the last {window} months ({currency}), and the change of "
        "the attach rate since the previous review (percentage points).",
        ["Value tier", "Customers", "With a contract", "Attach rate", "Contract revenue",
         "Attach rate, previous review", "Change"],
        [[label(row.segment), f"{int(row.customers):,}", f"{int(row.contract_customers):,}",
          f"{row.attach_rate:.1%}", _money(row.contract_revenue, currency),
          "" if pd.isna(row.previous_attach_rate) else f"{row.previous_attach_rate:.1%}",
          "" if pd.isna(row.attach_rate_change) else f"{row.attach_rate_change * 100:+.1f} pp"]
         for row in attach.itertuples()],
    ))

    scenarios = data.scenarios
    evidence = ""
    if not scenarios.empty:
        first = scenarios.iloc[0]
        observed = first["observed_retention_change_per_level_down"]
        evidence = (
            f" Assumed retention change per service level step down: "
            f"{first['assumed_retention_change_per_level_down_central']:+.1%} (central); observed in the review "
            + ("history: none yet" if pd.isna(observed) else f"history: {observed:+.1%}")
            + f" ({first['evidence_note']})."
        )

    def span(row: object, measure: str) -> str:
        return (f"{_money(getattr(row, measure + '_central'), currency)} "
                f"({float(getattr(row, measure + '_low')):,.0f} to {float(getattr(row, measure + '_high')):,.0f})")

    tables.append((
        "policy-scenarios", "Service-policy scenarios side by side",
        "Who each proposed policy changes and what it does, central value (low to high): savings in cost to "
        f"serve over the next {horizon} months, discounted like CLV, against the predicted CLV put at risk; "
        "net effect = savings - margin at risk; all customers in policy_scenario_customers." + evidence,
        ["Scenario", "Customers affected", "Service level down", "Rerouted", "Account managers added",
         "Cost to serve change a year", "Savings", "Margin at risk", "Net effect"],
        [[label(row.scenario), f"{int(row.affected_customers):,}", f"{int(row.service_level_downgrades):,}",
          f"{int(row.routing_changes):,}", f"{int(row.account_managers_added):,}",
          _money(row.cost_to_serve_change_central, currency), span(row, "savings"), span(row, "margin_at_risk"),
          span(row, "net_effect")]
         for row in scenarios.itertuples()],
    ))
    return tables


def _table_section(table_id: str, title: str, explanation: str, columns: list[str], rows: list[list[str]]) -> str:
    header = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    ) or f'<tr><td colspan="{len(columns)}">none</td></tr>'
    return (
        f'<section class="table" data-table="{table_id}" id="{table_id}"><h2>{html.escape(title)}</h2>'
        f"<p>{html.escape(explanation)}</p><div class=\"scroll\"><table><thead><tr>{header}</tr></thead>"
        f"<tbody>{body}</tbody></table></div></section>"
    )


def _page(
    data: _ReportData,
    sections: list[str],
    links: list[tuple[str, str]],
    published_location: Path | str,
) -> str:
    head = data.headline
    currency, window = data.currency, data.window_months
    top = data.concentration.iloc[0] if not data.concentration.empty else None
    tiles = [
        ("customers", f"{int(head['customers']):,}"),
        (f"net revenue, last {window} months", _money(head["net_revenue"] or 0, currency)),
        (f"net profit, last {window} months", _money(head["net_profit"] or 0, currency)),
        ("top-20% profit share", f"{top['top_20pct_profit_share']:.0%}" if top is not None else "n/a"),
        ("customers losing money", f"{top['negative_profit_customer_share']:.0%}" if top is not None else "n/a"),
        (f"predicted CLV, next {data.clv_horizon_months} months", _money(head["predicted_clv"] or 0, currency)),
    ]
    tile_html = "".join(
        f'<div class="tile"><div class="value">{html.escape(value)}</div>'
        f'<div class="label">{html.escape(label_text)}</div></div>'
        for label_text, value in tiles
    )
    link_html = "".join(f'<a href="{html.escape(href)}">{html.escape(text)}</a>' for text, href in links)
    fits = ""
    if not data.model_fit.empty:
        rows = "".join(
            f"<tr><td>{html.escape(str(r.model_name))}</td>"
            f"<td>{html.escape(str(getattr(r, 'fit_period', 'review')))}</td>"
            f"<td>{'yes' if r.converged else 'NO'}</td>"
            f"<td>{int(r.customers_used):,}</td><td>{float(r.log_likelihood):,.1f}</td></tr>"
            for r in data.model_fit.itertuples()
        )
        fits = ("<table><tr><th>model</th><th>fit period</th><th>converged</th><th>customers used</th>"
                "<th>log-likelihood</th></tr>"
                f"{rows}</table>")
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    source = html.escape(_source(published_location))
    review_kind = "Annual" if data.review_id.startswith("annual") else "Rolling"
    title = f"Service segmentation review, {_long_date(data.review_date)}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 24px; color: #2c3e50; }}
h1 {{ margin-bottom: 4px; }}
.meta, .links {{ color: #7f8c8d; margin: 4px 0 16px; }}
.links a {{ margin-right: 16px; }}
.tiles {{ display: grid; grid-template-columns: repeat(6, 1fr); gap: 12px; margin: 16px 0 24px; }}
.tile {{ background: #f4f6f7; border-radius: 8px; padding: 12px; }}
.tile .value {{ font-size: 1.3em; font-weight: 600; }}
.tile .label {{ color: #7f8c8d; font-size: 0.85em; }}
section.chart, section.table {{ border-top: 1px solid #ecf0f1; padding-top: 8px; margin-bottom: 24px; }}
.scroll {{ max-height: 520px; overflow: auto; }}
table {{ border-collapse: collapse; margin: 8px 0 24px; font-size: 0.9em; }}
td, th {{ border-bottom: 1px solid #ecf0f1; padding: 4px 10px; text-align: left; vertical-align: top; }}
th {{ position: sticky; top: 0; background: #fff; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<div class="meta">{review_kind} review of the {window} months to {html.escape(data.review_date)}
(review {html.escape(data.review_id)}) &middot; amounts in {html.escape(currency)} &middot; predicted CLV
over the next {data.clv_horizon_months} months &middot; generated {generated} from
{source}</div>
<div class="links">{link_html}</div>
<div class="tiles">{tile_html}</div>
{"".join(sections)}
<section><h2>CLV model fits</h2>{fits}</section>
</body>
</html>
"""


def _source(published_location: Path | str) -> str:
    """The published build the report was read from: a file by name, or an engine's database."""
    if isinstance(published_location, Path):
        return f"the published file {published_location.name}"
    return f"the published {published_location}"


def _long_date(iso_date: str) -> str:
    try:
        return datetime.strptime(iso_date, "%Y-%m-%d").strftime("%-d %B %Y")
    except ValueError:
        return iso_date
