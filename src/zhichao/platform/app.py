"""The platform's web application: API, pages, one error handler."""

import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from zhichao.platform.api import heartbeats, photos, records, register, statistics
from zhichao.platform.api.deps import LoginRequired, authorize
from zhichao.platform.api.errors import install_error_handler
from zhichao.platform.db import make_engine, make_sessionmaker
from zhichao.platform.evidence import open_evidence_store
from zhichao.platform.settings import PlatformSettings, load_settings
from zhichao.platform.web import (
    chain_pages,
    device_pages,
    pages,
    people_pages,
    statistics_pages,
    unit_pages,
    user_pages,
    vehicle_pages,
)

logger = logging.getLogger(__name__)


def create_app(settings: PlatformSettings | None = None) -> FastAPI:
    """Build the app for ``settings``; the database must be at the head revision.

    The engine is created here and disposed when the app shuts down.
    """
    settings = settings or load_settings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        logger.info("platform started (database %s)", engine.url.render_as_string())
        yield
        engine.dispose()
        logger.info("platform stopped")

    app = FastAPI(
        title="zhichao platform",
        summary="县级科技治超管理指挥平台 — county overload monitoring platform",
        version="1",
        lifespan=lifespan,
        # FastAPI's own /docs pages load scripts from a CDN; web.pages serves a
        # plain page of the same OpenAPI document instead
        docs_url=None,
        redoc_url=None,
        # every route: its permission rule, the caller, CSRF (platform.auth)
        dependencies=[Depends(authorize)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.evidence = open_evidence_store(settings)
    app.state.templates = pages.make_templates()

    install_error_handler(app)
    app.add_exception_handler(LoginRequired, people_pages.login_redirect)
    app.include_router(records.router)
    app.include_router(photos.router)
    app.include_router(heartbeats.router)
    app.include_router(register.router)
    app.include_router(statistics.router)
    app.include_router(pages.router)
    app.include_router(chain_pages.router)
    app.include_router(device_pages.router)
    app.include_router(people_pages.router)
    app.include_router(unit_pages.router)
    app.include_router(vehicle_pages.router)
    app.include_router(user_pages.router)
    app.include_router(statistics_pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    return app
