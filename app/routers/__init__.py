"""One router module per resource; ALL_ROUTERS is the order they are mounted in."""

from fastapi import APIRouter

from app.routers import (
    config,
    crush,
    doc,
    health,
    metrics,
    mon,
    osd,
    perf,
    pool,
    request,
    root,
    server,
)

ALL_ROUTERS: list[APIRouter] = [
    root.router,
    config.router,
    crush.router,
    mon.router,
    osd.router,
    perf.router,
    pool.router,
    request.router,
    server.router,
    doc.router,
    health.router,
    metrics.router,
]
