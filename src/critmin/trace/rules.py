"""Origin rules in dated YAML, evaluated per lot; the tariff treatment for the market engine.

Rule kinds (see docs/trace.md for the file format):

* ``min_share``: at least ``min_share`` of the lot's material must have had one of the
  listed ``stages`` in an ``allowed`` country ("extracted *or* processed in North America or an
  FTA partner"). The test is per unit of material: a unit qualifies when *any* of its listed
  stages happened in an allowed country. ``basis: value`` weights each unit by the unit value
  (USD/t) of the mined lot it came from (declared value, else reference price).
* ``forbid``: at most ``max_share`` (default 0) of the lot's material may have had one of the
  listed ``stages`` in a listed country or (``feoc_facilities: true``) at a facility flagged
  ``feoc`` ("no foreign entity of concern at any stage").

A rule applies to a lot when the rule is in force on the check date (``from`` <= date <
``until``), the lot's product is listed (if ``products`` is given), and some of the lot's
material went through a listed stage. Failures come with the chains of events that cause them.
The tariff treatment of a lot is ``member`` when every rule named in ``treatment.member_if``
passes or does not apply and the lot is traced to a mine; otherwise ``non_member``.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from critmin.bounds import MAX_USD_PER_T, StrictNumbers
from critmin.errors import CritminError, InputError, UnknownNameError
from critmin.trace.geo import bloc_members, known_blocs, resolve_country
from critmin.trace.graph import EXTRACTED, LotGraph, build_graph, propagate_vector
from critmin.trace.massbalance import Violation, check_mass_balance
from critmin.trace.model import (
    STAGES,
    Aggregation,
    Extraction,
    Stage,
    SupplyNetwork,
    Transformation,
    parse_stage,
)
from critmin.trace.origin import unit_values
from critmin.yamlio import field_names, load_yaml, validation_error

BoolArray = npt.NDArray[np.bool_]


class _Frozen(StrictNumbers, BaseModel):
    # StrictNumbers: a share of `yes` or "0.5" is refused, not read as 1.0 or 0.5
    # allow_inf_nan=False: a NaN share or price would make every comparison false and
    # hide a rule failure
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False
    )


def _names(v: Any, what: str) -> list[str]:
    """The items of a YAML list of names. A bare string or number is refused (iterating
    ``"forge"`` gave the blocs 'f', 'o', ...; iterating a number raised a TypeError)."""
    if v is None:
        return []
    if not isinstance(v, list | tuple):
        raise ValueError(f"expected a list of {what}")
    for x in v:
        if not isinstance(x, str):
            raise ValueError(f"expected a list of {what}, got an item {x!r}")
    return list(v)


def _named(parse: Any, v: Any, what: str) -> tuple[Any, ...]:
    """Each name parsed; an unknown name becomes a ValueError, so that the error names the
    file line and field of the rule (pydantic locates ValueErrors, not CritminErrors)."""
    try:
        return tuple(parse(x) for x in _names(v, what))
    except CritminError as exc:
        raise ValueError(str(exc)) from None


class CountrySet(_Frozen):
    """Bloc ids (resolved on the check date) and explicit countries (ISO2/ISO3/names)."""

    blocs: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()

    @field_validator("countries", mode="before")
    @classmethod
    def _iso3(cls, v: Any) -> tuple[str, ...]:
        return _named(resolve_country, v, "countries (ISO2, ISO3 or names)")

    @field_validator("blocs", mode="before")
    @classmethod
    def _blocs(cls, v: Any) -> tuple[str, ...]:
        known = known_blocs()

        def bloc(b: str) -> str:
            key = b.strip().lower()
            if key not in known:
                raise UnknownNameError("bloc", b, known)
            return key

        return _named(bloc, v, "bloc ids")

    def resolve(self, on: dt.date, expand_eu: bool = False) -> frozenset[str]:
        out: set[str] = set(self.countries)
        for b in self.blocs:
            out |= bloc_members(b, on=on, expand_eu=expand_eu)
        return frozenset(out)


class Rule(_Frozen):
    """One dated origin rule."""

    id: str
    description: str = ""
    kind: Literal["min_share", "forbid"]
    stages: tuple[Stage, ...] = STAGES
    allowed: CountrySet | None = None
    countries: CountrySet | None = None
    feoc_facilities: bool = False
    min_share: float | None = Field(default=None, ge=0, le=1)
    max_share: float = Field(default=0.0, ge=0, le=1)
    basis: Literal["mass", "value"] = "mass"
    products: tuple[str, ...] = ()
    from_: dt.date = Field(default=dt.date(1900, 1, 1), alias="from")
    until: dt.date | None = None
    source: str = ""

    @field_validator("stages", mode="before")
    @classmethod
    def _stages(cls, v: Any) -> tuple[Stage, ...]:
        return _named(parse_stage, v, "stages (mine, refining, metal, component, product)")

    def in_force(self, on: dt.date) -> bool:
        return self.from_ <= on and (self.until is None or on < self.until)


class Treatment(_Frozen):
    member_if: tuple[str, ...] = ()


class RuleSet(_Frozen):
    """A set of rules with the data they need."""

    id: str = "rules"
    description: str = ""
    expand_eu: bool = False
    reference_prices_usd_per_t: dict[str, Annotated[float, Field(ge=0, le=MAX_USD_PER_T)]] = Field(
        default_factory=dict
    )
    treatment: Treatment = Treatment()
    rules: tuple[Rule, ...]


def load_rules(path: str | Path) -> RuleSet:
    """Read a rules YAML file; errors name the file, line and field."""
    p = Path(path)
    doc = load_yaml(p, what="rules file", unique_keys=True)
    doc.require_mapping("a mapping with a 'rules' list")
    try:
        rs = RuleSet.model_validate(doc.data)
    except ValidationError as exc:
        raise validation_error(exc, doc, field_names(RuleSet), RuleSet) from None
    except CritminError as exc:  # unknown country/bloc/stage inside validators
        raise InputError(str(exc), where=str(p)) from None
    ids = [r.id for r in rs.rules]
    for rid in rs.treatment.member_if:
        if rid not in ids:
            raise InputError(
                f"treatment.member_if names unknown rule {rid!r}; rules: {', '.join(ids)}",
                where=str(p),
            )
    for r in rs.rules:
        if r.kind == "min_share" and (r.allowed is None or r.min_share is None):
            raise InputError(
                f"rule {r.id!r}: min_share needs 'allowed' and 'min_share'", where=str(p)
            )
        if r.kind == "forbid" and r.countries is None and not r.feoc_facilities:
            raise InputError(
                f"rule {r.id!r}: forbid needs 'countries' or 'feoc_facilities: true'", where=str(p)
            )
    return rs


class RuleResult(BaseModel):
    """Verdict of one rule on one lot."""

    model_config = ConfigDict(frozen=True)

    lot: str
    rule: str
    status: Literal["pass", "fail", "not_applicable", "not_in_force"]
    share: float | None = None
    threshold: float | None = None
    chains: tuple[tuple[str, ...], ...] = ()
    cause: str = ""


class CheckReport(BaseModel):
    """Mass-balance violations, rule verdicts and tariff treatment per lot."""

    model_config = ConfigDict(frozen=True)

    on: dt.date
    violations: tuple[Violation, ...]
    results: tuple[RuleResult, ...]
    treatment: dict[str, Literal["member", "non_member"]]

    @property
    def ok(self) -> bool:
        return not self.violations and all(r.status != "fail" for r in self.results)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "lot": r.lot,
                    "rule": r.rule,
                    "status": r.status,
                    "share": r.share,
                    "threshold": r.threshold,
                    "treatment": self.treatment.get(r.lot),
                    "cause": r.cause,
                }
                for r in self.results
            ]
        )


def _producers(net: SupplyNetwork) -> dict[str, str]:
    """lot id -> id of the event that produced it."""
    out: dict[str, str] = {}
    for ev in net.events:
        if isinstance(ev, Extraction | Transformation):
            for q in ev.outputs:
                out[q.lot] = ev.id
        elif isinstance(ev, Aggregation):
            out[ev.parent] = ev.id
    return out


def _chains(
    graph: LotGraph,
    lot: int,
    target: BoolArray,
    producers: dict[str, str],
    *,
    blocked: BoolArray | None = None,
    limit: int = 3,
) -> list[tuple[str, ...]]:
    """Event chains from ``target`` lots upstream down to ``lot`` (breadth first).

    The search does not go through ``blocked`` lots (material that already qualifies).
    """
    A = graph.A
    ids = graph.lot_ids or []
    parent: dict[int, int] = {lot: -1}
    queue = deque([lot])
    found: list[tuple[str, ...]] = []
    while queue and len(found) < limit:
        o = queue.popleft()
        if target[o]:
            path: list[str] = []
            x = o
            while x != -1:
                ev = producers.get(ids[x])
                if ev is not None and (not path or path[-1] != ev):
                    path.append(ev)
                x = parent[x]
            found.append(tuple(path))
        for i in A.indices[A.indptr[o] : A.indptr[o + 1]]:
            j = int(i)
            if j not in parent and (blocked is None or not blocked[j]):
                parent[j] = o
                queue.append(j)
    return found


@dataclass(frozen=True)
class _Place:
    """Which facilities a rule counts against: outside ``allowed`` (min_share rules), or in
    ``forbidden`` / run by a foreign entity of concern when ``feoc`` (forbid rules)."""

    allowed: frozenset[str] | None = None
    forbidden: frozenset[str] = frozenset()
    feoc: bool = False

    def disallowed(self, country: str, feoc: bool) -> bool:
        if self.allowed is not None:
            return country not in self.allowed
        return country in self.forbidden or (self.feoc and feoc)


def _cause(
    net: SupplyNetwork,
    chains: list[tuple[str, ...]],
    rule_stages: set[str],
    place: _Place,
) -> str:
    """The event that makes a lot fail: the first event of the first chain that happens at one
    of the rule's stages in a disallowed place (e.g. the Chinese separation step for a
    refining rule, not the mine upstream of it); else the chain's first event."""
    events = {e.id: e for e in net.events}
    fallback = ""
    for ev_id in chains[0]:
        fac_id = getattr(events.get(ev_id), "facility", None)
        if not fac_id:
            continue
        f = net.facility(fac_id)
        text = f"event {ev_id} at {f.name or f.id} ({f.country}, {f.stage.value})"
        fallback = fallback or text
        if f.stage.value in rule_stages and place.disallowed(f.country, bool(f.feoc)):
            return text
    return fallback


# long: one rule after the other over the arrays built once at its top; forbid and require
# rules differ only in how the share is computed (the two branches of the loop)
def evaluate(  # noqa: PLR0915 - see "long:" above
    net: SupplyNetwork,
    ruleset: RuleSet,
    on: dt.date,
    tol: float = 1e-6,
    explain: bool = True,
) -> CheckReport:
    """Check mass balance and every rule on every lot on date ``on``."""
    violations = tuple(check_mass_balance(net, tol=tol))
    graph = build_graph(net)
    ids = graph.lot_ids or []
    n = graph.n
    ones = np.ones(n)
    stage_code = {s.value: i for i, s in enumerate(STAGES)}
    producers = _producers(net)
    products = np.array([lot.product.lower() for lot in net.lots], dtype=object)
    lot_country = np.array(
        [graph.countries[c] if c >= 0 else "" for c in graph.country], dtype=object
    )
    feoc_lot = np.zeros(n, dtype=bool)
    if graph.facility_feoc is not None:
        has_f = graph.facility >= 0
        feoc_lot[has_f] = graph.facility_feoc[graph.facility[has_f]]
    extracted = graph.producer == EXTRACTED
    traced = propagate_vector(graph, extracted, ones) > 0
    results: list[RuleResult] = []
    failed: dict[str, set[str]] = {}
    for rule in ruleset.rules:
        if not rule.in_force(on):
            results.extend(RuleResult(lot=x, rule=rule.id, status="not_in_force") for x in ids)
            continue
        in_stage = np.isin(graph.stage, [stage_code[s.value] for s in rule.stages])
        rule_stages = {s.value for s in rule.stages}
        covered = propagate_vector(graph, in_stage, ones) > 1e-12
        applies = covered.copy()
        if rule.products:
            applies &= np.isin(products, [p.lower() for p in rule.products])
        if rule.kind == "forbid":
            bad_c = rule.countries.resolve(on, ruleset.expand_eu) if rule.countries else frozenset()
            offending = in_stage & np.isin(lot_country, list(bad_c))
            place = _Place(forbidden=bad_c, feoc=rule.feoc_facilities)
            if rule.feoc_facilities:
                offending |= in_stage & feoc_lot
            blocked = None
            share = propagate_vector(graph, offending, ones)
            passed = share <= rule.max_share + 1e-9
            threshold = rule.max_share
        else:
            assert rule.allowed is not None
            assert rule.min_share is not None
            good_c = rule.allowed.resolve(on, ruleset.expand_eu)
            good = in_stage & np.isin(lot_country, list(good_c))
            place = _Place(allowed=good_c)
            no_inputs = np.diff(graph.A.indptr) == 0
            offending = no_inputs & ~good  # where non-qualifying material starts
            blocked = good
            if rule.basis == "mass":
                share = propagate_vector(graph, good, ones)
            else:
                uv, _ = unit_values(net, ruleset.reference_prices_usd_per_t)
                lacking = extracted & ~np.isfinite(uv)
                if lacking.any():
                    prods = sorted({net.lots[i].product for i in np.flatnonzero(lacking)})
                    raise InputError(
                        f"rule {rule.id!r} (basis value) needs a value for mined lots; no "
                        f"value_usd and no reference_prices_usd_per_t for: {', '.join(prods)}"
                    )
                d = propagate_vector(graph, extracted, np.where(extracted, uv, 0.0))
                num = propagate_vector(graph, good, d)
                share = np.divide(num, d, out=np.zeros(n), where=d > 0)
            passed = share >= rule.min_share - 1e-9
            threshold = rule.min_share
        for i in range(n):
            if not applies[i]:
                results.append(RuleResult(lot=ids[i], rule=rule.id, status="not_applicable"))
                continue
            if passed[i]:
                results.append(
                    RuleResult(
                        lot=ids[i],
                        rule=rule.id,
                        status="pass",
                        share=float(share[i]),
                        threshold=threshold,
                    )
                )
                continue
            failed.setdefault(ids[i], set()).add(rule.id)
            chains = _chains(graph, i, offending, producers, blocked=blocked) if explain else []
            cause = _cause(net, chains, rule_stages, place) if chains else ""
            results.append(
                RuleResult(
                    lot=ids[i],
                    rule=rule.id,
                    status="fail",
                    share=float(share[i]),
                    threshold=threshold,
                    chains=tuple(chains),
                    cause=cause,
                )
            )
    member_rules = set(ruleset.treatment.member_if)
    treatment: dict[str, Literal["member", "non_member"]] = {}
    for i, x in enumerate(ids):
        bad = bool(failed.get(x, set()) & member_rules) or not traced[i]
        treatment[x] = "non_member" if bad else "member"
    return CheckReport(on=on, violations=violations, results=tuple(results), treatment=treatment)
