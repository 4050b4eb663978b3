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
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from critmin.bounds import TimeLimit, current_time_limit
from critmin.errors import SolverError
from critmin.market.basis import KeptBasis, Matrix
from critmin.market.compile import CompiledMarket
from critmin.market.probe import Probe

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
    """HiGHS model of one chain; :meth:`solve` updates costs and bounds and re-solves warm.

    ``probe`` (optional, for benchmarks) receives the time spent in HiGHS calls, HiGHS's own
    run clock and the objective of every solve; the results never depend on it.

    ``reuse_basis`` (default on): a solve whose new costs and bounds provably keep the last
    basis optimal is answered from that basis without calling HiGHS (see
    :mod:`critmin.market.basis`); off, every solve goes to HiGHS. Results agree to rounding.
    """

    def __init__(
        self,
        cm: CompiledMarket,
        extras: list[ExtraColumn] | None = None,
        *,
        probe: Probe | None = None,
        reuse_basis: bool = True,
    ) -> None:
        extras = extras or []
        self.layout = lay = ColumnLayout(
            len(cm.s_node), len(cm.d_node), len(cm.r_from_node), len(cm.k_in_node), len(extras)
        )
        n_nodes, n_q = cm.n_nodes, len(cm.q_routes)
        n_o = 0 if cm.reexport else n_nodes
        self.n_rows = n_nodes + n_q + n_o
        self.n_nodes = n_nodes
        self.probe = probe
        a_start, a_index, a_value = constraint_matrix(cm, extras, lay)
        inf = highspy.kHighsInf
        zeros = np.zeros(lay.n_cols)
        row_lower = np.concatenate([np.zeros(n_nodes), np.full(n_q + n_o, -inf)])
        row_upper = np.concatenate([np.full(n_nodes + n_q, inf), np.zeros(n_o)])
        t0 = time.perf_counter()
        self.highs = h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        # month-to-month solves start from the previous basis; presolve would only add work
        h.setOptionValue("presolve", "off")
        # the array form of passModel reads the numpy buffers directly (a HighsLp filled field
        # by field converts every element through Python)
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
            np.zeros(lay.n_cols, dtype=np.int32),  # every column continuous
        )
        if probe is not None:
            probe.highs_calls_s += time.perf_counter() - t0
        self._zeros = np.zeros(lay.n_cols)
        self._cost = np.zeros(lay.n_cols)  # what HiGHS holds now
        self._upper = np.zeros(lay.n_cols)
        self._q_idx = np.arange(n_nodes, n_nodes + n_q, dtype=np.int32)
        self._q_lower = np.full(n_q, -inf)
        self._clock = 0.0  # HiGHS's cumulative run clock at the last solve (probe only)
        self.reuse_basis = reuse_basis
        self._kept: KeptBasis | None = None
        #: solves handed to HiGHS so far, and HiGHS's model status of the last one (results
        #: report per month which months HiGHS solved: engine.MonthSolve)
        self.runs = 0
        self.model_status = highspy.HighsModelStatus.kNotset
        # quota and origin rows have only an upper bound
        self._a = Matrix(a_start, a_index, a_value, np.arange(self.n_rows) >= n_nodes)
        self._row_upper = row_upper.copy()  # node rows inf, quota rows set per solve, origin 0
        # an entry of the matrix, rewritten unchanged before every run (see solve)
        self._refresh = (int(a_index[0]), 0, float(a_value[0])) if a_start[1] > 0 else None

    def solve(
        self, cost: FloatArray, upper: FloatArray, quota_upper: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Set all column costs and upper bounds and the quota limits, re-solve from the last
        basis. Returns ``(col_value, node_price)``; raises :class:`SolverError` (with HiGHS's
        model status) if the LP is not solved to optimality."""
        limit = current_time_limit()  # critmin run --time-limit-s: a budget for all solves
        if limit is not None and limit.remaining() <= 0:
            raise SolverError(limit.message())
        if self._kept is not None:
            probe = self.probe
            t0 = time.perf_counter() if probe is not None else 0.0
            if len(quota_upper):
                self._row_upper[self._q_idx] = quota_upper
            known = self._kept.answer(cost, upper, self._row_upper)
            if probe is not None:
                probe.basis_check_s += time.perf_counter() - t0
            if known is not None:
                col, dual = known
                if probe is not None:
                    probe.record_kept(float(cost @ col))
                return col, dual[: self.n_nodes].copy()
        return self._run(cost, upper, quota_upper, limit)

    def model_status_text(self) -> str:
        """HiGHS's name for the model status of the last HiGHS solve (``Optimal``)."""
        return str(self.highs.modelStatusToString(self.model_status))

    def _run(
        self,
        cost: FloatArray,
        upper: FloatArray,
        quota_upper: FloatArray,
        limit: TimeLimit | None,
    ) -> tuple[FloatArray, FloatArray]:
        """:meth:`solve` by HiGHS, from the basis it holds."""
        h = self.highs
        probe = self.probe
        t0 = time.perf_counter() if probe is not None else 0.0
        # push only what changed since the last solve (HiGHS keeps the basis either way)
        changed = np.flatnonzero(cost != self._cost).astype(np.int32)
        if len(changed):
            self._cost[changed] = cost[changed]
            h.changeColsCost(len(changed), changed, cost[changed])
        changed = np.flatnonzero(upper != self._upper).astype(np.int32)
        if len(changed):
            self._upper[changed] = upper[changed]
            h.changeColsBounds(len(changed), changed, self._zeros[: len(changed)], upper[changed])
        if len(quota_upper):
            h.changeRowsBounds(  # type: ignore[attr-defined]
                len(quota_upper), self._q_idx, self._q_lower, quota_upper
            )
        if self._refresh is not None:
            # HiGHS's answer from a warm basis also depends on its factorisation's update
            # history (measured: the same month solved after 1 or after 6 earlier runs picks
            # different optima where prices are not unique). Rewriting a coefficient with its
            # own value makes HiGHS factorise the basis afresh, keeping the basis: the answer
            # then depends on the basis and the month's data only, so skipping runs whose
            # answer is known (reuse_basis) leaves every later answer unchanged. (It costs
            # ~2 % of the seed study's month loop: a run that pivots factorises afresh anyway)
            h.changeCoeff(*self._refresh)
        if limit is not None:  # HiGHS's clock counts all runs of this model: add what is left
            h.setOptionValue("time_limit", h.getRunTime() + limit.remaining())
        t1 = time.perf_counter() if probe is not None else 0.0
        h.run()
        t2 = time.perf_counter() if probe is not None else 0.0
        status = h.getModelStatus()
        self.runs += 1
        self.model_status = status
        if status != _OPTIMAL:
            if limit is not None and status == highspy.HighsModelStatus.kTimeLimit:
                raise SolverError(limit.message())
            raise SolverError(
                f"HiGHS did not solve the clearing problem: {h.modelStatusToString(status)}"
            )
        sol = h.getSolution()
        col = np.array(sol.col_value, dtype=np.float64)
        price = np.array(sol.row_dual[: self.n_nodes], dtype=np.float64)
        basic = h.getBasicVariables()[1] if self.reuse_basis else None  # type: ignore[attr-defined]
        t3 = time.perf_counter() if probe is not None else 0.0
        if basic is not None:
            self._kept = KeptBasis(h, self._a, basic=basic, col_value=col, col_upper=self._upper)
        if probe is not None:
            # getInfoValue/getObjectiveValue: getInfo converts every field (~10 us a solve)
            clock, self._clock = self._clock, h.getRunTime()
            probe.basis_check_s += time.perf_counter() - t3
            probe.record_solve(
                run_s=t2 - t1,
                calls_s=t3 - t0,
                highs_clock_s=self._clock - clock,
                iterations=int(h.getInfoValue("simplex_iteration_count")[1]),
                objective=h.getObjectiveValue(),
            )
        return col, price


def constraint_matrix(
    cm: CompiledMarket, extras: list[ExtraColumn], lay: ColumnLayout
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], FloatArray]:
    """The LP's constraint matrix in CSC form ``(start, index, value)``: every entry listed
    (node balances, quota rows, origin rows), then ordered by (column, row); no (row, column)
    pair repeats."""
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
