"""The review report: one self-contained HTML file that service managers open in a browser.

Everything is read from the *published* warehouse (read-only), so the report shows only
checked data and can be written while dbt builds the working file. Charts are Plotly
figures; plotly.js is inlined once, so the file works offline and can be mailed around.

Sections (each a chart, in this order; `CHART_IDS` names them for tests):

1. segment mix: customers, revenue and profit share per value tier, and the routing queues;
2. profit concentration: the whale curve of the rolling window, with the top-20% share;
3. cost to serve vs contribution per segment (all segment families), over-served flagged;
4. tier migrations between the last two reviews of the same type (heatmap);
5. CLV distribution per value tier (binned in SQL, so 1M customers stay a small file);
6. CLV model diagnostics: predicted vs actual holdout purchases per frequency bucket.

Large tables are aggregated in DuckDB before they reach Python: the report's size does not
grow with the number of customers.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

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
    "cost-vs-contribution",
    "migration-heatmap",
    "clv-distribution",
    "clv-diagnostics",
)
WHALE_CURVE_POINTS = 2_000
CLV_BINS = 40


class ReportError(RuntimeError):
    """The report cannot be written from this warehouse (named in the message)."""


@dataclass
class ReportResult:
    path: Path
    review_id: str
    review_date: str
    charts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # charts drawn with a caveat

    def summary(self) -> str:
        return f"report for review {self.review_id}: {self.path} ({len(self.charts)} charts)"


def write_report(
    published_path: Path,
    reports_dir: Path,
    *,
    dbt_docs: Path | None = None,
    gx_docs: Path | None = None,
) -> ReportResult:
    """Write `review_<review date>.html` for the review the published marts hold.

    `dbt_docs` and `gx_docs` are index.html files to link to; one that does not exist (docs
    not generated yet) is left out.
    """
    import plotly.io as pio

    published_path = Path(published_path)
    if not published_path.is_file():
        raise ReportError(f"{published_path}: no published warehouse; run `segmentation run` first")
    con = duckdb.connect(str(published_path), read_only=True)
    try:
        data = _ReportData.read(con)
    finally:
        con.close()

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
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"review_{data.review_date}.html"
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(_page(data, parts, dbt_docs, gx_docs, published_path), encoding="utf-8")
    temporary.replace(path)
    return ReportResult(
        path=path,
        review_id=data.review_id,
        review_date=data.review_date,
        charts=[chart_id for chart_id, *_ in figures],
        notes=data.notes,
    )


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
    notes: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection) -> _ReportData:
        def frame(sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
            return con.execute(sql, list(params)).df()

        tables = {row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()}
        missing = sorted({"dim_customer_segments", "segment_economics", "whale_curve", "segment_reviews",
                          "segment_migrations", "customer_clv", "clv_holdout_validation"} - tables)
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
            notes=notes,
        )


def _figures(data: _ReportData) -> list[tuple[str, str, str, object]]:
    import plotly.graph_objects as go

    layout = {"template": "plotly_white", "height": 420, "margin": {"t": 40, "r": 20, "b": 50, "l": 60}}
    figures: list[tuple[str, str, str, object]] = []

    mix = data.tier_mix
    segment_mix = go.Figure(
        [
            go.Bar(name="customers", x=mix["value_tier"], y=mix["customer_share"], marker_color="#7f8c8d"),
            go.Bar(name="net revenue", x=mix["value_tier"], y=mix["revenue_share"], marker_color="#2980b9"),
            go.Bar(name="net profit", x=mix["value_tier"], y=mix["net_profit_share"], marker_color="#27ae60"),
        ]
    )
    segment_mix.update_layout(barmode="group", yaxis_tickformat=".0%", yaxis_title="share of the review", **layout)
    figures.append((
        "segment-mix", "Segment mix: who brings the profit",
        "Share of customers, net revenue and net profit (rolling window) per value tier.",
        segment_mix,
    ))

    queues = data.queues
    routing = go.Figure(
        [
            go.Bar(name=level, x=rows["routing_queue"], y=rows["customers"])
            for level, rows in queues.groupby("effective_service_level", sort=True)
        ]
    )
    routing.update_layout(barmode="stack", yaxis_title="customers", legend_title="service level", **layout)
    figures.append((
        "routing-queues", "Service allocation: routing queues and service levels",
        "Customers per routing queue (senior agents, retention, onboarding, standard, self-service), "
        "coloured by the service level the policy seed gives them.",
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
    caption = "Customers ranked from most to least profitable (rolling window)."
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

    economics = data.economics
    scatter = go.Figure(
        [
            go.Scatter(
                x=rows["cost_to_serve_per_customer"],
                y=rows["net_profit_per_customer"],
                mode="markers",
                name=family,
                text=rows["segment"] + rows["is_over_served"].map({True: " (over-served)", False: ""}),
                hovertemplate="%{text}<br>cost to serve %{x:,.0f}<br>net profit %{y:,.0f}<extra></extra>",
                marker={
                    "size": (rows["customers"] / economics["customers"].max()) ** 0.5 * 40 + 6,
                    "symbol": rows["is_over_served"].map({True: "x", False: "circle"}),
                    "opacity": 0.75,
                },
            )
            for family, rows in economics.groupby("segment_family", sort=True)
        ]
    )
    scatter.update_layout(xaxis_title="cost to serve per customer", yaxis_title="net profit per customer",
                          legend_title="segment family", **layout)
    figures.append((
        "cost-vs-contribution", "Cost to serve vs contribution per segment",
        "Each point is a segment (bubble size = customers; x = over-served: cost to serve above the policy budget).",
        scatter,
    ))

    if data.migration_reviews is not None and not data.migrations.empty:
        present = [t for t in TIER_ORDER if t in set(data.migrations["from_tier"]) | set(data.migrations["to_tier"])]
        matrix = (
            data.migrations.pivot_table(index="from_tier", columns="to_tier", values="customers", aggfunc="sum")
            .reindex(index=present, columns=present)
            .fillna(0)
        )
        heatmap = go.Figure(
            go.Heatmap(
                z=matrix.values, x=matrix.columns, y=matrix.index, colorscale="Blues",
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
                name=tier,
                x=rows["bin"] * width + width / 2,
                y=rows["customers"],
                width=width,
                marker_color=TIER_COLOURS.get(tier),
            )
            for tier in TIER_ORDER
            if not (rows := bins[bins["value_tier"] == tier]).empty
        ]
    )
    clv.update_layout(barmode="stack", xaxis_title="predicted CLV (last bin: 99th percentile and above)",
                      yaxis_title="customers", **layout)
    figures.append((
        "clv-distribution", "Predicted customer lifetime value",
        "Distribution of predicted CLV (BG/NBD x Gamma-Gamma, discounted) per value tier.",
        clv,
    ))

    buckets = data.holdout[data.holdout["level"] == "bucket"]
    total = data.holdout[data.holdout["level"] == "total"]
    diagnostics = go.Figure(
        [
            go.Bar(name="actual", x=buckets["bucket"], y=buckets["actual_mean"], marker_color="#34495e"),
            go.Bar(name="BG/NBD predicted", x=buckets["bucket"], y=buckets["predicted_mean"], marker_color="#27ae60"),
            go.Bar(name="naive (past rate)", x=buckets["bucket"], y=buckets["naive_mean"], marker_color="#bdc3c7"),
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
    return figures


def _page(
    data: _ReportData,
    sections: list[str],
    dbt_docs: Path | None,
    gx_docs: Path | None,
    published_path: Path,
) -> str:
    head = data.headline
    top = data.concentration.iloc[0] if not data.concentration.empty else None
    tiles = [
        ("customers", f"{int(head['customers']):,}"),
        ("net revenue (rolling)", f"{float(head['net_revenue'] or 0):,.0f}"),
        ("net profit (rolling)", f"{float(head['net_profit'] or 0):,.0f}"),
        ("top-20% profit share", f"{top['top_20pct_profit_share']:.0%}" if top is not None else "n/a"),
        ("customers losing money", f"{top['negative_profit_customer_share']:.0%}" if top is not None else "n/a"),
        ("predicted CLV", f"{float(head['predicted_clv'] or 0):,.0f}"),
    ]
    tile_html = "".join(
        f'<div class="tile"><div class="value">{html.escape(value)}</div>'
        f'<div class="label">{html.escape(label)}</div></div>'
        for label, value in tiles
    )
    links = []
    for label, target in (("dbt docs (models, lineage, tests)", dbt_docs), ("Great Expectations Data Docs", gx_docs)):
        if target is not None and Path(target).is_file():
            links.append(f'<a href="{html.escape(Path(target).resolve().as_uri())}">{html.escape(label)}</a>')
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
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Segment review {html.escape(data.review_id)}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 24px; color: #2c3e50; }}
h1 {{ margin-bottom: 4px; }}
.meta, .links {{ color: #7f8c8d; margin: 4px 0 16px; }}
.links a {{ margin-right: 16px; }}
.tiles {{ display: grid; grid-template-columns: repeat(6, 1fr); gap: 12px; margin: 16px 0 24px; }}
.tile {{ background: #f4f6f7; border-radius: 8px; padding: 12px; }}
.tile .value {{ font-size: 1.4em; font-weight: 600; }}
.tile .label {{ color: #7f8c8d; font-size: 0.85em; }}
section.chart {{ border-top: 1px solid #ecf0f1; padding-top: 8px; margin-bottom: 24px; }}
table {{ border-collapse: collapse; margin: 8px 0 24px; }}
td, th {{ border-bottom: 1px solid #ecf0f1; padding: 4px 12px; text-align: left; }}
</style>
</head>
<body>
<h1>Segment review {html.escape(data.review_id)}</h1>
<div class="meta">Review date {html.escape(data.review_date)} &middot; generated {generated} from
{html.escape(str(published_path))}</div>
<div class="links">{"".join(links)}</div>
<div class="tiles">{tile_html}</div>
{"".join(sections)}
<section><h2>CLV model fits</h2>{fits}</section>
</body>
</html>
"""
