"""The data-quality suites, defined in code: one `SuiteSpec` per validated dataset.

A suite is one entry in the list `default_suites()` returns. Each entry names the dataset
(a SQL query on the warehouse), how it runs and its checks:

- `chunked=True` ("rows" suites): row-level checks (not null, in set, between, column
  pairs). The query is streamed in chunks and every chunk is validated; the verdicts merge.
- `chunked=False` ("table" and "schema" suites): facts that do not compose over chunks
  (key uniqueness, row counts, totals that must reconcile) are computed by an aggregate
  query into a one-row (or few-row) frame validated in one batch; "schema" suites read
  `limit 0` of a relation to see its columns.

Allowed values and keys come from the raw data contract (`segmentation.ingest.contract`), never
copied here. The business ranges (what a price or a score may be) are listed per entity
below. Severity: `critical` blocks publishing, `warning` is reported, `info` is shown.

`segmentation.quality` turns these specs into Great Expectations suites and validation
definitions in the GX project under `expectations/` (the JSON there is generated from this
module; `python -m segmentation.quality` rewrites it) and runs them. This module does not
import GX, so reading the suites is fast.

Adding a suite: append a `SuiteSpec` (see `_mart_suites` for the pattern), run
`python -m segmentation.quality` to update the committed JSON, and commit both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from segmentation.ingest.contract import Contract, Entity, load_contract

Severity = Literal["critical", "warning", "info"]
CRITICAL: Severity = "critical"
WARNING: Severity = "warning"
INFO: Severity = "info"

# Row filter of the checks that only concern rows that passed quarantine.
CLEAN_ROWS = ("is_quarantined", False)
EARLIEST_DATE = datetime(1990, 1, 1)
MAX_QUARANTINE_SHARE = 0.05
# Tolerance when a mart total is reconciled with the staged rows (currency units).
RECONCILIATION_TOLERANCE = 0.01


@dataclass(frozen=True)
class Check:
    """One expectation, in GX's words: `type` and `kwargs` as GX names them.

    `row_filter` (column, value) restricts a row-level check to the rows where column ==
    value, e.g. CLEAN_ROWS; it becomes the expectation's GX row condition.
    """

    type: str
    kwargs: Mapping[str, Any]
    severity: Severity = CRITICAL
    row_filter: tuple[str, Any] | None = None

    @property
    def column(self) -> str | None:
        if "column" in self.kwargs:
            return str(self.kwargs["column"])
        if "column_A" in self.kwargs:
            return f"{self.kwargs['column_A']}, {self.kwargs['column_B']}"
        return None


@dataclass(frozen=True)
class SuiteSpec:
    """A dataset (SQL on the warehouse) and the checks it must pass.

    `name` is the GX suite, data asset and validation definition name. `relations` lists
    every relation the query reads: when one is missing the suite reports a failed critical
    check, except an `optional` suite whose dbt model is not defined in the project (yet),
    which is skipped.
    """

    name: str
    layer: str
    relation: str
    sql: str
    checks: tuple[Check, ...]
    chunked: bool
    relations: tuple[str, ...] = ()
    index_columns: tuple[str, ...] = ()
    optional: bool = False
    description: str = ""
    all_relations: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        ordered = dict.fromkeys((self.relation, *self.relations))
        object.__setattr__(self, "all_relations", tuple(ordered))

    @property
    def models(self) -> tuple[str, ...]:
        """The dbt model names behind the relations (a dbt model's table is named after it)."""
        return tuple(relation.split(".")[-1] for relation in self.all_relations)


# --------------------------------------------------------------------------------------
# Check builders
# --------------------------------------------------------------------------------------


def not_null(column: str, *, severity: Severity = CRITICAL, row_filter=None) -> Check:
    return Check("expect_column_values_to_not_be_null", {"column": column}, severity, row_filter)


def between(
    column: str,
    min_value: Any = None,
    max_value: Any = None,
    *,
    strict_min: bool = False,
    severity: Severity = CRITICAL,
    row_filter: tuple[str, Any] | None = None,
) -> Check:
    kwargs: dict[str, Any] = {"column": column}
    if min_value is not None:
        kwargs["min_value"] = min_value
        if strict_min:
            kwargs["strict_min"] = True
    if max_value is not None:
        kwargs["max_value"] = max_value
    return Check("expect_column_values_to_be_between", kwargs, severity, row_filter)


def in_set(
    column: str,
    values: Iterable[Any],
    *,
    severity: Severity = CRITICAL,
    row_filter: tuple[str, Any] | None = None,
) -> Check:
    return Check(
        "expect_column_values_to_be_in_set", {"column": column, "value_set": list(values)},
        severity, row_filter,
    )


def not_before(
    later: str,
    earlier: str,
    *,
    strictly: bool = False,
    severity: Severity = CRITICAL,
    row_filter: tuple[str, Any] | None = None,
) -> Check:
    """`later` >= `earlier` (> with strictly) on every row where both are present."""
    return Check(
        "expect_column_pair_values_a_to_be_greater_than_b",
        {
            "column_A": later,
            "column_B": earlier,
            "or_equal": not strictly,
            "ignore_row_if": "either_value_is_missing",
        },
        severity,
        row_filter,
    )


def has_columns(columns: Iterable[str], *, severity: Severity = CRITICAL) -> Check:
    """The dataset has at least these columns (others may exist)."""
    return Check(
        "expect_table_columns_to_match_set",
        {"column_set": sorted(columns), "exact_match": False},
        severity,
    )


def contains_values(column: str, values: Iterable[Any], *, severity: Severity = CRITICAL) -> Check:
    return Check(
        "expect_column_distinct_values_to_contain_set",
        {"column": column, "value_set": sorted(values)},
        severity,
    )


def zero(column: str, *, severity: Severity = CRITICAL) -> Check:
    """An aggregate count that must be 0 (e.g. duplicate_key_count)."""
    return between(column, 0, 0, severity=severity)


# --------------------------------------------------------------------------------------
# Entity (raw/staging) suites
# --------------------------------------------------------------------------------------

# Contract column -> staging column, where staging renames it (models/staging/landing).
STAGING_RENAMES: dict[str, dict[str, str]] = {
    "customers": {"acquisition_cost": "given_acquisition_cost"},
    "products": {"category": "product_category"},
    "orders": {"status": "order_status"},
    "support_tickets": {"channel": "support_channel", "category": "ticket_category"},
    "cost_rates": {"channel": "support_channel"},
    "service_contracts": {"plan": "service_plan"},
}
STAGING_METADATA_COLUMNS = ("_load_id", "_source_file", "_source_line_number", "_loaded_at")

# Entities that must have at least one clean row for the marts to mean anything.
REQUIRED_NONEMPTY = ("customers", "orders", "order_lines")

# Business ranges of clean rows (staging column names). Quarantine enforces most of them
# already; the gate proves it did, and adds what quarantine does not check.
VALUE_RANGES: dict[str, tuple[Check, ...]] = {
    "customers": (between("given_acquisition_cost", 0, row_filter=CLEAN_ROWS),),
    "products": (
        between("list_price", 0, row_filter=CLEAN_ROWS),
        between("unit_cost", 0, row_filter=CLEAN_ROWS),
    ),
    "orders": (),
    "order_lines": (
        between("quantity", 0, strict_min=True, row_filter=CLEAN_ROWS),
        between("unit_price", 0, row_filter=CLEAN_ROWS),
        between("discount_amount", 0, row_filter=CLEAN_ROWS),
        not_before("gross_amount", "discount_amount", row_filter=CLEAN_ROWS),
    ),
    "support_tickets": (
        between("handle_minutes", 0, row_filter=CLEAN_ROWS),
        between("csat_score", 1, 5, row_filter=CLEAN_ROWS),
        not_before("closed_at", "opened_at", row_filter=CLEAN_ROWS),
        not_before("first_response_at", "opened_at", row_filter=CLEAN_ROWS),
    ),
    "cost_rates": (
        between("rate", 0, row_filter=CLEAN_ROWS),
        not_before("valid_to", "valid_from", strictly=True, row_filter=CLEAN_ROWS),
    ),
    "acquisition_spend": (between("spend_amount", 0, row_filter=CLEAN_ROWS),),
    "service_contracts": (
        between("annual_fee", 0, row_filter=CLEAN_ROWS),
        not_before("end_date", "start_date", row_filter=CLEAN_ROWS),
    ),
}

# Dates of facts that happened before the row was loaded (staging names), and how bad it
# is when one did not. Planned dates (valid_to, end_date, a future start) are not listed.
NOT_AFTER_LOAD: dict[str, dict[str, Severity]] = {
    "customers": {"signup_date": CRITICAL},
    "orders": {"ordered_at": CRITICAL},
    "support_tickets": {"opened_at": CRITICAL, "closed_at": WARNING, "first_response_at": WARNING},
    "acquisition_spend": {"spend_month": WARNING},
}

# Allowed values that apply to a column whose contract entry has none: cost_rates.channel
# names a support channel.
SHARED_ALLOWED = {("cost_rates", "channel"): ("support_tickets", "channel")}


def _staging_name(entity: str, column: str) -> str:
    return STAGING_RENAMES.get(entity, {}).get(column, column)


def _select_expression(entity: Entity, column: str) -> str:
    """Cast so pandas gets plain numpy types: decimals as double, dates as timestamps."""
    contract_type = next(
        (c.type for c in entity.columns if _staging_name(entity.name, c.name) == column), None
    )
    if column == "gross_amount" or contract_type == "decimal":
        return f"cast({column} as double) as {column}"
    if contract_type == "date":
        return f"cast({column} as timestamp) as {column}"
    return column


def _entity_suites(contract: Contract, entity: Entity) -> list[SuiteSpec]:
    name = entity.name
    staging = f"staging.stg_landing__{name}"
    validated = f"intermediate.int_{name}_validated"
    keys = tuple(_staging_name(name, c) for c in entity.key)
    staged_columns = [_staging_name(name, c.name) for c in entity.columns]

    schema = SuiteSpec(
        name=f"staging_{name}_schema",
        layer="staging",
        relation=staging,
        sql=f"select * from {staging} limit 0",
        checks=(has_columns([*staged_columns, *STAGING_METADATA_COLUMNS]),),
        chunked=False,
        description=f"The staging view of {name} has every contract column.",
    )

    checks: list[Check] = [
        not_null(_staging_name(name, c.name)) for c in entity.columns if c.key and not c.nullable
    ]
    for col in entity.columns:
        allowed = col.allowed
        if not allowed and (name, col.name) in SHARED_ALLOWED:
            other_entity, other_column = SHARED_ALLOWED[(name, col.name)]
            allowed = contract.entity(other_entity).column(other_column).allowed
        if allowed:
            checks.append(in_set(_staging_name(name, col.name), allowed, row_filter=CLEAN_ROWS))
    checks.extend(VALUE_RANGES.get(name, ()))
    date_columns = [
        _staging_name(name, c.name) for c in entity.columns if c.type in {"date", "timestamp"}
    ]
    checks.extend(between(column, EARLIEST_DATE, row_filter=CLEAN_ROWS) for column in date_columns)
    checks.extend(
        not_before("_loaded_at", column, severity=severity, row_filter=CLEAN_ROWS)
        for column, severity in NOT_AFTER_LOAD.get(name, {}).items()
    )
    used = [*keys, "is_quarantined"]
    for check in checks:
        for kwarg in ("column", "column_A", "column_B"):
            if kwarg in check.kwargs and check.kwargs[kwarg] not in used:
                used.append(str(check.kwargs[kwarg]))
    rows = SuiteSpec(
        name=f"staging_{name}_rows",
        layer="staging",
        relation=validated,
        sql=f"select {', '.join(_select_expression(entity, c) for c in used)} from {validated}",
        checks=tuple(checks),
        chunked=True,
        index_columns=keys,
        description=f"Every staged {name} row has its key; clean rows have allowed values, "
        "values in range and dates between 1990 and their load time.",
    )

    key_list = ", ".join(keys)
    table_checks = [zero("duplicate_key_count")]
    if name in REQUIRED_NONEMPTY:
        table_checks.append(between("clean_rows", 1))
    table = SuiteSpec(
        name=f"staging_{name}_table",
        layer="staging",
        relation=validated,
        sql=f"""
            select
                count(*) as staged_rows,
                count(*) filter (where not is_quarantined) as clean_rows,
                (
                    select count(*) from (
                        select {key_list} from {validated}
                        where not is_quarantined
                        group by {key_list}
                        having count(*) > 1
                    )
                ) as duplicate_key_count
            from {validated}
        """,
        checks=tuple(table_checks),
        chunked=False,
        description=f"The key ({key_list}) of {name} is unique among clean rows"
        + (" and there is at least one clean row." if name in REQUIRED_NONEMPTY else "."),
    )
    return [schema, rows, table]


# --------------------------------------------------------------------------------------
# Audit suites
# --------------------------------------------------------------------------------------


def _audit_suites(contract: Contract) -> list[SuiteSpec]:
    relation = "audit.audit_row_reconciliation"
    return [
        SuiteSpec(
            name="audit_row_reconciliation",
            layer="audit",
            relation=relation,
            sql=f"""
                select
                    entity,
                    is_reconciled,
                    case when raw_rows = 0 then 0.0
                        else 1.0 * quarantined_rows / raw_rows end as quarantine_share
                from {relation}
            """,
            checks=(
                contains_values("entity", contract.names),
                not_null("is_reconciled"),
                in_set("is_reconciled", [True]),
                between("quarantine_share", 0, MAX_QUARANTINE_SHARE, severity=WARNING),
            ),
            chunked=False,
            index_columns=("entity",),
            description="Every entity is reconciled (file rows = loaded + rejected, raw = "
            f"clean + quarantined); at most {MAX_QUARANTINE_SHARE:.0%} of an entity's rows "
            "are quarantined (warning).",
        )
    ]


# --------------------------------------------------------------------------------------
# Mart suites (optional: skipped while their model is not defined in the dbt project)
# --------------------------------------------------------------------------------------

CLV_RELATION = "marts.customer_clv"
SEGMENTS_RELATION = "marts.customer_segment_memberships"
MIN_VALUE_TIERS = 4


def _mart_suites() -> list[SuiteSpec]:
    profitability = "marts.customer_profitability"
    lifetime = "marts.customer_lifetime_profitability"
    concentration = "marts.profit_concentration"
    lines = "intermediate.int_order_lines_validated"
    orders = "intermediate.int_orders_validated"
    return [
        SuiteSpec(
            name="marts_customer_profitability_rows",
            layer="marts",
            relation=profitability,
            sql=f"""
                select customer_id, period_label,
                    cast(net_revenue as double) as net_revenue,
                    cast(cost_to_serve as double) as cost_to_serve
                from {profitability}
            """,
            checks=(
                not_null("customer_id"),
                not_null("period_label"),
                between("net_revenue", 0),
                between("cost_to_serve", 0),
            ),
            chunked=True,
            index_columns=("customer_id", "period_label"),
            optional=True,
            description="Revenue and cost to serve are never negative.",
        ),
        SuiteSpec(
            name="marts_customer_profitability_table",
            layer="marts",
            relation=profitability,
            sql=f"""
                select count(*) as rows,
                    (
                        select count(*) from (
                            select customer_id, period_type, period_label from {profitability}
                            group by customer_id, period_type, period_label
                            having count(*) > 1
                        )
                    ) as duplicate_key_count
                from {profitability}
            """,
            checks=(zero("duplicate_key_count"), between("rows", 1)),
            chunked=False,
            optional=True,
            description="One row per customer per period.",
        ),
        SuiteSpec(
            name="marts_customer_lifetime_profitability_rows",
            layer="marts",
            relation=lifetime,
            sql=f"""
                select customer_id,
                    cast(order_revenue as double) as order_revenue,
                    cast(net_revenue as double) as net_revenue,
                    cast(cost_to_serve as double) as cost_to_serve
                from {lifetime}
            """,
            checks=(
                not_null("customer_id"),
                between("order_revenue", 0),
                between("net_revenue", 0),
                between("cost_to_serve", 0),
            ),
            chunked=True,
            index_columns=("customer_id",),
            optional=True,
            description="Lifetime revenue and cost to serve are never negative.",
        ),
        SuiteSpec(
            name="marts_customer_lifetime_profitability_table",
            layer="marts",
            relation=lifetime,
            relations=(lines, orders),
            sql=f"""
                with review as (
                    select max(review_date) as review_date from {lifetime}
                ),
                staged as (
                    select sum(lines.quantity * lines.unit_price - lines.discount_amount) as revenue
                    from {lines} as lines
                    inner join {orders} as orders
                        on lines.order_id = orders.order_id
                        and not orders.is_quarantined
                    cross join review
                    where not lines.is_quarantined
                        and orders.order_status = 'completed'
                        and orders.ordered_date <= review.review_date
                ),
                mart as (
                    select
                        count(*) - count(distinct customer_id) as duplicate_key_count,
                        sum(order_revenue) as revenue
                    from {lifetime}
                )
                select
                    mart.duplicate_key_count,
                    cast(coalesce(staged.revenue, 0) as double) as staged_order_revenue,
                    cast(coalesce(mart.revenue, 0) as double) as mart_order_revenue,
                    cast(abs(coalesce(staged.revenue, 0) - coalesce(mart.revenue, 0)) as double)
                        as order_revenue_difference
                from mart
                cross join staged
            """,
            checks=(
                zero("duplicate_key_count"),
                between("order_revenue_difference", 0, RECONCILIATION_TOLERANCE),
            ),
            chunked=False,
            index_columns=("staged_order_revenue", "mart_order_revenue"),
            optional=True,
            description="One row per customer; the order revenue of clean completed lines "
            "up to the review date equals the sum of order_revenue in the lifetime mart.",
        ),
        SuiteSpec(
            name="marts_profit_concentration",
            layer="marts",
            relation=concentration,
            sql=f"""
                select period_label,
                    cast(top_20pct_profit_share as double) as top_20pct_profit_share,
                    cast(negative_profit_customer_share as double)
                        as negative_profit_customer_share
                from {concentration}
            """,
            checks=(
                between("top_20pct_profit_share", 0.4, 3.0, severity=WARNING),
                between("negative_profit_customer_share", 0, 0.3, severity=WARNING),
            ),
            chunked=False,
            index_columns=("period_label",),
            optional=True,
            description="Profit concentration is plausible: the top 20% of customers earn "
            "40%-300% of net profit, at most 30% of customers lose money (warnings).",
        ),
        SuiteSpec(
            name="marts_customer_clv_rows",
            layer="marts",
            relation=CLV_RELATION,
            # Predicted CLV has one column per horizon (dbt var clv_horizons_months):
            # check the smallest of them, whatever the horizons are.
            sql=f"""
                select customer_id,
                    cast(p_alive as double) as p_alive,
                    cast(least(*columns('^predicted_clv_[0-9]+m$')) as double)
                        as min_predicted_clv
                from {CLV_RELATION}
            """,
            checks=(
                not_null("customer_id"),
                between("p_alive", 0, 1),
                not_null("min_predicted_clv"),
                between("min_predicted_clv", 0),
            ),
            chunked=True,
            index_columns=("customer_id",),
            optional=True,
            description="P(alive) is a probability (empty for customers without a completed "
            "purchase) and predicted CLV is never negative, over every horizon.",
        ),
        # Every customer with activity (one lifetime row each) has exactly one value tier
        # and at least one needs segment; at least MIN_VALUE_TIERS tiers are in use.
        SuiteSpec(
            name="marts_customer_segments_table",
            layer="marts",
            relation=SEGMENTS_RELATION,
            relations=(lifetime,),
            sql=f"""
                with per_customer as (
                    select lifetime.customer_id,
                        count(*) filter (where memberships.segment_family = 'value_tier') as tiers,
                        count(*) filter (where memberships.segment_family <> 'value_tier') as needs
                    from {lifetime} as lifetime
                    left join {SEGMENTS_RELATION} as memberships
                        on memberships.customer_id = lifetime.customer_id
                    group by lifetime.customer_id
                )
                select
                    (select count(*) from per_customer where tiers <> 1) as active_customers_without_one_tier,
                    (select count(*) from per_customer where needs < 1) as active_customers_without_needs_segment,
                    (select count(distinct segment) from {SEGMENTS_RELATION}
                        where segment_family = 'value_tier') as value_tiers
            """,
            checks=(
                zero("active_customers_without_one_tier"),
                zero("active_customers_without_needs_segment"),
                between("value_tiers", MIN_VALUE_TIERS),
            ),
            chunked=False,
            optional=True,
            description=f"Every customer with activity has exactly one value tier and at least one "
            f"needs segment; at least {MIN_VALUE_TIERS} tiers are in use.",
        ),
    ]


def default_suites(contract: Contract | None = None) -> list[SuiteSpec]:
    """Every suite the gate runs, in order: staging per entity, audit, marts."""
    contract = contract or load_contract()
    suites: list[SuiteSpec] = []
    for entity in contract.entities:
        suites.extend(_entity_suites(contract, entity))
    suites.extend(_audit_suites(contract))
    suites.extend(_mart_suites())
    _check_unique_names(suites)
    return suites


def _check_unique_names(suites: Sequence[SuiteSpec]) -> None:
    seen: set[str] = set()
    for suite in suites:
        if suite.name in seen:
            raise ValueError(f"two suites are named {suite.name!r}; suite names must be unique")
        seen.add(suite.name)
