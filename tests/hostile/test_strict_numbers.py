"""A number must be a number (issue 13): ``true``/``false`` and strings are refused wherever a
file gives one in place of a number (:class:`critmin.bounds.StrictNumbers`).

Before, pydantic's lax mode read ``qty_t: yes`` as 1.0 t and ``cost_usd_per_t: "1200"`` as
1,200 USD/t: a run went ahead with a number the user never wrote. Each hand case below edits
one value of a shipped example through the command a user runs and expects exit 2 and one
line naming the file, the line, the field and ``expected a number, got ...``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ConfigDict, Field, ValidationError, create_model

from critmin.bounds import BoundedNumbers, StrictNumbers
from critmin.yamlio import error_loc, error_text, parse_yaml
from tests.hostile.harness import EXAMPLES, REPO, run_in_process

TWO = EXAMPLES / "scenarios" / "two_regions.yaml"


def _edited(tmp_path: Path, source: Path, old: str, new: str, name: str | None = None) -> Path:
    """``source`` copied beside the original's siblings' names with the text ``old`` (once)
    replaced by ``new``: a hand edit, as a user makes it (``yes`` stays YAML's ``yes``)."""
    text = source.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    out = tmp_path / (name or source.name)
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


def refused(argv: list[str], where: str, field: str, got: str) -> str:
    code, _out, err = run_in_process(argv)
    lines = err.strip().splitlines()
    assert code == 2, f"exit {code}: {err}"
    assert len(lines) == 1, err
    assert f"{where} field '{field}'" in lines[0], lines[0]
    assert f"expected a number, got {got}" in lines[0], lines[0]
    return lines[0]


def test_run_refuses_yes_as_a_tonnage_and_writes_nothing(tmp_path: Path) -> None:
    """``qty_t: yes`` on line 8 of two_regions.yaml: YAML reads ``yes`` as true, which
    pydantic took for 1 t of Australian supply. Now: one line, exit 2, no output folder."""
    path = _edited(tmp_path, TWO, "qty_t: 100,", "qty_t: yes,")
    out = tmp_path / "out"
    line = refused(
        ["run", str(path), "--out", str(out)],
        f"{path}:8",
        "markets[0].supply[0].qty_t",
        "true (a yes/no value)",
    )
    assert line.startswith("critmin: error: ")
    assert not out.exists()


@pytest.mark.parametrize(
    "case",
    [
        (
            "cost_usd_per_t: 50000",
            'cost_usd_per_t: "1,200"',
            8,
            "markets[0].supply[0].cost_usd_per_t",
            "the string '1,200'",
        ),
        ("qty_t: 150", 'qty_t: "150"', 9, "markets[0].demand[0].qty_t", "the string '150'"),
        ("qty_t: 150", "qty_t: '1e3'", 9, "markets[0].demand[0].qty_t", "the string '1e3'"),
        ("ad_valorem: 0.0", "ad_valorem: false", 11, "markets[0].tariffs[0].ad_valorem", "false"),
    ],
)
def test_validate_refuses_text_in_scenario_numbers(
    tmp_path: Path, case: tuple[str, str, int, str, str]
) -> None:
    old, new, line, field, got = case
    path = _edited(tmp_path, TWO, old, new)
    refused(["validate", str(path)], f"{path}:{line}", field, got)


def test_an_unquoted_exponent_is_a_number_not_a_string(tmp_path: Path) -> None:
    """``qty_t: 1e2`` is a float in YAML 1.2 and JSON; PyYAML's YAML 1.1 rules left it the
    string "1e2", which the lax mode turned into 100. It must stay accepted (as 100 t), and
    ``"1e2"`` in quotes, a string by every rule, is refused."""
    assert parse_yaml("a: 1e2\nb: '1e2'\nc: -2.5E-1\n", "x").data == {
        "a": 100.0,
        "b": "1e2",
        "c": -0.25,
    }
    path = _edited(tmp_path, TWO, "qty_t: 100,", "qty_t: 1e2,")
    code, _out, err = run_in_process(["validate", str(path)])
    assert code == 0, err


def test_an_exponent_tagged_as_a_string_stays_a_string(tmp_path: Path) -> None:
    """``!!str 1e6`` says, in YAML's own words, that the value is the text "1e6"; it was read
    as the float 1e6 (the YAML 1.2 exponent rule above looked at the text, not at the tag). A
    number field now refuses it as it refuses ``"1e6"``; an untagged ``1e6`` stays a number,
    and a tagged exponent as a mapping key or in a list stays text too."""
    doc = parse_yaml(
        "a: !!str 1e6\nb: 1e6\nc: [!!str 2e3, 2e3, !!float 1e3]\n!!str 1e1: x\n1e2: y\n", "x"
    )
    assert doc.data == {
        "a": "1e6",
        "b": 1e6,
        "c": ["2e3", 2000.0, 1000.0],
        "1e1": "x",
        "1e2": "y",  # a key stays the text it was, tagged or not (as before)
    }
    path = _edited(tmp_path, TWO, "qty_t: 150,", "qty_t: !!str 1e6,")
    refused(["validate", str(path)], f"{path}:9", "markets[0].demand[0].qty_t", "the string '1e6'")


def test_contract_settle_refuses_a_string_volume(tmp_path: Path) -> None:
    src = EXAMPLES / "contracts" / "lynas_japan_ndpr.yaml"
    path = _edited(tmp_path, src, "volume_t_per_year: 5000", 'volume_t_per_year: "5000"')
    prices = EXAMPLES / "contracts" / "ndpr_prices_example.csv"
    argv = ["contract", "settle", str(path), "--prices", str(prices)]
    refused(argv, f"{path}:10", "volume_t_per_year", "the string '5000'")


def test_contract_value_refuses_a_boolean_share(tmp_path: Path) -> None:
    src = EXAMPLES / "contracts" / "lynas_japan_ndpr.yaml"
    path = _edited(tmp_path, src, "buyer_share: 0.5", "buyer_share: on")
    argv = ["contract", "value", str(path), "--forward-usd-per-kg", "120", "--vol", "0.3"]
    argv += ["--rate", "0.04", "--paths", "100"]
    refused(argv, f"{path}:14", "upside_share.buyer_share", "true (a yes/no value)")


def test_stockpile_simulate_refuses_a_string_amount(tmp_path: Path) -> None:
    src = EXAMPLES / "stockpile" / "project_vault.yaml"
    path = _edited(tmp_path, src, "amount_usd: 10000000000", "amount_usd: '10000000000'")
    signals = EXAMPLES / "stockpile" / "signals_ban_2027.csv"
    argv = ["stockpile", "simulate", str(path), "--signals", str(signals)]
    line = refused(argv, f"{path}:18", "funding[0].amount_usd", "the string '10000000000'")
    assert "funding" in line


def test_exposure_refuses_a_boolean_in_a_bom(tmp_path: Path) -> None:
    src = EXAMPLES / "bom" / "ev_traction_motor.yaml"
    path = _edited(tmp_path, src, "units_per_year: 100000", "units_per_year: yes")
    refused(["exposure", str(path)], f"{path}:19", "units_per_year", "true (a yes/no value)")


def test_trace_check_refuses_a_string_share_in_rules(tmp_path: Path) -> None:
    rules = EXAMPLES / "trace" / "rules.yaml"
    path = _edited(tmp_path, rules, "min_share: 0.8", 'min_share: "0.8"')
    network = EXAMPLES / "trace" / "magnet_chain_blend.jsonld"
    argv = ["trace", "check", str(network), "--rules", str(path), "--on", "2027-06-01"]
    code, _out, err = run_in_process(argv)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "min_share" in err, err
    assert "expected a number, got the string '0.8'" in err, err


def test_sweep_check_refuses_a_string_seed(tmp_path: Path) -> None:
    src = EXAMPLES / "studies" / "ndpr_ban_small.yaml"
    path = _edited(tmp_path, src, "seed: 42", 'seed: "42"')
    # the study names its base scenario relative to itself: keep it beside its siblings
    local = src.parent / f"strict-{tmp_path.name}.yaml"
    local.write_bytes(path.read_bytes())
    try:
        refused(["sweep", str(local), "--check"], f"{local}:6", "seed", "the string '42'")
    finally:
        local.unlink()


def test_stockpile_policy_check_refuses_a_boolean_number(tmp_path: Path) -> None:
    src = EXAMPLES / "stockpile" / "ndfeb_magnet_policy.yaml"
    text = src.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    paths = doc["simulation"]["paths"]
    assert isinstance(paths, int)
    old = re.search(rf"^([ \t]*)paths: {paths}\b", text, re.M)
    assert old is not None
    local = src.parent / f"strict-{tmp_path.name}.yaml"
    local.write_text(text.replace(old[0], f"{old[1]}paths: true", 1), encoding="utf-8")
    line_no = text[: old.start()].count("\n") + 1
    try:
        code, _out, err = run_in_process(["stockpile", "policy", str(local), "--check"])
        assert code == 2, err
        assert len(err.strip().splitlines()) == 1, err
        assert f"{local}:{line_no}" in err, err
        assert "simulation.paths" in err, err
        assert "expected a number, got true" in err, err
    finally:
        local.unlink()


def test_the_shipped_examples_still_load() -> None:
    """Every shipped scenario, contract, stockpile, BOM and study validates: none of them
    writes a number as text (the fuzz table and the golden tests run them too)."""
    for path in sorted((EXAMPLES / "scenarios").glob("*.yaml")):
        code, _out, err = run_in_process(["validate", str(path)])
        assert code == 0, f"{path}: {err}"
    for path in sorted((REPO / "src" / "critmin" / "scenarios" / "builtin").glob("*.yaml")):
        code, _out, err = run_in_process(["validate", str(path)])
        assert code == 0, f"{path}: {err}"


# --------------------------------------------------------------------------- the rule itself


class _Mixed(BoundedNumbers):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    qty_t: float
    months: int = 1
    label: float | str = 0.0
    mode: float | Literal["auto"] = 0.0
    levels_t: list[float] = Field(default_factory=list)
    by_year_t: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    band: tuple[float, float] | None = None
    anything: Any = None


def _error(**kw: Any) -> tuple[tuple[Any, ...], str]:
    with pytest.raises(ValidationError) as exc:
        _Mixed(**kw)
    err = exc.value.errors()[0]
    return error_loc(err), error_text(err)


def test_fields_that_admit_text_keep_it_and_literals_are_told() -> None:
    m = _Mixed(qty_t=1, label="free text", mode="auto", anything="x")
    assert (m.label, m.mode, m.anything) == ("free text", "auto", "x")
    assert _error(qty_t=1, mode="3") == (
        ("mode",),
        "expected a number or 'auto', got the string '3'",
    )
    assert _error(qty_t=1, band=(1.0, "2")) == (
        ("band", 1),
        "expected a number, got the string '2'",
    )
    assert _error(qty_t=1, months=True) == (
        ("months",),
        "expected a number, got true (a yes/no value)",
    )


def test_the_service_models_use_the_rule_and_keep_their_json_schema() -> None:
    """The HTTP API's request bodies refuse text for numbers too; the OpenAPI schema of a
    number field is unchanged (a before-check adds nothing to it)."""
    from critmin.api.models import DeclarationIn, In

    assert issubclass(In, StrictNumbers)
    schema = DeclarationIn.model_json_schema()["properties"]["quantity_t"]
    assert schema["type"] == "number"


# leaves: a number type and a valid value for it
_LEAVES = st.sampled_from([(float, 2.5), (int, 3), (Annotated[float, Field(ge=0)], 7.0)])


@st.composite
def _shapes(draw: st.DrawFn, depth: int = 0) -> tuple[Any, Any, list[tuple[Any, ...]]]:
    """(annotation, a valid value, the paths of its number leaves)."""
    if depth >= 3 or draw(st.booleans()):
        ann, value = draw(_LEAVES)
        if draw(st.booleans()):
            ann = ann | None
        return ann, value, [()]
    kind = draw(st.sampled_from(["list", "dict", "tuple"]))
    inner, value, leaves = draw(_shapes(depth + 1))
    n = draw(st.integers(1, 3))
    if kind == "list":
        return list[inner], [value] * n, [(i, *p) for i in range(n) for p in leaves]
    if kind == "dict":
        keys = [f"k{i}" for i in range(n)]
        return dict[str, inner], dict.fromkeys(keys, value), [(k, *p) for k in keys for p in leaves]
    return tuple[inner, ...], tuple([value] * n), [(i, *p) for i in range(n) for p in leaves]


def _put(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: _put(v, rest, new) if k == head else v for k, v in value.items()}
    items = [_put(v, rest, new) if i == head else v for i, v in enumerate(value)]
    return tuple(items) if isinstance(value, tuple) else items


@settings(max_examples=150, deadline=None)
@given(
    shape=_shapes(),
    pick=st.integers(0, 10**6),
    text=st.one_of(
        st.booleans(),
        st.sampled_from(["12", "1e3", "1,200", "0", "", "nan"]),
        st.text(max_size=8),
    ),
)
def test_text_anywhere_in_a_number_field_is_refused_at_its_path(
    shape: tuple[Any, Any, list[tuple[Any, ...]]], pick: int, text: bool | str
) -> None:
    """For any number type nested in lists, dicts and tuples: the valid value passes
    unchanged, and a boolean or string put at any one number's place is refused with
    ``expected a number`` at exactly that place."""
    ann, value, leaves = shape
    model = create_model("M", __base__=StrictNumbers, f=(ann, ...))
    assert model(f=value).f == value
    path = leaves[pick % len(leaves)]
    with pytest.raises(ValidationError) as exc:
        model(f=_put(value, path, text))
    err = exc.value.errors()[0]
    assert error_loc(err) == ("f", *path)
    assert error_text(err).startswith("expected a number, got ")


def test_a_base_60_number_is_a_string_and_a_long_one_costs_no_time(tmp_path: Path) -> None:
    """YAML 1.1 reads ``1:30`` as the base-60 integer 90; YAML 1.2, which critmin follows for
    numbers, dropped that form, so it is the text "1:30" and a number field refuses it. PyYAML
    built such a number digit group by digit group in a growing integer, quadratic in its
    length: PyYAML took 32 s to load 1.2 MB of ``1:30:30:...`` here, a 20 MB one minutes. A plain
    ``90`` is still a number."""
    parsed = parse_yaml("a: 1:30\nb: 90\nc: '1:30'\n", "x").data
    assert parsed == {"a": "1:30", "b": 90, "c": "1:30"}
    long = "1" + ":30" * 400_000
    path = _edited(tmp_path, TWO, "qty_t: 150,", f"qty_t: {long},")
    line = refused(["validate", str(path)], f"{path}:9", "markets[0].demand[0].qty_t", "the string")
    assert len(line) <= 1_000  # the value is quoted cut short
