"""The app factory: `create_app(settings)` builds the app; its lifespan owns the connection."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import anyio
from fastapi import FastAPI

from app import api_info
from app.access_log import AccessLogMiddleware, RequestObserver
from app.audit import Auditor
from app.auth import KeyStore
from app.body_limit import BodyLimitMiddleware
from app.ceph.client import CephClient
from app.ceph.commands import CommandTableCache, parse_deny_list
from app.ceph.job_records import JobRecordStore, store_connection
from app.ceph.maps import ClusterMaps
from app.ceph.peers import PeerNotices
from app.ceph.perf import PerfSchemaCache
from app.ceph.state import ClusterState, open_cluster_state
from app.deps import AppState
from app.errors import GatewayError
from app.exception_handlers import install_exception_handlers
from app.jobs import JobTable, open_job_table
from app.metrics import GatewayMetrics
from app.routers import ALL_ROUTERS
from app.routers.doc import mount_assets as mount_doc_assets
from app.settings import Settings
from app.tls_reload import (
    CertificateReloader,
    ServedCertificate,
    ServedTls,
    config_key_source,
    files_source,
)

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, tls: ServedTls | None = None) -> FastAPI:
    """Build the gateway for `settings` (default: from the environment). Nothing connects yet.

    `tls`: the certificate the server presents, when it serves TLS (for /readyz), and how to
    replace it when its source changes.
    """
    settings = settings or Settings()
    metrics = GatewayMetrics()  # this app's own registry, never the process-wide one
    served_certificate = ServedCertificate(tls.cert_pem) if tls else None
    deny_rules = parse_deny_list(settings.request_deny)
    auditor = Auditor(
        cluster_log=settings.audit and settings.audit_cluster_log,
        on_cluster_log_failure=metrics.audit_cluster_log_failed,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[AppState]:
        ceph = CephClient(settings, on_call=metrics.observe_ceph_call)
        keys = KeyStore(ceph, settings)
        # On exit the job table refuses new jobs and lets running ones finish (with a grace).
        commands = CommandTableCache(ceph)
        store_ceph = store_connection(settings) if settings.job_store == "rados" else None
        # With a shared job store, the gateways behind one balancer tell each other of writes.
        notices = (
            PeerNotices(store_ceph, settings.job_store_pool, settings.job_store_namespace)
            if store_ceph is not None
            else None
        )
        async with (
            open_cluster_state(
                max_age=settings.cache_max_age,
                stale_after=settings.cache_stale_after,
                observe=metrics.observe_cache,
            ) as state,
            open_job_table(
                ceph,
                settings,
                on_change=partial(_written, state, notices),
                read_only=commands.only_reads,
                served_by_mgr=commands.mgr_serves,
                records=JobRecordStore(
                    store_ceph, settings.job_store_pool, settings.job_store_namespace
                )
                if store_ceph is not None
                else None,
                answers=state.command_answers,
            ) as jobs,
            auditor.writing_cluster_log(ceph),
            anyio.create_task_group() as tg,
        ):
            maps = ClusterMaps(ceph, state)
            tg.start_soon(_connect_then_load, ceph, keys, commands)
            if tls is not None and tls.install is not None and served_certificate is not None:
                source = (
                    files_source(settings.cert_file, settings.key_file)
                    if settings.cert_file is not None and settings.key_file is not None
                    else config_key_source(ceph, settings.mgr_name)
                )
                reloader = CertificateReloader(
                    served_certificate, source, tls.install, settings.tls_reload_interval
                )
                tg.start_soon(reloader.keep_checking)
            if store_ceph is not None:
                tg.start_soon(_connect_the_job_store, store_ceph, jobs)
            if notices is not None:
                tg.start_soon(notices.keep_watching, state.invalidate)
            with metrics.watching(ceph, keys, jobs, state):  # read at scrape time
                yield AppState(
                    settings=settings,
                    ceph=ceph,
                    keys=keys,
                    jobs=jobs,
                    metrics=metrics,
                    maps=maps,
                    perf_cache=PerfSchemaCache(),
                    commands=commands,
                    deny_rules=deny_rules,
                    tls_certificate=served_certificate,
                )
            tg.cancel_scope.cancel()
        await ceph.aclose()
        if store_ceph is not None:
            await store_ceph.aclose()

    app = FastAPI(
        title=api_info.TITLE,
        version=api_info.VERSION,
        summary=api_info.SUMMARY,
        description=api_info.DESCRIPTION,
        openapi_tags=api_info.OPENAPI_TAGS,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # The gateway exports no OpenTelemetry (its metrics are Prometheus', on /metrics):
        # FastAPI would otherwise ask OpenTelemetry for its three providers on every request
        # to learn that none is set up, 19 us of the ~0.5 ms a POST /request costs the app.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_exception_handlers(app)
    # Inside the access log, so that a 413 is logged and counted like any other answer.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    # One JSON line per request (logger cephgw.access), the request metrics, and the audit of
    # the writes (logger cephgw.audit, and the cluster log).
    observers: list[RequestObserver] = [metrics.observe_request]
    if settings.audit:
        observers.append(auditor.observe)
    app.add_middleware(AccessLogMiddleware, observers=observers)
    for router in ALL_ROUTERS:
        app.include_router(router)
    mount_doc_assets(app)  # Swagger UI's and ReDoc's files, for /doc and /redoc
    return app


async def _written(state: ClusterState, notices: PeerNotices | None) -> None:
    """After a write: this gateway's cache, then its peers' (`PeerNotices`), are invalidated."""
    state.invalidate()
    if notices is not None:
        await notices.tell()


async def _connect_the_job_store(store_ceph: CephClient, jobs: JobTable) -> None:
    await store_ceph.keep_connecting()
    await jobs.prepare_records()


async def _connect_then_load(ceph: CephClient, keys: KeyStore, commands: CommandTableCache) -> None:
    await ceph.keep_connecting()
    try:
        await commands.get()  # so that jobs know read-only commands from the first one
    except GatewayError as exc:
        log.warning("cannot load the command table yet: %s", exc.message)
    await keys.keep_refreshing()
