"""Freshness of the raw zone and the published file, and an alert on every failed run.

- Freshness: the raw tables and `published_warehouse` fail their freshness policy when their
  last materialization is older than SEGMENTATION_RAW_MAX_AGE_HOURS / SEGMENTATION_PUBLISHED_MAX_AGE_HOURS
  (default 26 hours: the daily refresh plus slack), and warn after half that.
- Alerts: `run_failure_alert` posts a one-paragraph message for every failed run to the webhook
  SEGMENTATION_ALERT_WEBHOOK_URL (a Slack or Microsoft Teams incoming webhook, or any endpoint
  accepting `{"text": ...}` JSON). It runs by default when that variable is set. For e-mail,
  replace it with `dagster.make_email_on_run_failure_sensor(...)`.
"""

import datetime as dt
import json
import os
import urllib.request

import dagster as dg

ALERT_WEBHOOK_ENV = "SEGMENTATION_ALERT_WEBHOOK_URL"
WEBHOOK_TIMEOUT_SECONDS = 10


def _max_age(variable: str, default_hours: float) -> dt.timedelta:
    return dt.timedelta(hours=float(os.environ.get(variable, default_hours)))


# Dagster's freshness daemon (started by `dg dev` and a deployment's daemon) evaluates these
# and shows each asset as fresh, warning (older than half the limit) or failing in the UI.
RAW_MAX_AGE = _max_age("SEGMENTATION_RAW_MAX_AGE_HOURS", 26)
PUBLISHED_MAX_AGE = _max_age("SEGMENTATION_PUBLISHED_MAX_AGE_HOURS", 26)
raw_freshness = dg.FreshnessPolicy.time_window(fail_window=RAW_MAX_AGE, warn_window=RAW_MAX_AGE / 2)
published_freshness = dg.FreshnessPolicy.time_window(
    fail_window=PUBLISHED_MAX_AGE, warn_window=PUBLISHED_MAX_AGE / 2
)


def _root_cause(error) -> str:
    """Dagster wraps a step's exception in its own; the innermost one says what went wrong."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def failure_message(context: dg.RunFailureSensorContext) -> str:
    """The run, its job, and what each failed step said (the step's error is what operators act on)."""
    run = context.dagster_run
    step_errors = [
        f"{event.step_key}: {_root_cause(event.step_failure_data.error)}"
        for event in context.get_step_failure_events()
        if event.step_failure_data.error is not None
    ]
    detail = "; ".join(step_errors) or context.failure_event.message or "no message"
    return f"customer segmentation: run {run.run_id[:8]} of job {run.job_name} failed: {detail}"


def post_to_webhook(url: str, text: str) -> None:
    request = urllib.request.Request(
        url, data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
        response.read()


@dg.run_failure_sensor(
    default_status=(
        dg.DefaultSensorStatus.RUNNING if os.environ.get(ALERT_WEBHOOK_ENV) else dg.DefaultSensorStatus.STOPPED
    ),
    description=f"Posts every failed run to the webhook in {ALERT_WEBHOOK_ENV} (Slack, Teams, any JSON endpoint).",
)
def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
    message = failure_message(context)
    url = os.environ.get(ALERT_WEBHOOK_ENV)
    if not url:
        context.log.info(f"{ALERT_WEBHOOK_ENV} is not set, so no alert was sent: {message}")
        return
    post_to_webhook(url, message)
