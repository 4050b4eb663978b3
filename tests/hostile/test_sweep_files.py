"""Broken and enormous study and policy files, and the memory limit (issue 13), through the CLI.

``critmin sweep STUDY --check`` and ``critmin stockpile policy FILE --check`` validate a file
as a run reads it and stop before any market run; each named input here gets exit 2 and one
line naming the file (and line and field where there is one). The memory limit refuses a
valid but enormous input up front with its estimated size.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import yaml

from tests.hostile.harness import REPO, run_in_process
from tests.hostile.test_hostile_files import refused

EX = REPO / "examples"
SMALL = EX / "studies" / "ndpr_ban_small.yaml"
LEVERS = EX / "studies" / "managed_market_levers.yaml"
POLICY = EX / "stockpile" / "ndfeb_magnet_policy.yaml"


def _study(tmp_path: Path, change: str, new: str, src: Path = SMALL) -> Path:
    text = src.read_text("utf-8")
    assert change in text
    p = tmp_path / src.name
    p.write_text(text.replace(change, new, 1), "utf-8")
    return p


def test_check_accepts_the_shipped_files_and_writes_nothing(tmp_path: Path) -> None:
    for study in sorted((EX / "studies").glob("*.yaml")):
        code, out, err = run_in_process(["sweep", str(study), "--check", "--out", str(tmp_path)])
        assert code == 0, err
        assert out.startswith(f"{study}: ok - study "), out
        assert "sample 0 solved over its first month" in out
    code, out, err = run_in_process(["stockpile", "policy", str(POLICY), "--check"])
    assert code == 0, err
    assert "22 market runs of a year from 2027-01" in out
    assert list(tmp_path.iterdir()) == []


def test_a_latin1_study_is_one_line(tmp_path: Path) -> None:
    """Before: ``load_study_file`` read the text itself and a latin-1 byte was a traceback."""
    p = tmp_path / "s.yaml"
    p.write_bytes(SMALL.read_bytes().replace(b"small", b"sm\xe9ll", 1))
    refused(["sweep", p, "--check"], r"cannot read study: not UTF-8 text \(byte 0xe9 at line")


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_distribution_parameters_are_refused(tmp_path: Path, value: str) -> None:
    """Before: ``low: .nan`` passed the study's model (no ``allow_inf_nan=False``)."""
    p = _study(tmp_path, "{kind: triangular, low: 0.7,", f"{{kind: triangular, low: {value},")
    refused(
        ["sweep", p, "--check"], r"s?\.yaml:\d+ field 'uncertainties\[0\]\.distribution.*finite"
    )


def test_an_overflowing_sd_is_refused_not_warned(tmp_path: Path) -> None:
    """Before: ``sd: 1e308`` overflowed scipy's inverse CDF (a RuntimeWarning on stderr)."""
    p = _study(tmp_path, "sd: 0.02", "sd: 1.0e+308")
    refused(["sweep", p, "--check"], r"field 'uncertainties\[2\]\.distribution.*at most 1e\+15")


def test_a_lever_value_the_scenario_refuses_is_found_by_check(tmp_path: Path) -> None:
    """Every grid value is written into a scenario and validated, not only sample 0's."""
    p = _study(tmp_path, "values: [25000, 15000]", "values: [25000, -15000]")
    refused(["sweep", p, "--check"], r"sample 1 field 'markets\[0\]\.conversions\[\d+\]\.cost")


def test_a_drawn_value_out_of_range_is_found_by_check(tmp_path: Path) -> None:
    """Growth drawn from normal(mean 5, sd 0.02): over the scenario's +100 %/yr bound."""
    p = _study(tmp_path, "mean: 0.06, sd: 0.02", "mean: 5, sd: 0.02")
    refused(["sweep", p, "--check"], r"(sample 0|drawn values) field .*growth_per_year")


MAGNET_SHORT = "metric: physical_shortage_t_by_product.ndfeb_magnet}"


def test_an_unknown_metric_is_refused_at_its_line(tmp_path: Path) -> None:
    p = _study(tmp_path, MAGNET_SHORT, "metric: unserved_tonnes}")
    line = refused(["sweep", p, "--check"], r"ndpr_ban_small\.yaml:\d+ field 'outcomes\[3\]")
    assert "no scalar metric 'unserved_tonnes'" in line
    assert "physical_shortage_t_by_product" in line  # the per-product figures, as name.key


def test_a_removed_stage_summed_metric_names_its_successor(tmp_path: Path) -> None:
    """``unserved_t`` added tonnes of concentrate, oxide, metal and magnet; a study that still
    names it gets one line, at its outcome, saying what to use instead (exit 2)."""
    for old, successor in (
        ("unserved_t", "physical_shortage_t_by_product.<product>"),
        ("shortage_months", "physical_shortage_months"),
        ("production_change_t", "production_change_t_by_product.<product>"),
    ):
        p = _study(tmp_path, MAGNET_SHORT, f"metric: {old}}}")
        line = refused(["sweep", p, "--check"], r"ndpr_ban_small\.yaml:\d+ field 'outcomes\[3\]")
        assert f"'{old}' was removed" in line, line
        assert successor in line, line


def test_a_per_product_metric_with_a_product_the_run_lacks_is_refused(tmp_path: Path) -> None:
    p = _study(tmp_path, MAGNET_SHORT, "metric: physical_shortage_t_by_product.ndfeb_magnt}")
    line = refused(["sweep", p, "--check"], r"ndpr_ban_small\.yaml:\d+ field 'outcomes\[3\]")
    assert "has no entry 'ndfeb_magnt'" in line
    assert "'ndfeb_magnet'" in line


def test_a_grid_of_1e20_policies_is_refused_before_it_is_built(tmp_path: Path) -> None:
    """Ten levers of 100 values: 1e20 policies that ``make_design`` would try to list."""
    data = yaml.safe_load(SMALL.read_text("utf-8"))
    lever = data["levers"][0]
    data["levers"] = [
        {**lever, "name": f"lever_{i}", "values": [25000 + j for j in range(100)]}
        for i in range(10)
    ]
    p = tmp_path / "grid.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    t0 = time.perf_counter()
    for argv in (["--check"], ["--export-sample", "0"], ["--out", str(tmp_path / "o")]):
        line = refused(["sweep", p, *argv], r"grid\.yaml: the sweep \(6 scenarios x ")
        assert "100,000,000,000,000,000,000 policies" in line
        assert "TiB of memory, over the limit of 4 GiB" in line
        assert "--memory-limit-gib or CRITMIN_MEMORY_LIMIT_GIB" in line
    assert time.perf_counter() - t0 < 20
    assert not (tmp_path / "o").exists()


def test_a_million_samples_is_refused_unless_the_limit_is_raised() -> None:
    line = refused(
        ["sweep", SMALL, "--check", "--samples", "1000000"], r"2,000,000 samples, 6 months\)"
    )
    assert "would need about 6.5 GiB" in line
    # the limit is checked before the design is built: raising it reaches the design
    refused(
        ["sweep", SMALL, "--check", "--samples", "1000000", "--memory-limit-gib", "0.001"],
        r"over the limit of 0\.001 GiB",
    )


@pytest.mark.parametrize("value", ["nan", "-1", "inf", "2000000"])
def test_the_memory_limit_option_is_range_checked(value: str) -> None:
    refused(
        ["sweep", SMALL, "--check", "--memory-limit-gib", value], r"--memory-limit-gib: expected"
    )


def test_the_memory_limit_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRITMIN_MEMORY_LIMIT_GIB", "lots")
    refused(["sweep", SMALL, "--check"], r"CRITMIN_MEMORY_LIMIT_GIB: expected a number .*'lots'")
    monkeypatch.setenv("CRITMIN_MEMORY_LIMIT_GIB", "0.001")
    refused(["stockpile", "policy", POLICY, "--check"], r"over the limit of 0\.001 GiB")
    # the option wins over the variable
    code, _out, err = run_in_process(
        ["stockpile", "policy", str(POLICY), "--check", "--memory-limit-gib", "1"]
    )
    assert code == 0, err


def _huge_scenario(path: Path, regions: int, end: str) -> Path:
    """A valid chain of ``regions`` declared regions, each supplying and buying, with a
    default route cost: regions x (regions - 1) routes every month."""
    regs = [f"X{i:03d}" for i in range(regions)]
    market = {
        "mineral": "lithium",
        "aggregates": dict.fromkeys(regs, "a test region"),
        "default_route_cost_usd_per_t": 100,
        "supply": [{"region": r, "qty_t_per_year": 1000, "cost_usd_per_t": 5000} for r in regs],
        "demand": [{"region": r, "qty_t_per_year": 900, "wtp_usd_per_t": 20000} for r in regs],
    }
    data = {"name": "huge", "months": {"start": "2026-01", "end": end}, "markets": [market]}
    path.write_text(yaml.safe_dump(data), "utf-8")
    return path


def test_an_enormous_valid_scenario_is_refused_before_the_run(tmp_path: Path) -> None:
    """300 regions (89,700 routes) over 100 years: valid field by field (validate says ok),
    ~6.6 GiB of month x route arrays by the estimate. The previous output set stays."""
    huge = _huge_scenario(tmp_path / "huge.yaml", 300, "2125-12")
    code, _out, err = run_in_process(["validate", str(huge)])
    assert code == 0, err
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "summary.json").write_text("{}", "utf-8")
    t0 = time.perf_counter()
    line = refused(
        ["run", huge, "--out", out_dir], r"huge\.yaml: the run \(1,200 months, up to 300 regions"
    )
    assert time.perf_counter() - t0 < 10
    assert "GiB of memory, over the limit of 4 GiB" in line
    assert sorted(p.name for p in out_dir.iterdir()) == ["summary.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.yaml", "out"]  # no litter


def test_the_scenario_estimate_is_an_upper_bound_of_a_measured_run(tmp_path: Path) -> None:
    """The estimate must not be far below what a run holds: 120 regions over 3 years,
    measured with tracemalloc (the arrays numpy and pandas allocate; HiGHS's own memory is
    not traced) against the estimate. Measured: 36 MiB estimated, 17 MiB traced."""
    import tracemalloc

    from critmin.scenarios.study import Study

    # a first run pays one-time costs (catalog tables, imports) that are not the run's
    Study.load(str(_huge_scenario(tmp_path / "warm.yaml", 5, "2026-02"))).run(baseline=None)
    path = _huge_scenario(tmp_path / "mid.yaml", 120, "2028-12")
    study = Study.load(str(path))
    est = study.memory_estimate()
    tracemalloc.start()
    try:
        study.run(baseline=None)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert est >= peak, (est, peak)
    assert est <= 10 * peak, (est, peak)


def test_a_policy_shock_start_of_a_nul_byte_is_one_line(tmp_path: Path) -> None:
    """Before: the shocks' months were read before the shocks were validated (a ValueError)."""
    p = tmp_path / "p.yaml"
    text = POLICY.read_text("utf-8")
    p.write_text(text.replace("start: 2027-01, end", 'start: "\\0", end', 1), "utf-8")
    refused(["stockpile", "policy", p, "--check"], r"p\.yaml:\d+ field 'disruption\.shocks\[0\]")


def test_check_and_teisberg_or_export_are_exclusive() -> None:
    refused(["stockpile", "policy", "--teisberg", "--check"], r"--check reads a policy file")
    refused(["sweep", SMALL, "--check", "--export-sample", "0"], r"--check or --export-sample")


def test_a_policy_check_leaves_no_out_folder(tmp_path: Path) -> None:
    shutil.copy(POLICY, tmp_path / "p.yaml")
    code, _out, err = run_in_process(
        ["stockpile", "policy", str(tmp_path / "p.yaml"), "--check", "--out", str(tmp_path / "o")]
    )
    assert code == 0, err
    assert not (tmp_path / "o").exists()
