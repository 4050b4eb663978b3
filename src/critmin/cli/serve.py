"""CLI group ``serve``: run the registry service, check its audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from critmin.cli import app
from critmin.errors import InputError

serve_app = typer.Typer(
    help="The registry service (HTTP API + dashboard) on SQLite or PostgreSQL.",
    invoke_without_command=True,
)
app.add_typer(serve_app, name="serve")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL (default: sqlite file critmin-registry.sqlite3 in the working "
        "folder; e.g. postgresql+psycopg://user@host/db)",
    ),
]


def _url(db: str | None) -> str:
    from critmin.store import sqlite_url_for

    if db is None:
        return sqlite_url_for(Path.cwd())
    if not db.startswith(("sqlite", "postgresql")):
        raise InputError(
            f"expected a sqlite:/// or postgresql+psycopg:// URL, got {db!r}", where="--db"
        )
    return db


def _open(db: str | None) -> object:
    import sqlalchemy as sa

    from critmin.store import open_store

    url = _url(db)
    try:
        return open_store(url)
    except ImportError as exc:  # the PostgreSQL driver is an optional install
        raise InputError(
            f"no database driver for {url.split(':', 1)[0]!r} ({exc.name} is not installed); "
            "run `make .venv/.installed-postgres` or pip install -r requirements-postgres.lock",
            where="--db",
        ) from None
    except sa.exc.OperationalError as exc:
        # the driver's message can span lines; the CLI's contract is one line
        reason = " ".join(str(exc.orig).split())
        raise InputError(f"cannot open the database: {reason}", where="--db") from None
    except sa.exc.SQLAlchemyError as exc:
        raise InputError(f"cannot open the database: {exc}", where="--db") from None


def _check_port(host: str, port: int) -> None:
    """Fail before touching the database when the address is taken (uvicorn would log an
    error and exit 3 after the start-up banner)."""
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port or --host",
            where="--port",
        ) from None
    except (ValueError, TypeError) as exc:  # a NUL in the host, a label over 63 characters
        raise InputError(
            f"cannot listen on {host[:80]!r}: {exc}; expected a host name or IP address",
            where="--host",
        ) from None


@serve_app.callback()
def serve(
    ctx: typer.Context,
    *,
    host: Annotated[str, typer.Option("--host", help="interface to listen on")] = "127.0.0.1",
    # 0 would let the OS pick a port the banner cannot name; > 65535 is OverflowError in bind
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port")] = 8714,
    db: DbOption = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="seed the demonstration registry (once) and print tokens")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1, max=64, help="worker processes (one per core on a server)"
        ),
    ] = 1,
) -> None:
    """Start the service (creates and migrates the database on first start)."""
    if ctx.invoked_subcommand is not None:
        return
    import sqlalchemy as sa
    import uvicorn

    from critmin.api.app import create_app
    from critmin.api.demo import seed_demo

    _check_port(host, port)
    engine = _open(db)
    assert isinstance(engine, sa.Engine)
    if demo:
        try:
            tokens = seed_demo(engine)
        except RuntimeError as exc:
            raise InputError(str(exc), where="--demo") from None
        typer.echo(f"demonstration registry seeded; operator token: {tokens['operator']}")
        for name, token in tokens.items():
            if name != "operator":
                typer.echo(f"  {name}: {token}")
    typer.echo(f"critmin registry on http://{host}:{port}/ (API /v1, docs /docs, dashboard /)")
    if workers == 1:
        uvicorn.run(create_app(engine), host=host, port=port, log_level="warning")
        return
    # several processes: each builds its app from the URL (the database is already migrated)
    import os

    engine.dispose()
    os.environ["CRITMIN_SERVE_DB"] = engine.url.render_as_string(hide_password=False)
    uvicorn.run(
        "critmin.api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


@serve_app.command("verify-audit")
def verify_audit(db: DbOption = None) -> None:
    """Recompute the audit trail's hash chain; exit 1 when a row was altered or removed."""
    import sqlalchemy as sa

    from critmin.store.audit import verify_chain

    engine = _open(db)
    assert isinstance(engine, sa.Engine)
    with engine.connect() as conn:
        rep = verify_chain(conn)
    for p in rep.problems:
        typer.echo(p)
    typer.echo(
        f"{rep.rows} audit rows, head sha256 {rep.head_sha256}: {'ok' if rep.ok else 'TAMPERED'}"
    )
    if not rep.ok:
        raise typer.Exit(1)
