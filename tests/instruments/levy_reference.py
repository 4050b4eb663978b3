"""The FORGE levy as it was before vectorisation: one Python loop over every route.

Kept as the reference implementation for ``test_levy_vectorised.py`` (the vectorised
:class:`~critmin.policy.instruments.forge_levy.ForgeLevy` must give the same levies, revenue,
rows and prices). Only the lifecycle is replaced; the parameter helpers (reference price,
bound, transport, membership) are the instrument's own.
"""

from __future__ import annotations

from critmin.policy.instrument import MarketContext, MonthView, SeriesRow, SolvedMonth
from critmin.policy.instruments.forge_levy import ForgeLevy, variable_levy


class ReferenceForgeLevy(ForgeLevy):
    """Per-route dictionary implementation (the pre-vectorisation code path)."""

    def initialize(self, ctx: MarketContext) -> None:
        super().initialize(ctx)
        self._ref_applied: dict[tuple[str, str], float] = {}
        self._ref_next: dict[tuple[str, str], float] | None = None

    def ref_levies(self, month: str, solved: SolvedMonth | None) -> dict[tuple[str, str], float]:
        if solved is None or not self.active(month):
            return {}
        inside = self.members(month)
        out: dict[tuple[str, str], float] = {}
        for exp, imp, prod in solved.routes():
            if exp in inside or imp not in inside or prod not in self._products:
                continue
            if (exp, prod) in out:
                continue
            ref = self.reference(prod, month)
            if ref is None:
                continue
            landed = max(solved.price(exp, prod), 0.0) + self.transport(prod)
            out[(exp, prod)] = variable_levy(ref, landed, self.bound(prod, month, landed))
        return out

    def before_solve(self, month: str, view: MonthView) -> None:
        if self._ref_next is not None and self._next_month == month:
            levy = self._ref_next
        else:
            self._iterations = 0
            levy = self.ref_levies(month, view.previous)
        self._iterations += 1
        self._ref_applied = dict(levy)
        if not levy:
            return
        inside = sorted(self.members(month))
        for (exp, prod), value in levy.items():
            if value > 0:
                view.add_route_wedge(value, exporters=[exp], importers=inside, product=prod)

    def is_converged(self, month: str, result: SolvedMonth) -> bool:
        new = self.ref_levies(month, result)
        d = self.spec.damping
        keys = set(new) | set(self._ref_applied)
        nxt = {
            k: (1 - d) * new.get(k, 0.0) + d * self._ref_applied.get(k, 0.0) for k in sorted(keys)
        }
        self._converged = all(
            abs(nxt[k] - self._ref_applied.get(k, 0.0)) <= self.spec.tol_usd_per_t for k in keys
        )
        self._ref_next, self._next_month = nxt, month
        return self._converged

    def after_solve(self, month: str, result: SolvedMonth) -> None:
        self._max_iterations = max(self._max_iterations, self._iterations)
        if not self._converged:
            self._non_converged.append(month)
        self._ref_next = None
        inside = self.members(month) if self.active(month) else frozenset()
        revenue: dict[tuple[str, str], float] = {}
        imports: dict[tuple[str, str, bool], float] = {}
        for exp, imp, prod in result.routes():
            if imp not in inside:
                continue
            qty = result.flow(exp, imp, prod)
            from_member = exp in inside
            imports[(imp, prod, from_member)] = imports.get((imp, prod, from_member), 0.0) + qty
            levy = 0.0 if from_member else self._ref_applied.get((exp, prod), 0.0)
            if levy > 0:
                revenue[(imp, prod)] = revenue.get((imp, prod), 0.0) + levy * qty
        for (imp, prod), value in sorted(revenue.items()):
            self._rows.append(SeriesRow(month, prod, imp, "levy_revenue", value, "usd"))
            self._totals["levy"] += value
        shipping = {
            (exp, prod) for exp, imp, prod in result.routes() if result.flow(exp, imp, prod) > 1e-9
        }
        for (exp, prod), value in sorted(self._ref_applied.items()):
            if (exp, prod) in shipping:
                self._rows.append(SeriesRow(month, prod, exp, "levy_rate", value, "usd_per_t"))
        for (imp, prod, from_member), qty in sorted(imports.items()):
            var = "imports_from_members" if from_member else "imports_from_nonmembers"
            self._rows.append(SeriesRow(month, prod, imp, var, qty, "t"))
            self._totals["members" if from_member else "nonmembers"] += qty
