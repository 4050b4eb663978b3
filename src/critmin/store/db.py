"""Engines and migrations: SQLite (WAL, one writer at a time) or PostgreSQL.

SQLite is opened in WAL mode with ``synchronous=FULL`` (a commit is on disk before it is
acknowledged, so a SIGKILL or power loss after a 2xx loses nothing) and every transaction
starts with ``BEGIN IMMEDIATE``: the write lock is taken at the start, so two concurrent
writers queue on ``busy_timeout`` instead of one failing with "database is locked" when it
upgrades a read lock. On both databases the idempotent writes go through one group commit
per process (:func:`run_write`); on PostgreSQL every write transaction takes the audit
chain's advisory lock first (:func:`critmin.store.audit.lock_chain`).
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import threading
import weakref
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

DEFAULT_SQLITE_NAME = "critmin-registry.sqlite3"
BUSY_TIMEOUT_MS = 30_000
SQLITE_POOL_SIZE = 48


class _WriterLock:
    """One SQLite writer at a time, in arrival order, across threads *and processes*.

    Within a process a :class:`threading.Lock`; across the worker processes of
    ``critmin serve --workers N`` an exclusive ``flock`` on ``<database>-writer.lock``
    beside the database. Without the second, writers of two processes met only in SQLite's
    busy handler, which polls with growing sleeps (up to 100 ms): a writer could wait a
    second or more behind later arrivals, which was the 0.7-1.6 s write p99 with two workers.
    A blocked ``flock`` sleeps in the kernel and wakes when the holder releases it. The
    lock file holds nothing; deleting it between runs is harmless."""

    def __init__(self, database: Path | None) -> None:
        self._thread_lock = threading.Lock()
        self._path = None if database is None else Path(f"{database}-writer.lock")
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        if self._path is None:
            return
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


class JsonText(str):
    """JSON text already serialised by the caller, written to a JSON column as it is.

    A JSON column's bind processor serialises its value; a declaration's assessment was
    serialised again for each place it goes (its row, the audit row's hash and column, the
    idempotency record, the response). Engines made by
    :func:`make_engine` write a ``JsonText`` unchanged (:func:`json_serializer`); use
    :func:`json_value` to pass one, so that an engine made elsewhere gets the parsed value."""


def json_serializer(value: Any) -> str:
    """The JSON columns' serialiser of :func:`make_engine`'s engines: ``json.dumps``, except
    that a :class:`JsonText` is written as it is."""
    if isinstance(value, JsonText):
        return str(value)
    return json.dumps(value)


def json_value(conn: sa.Connection, text: str) -> Any:
    """``text`` (serialised JSON) as a JSON column's bind value on ``conn``: a
    :class:`JsonText` when the engine writes it unchanged, else the parsed value."""
    if getattr(conn.dialect, "_json_serializer", None) is json_serializer:
        return JsonText(text)
    return json.loads(text)


def insert_row(conn: sa.Connection, table: sa.Table, **values: Any) -> sa.Row[Any]:
    """Insert one row and read it back as stored (defaults and the generated primary key
    included): what every registering endpoint answers with."""
    res = conn.execute(table.insert().values(**values))
    pk = res.inserted_primary_key
    assert pk is not None
    key = next(iter(table.primary_key.columns))
    return conn.execute(sa.select(table).where(key == pk[0])).one()


def sqlite_url_for(folder: Path) -> str:
    """The default database: a SQLite file in ``folder`` (the working folder)."""
    return f"sqlite:///{(folder / DEFAULT_SQLITE_NAME).resolve()}"


def _sqlite_setup(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred)
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # readers take no lock (WAL gives them a snapshot); writers take it up front
        immediate = conn.get_execution_options().get("critmin_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_tx(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A write transaction: committed on success, rolled back on any exception.

    On SQLite it starts with ``BEGIN IMMEDIATE`` (see the module docstring); readers use
    ``engine.connect()`` and start a deferred transaction.
    """
    if engine.dialect.name != "sqlite":
        from critmin.store.audit import lock_chain

        with engine.connect() as raw, raw.begin():
            lock_chain(raw)
            yield raw
        return
    # one writer at a time per process, queued in order on a Python lock: SQLite's own busy
    # handler polls with growing sleeps, which lets an unlucky writer wait a second or more
    # behind later arrivals; across processes the busy handler still arbitrates
    with _writer_lock(engine), engine.connect() as raw:
        conn = raw.execution_options(critmin_write=True)
        with conn.begin():
            yield conn


@contextmanager
def read_connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection for reads outside any write transaction, such as a declaration's
    assessment inputs (its price and the FORGE memberships).

    On PostgreSQL it is in autocommit: each statement reads the newest committed data, which
    is what a READ COMMITTED transaction gives each of its statements too, without its
    ``BEGIN`` and ``ROLLBACK`` round trips (a declaration's read of its price and memberships
    took 0.40 ms of the service's CPU and 0.33 ms of PostgreSQL's with them, 0.30 and 0.13
    without; in-process loop). On SQLite a deferred transaction (one WAL snapshot), as
    ``engine.connect()`` gives."""
    if engine.dialect.name != "postgresql":
        with engine.connect() as conn:
            yield conn
        return
    with engine.connect() as raw:
        yield raw.execution_options(isolation_level="AUTOCOMMIT")


T = TypeVar("T")


def run_write(
    engine: sa.Engine,
    fn: Callable[[sa.Connection], T],
    *,
    prepare: Sequence[Prepare] = (),
    defer_inserts: bool = False,
) -> T:
    """Run ``fn(conn)`` in a write transaction and return its result once it is committed;
    an exception from ``fn`` rolls back ``fn``'s writes and is raised here.

    ``prepare = [(hook, arg), ...]``: before the batch's functions run, ``hook(conn, [arg,
    ...])`` is called once with the args of every function of the batch that named that hook (one
    statement for the batch instead of one per function: the idempotency keys' lookup, the
    new rows' ids; :func:`batch_memo`). ``defer_inserts``: ``fn`` writes only through
    :func:`insert_later` and reads nothing those rows change (see there).

    On SQLite the transaction is shared (group commit, :class:`GroupCommitter`): SQLite takes
    one writer at a time and, with ``synchronous=FULL``, a commit costs an fsync of the WAL
    (~5 ms on the build machine's disk, more than the rest of a declaration), so writers that
    arrive while a commit is on disk are committed together by the next one. Each is still
    acknowledged only after the commit that holds it.

    On PostgreSQL the same: every write appends to the audit chain, whose advisory lock is
    held from the append to the commit (with its WAL flush), so writers were serialised
    through their commit anyway, one fsync each (136-224 writes/s); a batch takes the lock
    once, first (:func:`critmin.store.audit.lock_chain`), and flushes once."""
    with _LOCKS_GUARD:
        committer = _COMMITTERS.get(engine)
        if committer is None:
            committer = _COMMITTERS[engine] = GroupCommitter(engine)
    return committer.run(fn, prepare, defer_inserts)


#: ``(hook, arg)`` of :func:`run_write`
Prepare = tuple[Callable[[sa.Connection, list[Any]], None], Any]
_Item = tuple[Callable[[sa.Connection], Any], "Future[Any]", Sequence[Prepare], bool]


class _Batch:
    """A group commit's state on its connection (``conn.info``) while its transaction runs:
    the rows :func:`insert_later` holds back (per table, in arrival order) and the memo the
    prepare hooks fill (:func:`batch_memo`)."""

    __slots__ = ("deferring", "memo", "rows")

    def __init__(self) -> None:
        self.rows: dict[sa.Table, list[dict[str, Any]]] = {}
        self.memo: dict[Hashable, Any] = {}
        self.deferring = False

    def flush(self, conn: sa.Connection) -> None:
        """Insert the held-back rows: one executemany per table, in the order the tables
        were first written; on psycopg all of them in one pipeline (one round trip for the
        batch's rows; its errors are the driver's, unwrapped: the batch then runs again
        with nothing held back)."""
        rows, self.rows = self.rows, {}
        if not rows:
            return
        driver = conn.connection.driver_connection
        pipeline = getattr(driver, "pipeline", None) if conn.dialect.driver == "psycopg" else None
        with pipeline() if pipeline is not None else nullcontext():
            for table, values in rows.items():
                conn.execute(table.insert(), values)


_BATCH_KEY = "critmin_group_commit"


def _batch(conn: sa.Connection) -> _Batch | None:
    batch: _Batch | None = conn.info.get(_BATCH_KEY)
    return batch


def batch_memo(conn: sa.Connection) -> dict[Hashable, Any] | None:
    """The running group commit's memo (None outside one): what a prepare hook of
    :func:`run_write` looked up for the whole batch, for the batch's functions to use
    instead of a statement each. Cleared when a function's savepoint rolls back (what it
    held may describe rows that are gone), so every reader needs a fallback."""
    batch = _batch(conn)
    return None if batch is None else batch.memo


def insert_later(conn: sa.Connection, table: sa.Table, values: dict[str, Any]) -> None:
    """Insert one row into ``table``: now, or, inside a group commit's function submitted
    with ``defer_inserts``, together with the batch's other rows for ``table`` just before
    the commit (:meth:`_Batch.flush`; also before the next function that did not ask for
    it, so that one sees them). The row is as durable as one inserted now (nobody is
    answered before the commit); the function must not read back what it held back."""
    batch = _batch(conn)
    if batch is not None and batch.deferring:
        batch.rows.setdefault(table, []).append(values)
    else:
        conn.execute(table.insert(), values)


def reserve_ids(conn: sa.Connection, table: sa.Table, n: int) -> None:
    """Reserve ``n`` new values of ``table``'s integer primary key ``id`` for this batch's
    functions (:func:`next_id`): on PostgreSQL from its sequence in one statement, on
    SQLite after the largest id (the writer holds the database's write lock, so nobody else
    takes one; held-back rows are counted). Unused reserved ids are gaps, as a rolled-back
    insert leaves on PostgreSQL."""
    memo = batch_memo(conn)
    if memo is None or n <= 0:
        return
    ids: deque[int] = memo.setdefault(("ids", table.name), deque())
    if conn.dialect.name == "postgresql":
        got = conn.execute(
            sa.text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": n},
        ).scalars()
        ids.extend(int(i) for i in got)
        return
    top = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
    start = max(int(top), memo.get(("last_id", table.name), 0)) + 1
    ids.extend(range(start, start + n))
    memo[("last_id", table.name)] = start + n - 1


def next_id(conn: sa.Connection, table: sa.Table) -> int | None:
    """A reserved id for a new row of ``table`` (:func:`reserve_ids`), or None when none is
    left: then insert now and let the database choose."""
    memo = batch_memo(conn)
    ids = None if memo is None else memo.get(("ids", table.name))
    return ids.popleft() if ids else None


class GroupCommitter:
    """One writer thread per process and database that runs queued write functions in
    one transaction (``BEGIN IMMEDIATE`` on SQLite, the audit chain's lock first on
    PostgreSQL) and commits once: the batch runs without savepoints, and only when one of
    its functions fails, again with a savepoint each.

    Semantics equal one transaction per function run one after the other: each function sees
    the writes of those before it in the batch (the audit chain links through them); a
    function that raises has its savepoint rolled back and gets its exception, the others are
    unaffected; nobody is answered before the commit, so an acknowledged write is on disk and
    a crash before the commit loses only unacknowledged ones. A failed commit fails every
    function of the batch. The thread stops after 2 s without work and restarts on demand."""

    MAX_BATCH = 64
    IDLE_S = 2.0

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = weakref.ref(engine)
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False

    def run(
        self,
        fn: Callable[[sa.Connection], T],
        prepare: Sequence[Prepare] = (),
        defer_inserts: bool = False,
    ) -> T:
        fut: Future[T] = Future()
        with self._lock:
            self._queue.put((fn, fut, prepare, defer_inserts))
            if not self._running:
                self._running = True
                threading.Thread(
                    target=self._loop, name="critmin-group-commit", daemon=True
                ).start()
        return fut.result()

    def _loop(self) -> None:
        # the writer keeps its connection from one batch to the next while writes keep
        # coming: a checkout per batch cost a round trip on PostgreSQL (the pool's
        # pre-ping); returned when the queue is empty, dropped after a failed batch
        raw: sa.Connection | None = None
        try:
            while True:
                try:
                    first = self._queue.get(timeout=self.IDLE_S)
                except queue.Empty:
                    with self._lock:
                        if self._queue.empty():
                            self._running = False
                            return
                    continue
                batch = [first]
                while len(batch) < self.MAX_BATCH:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                raw = self._commit(batch, raw)
        except BaseException:
            with self._lock:  # never a live-looking writer that is gone: the next run restarts
                self._running = False
            raise
        finally:
            if raw is not None:
                raw.close()

    def _commit(self, batch: list[_Item], raw: sa.Connection | None) -> sa.Connection | None:
        """Run and commit ``batch`` on ``raw`` (or a new connection); answer every function.
        Returns the connection for the next batch, None after a failure."""
        engine = self._engine()
        try:
            if engine is None:
                raise RuntimeError("the registry's database engine is gone")
            if raw is None:
                raw = engine.connect()
            try:
                # optimistic: the whole batch without savepoints (two statements and their
                # SQLAlchemy bookkeeping less per write) and with the held-back rows; any
                # function failing rolls it all back and the batch runs again with a
                # savepoint each and nothing held back, below
                done = self._transaction(engine, raw, batch, savepoints=False)
            except _BatchFailed:
                done = self._transaction(engine, raw, batch, savepoints=True)
        except BaseException as exc:
            if raw is not None:
                raw.close()
            for _fn, fut, _prep, _defer in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return None
        if self._queue.empty():
            # nothing waiting: back to the pool *before* anyone is answered (a caller may
            # dispose of the engine as soon as its write returns)
            raw.close()
            raw = None
        for fut, result, error in done:
            if error is not None:
                fut.set_exception(error)
            else:
                fut.set_result(result)
        return raw

    @staticmethod
    def _transaction(
        engine: sa.Engine, raw: sa.Connection, batch: list[_Item], *, savepoints: bool
    ) -> list[tuple[Future[Any], Any, BaseException | None]]:
        from critmin.store.audit import forget_head, lock_chain

        done: list[tuple[Future[Any], Any, BaseException | None]] = []
        state = _Batch()
        with _writer_lock(engine):
            conn = raw.execution_options(critmin_write=True)
            conn.info[_BATCH_KEY] = state
            try:
                with conn.begin():
                    lock_chain(conn)  # PostgreSQL: the chain's lock first (SQLite: IMMEDIATE)
                    hooks: dict[Any, list[Any]] = {}
                    for _fn, _fut, preps, _defer in batch:
                        for hook, arg in preps:
                            hooks.setdefault(hook, []).append(arg)
                    for hook, args in hooks.items():
                        hook(conn, args)
                    if len(batch) == 1 and not savepoints:
                        # alone: its own error rolls back all and is its answer; only a
                        # failure of its held-back rows runs it again (an exact error)
                        fn, fut, _prep, defer = batch[0]
                        state.deferring = defer
                        done.append((fut, fn(conn), None))
                        try:
                            state.flush(conn)
                        except Exception as exc:
                            raise _BatchFailed from exc
                    elif not savepoints:
                        try:
                            for fn, fut, _prep, defer in batch:
                                if not defer:  # it may read what the others held back
                                    state.flush(conn)
                                state.deferring = defer
                                done.append((fut, fn(conn), None))
                            state.flush(conn)
                        except Exception as exc:
                            raise _BatchFailed from exc
                    else:  # nothing held back: each function's rows inside its savepoint
                        for fn, fut, _prep, _defer in batch:
                            try:
                                with conn.begin_nested():
                                    done.append((fut, fn(conn), None))
                            except Exception as exc:
                                forget_head(conn)  # its audit row, if any, is rolled back
                                state.memo.clear()
                                done.append((fut, None, exc))
            finally:
                del conn.info[_BATCH_KEY]
        return done


class _BatchFailed(Exception):
    """A function of a batch run without savepoints failed: run the batch again with them."""


_COMMITTERS: weakref.WeakKeyDictionary[sa.Engine, GroupCommitter] = weakref.WeakKeyDictionary()
_WRITER_LOCKS: dict[str, _WriterLock] = {}
_LOCKS_GUARD = threading.Lock()


def _writer_lock(engine: sa.Engine) -> _WriterLock:
    key = engine.url.render_as_string(hide_password=False)
    with _LOCKS_GUARD:
        lock = _WRITER_LOCKS.get(key)
        if lock is None:
            database = engine.url.database or ""
            on_disk = (
                engine.dialect.name == "sqlite"
                and database not in ("", ":memory:")
                and not database.startswith("file::")
            )
            lock = _WRITER_LOCKS[key] = _WriterLock(Path(database) if on_disk else None)
        return lock


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url`` with the settings above (no migration)."""
    if url.startswith("sqlite"):
        # a pool as large as the request thread pool (40) plus the writer: with the default
        # 5 + 10 overflow, 32 concurrent requests opened and closed a connection (and its
        # four PRAGMAs and WAL index mapping) for most requests
        database = sa.engine.make_url(url).database
        in_memory = not database or database == ":memory:" or database.startswith("file::")
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_serializer=json_serializer,
            # an in-memory database is one connection per thread (SingletonThreadPool)
            **({} if in_memory else {"pool_size": SQLITE_POOL_SIZE, "max_overflow": 16}),
        )
        _sqlite_setup(engine)
        return engine
    return sa.create_engine(
        url, pool_size=20, max_overflow=20, pool_pre_ping=True, json_serializer=json_serializer
    )


def alembic_config(engine: sa.Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    # configparser interpolates "%": a socket path in the URL is percent-encoded
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Bring the database to the newest migration (creates it on first start)."""
    command.upgrade(alembic_config(engine), "head")


def open_store(url: str) -> sa.Engine:
    """Open (create, migrate) the registry database at ``url`` and return its engine."""
    from critmin.store.origins import backfill_origins

    engine = make_engine(url)
    migrate(engine)
    backfill_origins(engine)
    return engine
