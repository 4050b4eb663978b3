"""The FastAPI application: routers, problem handlers, the dashboard."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from critmin import __version__
from critmin.api.http import PROBLEM_RESPONSES, ProblemError, problem_response
from critmin.errors import CritminError, InputError
from critmin.yamlio import error_loc, error_text

TITLE = "critmin registry"


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _allowed_methods(request: Request) -> list[str]:
    from starlette.routing import Match, Route

    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches({**request.scope, "method": "GET"})
            if match is not Match.NONE:
                methods |= route.methods
    return sorted(methods)


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """At start-up, once everything is imported and the app built: move every object alive
    now (modules, routes, compiled statements: hundreds of thousands) out of the cyclic
    garbage collector's reach (``gc.freeze``), so a collection of the oldest generation
    no longer walks them all in the middle of a request; and collect the youngest
    generation less often (a request allocates thousands of short-lived containers, nearly
    all freed by reference counting)."""
    gc.collect()
    gc.freeze()
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, 10_000), gen1, gen2)
    yield


def create_app(engine: sa.Engine) -> FastAPI:
    """The service on ``engine`` (already migrated)."""
    from critmin.api import (
        dashboard,
        routes_market,
        routes_registry,
        routes_stockpile,
        routes_trace,
    )

    app = FastAPI(
        title=TITLE,
        version=__version__,
        description=(
            "The managed critical-minerals market's system of record: members, reference "
            "prices, import declarations with the FORGE levy, contracts and settlement, "
            "stockpile ledgers, lots and origin, and a hash-chained audit trail. "
            "See docs/service.md."
        ),
        responses=PROBLEM_RESPONSES,
        lifespan=_lifespan,
    )
    app.state.engine = engine

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            request, exc.status, exc.slug, exc.title, exc.detail, exc.errors, exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # error_loc: the field a spec's model validator named (a number given as text)
        errors = [(_field(error_loc(e)), error_text(e)) for e in exc.errors()]
        detail = "; ".join(f"{f}: {msg}" for f, msg in errors[:5])
        return problem_response(request, 422, "invalid-input", "Invalid input", detail, errors)

    @app.exception_handler(CritminError)
    async def _domain(request: Request, exc: CritminError) -> JSONResponse:
        where = exc.where if isinstance(exc, InputError) else None
        field = where or "body"
        return problem_response(
            request, 422, "invalid-input", "Invalid input", str(exc), [(field, str(exc))]
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first route's methods; a path served by several
            # routes (GET and POST /v1/members) must list them all (RFC 9110 15.5.6)
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem_response(
            request,
            exc.status_code,
            "http-" + str(exc.status_code),
            str(exc.detail),
            str(exc.detail),
            headers=headers,
        )

    @app.get("/v1/health", tags=["service"])
    def health() -> dict[str, str]:
        """Liveness: the service answers and its database is reachable."""
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return {"status": "ok", "version": __version__, "database": engine.dialect.name}

    for router in (
        routes_registry.router,
        routes_market.router,
        routes_stockpile.router,
        routes_trace.router,
        dashboard.router,
    ):
        _add_routes(app, router)
    return app


def _add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's routes as the app's own, not as an included router: FastAPI 0.16x matches
    an included router by walking every route of every included router to see whether the
    routes changed, on every request (``_get_routes_version``: 4 % of a declaration's CPU in
    py-spy, more for a small read). The routes are built already (their path has the
    router's prefix, their dependencies and problem responses the router's); the OpenAPI
    document is unchanged (tested)."""
    for route in router.routes:
        app.router.routes.append(route)


def app_from_environment() -> FastAPI:
    """The app on ``$CRITMIN_SERVE_DB`` (used by ``critmin serve --workers N``)."""
    import os

    from critmin.store.db import make_engine

    return create_app(make_engine(os.environ["CRITMIN_SERVE_DB"]))
