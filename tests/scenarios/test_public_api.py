"""The public Python API (docs/api.md): what the README and the guide show, run as a user would.

The examples of README.md and docs/api.md are executed as written; the two-region market of
the README is checked against its hand solution; a study run in a spawned worker process is
compared bit for bit with the same study run here.
"""

from __future__ import annotations

import multiprocessing
import pickle
import re
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import critmin
import critmin.market
import critmin.scenarios
from critmin.errors import InputError, UnknownNameError
from critmin.facade import run as facade_run
from critmin.market import DemandBlock, ExportBan, Market, Route, SupplyBlock

ROOT = Path(__file__).resolve().parents[2]


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text("utf-8"), re.S)


@pytest.mark.parametrize("doc", ["README.md", "docs/api.md"])
def test_documented_examples_run(
    doc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = _python_blocks(ROOT / doc)
    assert blocks, f"{doc} has no python example"
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # the docs' relative paths
    monkeypatch.chdir(tmp_path)
    for i, block in enumerate(blocks):
        exec(compile(block, f"{doc}[python block {i}]", "exec"), {"__name__": "__doc_example__"})
    capsys.readouterr()
    if doc == "README.md":  # the README's example writes a whole output set
        out = tmp_path / "out" / "python"
        written = {p.name for p in out.iterdir()}
        assert written == {"series.parquet", "solves.parquet", "summary.json", "report.html"}


def _market(*bans: ExportBan) -> Market:
    return Market(
        mineral="ndpr_oxide",
        supply=[
            SupplyBlock(region="AUS", qty_t=100, cost_usd_per_t=50_000),
            SupplyBlock(region="CHN", qty_t=300, cost_usd_per_t=40_000),
        ],
        demand=[DemandBlock(region="JPN", qty_t=150, wtp_usd_per_t=200_000)],
        routes=[
            Route(from_="AUS", to="JPN", cost_usd_per_t=3_000),
            Route(from_="CHN", to="JPN", cost_usd_per_t=2_000),
        ],
        export_bans=list(bans),
    )


def test_python_built_study_matches_the_hand_solution() -> None:
    """The README's market, solved by hand (t and USD per month).

    Free trade: Japan's 150 t come from China, landed 40 000 + 2 000 = 42 000 $/t, below
    Australia's 50 000 + 3 000; China has spare capacity, so it sets Japan's price, 42 000.
    Ban from 2026-02: only Australia's 100 t reach Japan; the 150 t bid is short 50 t, so the
    bid's 200 000 $/t sets Japan's price and Australia's node clears at 200 000 - 3 000.
    Unserved 2 x 50 = 100 t; production 150 + 2 x 100 = 350 t against free trade's 3 x 150.
    """
    months = critmin.Months(start="2026-01", end="2026-03")
    result = critmin.run(
        critmin.Scenario(name="free", months=months, markets=[_market()]),
        critmin.Scenario(
            name="ban",
            months=months,
            markets=[_market(ExportBan(exporter="CHN", to=["JPN"], start="2026-02"))],
        ),
        baseline="free",
    )
    assert result.baseline == "free"
    japan = result.prices("ban").query("region == 'JPN'")["value"].tolist()
    assert japan == pytest.approx([42_000, 200_000, 200_000])
    aus = result.prices("ban").query("region == 'AUS'")["value"].tolist()
    assert aus[1:] == pytest.approx([197_000, 197_000])
    ban = result.scenario("ban")
    # the bid is rationed at its own price: 50 t/month physically short, in t of oxide
    assert ban.metrics.physical_shortage_t_by_product == {"ndpr_oxide": pytest.approx(100)}
    assert ban.metrics.physical_shortage_months == 2
    assert ban.comparison is not None
    assert ban.comparison.production_change_t_by_product == {"ndpr_oxide": pytest.approx(-100)}
    assert result.metrics("free").physical_shortage_t_by_product["ndpr_oxide"] == 0
    with pytest.raises(KeyError, match=r"'unserved_t' was removed: .*physical_shortage_t_by"):
        ban.metrics["unserved_t"]
    flows = result.flows("free")
    assert set(flows["region"]) == {"CHN->JPN"}
    summary_metrics = result.summary["scenarios"][1]["metrics"]
    assert ban.metrics.to_dict().items() <= summary_metrics.items()
    with pytest.raises(UnknownNameError, match="did you mean ban"):
        result.scenario("bann")


def test_metrics_object_round_trips_summary_json() -> None:
    """The typed metrics give back exactly the summary's mapping (comparison keys aside)."""
    result = critmin.run("ndpr_managed_market")
    outcome = result.scenario("managed_market")
    entry = result.summary["scenarios"][0]["metrics"]
    assert outcome.comparison is None  # one scenario, no baseline_free_trade: no comparison
    assert outcome.metrics.to_dict() == entry
    assert outcome.metrics["levy_revenue_usd"] == entry["levy_revenue_usd"]
    assert outcome.seed == 0


def test_named_baseline_must_be_in_the_study() -> None:
    with pytest.raises(UnknownNameError, match="baseline scenario 'free'"):
        critmin.run("ndpr_baseline", baseline="free")


def test_python_scenario_errors_name_the_field() -> None:
    bad = critmin.Scenario.model_validate(
        {
            "name": "typo",
            "markets": [_market().model_dump(by_alias=True)],
            "shocks": [{"kind": "outage", "region": "AUZ", "share": 0.5}],
        }
    )
    with pytest.raises(InputError, match=r"python:typo field 'shocks\[0\]\.region'.*AUS"):
        critmin.validate(bad)


def test_names_resolve_lazily_and_import_stays_light() -> None:
    for package in (critmin, critmin.market, critmin.scenarios):
        for name in package.__all__:
            assert getattr(package, name) is not None, (package.__name__, name)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        critmin.nope  # noqa: B018
    code = "import sys, critmin, critmin.market, critmin.scenarios; print(' '.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120
    )
    assert not {"pandas", "highspy", "scipy", "numpy"} & set(out.stdout.split())


def test_seed_is_a_seed_sequence_root(tmp_path: Path) -> None:
    """``seed`` is the entropy of the scenario's SeedSequence (None = 0); negatives are refused
    with the file's line, as SeedSequence would refuse them later."""
    sc = critmin.Scenario(name="s", markets=[_market()], seed=7)
    assert sc.seed_sequence().entropy == 7
    first, second = (np.random.default_rng(s) for s in sc.seed_sequence().spawn(2))
    again = np.random.default_rng(sc.seed_sequence().spawn(1)[0])
    assert first.random() == again.random() != second.random()
    assert critmin.Scenario(name="s", markets=[_market()]).seed_sequence().entropy == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: s\nseed: -1\nmarkets: []\n")
    with pytest.raises(InputError, match=r"bad\.yaml:2 field 'seed'"):
        critmin.validate(bad)


def test_study_runs_bit_for_bit_in_a_spawned_process() -> None:
    """The seed study (three scenarios, the default ``critmin run``) run in a fresh spawned
    interpreter equals the run in this process: every value bit for bit, every string, the
    whole summary but its wall-clock ``created``; the result survives pickling."""
    study = critmin.load()
    here = study.run()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        there = pool.submit(facade_run, study).result(timeout=300)
    pd.testing.assert_frame_equal(here.series, there.series, check_exact=True)
    a = here.series["value"].to_numpy()
    b = there.series["value"].to_numpy()
    assert a.tobytes() == b.tobytes()
    strip = [{k: v for k, v in r.summary.items() if k != "created"} for r in (here, there)]
    assert strip[0] == strip[1]
    assert here.scenarios == there.scenarios
    copy = pickle.loads(pickle.dumps(here))
    assert copy.scenarios == here.scenarios


def test_series_names_chain_and_product_and_old_files_still_read(tmp_path: Path) -> None:
    """The seed study's table says which chain each row belongs to (the NdPr magnet chain
    ``ndpr`` holds ``ndpr_oxide``); a file in the earlier format (``mineral`` = product id)
    reads back with ``product`` and an empty ``chain``."""
    result = critmin.run("ndpr_baseline")
    series = result.series
    assert list(series.columns[:4]) == ["scenario", "month", "chain", "product"]
    oxide = series[series["product"] == "ndpr_oxide"]
    assert set(oxide["chain"]) == {"ndpr"}
    assert {"ndpr", "dysprosium_oxide", "terbium_oxide"} <= set(series["chain"])
    old = series.drop(columns="chain").rename(columns={"product": "mineral"})
    path = tmp_path / "old.parquet"
    old.to_parquet(path, index=False)
    back = critmin.read_series(path)
    assert list(back.columns) == list(series.columns)
    assert back["product"].tolist() == series["product"].tolist()
    assert set(back["chain"]) == {""}
    assert back["value"].tolist() == series["value"].tolist()


def test_series_reads_with_categorical_labels_as_the_same_table(tmp_path: Path) -> None:
    """``critmin.read_series(path, categorical=True)`` (docs/api.md, "Label columns") is the
    table ``read_series(path)`` gives, its label columns as ordered categoricals with sorted
    categories: cast back to ``str`` it equals the plain read; a month range, a sort and a
    group-by select the same rows in the same order; the comparison with the baseline and the
    solve-status join give the same figures; a file of the earlier format reads this way too."""
    result = critmin.run("ndpr_baseline", "ndpr_managed_market")
    critmin.write(result, tmp_path, report=False)
    path = tmp_path / "series.parquet"
    plain = critmin.read_series(path)
    cat = critmin.read_series(path, categorical=True)
    labels = [c for c in plain.columns if c != "value"]
    for name in labels:
        dtype = cat[name].dtype
        assert isinstance(dtype, pd.CategoricalDtype), name
        assert dtype.ordered, name
        assert list(dtype.categories) == sorted(set(plain[name])), name
    pd.testing.assert_frame_equal(cat.astype(dict.fromkeys(labels, "str")), plain)
    late = cat["month"] >= "2027-07"
    assert 0 < late.sum() < len(late)
    assert late.tolist() == (plain["month"] >= "2027-07").tolist()
    order = ["region", "month", "variable"]
    assert cat.sort_values(order, kind="stable").index.equals(
        plain.sort_values(order, kind="stable").index
    )
    by_cat = cat.groupby(["product", "variable"], observed=True)["value"].sum()
    by_str = plain.groupby(["product", "variable"])["value"].sum()
    assert by_cat.to_dict() == by_str.to_dict()
    baseline = "baseline_free_trade"
    assert critmin.compare(cat, baseline) == critmin.compare(plain, baseline)
    solves = pd.read_parquet(tmp_path / "solves.parquet")
    assert critmin.join_solve_status(cat, solves)["solve_status"].equals(
        critmin.join_solve_status(plain, solves)["solve_status"]
    )
    old = plain.drop(columns="chain").rename(columns={"product": "mineral"})
    old.to_parquet(tmp_path / "old.parquet", index=False)
    back = critmin.read_series(tmp_path / "old.parquet", categorical=True)
    assert list(back.columns) == list(plain.columns)
    assert list(back["chain"].cat.categories) == [""]
    assert set(back["chain"]) == {""}
    assert back["product"].astype("str").tolist() == plain["product"].tolist()


def test_stockpile_policy_is_written_as_the_command_writes_it(tmp_path: Path) -> None:
    """``critmin.facade.write_policy`` (what ``critmin stockpile policy --out`` calls) on the
    GAMS MARKOV model's policy, solved in Python with the command's defaults (2,000 paths,
    seed 0): the same three files, byte for byte for the JSON and the CSV."""
    from critmin.facade import POLICY_FILES, write_policy
    from critmin.scenarios.sweep.dp_file import teisberg_result

    written = write_policy(teisberg_result(), tmp_path / "api")
    assert [p.name for p in written] == list(POLICY_FILES)
    cli = "from critmin.cli import main; main()"
    args = [sys.executable, "-c", cli, "stockpile", "policy", "--teisberg"]
    out = ["--out", str(tmp_path / "cli")]
    res = subprocess.run([*args, *out], capture_output=True, text=True, check=False, timeout=300)
    assert res.returncode == 0, res.stderr
    for name in ("policy.json", "policy.csv"):
        assert (tmp_path / "api" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "api" / "policy.parquet"),
        pd.read_parquet(tmp_path / "cli" / "policy.parquet"),
    )


def test_stockpile_policy_from_python_is_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped policy file through the public calls of docs/api.md
    (``load_stockpile_policy``, ``solve_stockpile_policy``, ``write_stockpile_policy``)
    writes what ``critmin stockpile policy FILE --paths 200 --out`` writes, byte for byte."""
    monkeypatch.chdir(ROOT)  # the same relative path, which policy.json records as its source
    path = "examples/stockpile/ndfeb_magnet_policy.yaml"
    result = critmin.solve_stockpile_policy(critmin.load_stockpile_policy(path), paths=200)
    critmin.write_stockpile_policy(result, tmp_path / "api")
    cli = "from critmin.cli import main; main()"
    args = [sys.executable, "-c", cli, "stockpile", "policy", path, "--paths", "200"]
    res = subprocess.run(
        [*args, "--out", str(tmp_path / "cli")],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    for name in ("policy.json", "policy.csv"):
        assert (tmp_path / "api" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
    assert critmin.stockpile_policy_frame(result).equals(
        pd.read_parquet(tmp_path / "cli" / "policy.parquet")
    )
