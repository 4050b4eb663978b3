"""Study files: a base scenario, uncertainties, levers, outcomes, a sampler and a seed.

The vocabulary is EMA Workbench's (Kwakkel 2017, "The Exploratory Modeling Workbench",
Environmental Modelling & Software 96, doi:10.1016/j.envsoft.2017.06.054): *uncertainties*
are what the world does, *levers* are the policy choices compared, *outcomes* what is
measured. The file format is documented field by field in docs/sweeps.md; every error names
the study file, the line and the field (through :mod:`critmin.yamlio`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from critmin.bounds import BoundedNumbers
from critmin.errors import InputError, UnknownNameError
from critmin.periods import Month
from critmin.scenarios.sweep.distributions import Categorical, Discrete, Distribution
from critmin.scenarios.sweep.paths import Op, PathError, Step, check_target, parse_path
from critmin.scenarios.sweep.rules import RULE_COLUMN, RULES, STOCK_METRICS
from critmin.yamlio import (
    Document,
    FieldValueError,
    drop_extension_keys,
    parse_yaml,
    validate,
)

#: node variables an outcome can read (critmin.market.results.node_table), plus derived ones
NODE_VARIABLES = (
    "price",
    "production",
    "supply_capacity",
    "consumption",
    "conversion_input",
    "unserved",
    "unserved_critical",
    "consumer_surplus",
    "producer_surplus",
    "tariff_revenue",
    "stock_release",
    "expenditure",  # price x consumption (usd): what buyers at the node pay
)
REDUCTIONS = ("sum", "mean", "max", "min", "last", "p95", "p50", "p5")


def _check_paths(paths: list[str]) -> None:
    """Each path parses, or the field ``path`` is refused with the parser's reason."""
    for p in paths:
        try:
            parse_path(p)
        except PathError as exc:
            raise FieldValueError("path", str(exc)) from None


class _Model(BoundedNumbers, BaseModel):
    # NaN and inf are refused in every number of the file, and sizes are bounded as in a
    # scenario (critmin.bounds): an sd of 1e308 overflowed scipy's inverse CDF (issue 13)
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Input(_Model):
    """An uncertainty or a sampled lever: a distribution written into scenario path(s)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    path: str | list[str] | None = None
    op: Op = "set"
    unset: list[str] = Field(default=[], description="paths removed when the value is written")
    distribution: Distribution
    source: str | None = None
    estimate: bool = False

    @model_validator(mode="after")
    def _path(self) -> Input:
        categorical = isinstance(self.distribution, Categorical)
        if categorical and self.path not in (None, "shocks"):
            raise FieldValueError("path", "a categorical input adds a shock set: leave out 'path'")
        if not categorical and self.path is None:
            raise FieldValueError("path", "a numeric input needs a 'path' into the scenario")
        _check_paths(self.paths())
        return self

    def paths(self) -> list[str]:
        if self.path is None or isinstance(self.distribution, Categorical):
            return []
        return [self.path] if isinstance(self.path, str) else list(self.path)

    def steps(self) -> list[tuple[Step, ...]]:
        return [parse_path(p) for p in self.paths()]


class Lever(_Model):
    """A policy choice: ``values`` for a grid, or a ``distribution`` when sampled."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    path: str | list[str]
    op: Op = "set"
    unset: list[str] = Field(default=[], description="paths removed when the value is written")
    values: list[float] | None = Field(default=None, min_length=1)
    distribution: Distribution | None = None
    source: str | None = None
    estimate: bool = False

    @model_validator(mode="after")
    def _one(self) -> Lever:
        if (self.values is None) == (self.distribution is None):
            raise FieldValueError("values", "give exactly one of 'values' or 'distribution'")
        if isinstance(self.distribution, Categorical):
            raise FieldValueError("distribution", "a lever takes numbers; use 'discrete'")
        _check_paths(self.paths())
        return self

    def paths(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)

    def steps(self) -> list[tuple[Step, ...]]:
        return [parse_path(p) for p in self.paths()]

    def as_input(self) -> Input:
        """The lever as a sampled input (``values`` become an equally weighted discrete)."""
        dist = self.distribution or Discrete(kind="discrete", values=list(self.values or []))
        return Input(
            name=self.name, path=self.path, op=self.op, unset=self.unset, distribution=dist
        )


class Outcome(_Model):
    """A measured outcome: a node variable over products/regions, or a scenario metric.

    ``variable`` (a node variable) is summed over the selected ``region``\\s/``product``\\s
    (averaged for ``price``), then reduced over months by ``reduce`` unless ``monthly``.
    ``metric`` names a headline metric of ``critmin run`` (``levy_revenue_usd``,
    ``floor_fiscal_cost_usd``, ``stock_days_of_cover_end_ndpr_oxide``...) or one entry of a
    per-product figure (``physical_shortage_t_by_product.ndfeb_magnet``, an instrument's
    ``stock_days_of_cover_end_by_product.ndpr_oxide``); a study with
    ``stockpile_rules`` also has the rules' own (``stockpile_cost_usd``...)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    variable: Literal[NODE_VARIABLES] | None = None  # type: ignore[valid-type]
    metric: str | None = None
    mineral: str | None = None
    product: str | list[str] | None = None
    region: str | list[str] | None = None
    reduce: Literal[REDUCTIONS] = "sum"  # type: ignore[valid-type]
    monthly: bool = False
    unit: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Outcome:
        if (self.variable is None) == (self.metric is None):
            raise FieldValueError("variable", "give exactly one of 'variable' or 'metric'")
        if self.metric is not None and self.monthly:
            raise FieldValueError("monthly", "a headline metric is one number per run")
        return self


class Sampler(_Model):
    """The design: ``monte_carlo``, ``latin_hypercube``, ``sobol``, ``morris`` or
    ``enumerate``.

    ``samples`` = scenarios drawn (Sobol: base samples N, runs N x (d + 2); Morris:
    trajectories, runs N x (d + 1)). ``enumerate`` runs every combination of the values of
    discrete and categorical inputs once, weighted by its probability (``samples`` unused).
    """

    kind: Literal["monte_carlo", "latin_hypercube", "sobol", "morris", "enumerate"] = (
        "latin_hypercube"
    )
    samples: int = Field(default=100, ge=1)
    levels: int = Field(default=4, ge=2, description="Morris grid levels")


class Stop(_Model):
    """Stop when the relative standard error of every named outcome is below ``rse``."""

    outcomes: list[str] = Field(min_length=1)
    rse: float = Field(gt=0, lt=1)
    min_samples: int = Field(default=50, ge=2)


class DisruptionEvent(_Model):
    """One exporter and stage of the chain: the annual probability of a one-year export
    disruption of each size (share of its exports withheld, 1.0 = a ban)."""

    exporter: str = Field(min_length=1)
    stage: str = Field(min_length=1, description="product stage (mine, refining, metal...)")
    products: list[str] | None = Field(default=None, description="default: the stage's products")
    probabilities: dict[float, float] = Field(min_length=1)
    source: str | None = None
    estimate: bool = False

    @model_validator(mode="after")
    def _sizes(self) -> DisruptionEvent:
        for size, prob in self.probabilities.items():
            if not 0 < size <= 1:
                raise FieldValueError("probabilities", f"size {size} is not in (0, 1]")
            if not 0 <= prob <= 1:
                raise FieldValueError("probabilities", f"probability {prob} is not in [0, 1]")
        return self


class Disruptions(_Model):
    """A USGS-shaped set of one-year export disruptions of one chain (docs/sweeps.md)."""

    name: str = Field(default="disruption", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    mineral: str = Field(min_length=1)
    start: Month
    length_months: int = Field(default=12, ge=1)
    events: list[DisruptionEvent] = Field(min_length=1)

    @model_validator(mode="after")
    def _total(self) -> Disruptions:
        total = sum(p for ev in self.events for p in ev.probabilities.values())
        if total > 1 + 1e-12:
            raise FieldValueError(
                "events",
                f"the probabilities add up to {total:.4g} > 1 (the events of a year "
                "are taken as mutually exclusive)",
            )
        return self


class StockpileRules(_Model):
    """Play the optimal rule of a stockpile policy file and the simple rules on the same
    sampled futures (docs/sweeps.md, "Stockpile rules on the same samples")."""

    policy: str = Field(min_length=1, description="a stockpile policy file, relative to the study")
    rules: list[Literal[RULES]] = Field(default=list(RULES), min_length=1)  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _unique(self) -> StockpileRules:
        for i, rule in enumerate(self.rules):
            if rule in self.rules[:i]:
                raise FieldValueError(f"rules.{i}", f"rule {rule!r} is listed twice")
        return self


class Study(_Model):
    """A sweep: the base scenario and what varies, what is compared, what is measured."""

    name: str = Field(min_length=1)
    description: str = ""
    base: str = Field(description="scenario file (relative to the study) or builtin:NAME")
    months: dict[Literal["start", "end"], Month] | None = None
    seed: int = Field(ge=0)
    sampler: Sampler = Sampler()
    batch_size: int = Field(default=25, ge=1)
    shock_sets: dict[str, list[dict[str, Any]]] = {}
    uncertainties: list[Input] = []
    levers: list[Lever] = []
    lever_design: Literal["grid", "sampled"] = "grid"
    outcomes: list[Outcome] = Field(min_length=1)
    stop: Stop | None = None
    disruptions: Disruptions | None = None
    stockpile_rules: StockpileRules | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: Any) -> Any:
        data = drop_extension_keys(data)
        if isinstance(data, dict) and data.get("stockpile_rules") is not None:
            # the rules' own outcomes, unless the study measures something by those names
            given = data.get("outcomes", [])
            if isinstance(given, list):  # anything else is refused by the field's type
                # a name of the wrong type is the outcome's own error, reported by its field
                names = {
                    o["name"]
                    for o in given
                    if isinstance(o, dict) and isinstance(o.get("name"), str)
                }
                extra = [{"name": m, "metric": m} for m in STOCK_METRICS if m not in names]
                data = {**data, "outcomes": [*given, *extra]}
        return data

    @model_validator(mode="after")
    def _rules_design(self) -> Study:
        kind = self.sampler.kind
        if self.stockpile_rules is not None and kind not in ("monte_carlo", "latin_hypercube"):
            # each scenario draws its own random path of market states: a design that
            # assumes a deterministic model of its inputs (Sobol, Morris) or lists cases
            # with probabilities (enumerate) would be wrong without saying so
            raise FieldValueError(
                "sampler.kind",
                f"stockpile_rules draw a random path per scenario: use monte_carlo or "
                f"latin_hypercube, not {kind}",
            )
        return self

    @model_validator(mode="after")
    def _names(self) -> Study:
        seen: set[str] = set()
        named: list[tuple[str, list[str]]] = [
            ("uncertainties", [u.name for u in self.uncertainties]),
            ("levers", [lv.name for lv in self.levers]),
            ("outcomes", [o.name for o in self.outcomes]),
        ]
        for group, names in named:
            for i, name in enumerate(names):
                if name in seen or name in RESERVED:
                    raise FieldValueError(
                        f"{group}.{i}.name", f"name {name!r} is used twice or reserved"
                    )
                seen.add(name)
        for i, unc in enumerate(self.uncertainties):
            if isinstance(unc.distribution, Categorical):
                for choice in unc.distribution.choices:
                    if choice not in self.shock_sets:
                        raise FieldValueError(
                            f"uncertainties.{i}.distribution.choices",
                            str(UnknownNameError("shock set", choice, self.shock_sets)),
                        )
        if self.lever_design == "grid":
            for i, lever in enumerate(self.levers):
                if lever.values is None:
                    raise FieldValueError(f"levers.{i}.values", "a grid lever needs 'values'")
        if self.stop is not None:
            names = [o.name for o in self.outcomes if not o.monthly]
            for j, name in enumerate(self.stop.outcomes):
                if name not in names:
                    raise FieldValueError(
                        f"stop.outcomes.{j}", str(UnknownNameError("scalar outcome", name, names))
                    )
        kind = self.sampler.kind
        if kind in ("sobol", "morris") and not self.sampled_inputs():
            raise FieldValueError("sampler.kind", f"a {kind} design needs inputs")
        if kind == "enumerate":
            for i, inp in enumerate(self.sampled_inputs()):
                if not isinstance(inp.distribution, Discrete | Categorical):
                    raise FieldValueError(
                        f"uncertainties.{i}.distribution",
                        "an 'enumerate' design takes discrete and categorical inputs only",
                    )
        if self.disruptions is not None and self.disruptions.name in self.shock_sets:
            raise FieldValueError("disruptions.name", "the name is already a shock set")
        return self

    def sampled_inputs(self) -> list[Input]:
        """The columns of the design: uncertainties, then levers when they are sampled."""
        levers = [lv.as_input() for lv in self.levers] if self.lever_design == "sampled" else []
        return [*self.uncertainties, *levers]

    def grid_levers(self) -> list[Lever]:
        return list(self.levers) if self.lever_design == "grid" else []


#: columns every sample row has; no input, lever or outcome may take these names
RESERVED = frozenset(
    {
        "sample_id",
        "scenario_id",
        "policy_id",
        "weight",
        "seed",
        "status",
        "error",
        "seconds",
        RULE_COLUMN,
    }
)


class LoadedStudy(BaseModel):
    """A validated study, where it came from, and the hash that keys its output folder."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    study: Study
    source: str
    text: str
    sha256: str
    base_dir: str
    #: the solved policy file of ``stockpile_rules`` (:func:`prepare_study`), else None
    stock_rules: Any = None


def load_study_file(path: str | Path) -> LoadedStudy:
    """Read and validate a study; :class:`~critmin.errors.InputError` at file:line:field."""
    from critmin.fileio import read_text

    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such study file {str(p)!r}", where=str(p))
    # read once, through the checks every format gets (UTF-8, size, a folder or a loop in
    # place of the file): a latin-1 study gave a UnicodeDecodeError traceback (issue 13)
    text = read_text(p, "study")
    return _loaded(parse_yaml(text, str(p)), text, str(p), str(p.resolve().parent))


def load_study_text(text: str, name: str, base_dir: str = ".") -> LoadedStudy:
    """Validate a study given as text (``name`` is used in error messages)."""
    return _loaded(parse_yaml(text, name), text, name, base_dir)


def _loaded(doc: Document, text: str, name: str, base_dir: str) -> LoadedStudy:
    doc.require_mapping("a study: a mapping with 'name', 'base', 'seed' and 'outcomes'")
    study = validate(Study, doc)
    if study.disruptions is not None:
        from critmin.scenarios.sweep.usgs import expand_disruptions

        study = expand_disruptions(study, base_dir, doc)
    loaded = LoadedStudy(
        study=study,
        source=name,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        base_dir=base_dir,
    )
    _check_against_base(loaded, doc)
    return loaded


def _check_against_base(loaded: LoadedStudy, doc: Document) -> None:
    """Every path must name a number (or month) of the base scenario; shock sets must parse;
    outcome products/regions must exist. Errors point at the study's line."""
    from critmin.scenarios.sweep.evaluate import base_data, check_shock_set, outcome_nodes_error

    study = loaded.study
    try:
        data = base_data(loaded)
    except InputError as exc:
        raise InputError(str(exc), where=doc.where(("base",))) from None
    movers: list[tuple[str, Sequence[Input | Lever]]] = [
        ("uncertainties", study.uncertainties),
        ("levers", study.levers),
    ]
    for group, items in movers:
        for i, item in enumerate(items):
            for j, steps in enumerate(item.steps()):
                loc: tuple[Any, ...] = (group, i, "path")
                if isinstance(item.path, list):
                    loc = (*loc, j)
                try:
                    check_target(data, steps, item.op)
                except PathError as exc:
                    raise doc.error(loc, str(exc)) from None
    for name, shocks in study.shock_sets.items():
        problem = check_shock_set(data, shocks)
        if problem is not None:
            idx, msg = problem
            raise doc.error(("shock_sets", name, idx), msg)
    for i, outcome in enumerate(study.outcomes):
        bad = outcome_nodes_error(data, outcome)
        if bad is not None:
            raise doc.error(("outcomes", i, bad[0]), bad[1])
    if study.stockpile_rules is not None:
        _check_stock_rules(loaded, doc, data)


def _check_stock_rules(loaded: LoadedStudy, doc: Document, data: dict[str, Any]) -> None:
    """The policy file of ``stockpile_rules`` loads (its own errors name its own lines), its
    stock's node is in the study's base and its first year is inside the study's months."""
    from critmin.periods import month_index
    from critmin.scenarios.sweep.dp_file import load_policy_file

    section = loaded.study.stockpile_rules
    assert section is not None
    path = Path(loaded.base_dir) / section.policy
    if not path.is_file():
        raise doc.error(("stockpile_rules", "policy"), f"no such policy file {section.policy!r}")
    policy = load_policy_file(path)
    st = policy.spec.stockpile
    market = next((m for m in data.get("markets") or [] if m["mineral"] == policy.mineral), None)
    if market is None:
        raise doc.error(
            ("stockpile_rules", "policy"),
            f"the policy's stock is in market {policy.mineral!r}, which the study's base lacks",
        )
    from critmin.scenarios.sweep.evaluate import market_products, market_regions

    if st.region not in market_regions(market) or st.product not in market_products(market):
        raise doc.error(
            ("stockpile_rules", "policy"),
            f"the policy's stock node ({st.region}, {st.product}) is not in the study's base",
        )
    months = data.get("months") or {}
    first, last = month_index(str(months.get("start"))), month_index(str(months.get("end")))
    if not first <= month_index(policy.year_start) <= last:
        raise doc.error(
            ("stockpile_rules", "policy"),
            f"the policy's first year {policy.year_start} is outside the study's months "
            f"{months.get('start')}..{months.get('end')}; set the study's 'months'",
        )


def prepare_study(
    loaded: LoadedStudy, on_run: Callable[[int, int], None] | None = None
) -> LoadedStudy:
    """The study with what its samples need computed once, in the driver: for
    ``stockpile_rules``, the policy file's DP solved (its market runs; ``on_run(done,
    total)`` reports them) and its text added to the hash that keys the output folder, so
    that ``--resume`` never mixes batches of an edited policy. Idempotent."""
    section = loaded.study.stockpile_rules
    if section is None or loaded.stock_rules is not None:
        return loaded
    from critmin.scenarios.sweep.rules import prepare

    rules = prepare(section, loaded.base_dir, on_run)
    policy_text = (Path(loaded.base_dir) / section.policy).read_bytes()
    digest = hashlib.sha256(loaded.text.encode("utf-8") + b"\0" + policy_text).hexdigest()
    return loaded.model_copy(update={"stock_rules": rules, "sha256": digest})
