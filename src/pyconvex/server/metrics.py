"""The deployment's metrics: Prometheus ``/metrics`` and the dashboard's Health figures.

What is measured, and where it comes from (each hook is one increment, or a
read done only when metrics are scraped):

* commits: a commit listener on the database counts durable commits;
* OCC: the executor's ``occ_conflicts`` and ``occ_retries`` tallies;
* sync: live WebSocket connections and their subscribed queries, read from the
  :class:`~pyconvex.server.sync.SyncHub` at scrape time; query-cache hits and
  executions (misses) from its shared cache;
* function runs by kind and outcome, and their durations, from a listener on
  the function-run log (the one ``pyconvex logs`` reads).

Endpoints (admin only: ``Authorization: Convex <admin key>``):

``GET /metrics``
    The Prometheus text exposition format. A Prometheus scrape config sends
    the key with ``authorization: {type: Convex, credentials: <key>}``.
``GET /api/admin/metrics``
    The same figures as one JSON object, for the dashboard's Health page.

:func:`serve_metrics` serves ``/metrics`` on a port of its own instead, without
the key (``pyconvex dev --metrics-port``): bind it to a private interface.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pyconvex.application import Backend
from pyconvex.database.write_log import CommitRecord
from pyconvex.functions.logs import FunctionRun
from pyconvex.server.admin import require_admin
from pyconvex.server.errors import RequestError
from pyconvex.server.sync import SyncHub

__all__ = [
    "DURATION_BUCKETS_SECONDS",
    "DeploymentMetrics",
    "MetricsServer",
    "routes",
    "serve_metrics",
]

#: Upper bounds of the function-duration histogram buckets (seconds).
DURATION_BUCKETS_SECONDS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
_OUTCOMES = ("success", "failure")


class DeploymentMetrics(Collector):
    """Every figure of one deployment, as a Prometheus collector and as JSON.

    Args:
        backend: the deployment (its database, executor and function log).
        hub: the sync hub whose connections and query cache are measured.
    """

    def __init__(self, backend: Backend, hub: SyncHub) -> None:
        self.backend = backend
        self.hub = hub
        self.commits = 0  # bumped only on the committer thread
        self.started = time.monotonic()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        self._runs = Counter(
            "pyconvex_function_runs",
            "Finished top-level function runs.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self._durations = Histogram(
            "pyconvex_function_duration_seconds",
            "Duration of top-level function runs (OCC retries included).",
            ["kind"],
            buckets=DURATION_BUCKETS_SECONDS,
            registry=self.registry,
        )
        backend.database.add_commit_listener(self._on_commit)
        backend.executor.logs.add_listener(self._on_run)

    def _on_commit(self, records: Sequence[CommitRecord]) -> None:
        self.commits += len(records)

    def _on_run(self, run: FunctionRun) -> None:
        # Runs finish on many threads; prometheus_client's metrics are thread-safe.
        self._runs.labels(run.kind, run.outcome).inc()
        self._durations.labels(run.kind).observe(run.duration_ms / 1000)

    # -- reading --------------------------------------------------------------

    def subscriptions(self) -> int:
        """Queries subscribed over every live sync connection."""
        return sum(len(connection.session.queries) for connection in list(self.hub.connections))

    def snapshot(self) -> dict[str, Any]:
        """Every figure as JSON (the dashboard's Health page)."""
        executor = self.backend.executor
        cache = self.hub.cache
        runs: dict[str, dict[str, Any]] = {}
        for metric in self._runs.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    kind = sample.labels["kind"]
                    runs.setdefault(kind, dict.fromkeys(_OUTCOMES, 0))
                    runs[kind][sample.labels["outcome"]] = int(sample.value)
        for kind, figures in runs.items():
            count = self.registry.get_sample_value(
                "pyconvex_function_duration_seconds_count", {"kind": kind}
            )
            total = self.registry.get_sample_value(
                "pyconvex_function_duration_seconds_sum", {"kind": kind}
            )
            mean = total / count * 1000 if count and total is not None else None
            figures["meanDurationMs"] = mean
        return {
            "uptimeSeconds": time.monotonic() - self.started,
            "latestTs": str(self.backend.database.latest_ts),  # ns: too big for JS numbers
            "commits": self.commits,
            "occConflicts": executor.occ_conflicts.value,
            "occRetries": executor.occ_retries.value,
            "connections": len(self.hub.connections),
            "subscriptions": self.subscriptions(),
            "queryCache": {
                "lookups": cache.hits + cache.executions,
                "hits": cache.hits,
                "misses": cache.executions,
            },
            "functionRuns": runs,
        }

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

    def collect(self) -> Iterable[Metric]:
        """The figures read at scrape time (``prometheus_client`` calls this)."""
        executor = self.backend.executor
        cache = self.hub.cache
        yield CounterMetricFamily(
            "pyconvex_commits", "Durable commits (rate() gives commits/s).", value=self.commits
        )
        yield CounterMetricFamily(
            "pyconvex_occ_conflicts",
            "Mutation commits refused by an optimistic-concurrency conflict.",
            value=executor.occ_conflicts.value,
        )
        yield CounterMetricFamily(
            "pyconvex_occ_retries",
            "Mutations re-run after a conflict (conflicts minus those that gave up).",
            value=executor.occ_retries.value,
        )
        yield GaugeMetricFamily(
            "pyconvex_sync_connections",
            "Live WebSocket sync connections.",
            value=len(self.hub.connections),
        )
        yield GaugeMetricFamily(
            "pyconvex_sync_subscriptions",
            "Queries subscribed over all sync connections.",
            value=self.subscriptions(),
        )
        yield CounterMetricFamily(
            "pyconvex_query_cache_hits",
            "Subscription query results served from the shared cache.",
            value=cache.hits,
        )
        yield CounterMetricFamily(
            "pyconvex_query_cache_misses",
            "Subscription query results that had to be computed.",
            value=cache.executions,
        )


def routes(metrics: DeploymentMetrics) -> list[Route]:
    """``/metrics`` (Prometheus text) and ``/api/admin/metrics`` (JSON), admin only."""

    async def prometheus(request: Request) -> Response:
        try:
            require_admin(request, metrics.backend)
        except RequestError as error:
            return error.response()
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    async def summary(request: Request) -> Response:
        try:
            require_admin(request, metrics.backend)
        except RequestError as error:
            return error.response()
        return JSONResponse(metrics.snapshot())

    return [
        Route("/metrics", prometheus, methods=["GET"]),
        Route("/api/admin/metrics", summary, methods=["GET"]),
    ]


class MetricsServer:
    """``/metrics`` served on a port of its own, from a daemon thread; :meth:`close` stops it."""

    def __init__(self, metrics: DeploymentMetrics, host: str, port: int) -> None:
        from prometheus_client import start_http_server

        self._server, self._thread = start_http_server(port, addr=host, registry=metrics.registry)

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_metrics(metrics: DeploymentMetrics, host: str, port: int) -> MetricsServer:
    """Serve ``/metrics`` without authentication on ``host:port``.

    Whoever can reach the port can read the figures (never data, keys or
    function arguments): bind it to loopback or a private network.

    Raises:
        OSError: the port cannot be bound.
    """
    return MetricsServer(metrics, host, port)
