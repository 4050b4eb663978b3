"""The clearing LP of one chain, built once (CSC arrays) and re-solved month after month.

Columns, in this order (block offsets in :class:`ColumnLayout`)::

    x_s  supply block s       0 <= x_s <= cap_s          cost  +cost_s
    y_d  demand bid d         0 <= y_d <= qty_d          cost  -wtp_d
    f_r  route r (a -> b)     0 <= f_r <= ub_r           cost  transport_r + wedge_r
    z_k  conversion k         0 <= z_k <= cap_k          cost  +cost_k  (t of output)
    e_j  instrument column j  0 <= e_j <= qty_j          cost  +price_j (supply) / -price_j (demand)

Rows::

    node n = (region, product):  sum x_s + sum f_in - sum f_out + sum z_k(out)
                                 - sum a_k z_k(in) - sum y_d  (+/- e_j)  >= 0
    quota q:                     sum_{r in q} f_r <= limit_q
    origin n (reexport: false):  sum f_out - sum x_s - sum z_k(out) <= 0

Minimising total cost minus total willingness to pay maximises total surplus: the solution
is the competitive equilibrium. The node row is ">= 0" (free disposal), so its dual is
non-negative and is the **price**: the change of the objective when one more tonne must be
delivered at the node (HiGHS reports ``row_dual`` with ``c - A^T y = reduced cost``, hence
``y >= 0`` for a row at its lower bound in a minimisation).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from critmin.errors import SolverError
from critmin.market.compile import CompiledMarket

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ExtraColumn:
    """An instrument's reserved column: +1 (supply) or -1 (demand) at one node."""

    node: int
    sign: float
    name: str


@dataclass(frozen=True)
class ColumnLayout:
    """Offsets of the column blocks."""

    n_s: int
    n_d: int
    n_r: int
    n_k: int
    n_e: int

    @property
    def d0(self) -> int:
        return self.n_s

    @property
    def r0(self) -> int:
        return self.n_s + self.n_d

    @property
    def k0(self) -> int:
        return self.r0 + self.n_r

    @property
    def e0(self) -> int:
        return self.k0 + self.n_k

    @property
    def n_cols(self) -> int:
        return self.e0 + self.n_e


class ClearingLP:
    """HiGHS model of one chain; :meth:`solve` updates costs and bounds and re-solves warm."""

    def __init__(self, cm: CompiledMarket, extras: list[ExtraColumn] | None = None) -> None:
        extras = extras or []
        self.layout = lay = ColumnLayout(
            len(cm.s_node), len(cm.d_node), len(cm.r_from_node), len(cm.k_in_node), len(extras)
        )
        n_nodes, n_q = cm.n_nodes, len(cm.q_routes)
        n_o = 0 if cm.reexport else n_nodes
        self.n_rows = n_nodes + n_q + n_o
        a_start, a_index, a_value = constraint_matrix(cm, extras, lay)

        inf = highspy.kHighsInf
        zeros = np.zeros(lay.n_cols)
        row_lower = np.concatenate([np.zeros(n_nodes), np.full(n_q + n_o, -inf)])
        row_upper = np.concatenate([np.full(n_nodes + n_q, inf), np.zeros(n_o)])
        integrality = np.zeros(lay.n_cols, dtype=np.int32)  # every column continuous
        # creating the HiGHS instance (its C++ constructor sets up options, logging and
        # callbacks: ~0.1 ms) and handing it the LP are HiGHS calls, timed with the others
        t0 = time.perf_counter()
        self.highs = h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        # month-to-month solves start from the previous basis; presolve would only add work
        h.setOptionValue("presolve", "off")
        # the array form of passModel reads the numpy buffers directly; filling a HighsLp
        # field by field converted every element through Python (~0.2 ms for NdPr)
        h.passModel(
            lay.n_cols,
            self.n_rows,
            len(a_index),
            int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize),
            0.0,
            zeros,  # costs, lower and upper bounds: all 0 until the first solve sets them
            zeros,
            zeros,
            row_lower,
            row_upper,
            a_start,
            a_index,
            a_value,
            integrality,
        )
        #: seconds inside HiGHS creating the instance and passing the model (in highs_seconds)
        self.build_seconds = time.perf_counter() - t0
        self._col_idx = np.arange(lay.n_cols, dtype=np.int32)
        self._zeros = np.zeros(lay.n_cols)
        self._cost = np.zeros(lay.n_cols)  # what HiGHS holds now
        self._upper = np.zeros(lay.n_cols)
        self._q_idx = np.arange(n_nodes, n_nodes + n_q, dtype=np.int32)
        self._q_lower = np.full(n_q, -inf)
        self.n_nodes = n_nodes
        #: when a list, the optimal objective of every solve is appended (verification only)
        self.objectives: list[float] | None = None
        self.solver_seconds = 0.0  # inside Highs.run()
        # inside any HiGHS call (building the model, changes, run, reading the solution)
        self.highs_seconds = self.build_seconds
        self.update_seconds = 0.0  # pushing changed costs/bounds (part of highs_seconds)
        self.solves = 0

    def solve(
        self, cost: FloatArray, upper: FloatArray, quota_upper: FloatArray | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Set all column costs and upper bounds (+ quota limits), re-solve from the last basis.

        Returns ``(col_value, node_price)``; raises :class:`SolverError` if not optimal.
        """
        h = self.highs
        # push only what changed since the last solve (HiGHS keeps the basis either way)
        changed_cost = np.flatnonzero(cost != self._cost).astype(np.int32)
        new_cost = cost[changed_cost]
        self._cost[changed_cost] = new_cost
        changed_up = np.flatnonzero(upper != self._upper).astype(np.int32)
        new_up = upper[changed_up]
        self._upper[changed_up] = new_up
        t0 = time.perf_counter()
        if len(changed_cost):
            h.changeColsCost(len(changed_cost), changed_cost, new_cost)
        if len(changed_up):
            h.changeColsBounds(len(changed_up), changed_up, self._zeros[: len(changed_up)], new_up)
        if quota_upper is not None and len(quota_upper):
            h.changeRowsBounds(  # type: ignore[attr-defined]
                len(quota_upper), self._q_idx, self._q_lower, quota_upper
            )
        t1 = time.perf_counter()
        h.run()
        t2 = time.perf_counter()
        if h.getModelStatus() != _OPTIMAL:
            self._not_optimal()
        sol = h.getSolution()
        col_list, dual_list = sol.col_value, sol.row_dual
        t3 = time.perf_counter()
        self.solver_seconds += t2 - t1
        self.update_seconds += t1 - t0
        self.highs_seconds += t3 - t0
        self.solves += 1
        if self.objectives is not None:
            self.objectives.append(h.getInfo().objective_function_value)
        return np.array(col_list, dtype=np.float64), np.array(
            dual_list[: self.n_nodes], dtype=np.float64
        )

    def solve_months(
        self,
        cost: FloatArray,
        upper: FloatArray,
        quota_upper: FloatArray,
        *,
        col_out: FloatArray,
        price_out: FloatArray,
        on_month: Callable[[int], None] | None = None,
    ) -> None:
        """Solve one month per row of ``cost`` / ``upper`` (``(n_months, n_cols)``) and
        ``quota_upper`` (``(n_months, n_q)``), in order, writing month ``t``'s column values to
        ``col_out[t]`` and node prices to ``price_out[t]``; ``on_month(t)`` after each.

        Exactly the calls ``solve`` makes month after month with the same rows (the same
        changed entries, pushed in the same order, then a warm ``run``), so the results are
        the same bit for bit; the changed entries of every month are found in one vectorised
        pass over the whole matrices instead of per month.
        """
        n_m = len(cost)
        if n_m == 0:
            return
        cc, cv, c_at = _row_changes(self._cost, cost)
        uc, uv, u_at = _row_changes(self._upper, upper)
        self._cost[:] = cost[-1]
        self._upper[:] = upper[-1]
        h = self.highs
        zeros, n_nodes, objectives = self._zeros, self.n_nodes, self.objectives
        has_quota = quota_upper.shape[1] > 0
        q_idx, q_lower, n_q = self._q_idx, self._q_lower, len(self._q_idx)
        change_cost, change_bounds, change_rows = (
            h.changeColsCost,
            h.changeColsBounds,
            h.changeRowsBounds,  # type: ignore[attr-defined]
        )
        run, status, solution, clock = h.run, h.getModelStatus, h.getSolution, time.perf_counter
        t_update = t_run = t_highs = 0.0
        for t in range(n_m):
            a, b, c, d = c_at[t], c_at[t + 1], u_at[t], u_at[t + 1]
            t0 = clock()
            if b > a:
                change_cost(b - a, cc[a:b], cv[a:b])
            if d > c:
                change_bounds(d - c, uc[c:d], zeros[: d - c], uv[c:d])
            if has_quota:
                change_rows(n_q, q_idx, q_lower, quota_upper[t])
            t1 = clock()
            run()
            t2 = clock()
            if status() != _OPTIMAL:
                self._not_optimal()
            sol = solution()
            col_list, dual_list = sol.col_value, sol.row_dual
            t3 = clock()
            t_update += t1 - t0
            t_run += t2 - t1
            t_highs += t3 - t0
            col_out[t] = col_list
            price_out[t] = dual_list[:n_nodes]
            if objectives is not None:
                objectives.append(h.getInfo().objective_function_value)
            if on_month is not None:
                on_month(t)
        self.solver_seconds += t_run
        self.update_seconds += t_update
        self.highs_seconds += t_highs
        self.solves += n_m

    def _not_optimal(self) -> None:
        status = self.highs.getModelStatus()
        raise SolverError(
            f"HiGHS did not solve the clearing problem: {self.highs.modelStatusToString(status)}"
        )


def constraint_matrix(
    cm: CompiledMarket, extras: list[ExtraColumn], lay: ColumnLayout
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], FloatArray]:
    """The LP's constraint matrix in CSC form ``(start, index, value)``: within a column,
    entries in ascending row order; no (row, column) pair repeats.

    Without quotas and origin rows (the usual chain) every column has one entry (supply,
    demand, instrument) or two (route: exporter -1, importer +1; conversion: output +1,
    input -a), so the arrays are written directly; otherwise :func:`_matrix_sorted` sorts
    the entries (the two give the same arrays where both apply: tests/market/test_lp_matrix.py).
    """
    if not cm.reexport or len(cm.q_routes):
        return _matrix_sorted(cm, extras, lay)
    n_r, n_k = lay.n_r, lay.n_k
    # two-entry columns: the smaller row first, its value with it
    r_from, r_to = cm.r_from_node, cm.r_to_node
    k_out, k_in = cm.k_out_node, cm.k_in_node
    two_index = np.empty((n_r + n_k, 2), dtype=np.int32)
    two_value = np.empty((n_r + n_k, 2))
    np.minimum(r_from, r_to, out=two_index[:n_r, 0])
    np.maximum(r_from, r_to, out=two_index[:n_r, 1])
    from_first = r_from < r_to
    two_value[:n_r, 0] = np.where(from_first, -1.0, 1.0)
    two_value[:n_r, 1] = -two_value[:n_r, 0]
    np.minimum(k_out, k_in, out=two_index[n_r:, 0])
    np.maximum(k_out, k_in, out=two_index[n_r:, 1])
    out_first = k_out < k_in
    neg_a = -cm.k_input_t_per_t
    two_value[n_r:, 0] = np.where(out_first, 1.0, neg_a)
    two_value[n_r:, 1] = np.where(out_first, neg_a, 1.0)
    r0, e0 = lay.r0, lay.e0
    n_nz = lay.n_cols + n_r + n_k
    a_index = np.empty(n_nz, dtype=np.int32)
    a_value = np.empty(n_nz)
    two_end = r0 + 2 * (n_r + n_k)
    a_index[: lay.n_s] = cm.s_node
    a_index[lay.n_s : r0] = cm.d_node
    a_index[r0:two_end] = two_index.ravel()
    a_index[two_end:] = [e.node for e in extras]
    a_value[: lay.n_s] = 1.0
    a_value[lay.n_s : r0] = -1.0
    a_value[r0:two_end] = two_value.ravel()
    a_value[two_end:] = [e.sign for e in extras]
    # column j starts at j, plus one more entry for each two-entry column before it
    j = np.arange(lay.n_cols + 1, dtype=np.int32)
    a_start = j + np.clip(j - r0, 0, e0 - r0)
    return a_start, a_index, a_value


def _matrix_sorted(
    cm: CompiledMarket, extras: list[ExtraColumn], lay: ColumnLayout
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], FloatArray]:
    """:func:`constraint_matrix` for any chain: every entry listed, then sorted."""
    n_nodes, n_q = cm.n_nodes, len(cm.q_routes)
    o0 = n_nodes + n_q
    cols_s = np.arange(lay.n_s)
    cols_d = lay.d0 + np.arange(lay.n_d)
    cols_r = lay.r0 + np.arange(lay.n_r)
    cols_k = lay.k0 + np.arange(lay.n_k)
    cols_e = lay.e0 + np.arange(lay.n_e)
    q_cols = [lay.r0 + r for r in cm.q_routes]
    e_node = np.array([e.node for e in extras], dtype=np.int64)
    e_supply = np.array([e.sign > 0 for e in extras], dtype=bool)
    rows = np.concatenate(
        [
            cm.s_node,
            cm.d_node,
            cm.r_from_node,
            cm.r_to_node,
            cm.k_out_node,
            cm.k_in_node,
            np.array([e.node for e in extras], dtype=np.int64),
            *[np.full(len(c), n_nodes + q, dtype=np.int64) for q, c in enumerate(q_cols)],
            *(
                []
                if cm.reexport
                else [
                    o0 + cm.r_from_node,
                    o0 + cm.s_node,
                    o0 + cm.k_out_node,
                    o0 + e_node[e_supply],
                ]
            ),
        ]
    )
    origin_cols = [] if cm.reexport else [cols_r, cols_s, cols_k, cols_e[e_supply]]
    cols = np.concatenate(
        [cols_s, cols_d, cols_r, cols_r, cols_k, cols_k, cols_e, *q_cols, *origin_cols]
    ).astype(np.int64)
    vals = np.concatenate(
        [
            np.ones(lay.n_s),
            -np.ones(lay.n_d),
            -np.ones(lay.n_r),
            np.ones(lay.n_r),
            np.ones(lay.n_k),
            -cm.k_input_t_per_t,
            np.array([e.sign for e in extras], dtype=float),
            *[np.ones(len(c)) for c in q_cols],
            *(
                []
                if cm.reexport
                else [
                    np.ones(lay.n_r),
                    -np.ones(lay.n_s),
                    -np.ones(lay.n_k),
                    -np.ones(int(e_supply.sum())),
                ]
            ),
        ]
    )
    # CSC by hand: order entries by (column, row); no (row, column) pair repeats
    order = np.lexsort((rows, cols))
    a_index = rows[order].astype(np.int32)
    a_value = vals[order].astype(np.float64)
    a_start = np.zeros(lay.n_cols + 1, dtype=np.int32)
    np.cumsum(np.bincount(cols, minlength=lay.n_cols), out=a_start[1:])
    return a_start, a_index, a_value


_OPTIMAL = highspy.HighsModelStatus.kOptimal


def _row_changes(
    held: FloatArray, rows: FloatArray
) -> tuple[npt.NDArray[np.int32], FloatArray, list[int]]:
    """Entries of each row of ``rows`` that differ from the row before (the first row from
    ``held``): ``(columns, values, at)``, row ``t``'s changes being ``[at[t]:at[t + 1]]``,
    columns ascending within a row (as ``np.flatnonzero`` of one row gives them)."""
    prev = np.empty_like(rows)
    prev[0] = held
    prev[1:] = rows[:-1]
    r, c = np.nonzero(rows != prev)
    at = np.searchsorted(r, np.arange(len(rows) + 1)).tolist()
    return c.astype(np.int32), rows[r, c], at
