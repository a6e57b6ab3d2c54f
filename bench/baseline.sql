-- Baseline (a): the core results of the warehouse in one hand-written DuckDB script, read
-- straight from the raw relations (raw.<entity>, set up by bench/baselines.py) and the seeds.
--   baseline_rolling_profitability  customer_profitability, period rolling_12m
--   baseline_rfm_summary            int_customer_rfm_summarized (review and calibration)
--   baseline_value_tiers            int_segment_value_tiers_assigned (tier, score, rank)
-- It follows the definitions of the dbt models with the project's default vars (review
-- date = latest clean order date, 12-month rolling window, 26-week holdout, the value prior
-- of k = 0.1 years over service plan / size group / acquisition channel, ranks within the
-- tenure band), but none of their structure: no quarantine-reason strings, no audit rows,
-- only the columns the results need. bench/baselines.py checks every number against the
-- marts, so this script cannot silently drift from the models.
-- The allowed-value lists (allowed:entity.column in braces) and the seeds folder are filled in by bench/baselines.py from the data
-- contract (models/staging/landing/_landing__sources.yml) and the seeds folder.

-- Clean rows of every entity. The latest loaded version of a key is the current one; a
-- row is clean when it is current and breaks no rule (a rule on a null value does not fire,
-- as in the models' `case when <rule>`).
create or replace temp table customers_current as
select
    customer_id,
    signup_date,
    lower(acquisition_channel) as acquisition_channel,
    company_size_band,
    account_manager_id,
    cast(acquisition_cost as decimal(28, 6)) as given_acquisition_cost,
    not coalesce(
        signup_date > cast(_loaded_at as date)
        or lower(acquisition_channel) not in {allowed:customers.acquisition_channel}
        or lower(industry) not in {allowed:customers.industry}
        or company_size_band not in {allowed:customers.company_size_band}
        or lower(region) not in {allowed:customers.region}
        or lower(service_plan) not in {allowed:customers.service_plan}
        or acquisition_cost < 0,
        false
    ) as is_clean
from raw.customers
qualify row_number() over (
    partition by customer_id order by _loaded_at desc, _source_file desc, _source_line_number desc
) = 1;

create or replace temp table customers_clean as
select * exclude (is_clean) from customers_current where is_clean;

create or replace temp table products_clean as
select product_id, cast(unit_cost as decimal(28, 6)) as unit_cost
from raw.products
qualify row_number() over (
    partition by product_id order by _loaded_at desc, _source_file desc, _source_line_number desc
) = 1
    and not coalesce(
        lower(category) not in {allowed:products.category} or list_price < 0 or unit_cost < 0, false
    );

create or replace temp table orders_current as
select
    orders.order_id,
    orders.customer_id,
    cast(orders.ordered_at as date) as ordered_date,
    lower(orders.status) as order_status,
    coalesce(orders.is_expedited, false) as is_expedited,
    not coalesce(
        customers_current.customer_id is null
        or not customers_current.is_clean
        or orders.ordered_at > orders._loaded_at
        or lower(orders.status) not in {allowed:orders.status}
        or lower(orders.sales_channel) not in {allowed:orders.sales_channel}
        or upper(coalesce(orders.currency, 'USD')) <> 'USD',
        false
    ) as is_clean
from raw.orders as orders
left join customers_current on orders.customer_id = customers_current.customer_id
qualify row_number() over (
    partition by orders.order_id
    order by orders._loaded_at desc, orders._source_file desc, orders._source_line_number desc
) = 1;

create or replace temp table orders_clean as
select * exclude (is_clean) from orders_current where is_clean;

create or replace temp table order_lines_clean as
select
    lines.order_line_id,
    lines.order_id,
    lines.product_id,
    lines.quantity,
    cast(lines.unit_price as decimal(28, 6)) as unit_price,
    cast(coalesce(lines.discount_amount, 0) as decimal(28, 6)) as discount_amount
from raw.order_lines as lines
left join orders_current on lines.order_id = orders_current.order_id
left join products_clean on lines.product_id = products_clean.product_id
qualify row_number() over (
    partition by lines.order_line_id
    order by lines._loaded_at desc, lines._source_file desc, lines._source_line_number desc
) = 1
    and orders_current.is_clean
    and products_clean.product_id is not null
    and not coalesce(
        lines.quantity <= 0
        or lines.unit_price < 0
        or coalesce(lines.discount_amount, 0) < 0
        or not (abs(lines.quantity) < 1000000000 and abs(lines.unit_price) < 1000000000000)
        or (lines.quantity * lines.unit_price >= 0 and coalesce(lines.discount_amount, 0) > lines.quantity * lines.unit_price),
        false
    );

create or replace temp table tickets_clean as
select
    tickets.ticket_id,
    tickets.customer_id,
    cast(tickets.opened_at as date) as opened_date,
    lower(tickets.channel) as support_channel,
    cast(tickets.handle_minutes as decimal(28, 6)) as handle_minutes,
    tickets.is_escalated
from raw.support_tickets as tickets
left join customers_current on tickets.customer_id = customers_current.customer_id
qualify row_number() over (
    partition by tickets.ticket_id
    order by tickets._loaded_at desc, tickets._source_file desc, tickets._source_line_number desc
) = 1
    and customers_current.is_clean
    and not coalesce(
        tickets.opened_at > tickets._loaded_at
        or tickets.closed_at < tickets.opened_at
        or tickets.first_response_at < tickets.opened_at
        or lower(tickets.channel) not in {allowed:support_tickets.channel}
        or lower(tickets.category) not in {allowed:support_tickets.category}
        or lower(tickets.priority) not in {allowed:support_tickets.priority}
        or tickets.handle_minutes < 0
        or tickets.csat_score not between 1 and 5,
        false
    );

create or replace temp table contracts_clean as
select
    contracts.contract_id,
    contracts.customer_id,
    lower(contracts.plan) as service_plan,
    contracts.start_date,
    contracts.end_date,
    cast(contracts.annual_fee as decimal(28, 6)) as annual_fee
from raw.service_contracts as contracts
left join customers_current on contracts.customer_id = customers_current.customer_id
qualify row_number() over (
    partition by contracts.contract_id
    order by contracts._loaded_at desc, contracts._source_file desc, contracts._source_line_number desc
) = 1
    and customers_current.is_clean
    and not coalesce(
        lower(contracts.plan) not in {allowed:service_contracts.plan}
        or contracts.end_date < contracts.start_date
        or contracts.annual_fee < 0
        or upper(coalesce(contracts.currency, 'USD')) <> 'USD',
        false
    );

-- Rates: the current version of (activity, channel, valid_from); an earlier current rate
-- whose validity runs into a later one is quarantined, so each activity finds one rate.
create or replace temp table rates_current as
select
    lower(activity) as activity,
    lower(channel) as support_channel,
    valid_from,
    valid_to,
    cast(rate as decimal(28, 6)) as rate,
    upper(coalesce(currency, 'USD')) as currency
from raw.cost_rates
qualify row_number() over (
    partition by lower(activity), coalesce(lower(channel), ''), valid_from
    order by _loaded_at desc, _source_file desc, _source_line_number desc
) = 1;

create or replace temp table rates_clean as
select rates.activity, rates.support_channel, rates.valid_from, rates.valid_to, rates.rate
from rates_current as rates
where not coalesce(
        rates.activity not in {allowed:cost_rates.activity}
        or (rates.activity = 'support_minute' and rates.support_channel is null)
        or (rates.activity = 'support_minute' and rates.support_channel not in {allowed:support_tickets.channel})
        or rates.valid_to <= rates.valid_from
        or rates.rate < 0
        or rates.currency <> 'USD',
        false
    )
    and not exists (
        select 1 from rates_current as later
        where later.activity = rates.activity
            and coalesce(later.support_channel, '') = coalesce(rates.support_channel, '')
            and rates.valid_from < later.valid_from
            and (rates.valid_to is null or rates.valid_to > later.valid_from)
    );

create or replace temp table spend_clean as
select lower(acquisition_channel) as acquisition_channel, spend_month, cast(spend_amount as decimal(28, 6)) as spend_amount
from raw.acquisition_spend
qualify row_number() over (
    partition by lower(acquisition_channel), spend_month
    order by _loaded_at desc, _source_file desc, _source_line_number desc
) = 1
    and not coalesce(
        lower(acquisition_channel) not in {allowed:acquisition_spend.acquisition_channel}
        or spend_month <> date_trunc('month', spend_month)
        or spend_amount < 0
        or upper(coalesce(currency, 'USD')) <> 'USD',
        false
    );

-- The review: the latest clean order date, and the 12 months ending on it.
create or replace temp table review as
select
    max(ordered_date) as review_date,
    cast(max(ordered_date) - interval 12 month + interval 1 day as date) as rolling_start
from orders_clean;

-- Facts on or before the review date, at activity grain: (customer, date, amounts).
create or replace temp table line_facts as
select
    orders.customer_id,
    orders.ordered_date as activity_date,
    case when orders.order_status = 'completed' then lines.quantity * lines.unit_price - lines.discount_amount else 0 end
        as order_revenue,
    case when orders.order_status = 'completed' then lines.quantity * products.unit_cost else 0 end as cogs,
    orders.order_status = 'completed' as is_revenue_earning
from order_lines_clean as lines
inner join orders_clean as orders on lines.order_id = orders.order_id
inner join products_clean as products on lines.product_id = products.product_id
cross join review
where orders.ordered_date <= review.review_date;

create or replace temp table rated_activities as
with activities as (
    select customer_id, opened_date as activity_date, 'support' as kind, support_channel, handle_minutes as quantity,
        'support_minute' as rate_activity
    from tickets_clean, review
    where opened_date <= review_date and handle_minutes > 0
    union all
    select customer_id, opened_date, 'escalation', support_channel, 1, 'escalation'
    from tickets_clean, review
    where opened_date <= review_date and is_escalated
    union all
    select customer_id, ordered_date, 'return', null, 1, 'return'
    from orders_clean, review
    where ordered_date <= review_date and order_status = 'returned'
    union all
    select customer_id, ordered_date, 'expedited', null, 1, 'expedited_order'
    from orders_clean, review
    where ordered_date <= review_date and is_expedited and order_status in ('completed', 'returned')
)
select
    activities.customer_id,
    activities.activity_date,
    activities.kind,
    coalesce(activities.quantity * rates.rate, 0) as cost
from activities
left join rates_clean as rates
    on activities.rate_activity = rates.activity
    and (activities.rate_activity <> 'support_minute' or activities.support_channel = rates.support_channel)
    and rates.valid_from <= activities.activity_date
    and (rates.valid_to is null or activities.activity_date < rates.valid_to);

-- Account management: each complete month from a manager's first customer's signup month,
-- the manager-year rate valid at month end / 12, split equally over the manager's customers
-- signed up by month end.
create or replace temp table account_management as
with managed as (
    select customers.customer_id, customers.signup_date, customers.account_manager_id
    from customers_clean as customers, review
    where customers.signup_date <= review.review_date and customers.account_manager_id is not null
),
months as (
    select
        managers.account_manager_id,
        cast(month_start as date) as month_start,
        cast(month_start + interval 1 month - interval 1 day as date) as month_end
    from (
        select account_manager_id, date_trunc('month', min(signup_date)) as first_month
        from managed group by account_manager_id
    ) as managers,
    review,
    generate_series(managers.first_month, review.review_date, interval 1 month) as series(month_start)
    where month_start + interval 1 month - interval 1 day <= review.review_date
),
assigned as (
    select months.account_manager_id, months.month_end, count(*) as assigned_customers
    from months
    inner join managed
        on months.account_manager_id = managed.account_manager_id
        and managed.signup_date <= months.month_end
    group by all
),
costed as (
    select assigned.*, coalesce(rates.rate, 0) / 12 / assigned.assigned_customers as allocated_cost
    from assigned
    left join rates_clean as rates
        on rates.activity = 'account_manager_year'
        and rates.valid_from <= assigned.month_end
        and (rates.valid_to is null or assigned.month_end < rates.valid_to)
)
select managed.customer_id, costed.month_end as activity_date, costed.allocated_cost as cost
from costed
inner join managed
    on costed.account_manager_id = managed.account_manager_id
    and managed.signup_date <= costed.month_end;

-- Acquisition: the given cost, else the channel-month's spend split over its customers.
create or replace temp table acquisition as
with known as (
    select customers.*, cast(date_trunc('month', customers.signup_date) as date) as signup_month
    from customers_clean as customers, review
    where customers.signup_date <= review.review_date
),
per_customer as (
    select spend.acquisition_channel, spend.spend_month, spend.spend_amount / count(*) as spend_per_customer
    from spend_clean as spend
    inner join known
        on spend.acquisition_channel = known.acquisition_channel
        and spend.spend_month = known.signup_month
    group by spend.acquisition_channel, spend.spend_month, spend.spend_amount
)
select known.customer_id, known.signup_date as activity_date,
    coalesce(known.given_acquisition_cost, per_customer.spend_per_customer, 0) as cost
from known
left join per_customer
    on known.acquisition_channel = per_customer.acquisition_channel
    and known.signup_month = per_customer.spend_month;

-- Contract revenue: annual_fee / 365 per covered day, start to coalesce(end, review date).
create or replace temp table contract_days as
select
    contracts.customer_id,
    contracts.annual_fee,
    contracts.start_date,
    least(coalesce(contracts.end_date, review.review_date), review.review_date) as covered_until
from contracts_clean as contracts, review
where contracts.start_date <= review.review_date;

-- Customer profitability over the rolling 12 months.
create or replace temp table baseline_rolling_profitability as
with window_lines as (
    select customer_id, sum(order_revenue) as order_revenue, sum(cogs) as cogs
    from line_facts, review where activity_date >= rolling_start
    group by customer_id
),
window_orders as (
    select customer_id, count(*) as orders, count(*) filter (where order_status = 'completed') as completed_orders
    from orders_clean, review where ordered_date between rolling_start and review_date
    group by customer_id
),
window_tickets as (
    select customer_id, count(*) as tickets
    from tickets_clean, review where opened_date between rolling_start and review_date
    group by customer_id
),
window_costs as (
    select
        customer_id,
        sum(case when kind = 'support' then cost else 0 end) as cost_to_serve_support,
        sum(case when kind = 'escalation' then cost else 0 end) as cost_to_serve_escalations,
        sum(case when kind = 'return' then cost else 0 end) as cost_to_serve_returns,
        sum(case when kind = 'expedited' then cost else 0 end) as cost_to_serve_expedited,
        sum(case when kind = 'account_management' then cost else 0 end) as cost_to_serve_account_management
    from (
        select customer_id, activity_date, kind, cost from rated_activities
        union all
        select customer_id, activity_date, 'account_management', cost from account_management
    ), review
    where activity_date between rolling_start and review_date
    group by customer_id
),
window_contracts as (
    select
        customer_id,
        sum(annual_fee / 365 * (date_diff('day', greatest(start_date, rolling_start), covered_until) + 1))
            as contract_revenue
    from contract_days, review
    where covered_until >= rolling_start
    group by customer_id
),
window_acquisition as (
    select customer_id, sum(cost) as acquisition_cost
    from acquisition, review where activity_date >= rolling_start
    group by customer_id
),
population as (
    select customer_id from customers_clean, review where signup_date <= review_date
    union select customer_id from window_lines
    union select customer_id from window_orders
    union select customer_id from window_tickets
    union select customer_id from window_costs
    union select customer_id from window_contracts
    union select customer_id from window_acquisition
),
amounts as (
    select
        population.customer_id,
        cast(coalesce(window_lines.order_revenue, 0) as decimal(28, 6)) as order_revenue,
        cast(coalesce(window_contracts.contract_revenue, 0) as decimal(28, 6)) as contract_revenue,
        cast(coalesce(window_lines.cogs, 0) as decimal(28, 6)) as cogs,
        cast(coalesce(window_costs.cost_to_serve_support, 0) as decimal(28, 6)) as cost_to_serve_support,
        cast(coalesce(window_costs.cost_to_serve_escalations, 0) as decimal(28, 6)) as cost_to_serve_escalations,
        cast(coalesce(window_costs.cost_to_serve_returns, 0) as decimal(28, 6)) as cost_to_serve_returns,
        cast(coalesce(window_costs.cost_to_serve_expedited, 0) as decimal(28, 6)) as cost_to_serve_expedited,
        cast(coalesce(window_costs.cost_to_serve_account_management, 0) as decimal(28, 6))
            as cost_to_serve_account_management,
        cast(coalesce(window_acquisition.acquisition_cost, 0) as decimal(28, 6)) as acquisition_cost,
        coalesce(window_orders.orders, 0) as orders,
        coalesce(window_orders.completed_orders, 0) as completed_orders,
        coalesce(window_tickets.tickets, 0) as tickets
    from population
    left join window_lines using (customer_id)
    left join window_orders using (customer_id)
    left join window_tickets using (customer_id)
    left join window_costs using (customer_id)
    left join window_contracts using (customer_id)
    left join window_acquisition using (customer_id)
)
select
    *,
    order_revenue + contract_revenue as net_revenue,
    order_revenue + contract_revenue - cogs as gross_margin,
    cost_to_serve_support + cost_to_serve_escalations + cost_to_serve_returns + cost_to_serve_expedited
        + cost_to_serve_account_management as cost_to_serve,
    order_revenue + contract_revenue - cogs
        - (cost_to_serve_support + cost_to_serve_escalations + cost_to_serve_returns + cost_to_serve_expedited
            + cost_to_serve_account_management)
        - acquisition_cost as net_profit
from amounts;

-- RFM summary in weeks: as of the review date, and as of 26 weeks before it (calibration)
-- with the purchase days of the holdout that follows.
create or replace temp table baseline_rfm_summary as
with purchase_days as (
    select customer_id, activity_date as purchase_date, sum(order_revenue - cogs) as gross_margin
    from line_facts
    where is_revenue_earning
    group by customer_id, activity_date
),
cutoffs as (
    select 'review' as summary_type, review_date as as_of_date from review
    union all
    select 'calibration', cast(review_date - interval 182 day as date) from review
),
numbered as (
    select
        cutoffs.summary_type,
        cutoffs.as_of_date,
        purchase_days.*,
        row_number() over (
            partition by cutoffs.summary_type, purchase_days.customer_id order by purchase_days.purchase_date
        ) as purchase_number
    from purchase_days
    inner join cutoffs on purchase_days.purchase_date <= cutoffs.as_of_date
),
summarized as (
    select
        summary_type,
        customer_id,
        as_of_date,
        min(purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date,
        count(*) - 1 as frequency,
        sum(gross_margin) filter (where purchase_number > 1) as repeat_margin,
        sum(gross_margin) as total_margin
    from numbered
    group by all
),
holdout as (
    select purchase_days.customer_id, count(*) as holdout_purchases
    from purchase_days, review
    where purchase_days.purchase_date > review.review_date - interval 182 day
        and purchase_days.purchase_date <= review.review_date
    group by purchase_days.customer_id
)
select
    summarized.summary_type,
    summarized.customer_id,
    summarized.frequency,
    date_diff('day', first_purchase_date, last_purchase_date) / 7.0 as recency_weeks,
    date_diff('day', first_purchase_date, as_of_date) / 7.0 as age_weeks,
    case when frequency > 0 then repeat_margin / frequency end as mean_repeat_margin,
    summarized.total_margin,
    case when summary_type = 'calibration' then coalesce(holdout.holdout_purchases, 0) end as holdout_purchases
from summarized
left join holdout on summarized.customer_id = holdout.customer_id;

-- Value tiers: lifetime contribution per year (gross margin less the cost to serve the
-- customer drives) weighted with the prior of similar customers, ranked within the tenure
-- band, cut by the shares of seeds/value_tier_rules.csv.
create or replace temp table baseline_value_tiers as
with lifetime_lines as (
    select customer_id, sum(order_revenue - cogs) as line_margin
    from line_facts group by customer_id
),
lifetime_contracts as (
    select customer_id, sum(annual_fee / 365 * (date_diff('day', start_date, covered_until) + 1)) as contract_revenue
    from contract_days group by customer_id
),
lifetime_costs as (
    select customer_id, sum(cost) as customer_driven_cost
    from rated_activities group by customer_id
),
population as (
    select customer_id from customers_clean, review where signup_date <= review_date
    union select customer_id from line_facts
    union select customer_id from orders_clean, review where ordered_date <= review_date
    union select customer_id from tickets_clean, review where opened_date <= review_date
    union select customer_id from contract_days
),
plans as (
    select contracts.customer_id, contracts.service_plan
    from contracts_clean as contracts, review
    where contracts.start_date <= review.review_date
        and (contracts.end_date is null or contracts.end_date >= review.review_date)
    qualify row_number() over (
        partition by contracts.customer_id
        order by contracts.annual_fee desc, contracts.start_date desc, contracts.contract_id
    ) = 1
),
size_groups as (
    select * from read_csv('{seeds}/size_band_groups.csv', header = true, all_varchar = true)
),
tenure_bands as (
    select * from read_csv('{seeds}/tenure_bands.csv', header = true)
),
rules as (
    select * from read_csv('{seeds}/value_tier_rules.csv', header = true)
),
profiles as (
    select
        population.customer_id,
        date_diff('day', customers.signup_date, review.review_date) as tenure_days,
        cast(coalesce(lifetime_lines.line_margin, 0) as decimal(28, 6))
            + cast(coalesce(lifetime_contracts.contract_revenue, 0) as decimal(28, 6))
            - cast(coalesce(lifetime_costs.customer_driven_cost, 0) as decimal(28, 6)) as lifetime_contribution,
        coalesce(plans.service_plan, 'none') || ' / ' || coalesce(size_groups.size_group, 'unknown')
            || ' / ' || coalesce(customers.acquisition_channel, '(none)') as value_prior_key
    from population
    cross join review
    left join customers_clean as customers using (customer_id)
    left join size_groups on customers.company_size_band = size_groups.company_size_band
    left join plans using (customer_id)
    left join lifetime_lines using (customer_id)
    left join lifetime_contracts using (customer_id)
    left join lifetime_costs using (customer_id)
),
observed as (
    select
        profiles.*,
        tenure_bands.tenure_band,
        tenure_days / 365.25 as tenure_years,
        greatest(tenure_days / 365.25, 0.25) as value_score_years,
        lifetime_contribution / greatest(tenure_days / 365.25, 0.25) as observed_value_score
    from profiles
    left join tenure_bands
        on profiles.tenure_days * 12.0 / 365.25 >= tenure_bands.min_tenure_months
        and (tenure_bands.max_tenure_months is null or profiles.tenure_days * 12.0 / 365.25 < tenure_bands.max_tenure_months)
),
cells as (
    select value_prior_key, avg(observed_value_score) as cell_score, count(*) as cell_customers
    from observed where tenure_years >= 1 group by value_prior_key
),
overall as (
    select coalesce(avg(observed_value_score), 0) as overall_score from observed where tenure_years >= 1
),
scored as (
    select
        observed.customer_id,
        observed.tenure_band,
        observed.observed_value_score,
        0.1 / (observed.value_score_years + 0.1) as prior_weight,
        case when coalesce(cells.cell_customers, 0) >= 3 then cells.cell_score else overall.overall_score end
            as prior_score
    from observed
    cross join overall
    left join cells using (value_prior_key)
),
ranked as (
    select
        customer_id,
        tenure_band,
        (1 - prior_weight) * observed_value_score + prior_weight * prior_score as value_score,
        row_number() over (
            partition by tenure_band
            order by (1 - prior_weight) * observed_value_score + prior_weight * prior_score desc, customer_id
        ) as value_rank,
        count(*) over (partition by tenure_band) as ranked_customers
    from scored
)
select
    ranked.customer_id,
    any_value(ranked.tenure_band) as tenure_band,
    any_value(ranked.value_score) as value_score,
    any_value(ranked.value_rank) as value_rank,
    any_value(ranked.ranked_customers) as ranked_customers,
    arg_min(rules.value_tier, rules.tier_rank) as value_tier
from ranked
inner join rules
    on (rules.min_value_score is null or ranked.value_score >= rules.min_value_score)
    and (rules.max_cumulative_share is null or ranked.value_rank * 1.0 / ranked.ranked_customers <= rules.max_cumulative_share)
group by ranked.customer_id;
