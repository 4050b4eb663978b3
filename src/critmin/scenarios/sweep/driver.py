"""The sweep driver: batches of samples on a Dask cluster, written batch by batch.

``run_sweep`` turns a study into a design (:mod:`.design`), cuts the samples into batches of
``batch_size`` consecutive sample ids and submits one task per batch to a Dask distributed
cluster (a ``LocalCluster`` of worker processes, or any running scheduler by address), or
runs the batches one after the other in the calling process (``workers=0`` or
``scheduler=None``: no cluster, no worker to restart).
Each finished batch is written at once to ``OUT/batches/batch-NNNNNN.parquet`` (a temporary
file renamed into place, so a batch file is whole or absent). ``--resume`` reads the batch
files already there and submits only the missing batches. At the end the batches are joined,
sorted by sample id, into ``OUT/samples.parquet``; statistics go to ``OUT/summary.json``.

Fault tolerance comes from the Dask scheduler: a worker that dies has its tasks re-run
elsewhere (the nanny restarts the process). A task that has been on
``ALLOWED_FAILURES + 1`` workers that died is given up (``KilledWorker``); the driver then
re-submits that batch one sample per task, so the one sample that kills its worker is
isolated, reported as failed with its id and error, and every other sample of the batch
still counts. Python errors inside a sample never reach Dask: the evaluator records them in
the sample's row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from critmin.errors import InputError
from critmin.fileio import atomic_write, atomic_write_text
from critmin.scenarios.cluster import ALLOWED_FAILURES, connect
from critmin.scenarios.sweep.design import Design, design_size, make_design
from critmin.scenarios.sweep.evaluate import SamplePlan, base_data, evaluate_plans
from critmin.scenarios.sweep.rules import RULE_COLUMN
from critmin.scenarios.sweep.study import LoadedStudy, prepare_study

#: the worker resource that limits a worker to one sweep task at a time
SLOT = "critmin_sweep_slot"
MANIFEST = "sweep.json"
BATCH_DIR = "batches"
TABLE = "samples.parquet"


#: bytes a row of the sample table may take in the driver: the rows of its batch, the
#: Parquet table, pandas' copy, the sorted copy and a bootstrap block of 100 resamples of the
#: column (critmin.scenarios.sweep.stats), per scalar cell; a monthly value is a Python float
#: in a list (~32 bytes) in the batch rows, then a double in the table
_BYTES_PER_CELL = 64
_BYTES_PER_MONTHLY_VALUE = 48
_BYTES_PER_ROW = 1600 + 400  # bootstrap block per outcome pass + the sample's plan and id


@dataclass(frozen=True)
class SweepSize:
    """How large a sweep is, counted before its design is built."""

    scenarios: int
    policies: int
    months: int
    bytes: float

    @property
    def samples(self) -> int:
        return self.scenarios * self.policies


def sweep_size(loaded: LoadedStudy, samples: int | None = None, workers: int = 1) -> SweepSize:
    """The size of the sweep of ``loaded`` with ``samples`` samples and an upper-bound
    estimate of the memory it holds at once: the sample table in the driver, the design, and
    one sample's market run on each of ``workers`` workers of this machine."""
    from critmin.market.compile import memory_estimate
    from critmin.market.spec import Market
    from critmin.periods import month_index

    study = loaded.study
    scenarios, policies = design_size(study, samples)
    data = base_data(loaded)
    span = data.get("months") or {"start": "2026-01", "end": "2035-12"}
    months = month_index(str(span["end"])) - month_index(str(span["start"])) + 1
    monthly = sum(1 for o in study.outcomes if o.monthly)
    cells = 8 + len(study.uncertainties) + len(study.levers) + len(study.outcomes) - monthly
    per_row = _BYTES_PER_CELL * cells + _BYTES_PER_MONTHLY_VALUE * monthly * months
    rows = scenarios * policies
    design = 24.0 * scenarios * len(study.sampled_inputs()) + 100.0 * policies * len(
        study.grid_levers()
    )
    run = sum(memory_estimate(Market.model_validate(m), months) for m in data.get("markets") or [])
    total = rows * (per_row + _BYTES_PER_ROW) + design + run * max(workers, 1)
    return SweepSize(scenarios, policies, months, float(total))


def check_sweep_size(
    loaded: LoadedStudy, samples: int | None = None, workers: int = 1
) -> SweepSize:
    """:func:`sweep_size`, refused with one line when over the memory limit
    (:func:`critmin.bounds.check_memory`)."""
    from critmin.bounds import check_memory

    size = sweep_size(loaded, samples, workers)
    check_memory(
        size.bytes,
        f"{loaded.source}: the sweep ({size.scenarios:,} scenarios x {size.policies:,} "
        f"policies = {size.samples:,} samples, {size.months:,} months)",
        hint="use fewer samples, lever values or monthly outcomes",
    )
    return size


@dataclass
class SweepRun:
    """What :func:`run_sweep` did: the table, where it is, and how the time was spent."""

    table: pd.DataFrame
    out_dir: Path
    design: Design
    batches_total: int
    batches_computed: list[int]
    batches_reused: list[int]
    stopped_early: bool = False
    wall_seconds: float = 0.0
    engine_seconds: float = 0.0  # compile + run_market, summed over the computed samples
    solver_seconds: float = 0.0  # inside Highs.run()
    sample_seconds: float = 0.0  # the evaluator's whole time (scenario, engine, outcomes)
    startup_seconds: float = 0.0  # starting / connecting to the cluster
    workers: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    #: the batches ran in the calling process (``workers=0`` / ``scheduler=None``)
    in_process: bool = False
    #: the solved policy of ``stockpile_rules`` (:func:`prepare_study`), else None
    stock_rules: Any = None


def _manifest(loaded: LoadedStudy, design: Design) -> dict[str, Any]:
    study = loaded.study
    return {
        "study": loaded.source,
        "study_sha256": loaded.sha256,
        "samples": design.n_samples,
        "scenarios": design.n_scenarios,
        "policies": len(design.policies),
        "batch_size": study.batch_size,
        "sampler": study.sampler.kind,
        "seed": study.seed,
    }


def _batch_path(out: Path, b: int) -> Path:
    return out / BATCH_DIR / f"batch-{b:06d}.parquet"


def _check_resume(out: Path, manifest: dict[str, Any], resume: bool) -> None:
    path = out / MANIFEST
    if not path.exists():
        return
    try:
        old = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        old = {}
    keys = ("study_sha256", "samples", "batch_size", "seed", "sampler")
    same = all(old.get(k) == manifest[k] for k in keys)
    if not resume:
        if (out / BATCH_DIR).exists() and any((out / BATCH_DIR).iterdir()):
            raise InputError(
                "the folder already holds a sweep; pass --resume to finish it, or choose "
                "another --out",
                where=str(out),
            )
        return
    if not same:
        diff = [k for k in keys if old.get(k) != manifest[k]]
        raise InputError(
            f"--resume: the folder holds a sweep of a different study or size ({', '.join(diff)} "
            "differ); run without --resume into another --out",
            where=str(out / MANIFEST),
        )


def _read_batch(path: Path, expected: int) -> pd.DataFrame | None:
    try:
        frame = pd.read_parquet(path)
    except Exception:  # a damaged file is recomputed, not trusted
        return None
    return frame if len(frame) == expected else None


def columns(loaded: LoadedStudy) -> list[str]:
    """The table's columns in order: ids, seed, status, error, inputs, levers, outcomes."""
    study = loaded.study
    ids = ["sample_id", "scenario_id", "policy_id", "weight", "seed", "status", "error"]
    names = [i.name for i in study.uncertainties] + [lv.name for lv in study.levers]
    if study.stockpile_rules is not None:
        names.append(RULE_COLUMN)
    return ids + names + [o.name for o in study.outcomes]


def _frame(rows: list[dict[str, Any]], cols: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])
    frame = frame.reindex(columns=cols)  # a failed sample has no outcomes: NaN
    for col in frame.columns:  # monthly outcomes: plain lists (Parquet list<double>)
        if frame[col].dtype == object and len(frame) and isinstance(frame[col].iloc[0], np.ndarray):
            frame[col] = [np.asarray(v, dtype=np.float64).tolist() for v in frame[col]]
    return frame


def _write_batch(out: Path, b: int, frame: pd.DataFrame) -> None:
    def _w(tmp: Path) -> None:
        frame.to_parquet(tmp, index=False)

    atomic_write(_batch_path(out, b), _w)


def _batches(design: Design, batch_size: int) -> list[list[int]]:
    ids = list(range(design.n_samples))
    return [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]


def in_process(scheduler: str | None, workers: int, client: Any = None) -> bool:
    """Whether a sweep runs its batches in the calling process: ``scheduler=None`` (as
    ``critmin.run``'s) or ``workers=0`` (``critmin sweep --workers 0``). Contradictory
    choices are refused in one line: ``workers=0`` with a scheduler's address, or either
    in-process choice with a ``client``."""
    inline = scheduler is None or workers == 0
    if workers < 0:
        raise InputError(f"--workers {workers}: expected 0 (in this process) or more")
    if workers == 0 and scheduler not in (None, "local"):
        raise InputError(
            f"--workers 0 runs the samples in this process: give it without --scheduler {scheduler}"
        )
    if inline and client is not None:
        raise InputError(
            "client= runs the samples on that client's cluster: give it without "
            "scheduler=None or workers=0 (in this process)"
        )
    return inline


def _client(scheduler: str, workers: int) -> tuple[Any, Any]:
    """(client, cluster or None): the scheduler option shared with ``critmin run``, each local
    worker offering one sample slot."""
    # one task at a time per worker (tasks ask for the slot): a worker that dies then takes
    # only the task it was running into Dask's count of suspects, not tasks merely queued on
    # it, so a sample that kills workers is the one blamed
    return connect(scheduler, workers, resources={SLOT: 1})


# resume, the batch loop with its stop rule and the write-out share their state; to be split
# long: into a class holding that state
def run_sweep(  # noqa: PLR0912, PLR0915
    loaded: LoadedStudy,
    out: Path,
    *,
    samples: int | None = None,
    scheduler: str | None = "local",
    workers: int = 2,
    resume: bool = False,
    order: Sequence[int] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    client: Any = None,
    time_limit_s: float = 0.0,
    table_path: Path | None = None,
) -> SweepRun:
    """Run (or finish, with ``resume``) the sweep of ``loaded`` into ``out``.

    ``scheduler``: ``"local"`` (a LocalCluster of ``workers`` processes), a scheduler's
    address, or None; None or ``workers=0``: the batches run one after the other in this
    process (:func:`in_process`), the same evaluator on the same plans, so the same table.
    ``order`` permutes the submission order of the batches (tests: the table must not
    change); ``on_batch(done_samples, total_samples)`` is called as batches finish;
    ``client``: an existing Dask client to use instead of starting one; ``time_limit_s``:
    the solving budget of each chain of each sample (0: none; a sample over it fails);
    ``table_path``: where the sample table goes (default ``out/samples.parquet``; the CLI
    gives its output set's staging folder, so the table, summary and report appear together).
    """
    t_start = time.perf_counter()
    inline = in_process(scheduler, workers, client)
    study = loaded.study
    check_sweep_size(loaded, samples, workers if client is None and scheduler == "local" else 1)
    loaded = prepare_study(loaded)  # the CLI has done it already, with a progress bar
    design = make_design(study, samples)
    manifest = _manifest(loaded, design)
    out.mkdir(parents=True, exist_ok=True)
    _check_resume(out, manifest, resume)
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    (out / BATCH_DIR).mkdir(exist_ok=True)
    batches = _batches(design, study.batch_size)
    cols = columns(loaded)
    frames: dict[int, pd.DataFrame] = {}
    reused: list[int] = []
    if resume:
        for b, ids in enumerate(batches):
            got = _read_batch(_batch_path(out, b), len(ids))
            if got is not None:
                frames[b] = got
                reused.append(b)
    todo = [b for b in range(len(batches)) if b not in frames]
    if order is not None:
        rank = {b: i for i, b in enumerate(order)}
        todo.sort(key=lambda b: rank.get(b, len(rank) + b))
    total = design.n_samples
    done = sum(len(batches[b]) for b in frames)
    if on_batch is not None:
        on_batch(done, total)
    engine = solver = sample_s = startup = 0.0
    computed: list[int] = []
    stopped = False
    stop_at: int | None = None
    watch = _StopWatch(study.stop) if study.stop is not None else None
    own_client = client is None
    cluster = None
    n_workers = 0

    def finished(b: int, rows: list[dict[str, Any]]) -> bool:
        """Book a finished batch (times, its file, progress); True when the stop rule is met."""
        nonlocal engine, solver, sample_s, done, stop_at
        engine += sum(float(r.get("_engine_s", 0.0)) for r in rows)
        solver += sum(float(r.get("_solver_s", 0.0)) for r in rows)
        sample_s += sum(float(r.get("_sample_s", 0.0)) for r in rows)
        frame = _frame(rows, cols)
        _write_batch(out, b, frame)
        frames[b] = frame
        computed.append(b)
        done += len(rows)
        if on_batch is not None:
            on_batch(done, total)
        if watch is not None:
            stop_at = watch.update(frames)
        return stop_at is not None

    if todo and inline:
        stopped = _run_inline(
            loaded, design, [(b, batches[b]) for b in todo], time_limit_s, finished
        )
    elif todo:
        from distributed import as_completed
        from distributed.client import FutureCancelledError

        if own_client:
            assert scheduler is not None  # (None runs in this process: in_process)
            t0 = time.perf_counter()
            client, cluster = _client(scheduler, workers)
            startup = time.perf_counter() - t0
        try:
            info = client.scheduler_info(n_workers=-1).get("workers", {})
            n_workers = len(info)
            # a remote cluster's workers started with --resources critmin_sweep_slot=1 get the
            # same one-task-at-a-time guarantee; without it tasks are not restricted
            slots = bool(info) and all(SLOT in w.get("resources", {}) for w in info.values())
            restrict = {"resources": {SLOT: 1}} if slots else {}
            args = (loaded, base_data(loaded))
            key = loaded.sha256[:12]

            def submit(plans: list[SamplePlan], tag: str) -> Any:
                return client.submit(
                    evaluate_plans,
                    *args,
                    plans,
                    key=f"critmin-sweep-{key}-{tag}",
                    pure=False,
                    time_limit_s=time_limit_s,
                    **restrict,
                )

            # a future's tag: its batch, or ("single", batch, sample id) after a batch was split
            futures: dict[Any, int | tuple[str, int, int]] = {
                submit([design.plan(i) for i in batches[b]], f"b{b}"): b for b in todo
            }
            singles: dict[int, dict[int, Any]] = {}  # batch -> sample id -> row
            pending_single: dict[int, int] = {}  # batch -> samples still out
            # a given-up batch's samples run one after another: run side by side, a sample
            # queued behind the poison one on its (restarting) worker was counted as a suspect
            # of that worker's deaths and could be reported failed with it (seen in the slow
            # test under load); the worker's resource slot does not stop Dask sending it there
            next_single: dict[int, list[int]] = {}  # batch -> samples not yet submitted

            def submit_single(b: int) -> None:
                i = next_single[b].pop(0)
                f2 = submit([design.plan(i)], f"b{b}-s{i}")
                futures[f2] = ("single", b, i)
                queue.add(f2)

            queue = as_completed(list(futures))
            for fut in queue:
                tag = futures[fut]
                rows: list[dict[str, Any]] | None = None
                try:
                    result = fut.result()
                except FutureCancelledError:
                    continue
                except Exception as exc:
                    if isinstance(tag, int):  # a whole batch given up: one sample per task
                        singles[tag] = {}
                        pending_single[tag] = len(batches[tag])
                        next_single[tag] = list(batches[tag])
                        submit_single(tag)
                        continue
                    _, b, i = tag
                    plan = design.plan(i)
                    result = [_crashed_row(plan, exc)]
                if isinstance(tag, tuple):
                    _, b, i = tag
                    singles[b][i] = result[0]
                    pending_single[b] -= 1
                    if pending_single[b]:
                        submit_single(b)
                        continue
                    rows = [singles[b][i] for i in batches[b]]
                else:
                    b, rows = tag, result
                if finished(b, rows):
                    stopped = True
                    for f in futures:
                        f.cancel()
                    break
        finally:
            if own_client:
                client.close()
                if cluster is not None:
                    cluster.close()
    if stopped and stop_at is not None:
        # keep the first stop_at batches only: the smallest prefix of the design that meets
        # the target, the same however the batches finished
        keep = stop_at
        for b in list(frames):
            if b >= keep:
                frames.pop(b)
                _batch_path(out, b).unlink(missing_ok=True)
                if b in computed:
                    computed.remove(b)
    if not stopped and len(frames) < len(batches):  # pragma: no cover - defensive
        missing = sorted(set(range(len(batches))) - set(frames))
        raise InputError(f"batches {missing} did not finish; run again with --resume")
    table = pd.concat([frames[b] for b in sorted(frames)], ignore_index=True)
    table = table.sort_values("sample_id", kind="stable").reset_index(drop=True)

    def _w(tmp: Path) -> None:
        table.to_parquet(tmp, index=False)

    table_path = out / TABLE if table_path is None else table_path
    atomic_write(table_path, _w)
    # the table as written (a monthly outcome reads back as arrays, however it was built)
    table = pd.read_parquet(table_path)
    failed = [
        {"sample_id": int(sid), "error": str(err)}
        for sid, status, err in zip(
            table["sample_id"], table["status"], table["error"], strict=True
        )
        if status != "ok"
    ]
    return SweepRun(
        table=table,
        out_dir=out,
        design=design,
        batches_total=len(batches),
        batches_computed=sorted(computed),
        batches_reused=reused,
        stopped_early=stopped,
        wall_seconds=time.perf_counter() - t_start,
        engine_seconds=engine,
        solver_seconds=solver,
        sample_seconds=sample_s,
        startup_seconds=startup,
        workers=n_workers,
        failed=failed,
        stock_rules=loaded.stock_rules,
        in_process=inline,
    )


def _run_inline(
    loaded: LoadedStudy,
    design: Design,
    todo: list[tuple[int, list[int]]],
    time_limit_s: float,
    finished: Callable[[int, list[dict[str, Any]]], bool],
) -> bool:
    """The batches ``todo`` (batch, sample ids) one after the other in this process, each
    handed to ``finished`` as it ends; True when the stop rule ended the sweep early.

    The evaluator is the workers' (:func:`evaluate_plans`, which records a sample's error in
    its row, with the same time budget per chain); the runs a batch shared go to the next
    batch, as on a worker. An exception that escapes it (an engine bug outside a sample)
    is met as a given-up batch is on a cluster: the batch's samples run one by one, and the
    one that raises is reported failed with the error. What no process can survive (a
    crash in native code, a kill) ends the calling process: a cluster is the choice for
    untrusted studies."""
    from critmin.scenarios.sweep.evaluate import SharedRuns

    shared = SharedRuns()
    args = (loaded, base_data(loaded))
    for b, ids in todo:
        try:
            rows = evaluate_plans(
                *args, [design.plan(i) for i in ids], time_limit_s=time_limit_s, shared=shared
            )
        except Exception:
            rows = []
            for i in ids:
                plan = design.plan(i)
                try:
                    rows += evaluate_plans(*args, [plan], time_limit_s=time_limit_s)
                except Exception as exc:
                    rows.append(_raised_row(plan, exc))
        if finished(b, rows):
            return True
    return False


def _raised_row(plan: SamplePlan, exc: BaseException) -> dict[str, Any]:
    return {
        **_crashed_row(plan, exc),
        "error": f"{type(exc).__name__}: {exc} (raised outside the sample's own checks)",
    }


def _crashed_row(plan: SamplePlan, exc: BaseException) -> dict[str, Any]:
    return {
        "sample_id": plan.sample_id,
        "scenario_id": plan.scenario_id,
        "policy_id": plan.policy_id,
        "weight": plan.weight,
        "seed": plan.seed,
        **plan.values,
        "status": "failed",
        "error": f"{type(exc).__name__}: the sample killed its worker process "
        f"{ALLOWED_FAILURES + 1} times ({exc})",
    }


def _prefix(frames: dict[int, pd.DataFrame], n: int) -> int:
    k = 0
    while k < n and k in frames:
        k += 1
    return k


class _StopWatch:
    """Finds the smallest k such that batches 0..k-1 are done and meet the stop rule's
    relative-standard-error target; each batch of the prefix is added once (running sums)."""

    def __init__(self, stop: Any) -> None:
        self.stop = stop
        self.k = 0  # batches of the prefix already added
        self.n = 0  # ok samples in them
        self.sums = dict.fromkeys(stop.outcomes, 0.0)
        self.squares = dict.fromkeys(stop.outcomes, 0.0)

    def _met(self) -> bool:
        if self.n < max(self.stop.min_samples, 2):
            return False
        for name in self.stop.outcomes:
            mean = self.sums[name] / self.n
            var = max(self.squares[name] - self.n * mean * mean, 0.0) / (self.n - 1)
            sd = var**0.5
            if sd == 0.0:
                continue
            if mean == 0.0 or sd / (self.n**0.5 * abs(mean)) >= self.stop.rse:
                return False
        return True

    def update(self, frames: dict[int, pd.DataFrame]) -> int | None:
        while self.k in frames:
            frame = frames[self.k]
            self.k += 1
            ok = frame[frame["status"] == "ok"]
            self.n += len(ok)
            for name in self.stop.outcomes:
                x = ok[name].to_numpy(dtype=np.float64)
                self.sums[name] += float(x.sum())
                self.squares[name] += float((x * x).sum())
            if self._met():
                return self.k
        return None
