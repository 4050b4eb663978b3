"""Each hostile input named in issue 13, through the CLI, with the message a user gets.

Every test runs ``critmin ...`` in-process (:func:`tests.hostile.harness.run_in_process`) and
checks the exit code (2), that stderr is exactly one line, and what the line says. The trace
items of the issue (sparse/zip-bomb spreadsheets, deep EPCIS JSON, ``trace check --tol nan``)
are the trace half of the issue (docs/trace.md); the shared pieces they use are tested here.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.hostile.harness import REPO, run_in_process

EX = REPO / "examples"
TWO = EX / "scenarios" / "two_regions.yaml"
TARIFF = EX / "scenarios" / "magnet_chain_tariff.yaml"
LYNAS = EX / "contracts" / "lynas_japan_ndpr.yaml"
PRICES = EX / "contracts" / "ndpr_prices_example.csv"
VAULT = EX / "stockpile" / "dla_nds_2025.yaml"
SIGNALS = EX / "stockpile" / "signals_ban_2027.csv"
BOM = EX / "bom" / "ev_traction_motor.yaml"
RULES = EX / "trace" / "rules.yaml"


def refused(argv: list[str] | list[str | Path] | list[Path | str], pattern: str) -> str:
    """Run ``critmin argv``; assert exit 2, one line on stderr matching ``pattern``."""
    code, _out, err = run_in_process([str(a) for a in argv])
    lines = err.strip().splitlines()
    assert code == 2, f"exit {code}: {err}"
    assert len(lines) == 1, err
    assert re.search(pattern, lines[0]), lines[0]
    return lines[0]


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ YAML limits


def test_alias_bomb_is_refused_in_milliseconds(tmp_path: Path) -> None:
    """Nine levels of nine aliases expand to 9**9 = 387 million nodes ("billion laughs";
    issue 13 measured 2.5 GB in 20 s); the expanded size is counted before anything is built."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = _write(tmp_path / "bomb.yaml", "\n".join(lines) + "\nname: x\n")
    t0 = time.perf_counter()
    refused(
        ["validate", bomb],
        r"bomb\.yaml:\d+: YAML aliases expand to more than 1,000,000 nodes \(an alias bomb\?\)",
    )
    assert time.perf_counter() - t0 < 2.0


def test_5000_nested_maps_give_a_line_not_a_recursion_error(tmp_path: Path) -> None:
    """5,000 nested block maps used to end in a RecursionError traceback."""
    text = "".join(" " * i + "a:\n" for i in range(5000)) + " " * 5000 + "1\n"
    deep = _write(tmp_path / "deep.yaml", text)
    refused(
        ["validate", deep], r"deep\.yaml:\d+: (not valid YAML: exceeded maximum nesting|nested)"
    )


def test_50000_deep_flow_nesting_is_refused_cleanly(tmp_path: Path) -> None:
    """50,000 ``[`` segfaulted PyYAML 6.0.3's libyaml binding; 6.0.4 (pinned) refuses it."""
    deep = _write(tmp_path / "deep.yaml", "[" * 50_000 + "]" * 50_000)
    refused(["validate", deep], r"deep\.yaml:1: not valid YAML: exceeded maximum nesting depth")


def test_nesting_over_100_levels_is_refused_with_its_line(tmp_path: Path) -> None:
    """Within libyaml's limit but over critmin's: refused at the line it starts."""
    text = "name: x\nmarkets:\n  - " + "[" * 150 + "1" + "]" * 150 + "\n"
    deep = _write(tmp_path / "deep.yaml", text)
    refused(["validate", deep], r"deep\.yaml:3: nested deeper than 100 levels")


def test_an_alias_loop_is_refused(tmp_path: Path) -> None:
    loop = _write(tmp_path / "loop.yaml", "x-loop: &l [*l]\nname: x\n")
    refused(["validate", loop], r"loop\.yaml:1: (an alias refers to itself|not valid YAML)")


@pytest.mark.parametrize(
    ("argv", "source", "key"),
    [
        (["validate", "{f}"], TWO, "months"),
        (["exposure", "{f}"], BOM, "units_per_year"),
        (["stockpile", "simulate", "{f}", "--signals", str(SIGNALS)], VAULT, "start"),
        (["contract", "settle", "{f}", "--prices", str(PRICES)], LYNAS, "floor_usd_per_kg"),
        (
            ["trace", "check", str(EX / "trace" / "magnet_chain.jsonld"), "--rules", "{f}"],
            RULES,
            "expand_eu",
        ),
    ],
    ids=["scenario", "bom", "stockpile", "contract", "rules"],
)
def test_duplicate_keys_are_an_error_naming_both_lines(
    tmp_path: Path, argv: list[str], source: Path, key: str
) -> None:
    """A top-level key written twice: YAML keeps the last silently; critmin names both lines."""
    text = source.read_text(encoding="utf-8")
    first = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith(f"{key}:"))
    line = next(ln for ln in text.splitlines() if ln.startswith(f"{key}:"))
    dup = _write(tmp_path / source.name, text.rstrip("\n") + "\n" + line + "\n")
    total = len(dup.read_text().splitlines())
    refused(
        [a.replace("{f}", str(dup)) for a in argv],
        rf"{source.name}:{total}: duplicate key '{key}' \(first at line {first}\)",
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-02-30", r"'2026-02-30' is not a real date \(day is out of range for month\)"),
        ("2026-13-01", r"'2026-13-01' is not a real date \(month must be in 1\.\.12\)"),
        ("1" * 5000, r"'1{37}\.\.\.' is not an integer \(5,000 digits, at most 4,300\)"),
        ("!!float abc", r"'abc' is not a number \(could not convert string to float: 'abc'\)"),
        ("!!int 0x", r"'0x' is not an integer \(invalid literal for int\(\) with base 16"),
    ],
    ids=["feb-30", "month-13", "5000-digits", "float-abc", "int-0x"],
)
def test_a_scalar_that_looks_like_a_date_or_number_but_is_none_is_one_line(
    tmp_path: Path, value: str, message: str
) -> None:
    """PyYAML's constructors raise a bare ValueError for these (``2026-02-30`` matches the
    timestamp pattern, an int of 5,000 digits passes Python's 4,300-digit limit on
    ``int(str)``): it reached the user as "internal error", exit 70. Now one line at the
    scalar's line, as a key too (line 2; YAML allows no implicit key over 1,024 characters)."""
    scenario = _write(tmp_path / "s.yaml", f"name: x\nmarkets: []\nnote: {value}\n")
    refused(["validate", scenario], r"s\.yaml:3: not valid YAML: " + message)
    if len(value) > 1024:
        return
    keyed = _write(tmp_path / "k.yaml", f"name: x\n{value}: 1\n")
    refused(["validate", keyed], r"k\.yaml:2: not valid YAML: " + message)


# ------------------------------------------------------------------ numbers


def test_nan_tariff_is_refused_by_validate(tmp_path: Path) -> None:
    """``specific_usd_per_t: .nan`` passed validate and then spun inside HiGHS forever."""
    text = TARIFF.read_text().replace("specific_usd_per_t: 500", "specific_usd_per_t: .nan")
    bad = _write(tmp_path / "nan.yaml", text)
    # the line of the instrument in the example (its header comments move it)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "specific_usd_per_t" in t)
    refused(
        ["validate", bad],
        rf"nan\.yaml:{line} field 'instruments\[0\]\.specific_usd_per_t': .*finite number",
    )


def test_infinite_quantity_is_refused_before_any_output(tmp_path: Path) -> None:
    """``qty_t: .inf`` was accepted and wrote NaN into series.parquet."""
    text = TWO.read_text().replace("qty_t: 100,", "qty_t: .inf,")
    bad = _write(tmp_path / "inf.yaml", text)
    out = tmp_path / "out"
    refused(["run", bad, "--out", out], r"inf\.yaml:8 field 'markets\[0\]\.supply\[0\]\.qty_t'")
    assert not out.exists()


def test_inf_cost_leaves_a_previous_output_set_untouched(tmp_path: Path) -> None:
    """``inf`` in a cost made run fail after replacing series.parquet only (a mixed set)."""
    out = tmp_path / "out"
    code, _, err = run_in_process(["run", str(TWO), "--out", str(out), "--json"])
    assert code == 0, err
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    text = TWO.read_text().replace("cost_usd_per_t: 50000", "cost_usd_per_t: .inf")
    bad = _write(tmp_path / "inf.yaml", text)
    refused(["run", bad, "--out", out], r"inf\.yaml:8 .*cost_usd_per_t.*finite")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_infinite_contract_volume_is_refused(tmp_path: Path) -> None:
    """Infinite contract volumes ended in an AssertionError."""
    text = LYNAS.read_text().replace("volume_t_per_year: 5000", "volume_t_per_year: .inf")
    bad = _write(tmp_path / "c.yaml", text)
    refused(["contract", "settle", bad, "--prices", PRICES], r"c\.yaml:\d+ .*volume_t_per_year")


def test_huge_contract_volume_is_out_of_range(tmp_path: Path) -> None:
    text = LYNAS.read_text().replace("volume_t_per_year: 5000", "volume_t_per_year: 1e308")
    bad = _write(tmp_path / "c.yaml", text)
    refused(["contract", "settle", bad, "--prices", PRICES], r"out of range \(at most 1e\+10 t\)")


VALUE = ["contract", "value", str(LYNAS), "--forward-usd-per-kg", "120", "--rate", "0.04"]


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        (["--vol", "1e308"], r"^critmin: error: --vol: expected 0 < vol <= 5, got 1e\+308$"),
        (["--vol", "nan"], r"--vol: expected 0 < vol <= 5, got nan"),
        (
            ["--vol", "0.3", "--threshold", "-1"],
            r"--threshold: expected 0 < threshold <= 1,000,000",
        ),
        (
            ["--vol", "0.3", "--paths", "100000000"],
            r"--paths: expected 0 <= paths <= 10,000,000, got 100,000,000",
        ),
        (["--vol", "0.3", "--seed", "-1"], r"--seed: expected 0 <= seed < 2\*\*63"),
        (["--vol", "abc"], r"Invalid value for '--vol'.*\(see 'critmin contract value --help'\)"),
    ],
    ids=["vol-1e308", "vol-nan", "threshold-negative", "paths-1e8", "seed-negative", "vol-text"],
)
def test_contract_value_options_out_of_range(extra: list[str], pattern: str) -> None:
    """``--threshold -1`` printed a 52-line pydantic traceback, ``--vol 1e308`` overflowed,
    ``--paths 100000000`` ran out of memory; each is now one line before any work."""
    refused([*VALUE, *extra], pattern)


def test_contract_value_help_states_the_ranges() -> None:
    code, out, _ = run_in_process(["contract", "value", "--help"])
    assert code == 0
    flat = " ".join(out.split())
    for text in ("0 < vol <= 5", "-1 <= rate <= 1", "0..10,000,000", "0 < threshold"):
        assert text in flat.replace("│ ", ""), text


def test_sub_cent_prices_are_refused_with_the_reason(tmp_path: Path) -> None:
    """At ~1e-6 USD/t the equilibrium came out silently wrong (below HiGHS's 1e-7 tolerances)."""
    text = TWO.read_text().replace("cost_usd_per_t: 50000", "cost_usd_per_t: 0.000001")
    bad = _write(tmp_path / "tiny.yaml", text)
    refused(["validate", bad], r"tiny\.yaml:8 .*below 0\.01 USD/t, under the solver's tolerance")


def test_exposure_units_nan_is_refused() -> None:
    refused(["exposure", BOM, "--units-per-year", "nan"], r"--units-per-year: expected 0 <")


#: CSV cells Python's ``float()`` took and a CSV number is not (each reader refused NaN and
#: infinity after the fact, but read the others as numbers), with the hint given
CSV_NOT_NUMBERS = [
    ("1_000", "no digit separators: write 1200000, not 1_200_000 or 1,200"),
    ("1,000", "no digit separators: write 1200000, not 1_200_000 or 1,200"),  # quoted: one cell
    (" 12 ", "no spaces around or inside a number"),
    ("12 ", "no spaces around or inside a number"),
    ("nan", "NaN and infinity are not numbers here"),
    ("-Infinity", "NaN and infinity are not numbers here"),
    ("inf", "NaN and infinity are not numbers here"),
    ("\u0661\u0662", "ASCII digits only"),  # Arabic-Indic 12: float() gave 12.0
    ("0x1F", None),
    ("", None),
]


def _cell(value: str) -> str:
    return f'"{value}"' if "," in value else value


@pytest.mark.parametrize(("cell", "hint"), CSV_NOT_NUMBERS, ids=repr)
def test_a_csv_number_has_one_grammar_in_every_command(
    tmp_path: Path, cell: str, hint: str | None
) -> None:
    """``contract settle --prices`` and ``stockpile simulate --signals`` read their numeric
    columns through one function (:func:`critmin.fileio.csv_number`): the same line names
    the file, line and column, says what a number is and, for what ``float()`` took, why."""
    expected = re.escape(f"got {cell!r}") + (re.escape(f"; {hint}") if hint else "") + "$"
    grammar = r"expected a number \(digits, an optional sign, '\.' fraction and exponent"
    prices = PRICES.read_text(encoding="utf-8").splitlines()
    month, _price, rest = prices[2].split(",", 2)
    prices[2] = f"{month},{_cell(cell)},{rest}"
    bad = _write(tmp_path / "p.csv", "\n".join(prices) + "\n")
    refused(
        ["contract", "settle", LYNAS, "--prices", bad],
        rf"p\.csv:3 column 'price_usd_per_kg': {grammar}.*{expected}",
    )
    signals = SIGNALS.read_text(encoding="utf-8").splitlines()
    cells = signals[3].split(",")
    cells[3] = _cell(cell)  # available_supply_t
    signals[3] = ",".join(cells)
    sig = _write(tmp_path / "s.csv", "\n".join(signals) + "\n")
    refused(
        ["stockpile", "simulate", VAULT, "--signals", sig, "--out", tmp_path / "out"],
        rf"s\.csv:4 column 'available_supply_t': {grammar}.*{expected}",
    )


def test_a_csv_number_beyond_the_float_range_is_refused(tmp_path: Path) -> None:
    """``1e400`` is read by ``float()`` as infinity; the message says why."""
    prices = PRICES.read_text(encoding="utf-8").replace(",69,", ",1e400,", 1)
    bad = _write(tmp_path / "p.csv", prices)
    refused(
        ["contract", "settle", LYNAS, "--prices", bad],
        r"p\.csv:2 column 'price_usd_per_kg': 1e400 is beyond the range of numbers",
    )


def test_every_form_of_the_csv_grammar_reads_the_same_number(tmp_path: Path) -> None:
    """``69``, ``+69``, ``69.``, ``69.000``, ``.69e2``, ``6.9E1`` and ``6900e-2`` are one
    price: the settlement is the same, to the byte, as with the shipped file."""
    code, want, err = run_in_process(["contract", "settle", str(LYNAS), "--prices", str(PRICES)])
    assert code == 0, err
    for form in ("+69", "69.", "69.000", ".69e2", "6.9E1", "6900e-2"):
        text = PRICES.read_text(encoding="utf-8").replace(",69,", f",{form},")
        assert text.count(f",{form},") > 1
        path = _write(tmp_path / "p.csv", text)
        code, out, err = run_in_process(["contract", "settle", str(LYNAS), "--prices", str(path)])
        assert code == 0, err
        assert out.replace(str(path), str(PRICES)) == want, form


# ------------------------------------------------------------------ files


def test_non_utf8_scenario_names_the_byte_and_line(tmp_path: Path) -> None:
    text = TWO.read_bytes().replace(b"two regions, one stage", b"deux r\xe9gions")
    bad = _write(tmp_path / "latin1.yaml", text)
    refused(
        ["validate", bad],
        r"latin1\.yaml:3: cannot read scenario file: not UTF-8 text \(byte 0xe9 at line 3\)",
    )


def test_non_utf8_price_csv(tmp_path: Path) -> None:
    bad = _write(tmp_path / "p.csv", PRICES.read_bytes().replace(b"USGS", b"USGS \xe9", 1))
    refused(["contract", "settle", LYNAS, "--prices", bad], r"p\.csv:2: .*not UTF-8 text")


def test_price_csv_day_must_be_a_real_date(tmp_path: Path) -> None:
    bad = _write(tmp_path / "p.csv", "month,price_usd_per_kg\n2026-07-01,80\n2026-07-32,80\n")
    refused(
        ["contract", "settle", LYNAS, "--prices", bad],
        r"p\.csv:3 column 'month': expected a real date YYYY-MM-DD .*'2026-07-32'",
    )


def test_csv_field_over_the_csv_limit(tmp_path: Path) -> None:
    """A field over the csv module's 131,072 characters raised ``_csv.Error``."""
    header = SIGNALS.read_text().splitlines()[0]
    bad = _write(tmp_path / "s.csv", header + "\n2026-01," + "x" * 140_000 + ",1,1,1\n")
    refused(
        ["stockpile", "simulate", VAULT, "--signals", bad],
        r"s\.csv:2: not a valid CSV: field larger than field limit \(131072\)",
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "{d}"],
        ["exposure", "{d}"],
        ["contract", "settle", str(LYNAS), "--prices", "{d}"],
        ["stockpile", "simulate", str(VAULT), "--signals", "{d}"],
    ],
    ids=["scenario", "bom", "prices", "signals"],
)
def test_a_directory_given_as_a_file(tmp_path: Path, argv: list[str]) -> None:
    d = tmp_path / "adir.yaml"
    d.mkdir()
    # a scenario folder gets the scenario loader's hint (name the YAML files in it)
    expected = r"adir\.yaml: (cannot read .*is a directory|.*is a folder, not a scenario file)"
    refused([a.replace("{d}", str(d)) for a in argv], expected)


def test_an_unreadable_file(tmp_path: Path) -> None:
    """A symlink loop is unreadable even for root; mode 000 is tested when not root."""
    loop = tmp_path / "loop.yaml"
    loop.symlink_to("loop.yaml")
    refused(["exposure", loop], r"loop\.yaml: cannot read BOM file: too many levels of symbolic")
    if os.geteuid() != 0:
        locked = shutil.copy(BOM, tmp_path / "locked.yaml")
        Path(locked).chmod(0)
        # the option's own check answers first (test_unprivileged.py runs this as nobody)
        refused(["exposure", locked], r"locked\.yaml.* (is not readable|permission denied)")


@pytest.mark.parametrize(
    "argv",
    [
        ["run", str(TWO), "--out", "{o}"],
        ["stockpile", "simulate", str(VAULT), "--signals", str(SIGNALS), "--out", "{o}"],
    ],
    ids=["run", "stockpile"],
)
def test_out_pointing_at_a_file(tmp_path: Path, argv: list[str]) -> None:
    f = _write(tmp_path / "afile", "precious")
    refused([a.replace("{o}", str(f)) for a in argv], r"--out: .*afile' exists and is not a folder")
    refused(
        [a.replace("{o}", str(f / "sub")) for a in argv], r"--out: .*afile' is a file, not a folder"
    )
    assert f.read_text() == "precious"


def test_settle_out_at_a_folder(tmp_path: Path) -> None:
    d = tmp_path / "s.csv"
    d.mkdir()
    refused(
        ["contract", "settle", LYNAS, "--prices", PRICES, "--out", d],
        r"s\.csv: cannot write s\.csv: it is a folder",
    )


# ------------------------------------------------------------------ formula cells


def test_formula_party_name_is_neutralised_in_the_settlement_csv(tmp_path: Path) -> None:
    """OWASP CSV injection: a party named ``=cmd|' /C calc'!A0`` would run when the CSV is
    opened in a spreadsheet; it is written with a leading apostrophe (text)."""
    evil = "=cmd|' /C calc'!A0"
    text = LYNAS.read_text().replace("buyer: JPN-consortium", f'buyer: "{evil}"')
    contract = _write(tmp_path / "evil.yaml", text)
    out = tmp_path / "s.csv"
    code, _, err = run_in_process(
        ["contract", "settle", str(contract), "--prices", str(PRICES), "--out", str(out), "--json"]
    )
    assert code == 0, err
    import csv

    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    cells = [v for r in rows for v in r.values()]
    assert f"'{evil}" in cells
    assert not any(v.startswith(("=", "+", "@", "\t", "\r")) for v in cells)
    # numbers stay numbers (a negative number is not a formula)
    assert all(float(r["volume_t"]) > 0 for r in rows)


# ------------------------------------------------------------------ the entry point


def test_a_message_quoting_megabytes_of_the_file_is_cut_to_one_readable_line(
    tmp_path: Path,
) -> None:
    """A tag of 2 million characters was quoted whole: a 2 MB error line. The line keeps its
    start (file:line, the problem) and end, and says how much was left out."""
    bad = _write(tmp_path / "tag.yaml", f"name: x\nmarkets: []\nd: !<{'a' * 2_000_000}> 1\n")
    cut = r"'a+ \.\.\.\(1,999,\d{3} characters left out\)\.\.\. a+'$"
    line = refused(
        ["validate", bad],
        r"tag\.yaml:3: not valid YAML: could not determine a constructor for the tag " + cut,
    )
    assert len(line) <= len("critmin: error: ") + 1000


def test_an_unexpected_error_is_one_line_with_exit_70(monkeypatch: pytest.MonkeyPatch) -> None:
    """The catch-all: a bug becomes one line, exit 70 and a hint to report it."""
    from critmin.catalog import exposure

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(exposure, "exposure", boom)
    code, _, err = run_in_process(["exposure", str(BOM)])
    assert code == 70
    assert err.strip() == (
        "critmin: internal error: RuntimeError: simulated bug; this is a bug, please report it "
        "with the command line (CRITMIN_DEBUG=1 shows the traceback)"
    )


def test_a_horizon_of_thousands_of_years_is_refused(tmp_path: Path) -> None:
    """``months: {start: 0001-01, end: 9999-12}`` validated, then ran for hours."""
    text = TWO.read_text().replace(
        "{start: 2026-01, end: 2026-06}", "{start: 0001-01, end: 9999-12}"
    )
    bad = _write(tmp_path / "long.yaml", text)
    refused(["validate", bad], r"long\.yaml:5 field 'months\.end': .*more than 100 years")


def test_a_contract_term_of_thousands_of_years_is_refused(tmp_path: Path) -> None:
    """A 9999-12 end made ``contract value`` allocate gigabytes (months x paths)."""
    bad = _write(tmp_path / "c.yaml", LYNAS.read_text().replace("end: 2038-12", "end: 9999-12"))
    refused(
        ["contract", "value", bad, *VALUE[3:], "--vol", "0.3"],
        r"c\.yaml:\d+ field 'end': a term of more than 100 years",
    )


def test_validate_finds_what_run_would_refuse(tmp_path: Path) -> None:
    """Found by fuzzing validate against run: an unknown tariff party and a text value in a
    reform of a numeric parameter passed ``validate`` and failed only inside ``run``."""
    text = TWO.read_text().replace("exporter: CHN, specific", "exporter: '', specific")
    bad = _write(tmp_path / "party.yaml", text)
    refused(["validate", bad], r"party\.yaml:11 field 'markets\[0\]\.tariffs\[0\]\.exporter': ''")
    floor = EX / "scenarios" / "managed_floor_130.yaml"
    text = floor.read_text().replace("{value: 130,", "{value: 'lots',", 1)
    reform = _write(tmp_path / "reform.yaml", text)  # (its base is a built-in)
    refused(["validate", reform], r"price_floor\.ndpr_oxide' .*expected a number in usd_per_kg")
