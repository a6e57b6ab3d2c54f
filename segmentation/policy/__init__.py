"""The service-policy what-if: proposed policies from files (scenarios) and the CLI's impact table.

The what-if itself is dbt (models/intermediate/policy, models/marts/policy); this package only
checks a proposed policy file and hands its rows to dbt as the var `policy_scenarios`.
"""
