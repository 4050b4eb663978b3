"""The dashboard: server-rendered pages (Jinja2 + Plotly) served by the same process.

Log in with an access token (kept in an HttpOnly, SameSite=Strict cookie); every page reads
through the same queries and the same member isolation as the API: a member representative
sees its own declarations, lots, contracts and accounts, and a page of another member is a
404. Charts are Plotly figures drawn by the plotly.js shipped inside the plotly package
(served from ``/static/plotly.min.js``; no CDN, no front-end build).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from critmin.api import models as m
from critmin.api.auth import AUDITOR, INITIATOR, OPERATOR, PUBLISHER, Principal, authenticate
from critmin.api.http import ProblemError
from critmin.store.schema import (
    audit,
    contracts,
    declarations,
    lots,
    networks,
    statements,
    stockpiles,
)

router = APIRouter(include_in_schema=False)
COOKIE = "critmin_token"
_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def _render(name: str, **ctx: Any) -> HTMLResponse:
    return HTMLResponse(_env.get_template(name).render(**ctx))


def _who(request: Request) -> Principal | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        with request.app.state.engine.connect() as conn:
            return authenticate(conn, token)
    except ProblemError:
        return None


def _page(request: Request, who: Principal, name: str, title: str, **ctx: Any) -> HTMLResponse:
    return _render(name, title=title, who=who, path=request.url.path, **ctx)


def _login_redirect() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def _not_found(request: Request, who: Principal, what: str) -> HTMLResponse:
    resp = _page(request, who, "message.html", "Not found", message=f"No {what} visible to you.")
    resp.status_code = 404
    return resp


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    import plotly

    return FileResponse(
        Path(plotly.__file__).parent / "package_data" / "plotly.min.js",
        media_type="application/javascript",
    )


@router.get("/login", response_class=HTMLResponse)
def login_form() -> HTMLResponse:
    return _render("login.html", title="Log in", who=None, path="/login", error=None)


@router.post("/login", response_model=None)
def login(request: Request, token: str = Form(...)) -> Response:
    try:
        with request.app.state.engine.connect() as conn:
            authenticate(conn, token.strip())
    except ProblemError as exc:
        page = _render("login.html", title="Log in", who=None, path="/login", error=exc.detail)
        page.status_code = 401
        return page
    resp = RedirectResponse("/", status_code=303)
    resp.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict")
    return resp


@router.post("/logout")
def logout() -> RedirectResponse:
    resp = _login_redirect()
    resp.delete_cookie(COOKIE)
    return resp


def _figure(
    traces: list[dict[str, Any]], title: str, y_title: str, barmode: str | None = None
) -> str:
    layout: dict[str, Any] = {
        "title": {"text": title},
        "yaxis": {"title": {"text": y_title}},
        # months and stages are labels: a category axis keeps one point from zooming to ms
        "xaxis": {"type": "category"},
        "margin": {"l": 70, "r": 20, "t": 50, "b": 50},
        "height": 340,
        "legend": {"orientation": "h"},
    }
    if barmode:
        layout["barmode"] = barmode
    # "<" escaped so that no string in the data can close the <script> it is written into
    return json.dumps({"data": traces, "layout": layout}).replace("<", "\\u003c")


@router.get("/", response_class=HTMLResponse, response_model=None)
def overview(request: Request) -> Response:
    """Market overview: reference prices and levy collected by stage and month."""
    from critmin.api.routes_market import latest_prices, price_dict
    from critmin.store.schema import prices

    who = _who(request)
    if who is None:
        return _login_redirect()
    engine = request.app.state.engine
    with engine.connect() as conn:
        plist = [
            price_dict(r)
            for r in conn.execute(latest_prices().order_by(prices.c.product, prices.c.month))
        ]
        q = sa.select(declarations)
        if not who.sees_all:
            q = q.where(declarations.c.member_id == (who.member_id or ""))
        decs = (
            conn.execute(q.order_by(declarations.c.id)).all()
            if who.has(OPERATOR, AUDITOR, INITIATOR, "approver")
            else []
        )
    by_product: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in plist:
        by_product[p["product"]].append(p)
    price_fig = _figure(
        [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": prod,
                "x": [p["month"] for p in rows],
                "y": [p["price_usd_per_t"] for p in rows],
            }
            for prod, rows in sorted(by_product.items())
        ],
        "Published reference prices (newest version)",
        "USD/t",
    )
    levy: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for d in decs:
        levy[d.stage][d.declared_on[:7]] += d.levy_usd
    levy_fig = _figure(
        [
            {
                "type": "bar",
                "name": stage,
                "x": sorted(months),
                "y": [months[k] for k in sorted(months)],
            }
            for stage, months in sorted(levy.items())
        ],
        "FORGE levy assessed by stage and month" + (f" ({who.member_id})" if who.member_id else ""),
        "USD",
        barmode="stack",
    )
    return _page(
        request,
        who,
        "overview.html",
        "Market overview",
        prices=plist[-12:],
        n_prices=len(plist),
        price_fig=price_fig,
        levy_fig=levy_fig if decs else None,
        n_declarations=len(decs),
        sees_declarations=who.has(OPERATOR, AUDITOR, INITIATOR, "approver"),
        levy_total=sum(d.levy_usd for d in decs),
        can_publish=who.has(PUBLISHER, OPERATOR),
        today=dt.date.today().isoformat(),
    )


@router.post("/prices/new", response_model=None)
def publish_from_form(
    request: Request,
    product: str = Form(...),
    stage: str = Form(...),
    month: str = Form(...),
    price_usd_per_t: float = Form(...),
) -> Response:
    """The price publisher's form: publishes a preliminary price through the API's code."""
    from critmin.api.routes_market import publish_price

    who = _who(request)
    if who is None:
        return _login_redirect()
    try:
        body = m.PriceIn(
            product=product,
            stage=stage,
            month=month,
            price_usd_per_t=price_usd_per_t,
            methodology_version="dashboard",
            data={"entered": "dashboard form"},
        )
        publish_price(body, who, request.app.state.engine, request)
    except (ProblemError, ValueError) as exc:
        msg = exc.detail if isinstance(exc, ProblemError) else str(exc).splitlines()[0]
        resp = _page(request, who, "message.html", "Not published", message=msg)
        resp.status_code = 422
        return resp
    return RedirectResponse("/", status_code=303)


@router.get("/declarations", response_class=HTMLResponse, response_model=None)
def declarations_page(request: Request) -> Response:
    from critmin.api.routes_market import declaration_dict

    who = _who(request)
    if who is None:
        return _login_redirect()
    q = sa.select(declarations)
    if not who.sees_all:
        q = q.where(declarations.c.member_id == (who.member_id or ""))
    with request.app.state.engine.connect() as conn:
        rows = [
            declaration_dict(r)
            for r in conn.execute(q.order_by(declarations.c.id.desc()).limit(200))
        ]
    return _page(
        request,
        who,
        "declarations.html",
        "Import declarations",
        rows=rows,
        can_file=who.has(INITIATOR) and who.member_id is not None,
        today=dt.date.today().isoformat(),
    )


@router.post("/declarations/new", response_model=None)
def file_from_form(
    request: Request,
    product: str = Form(...),
    stage: str = Form(...),
    quantity_t: float = Form(...),
    customs_value_usd: float = Form(...),
    declared_on: str = Form(...),
    origin_iso3: str = Form(...),
) -> Response:
    from critmin.api.routes_market import file_declaration

    who = _who(request)
    if who is None:
        return _login_redirect()
    try:
        body = m.DeclarationIn(
            product=product,
            stage=stage,
            quantity_t=quantity_t,
            customs_value_usd=customs_value_usd,
            declared_on=dt.date.fromisoformat(declared_on),
            origin_iso3=origin_iso3.strip().upper(),
        )
        resp = file_declaration(body, who, request.app.state.engine, request)
    except (ProblemError, ValueError) as exc:
        msg = exc.detail if isinstance(exc, ProblemError) else str(exc).splitlines()[0]
        page = _page(request, who, "message.html", "Not filed", message=msg)
        page.status_code = 422
        return page
    new_id = json.loads(bytes(resp.body))["id"]
    return RedirectResponse(f"/declarations/{new_id}", status_code=303)


@router.get("/declarations/{declaration_id}", response_class=HTMLResponse, response_model=None)
def declaration_page(request: Request, declaration_id: int) -> Response:
    from critmin.api.routes_market import declaration_dict

    who = _who(request)
    if who is None:
        return _login_redirect()
    with request.app.state.engine.connect() as conn:
        row = conn.execute(
            sa.select(declarations).where(declarations.c.id == declaration_id)
        ).first()
    if row is None or not who.may_see(row.member_id):
        return _not_found(request, who, f"declaration {declaration_id}")
    return _page(
        request, who, "declaration.html", f"Declaration {declaration_id}", d=declaration_dict(row)
    )


@router.get("/members/{member_id}", response_class=HTMLResponse, response_model=None)
def member_page(request: Request, member_id: str) -> Response:
    from critmin.api.routes_registry import member_dict
    from critmin.store.schema import members

    who = _who(request)
    if who is None:
        return _login_redirect()
    with request.app.state.engine.connect() as conn:
        row = conn.execute(sa.select(members).where(members.c.id == member_id)).first()
        if row is None or not who.may_see(member_id):
            return _not_found(request, who, f"member {member_id}")
        mem = member_dict(conn, row)
        n_dec = conn.execute(
            sa.select(sa.func.count())
            .select_from(declarations)
            .where(declarations.c.member_id == member_id)
        ).scalar_one()
    return _page(request, who, "member.html", mem["name"], mem=mem, n_declarations=n_dec)


def _days_of_cover(spec: dict[str, Any], inventory_t: dict[str, float]) -> dict[str, float | None]:
    """Inventory over protected daily consumption (t/yr / 365), as critmin's stockpile model
    defines days of cover without a market signal."""
    out: dict[str, float | None] = {}
    for acc in spec.get("accounts", []):
        per_day = float(acc.get("protected_consumption_t_per_year", 0)) / 365.0
        qty = inventory_t.get(acc["mineral"], 0.0)
        out[acc["mineral"]] = qty / per_day if per_day > 0 else None
    return out


@router.get("/stockpiles", response_class=HTMLResponse, response_model=None)
def stockpiles_page(request: Request) -> Response:
    from critmin.api.routes_stockpile import stockpile_dict

    who = _who(request)
    if who is None:
        return _login_redirect()
    q = sa.select(stockpiles)
    if not who.sees_all:
        q = q.where(stockpiles.c.member_id == (who.member_id or ""))
    with request.app.state.engine.connect() as conn:
        rows = conn.execute(q.order_by(stockpiles.c.id)).all()
        accounts = [
            stockpile_dict(conn, r)
            | {
                "cover": _days_of_cover(
                    r.spec, stockpile_dict(conn, r)["balance"].get("inventory_t", {})
                )
            }
            for r in rows
        ]
    return _page(request, who, "stockpiles.html", "Stockpile accounts", accounts=accounts)


@router.get("/contracts", response_class=HTMLResponse, response_model=None)
def contracts_page(request: Request) -> Response:
    who = _who(request)
    if who is None:
        return _login_redirect()
    q = sa.select(contracts)
    if not who.sees_all:
        q = q.where(contracts.c.member_id == (who.member_id or ""))
    with request.app.state.engine.connect() as conn:
        rows = conn.execute(q.order_by(contracts.c.id)).all()
        items = []
        for r in rows:
            st = conn.execute(
                sa.select(statements)
                .where(statements.c.contract_id == r.id)
                .order_by(statements.c.id.desc())
                .limit(1)
            ).first()
            items.append(
                {
                    "id": r.id,
                    "name": r.name,
                    "member_id": r.member_id,
                    "spec": r.spec,
                    "statement": st.result if st is not None else None,
                }
            )
    return _page(request, who, "contracts.html", "Contracts and statements", items=items)


@router.get("/lots", response_class=HTMLResponse, response_model=None)
def lots_page(request: Request) -> Response:
    who = _who(request)
    if who is None:
        return _login_redirect()
    q = sa.select(lots)
    if not who.sees_all:
        q = q.where(lots.c.member_id == (who.member_id or ""))
    with request.app.state.engine.connect() as conn:
        rows = conn.execute(q.order_by(lots.c.id)).all()
    return _page(request, who, "lots.html", "Lots", rows=rows)


@router.get("/lots/{lot_id:path}", response_class=HTMLResponse, response_model=None)
def lot_page(request: Request, lot_id: str) -> Response:
    from critmin.api import engine as domain

    who = _who(request)
    if who is None:
        return _login_redirect()
    with request.app.state.engine.connect() as conn:
        row = conn.execute(
            sa.select(lots, networks.c.document)
            .join(networks, networks.c.id == lots.c.document_id)
            .where(lots.c.id == lot_id)
        ).first()
    if row is None or not who.may_see(row.member_id):
        return _not_found(request, who, f"lot {lot_id}")
    from critmin.api.routes_trace import lot_origin_of, upstream_documents

    with request.app.state.engine.connect() as conn:
        docs = upstream_documents(conn, row)
        origin = lot_origin_of(conn, who, lot_id)
    from critmin.store.schema import rulesets

    with request.app.state.engine.connect() as conn:
        rs = conn.execute(sa.select(rulesets).order_by(rulesets.c.id).limit(1)).first()
    today = dt.date.today()
    verdicts = domain.lot_verdicts(docs, lot_id, rs.spec, today) if rs is not None else None
    events = domain.lot_events(docs, lot_id)
    stages = sorted(
        {s["stage"] for s in origin["shares"]},
        key=["mine", "refining", "metal", "component", "product"].index,
    )
    countries = sorted({s["country_iso3"] for s in origin["shares"]})
    fig = _figure(
        [
            {
                "type": "bar",
                "name": c,
                "x": stages,
                "y": [
                    sum(
                        s["share_mass"]
                        for s in origin["shares"]
                        if s["stage"] == st and s["country_iso3"] == c
                    )
                    for st in stages
                ],
            }
            for c in countries
        ],
        "Origin by stage (share of mass)",
        "share",
        barmode="stack",
    )
    return _page(
        request,
        who,
        "lot.html",
        f"Lot {lot_id}",
        lot=row,
        origin=origin,
        events=events,
        fig=fig,
        verdicts=verdicts,
        ruleset=rs,
    )


@router.get("/audit-trail", response_class=HTMLResponse, response_model=None)
def audit_page(request: Request) -> Response:
    from critmin.store.audit import verify_chain

    who = _who(request)
    if who is None:
        return _login_redirect()
    if not who.has(OPERATOR, AUDITOR):
        resp = _page(
            request,
            who,
            "message.html",
            "Forbidden",
            message="The audit trail is for operators and auditors.",
        )
        resp.status_code = 403
        return resp
    with request.app.state.engine.connect() as conn:
        rows = conn.execute(sa.select(audit).order_by(audit.c.seq.desc()).limit(100)).all()
        rep = verify_chain(conn)
    return _page(request, who, "audit.html", "Audit trail", rows=rows, report=rep)
