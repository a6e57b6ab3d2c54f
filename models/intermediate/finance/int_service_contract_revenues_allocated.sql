-- Service-contract revenue per contract and reporting period: the annual fee recognised pro
-- rata per day covered (annual_fee / 365 per day), from start_date to
-- coalesce(end_date, review date), both inclusive, never past the review date, split into
-- the periods the covered days fall in. Periods a contract does not touch have no row.
with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

service_contracts as (

    select * from {{ ref('int_service_contracts_validated') }}

),

periods as (

    select * from {{ ref('int_reporting_periods_defined') }}

),

covered as (

    select
        service_contracts.contract_id,
        service_contracts.customer_id,
        service_contracts.service_plan,
        service_contracts.annual_fee,
        service_contracts.start_date,
        case
            when service_contracts.end_date is null
                or service_contracts.end_date > review_parameters.review_date
                then review_parameters.review_date
            else service_contracts.end_date
        end as covered_until
    from service_contracts
    cross join review_parameters
    where not service_contracts.is_quarantined
        and service_contracts.start_date <= review_parameters.review_date

),

covered_periods as (

    select
        covered.contract_id,
        covered.customer_id,
        covered.service_plan,
        covered.annual_fee,
        periods.period_type,
        periods.period_label,
        case
            when covered.start_date > periods.period_start then covered.start_date
            else periods.period_start
        end as covered_from_in_period,
        case
            when covered.covered_until < periods.period_end then covered.covered_until
            else periods.period_end
        end as covered_until_in_period
    from covered
    inner join periods
        on covered.start_date <= periods.period_end
        and covered.covered_until >= periods.period_start

),

final as (

    select
        contract_id,
        customer_id,
        service_plan,
        period_type,
        period_label,
        covered_from_in_period,
        covered_until_in_period,
        {{ dbt.datediff('covered_from_in_period', 'covered_until_in_period', 'day') }} + 1 as covered_days,  -- noqa: LT05
        annual_fee,
        {{ divide('annual_fee', '365') }}
        * ({{ dbt.datediff('covered_from_in_period', 'covered_until_in_period', 'day') }} + 1) as contract_revenue  -- noqa: LT05
    from covered_periods

)

select * from final
