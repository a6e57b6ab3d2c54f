"""Freshness policies on what operators watch, and the failed-run alert posting to a real HTTP server."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from typing import ClassVar

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.defs.ingestion import RAW_KEYS
from orchestration.defs.monitoring import ALERT_WEBHOOK_ENV, run_failure_alert


def test_raw_tables_and_the_published_file_have_freshness_policies() -> None:
    graph = defs.resolve_asset_graph()
    watched = [*RAW_KEYS, dg.AssetKey(["published_warehouse"])]

    for key in watched:
        policy = graph.get(key).freshness_policy
        assert policy is not None, key
        assert policy.fail_window.to_timedelta() == dt.timedelta(hours=26), key
    # dbt models follow their inputs; only the ends of the pipeline carry a policy.
    assert graph.get(dg.AssetKey(["marts", "customer_profitability"])).freshness_policy is None


class _Webhook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Webhook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook_url() -> Iterator[str]:
    _Webhook.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def _failed_run_context(instance: dg.DagsterInstance) -> dg.RunFailureSensorContext:
    @dg.asset
    def broken_asset() -> None:
        raise RuntimeError("the landing folder /data/landing does not exist")

    result = dg.materialize([broken_asset], instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(event for event in result.all_events if event.event_type == dg.DagsterEventType.RUN_FAILURE)
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert", dagster_event=failure, dagster_instance=instance, dagster_run=run
    ).for_run_failure()


def test_a_failed_run_is_posted_to_the_webhook(webhook_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALERT_WEBHOOK_ENV, webhook_url)
    with dg.instance_for_test() as instance:
        context = _failed_run_context(instance)
        run_failure_alert(context)

    (payload,) = _Webhook.received
    assert context.dagster_run.run_id[:8] in payload["text"]
    assert "failed" in payload["text"] and context.dagster_run.job_name in payload["text"]
    assert "broken_asset: RuntimeError: the landing folder /data/landing does not exist" in payload["text"]


def test_without_a_webhook_nothing_is_posted(webhook_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALERT_WEBHOOK_ENV, raising=False)
    with dg.instance_for_test() as instance:
        run_failure_alert(_failed_run_context(instance))

    assert _Webhook.received == []
