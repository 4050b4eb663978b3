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

        lp = highspy.HighsLp()
        lp.num_col_ = lay.n_cols
        lp.num_row_ = self.n_rows
        lp.col_cost_ = np.zeros(lay.n_cols)
        lp.col_lower_ = np.zeros(lay.n_cols)
        lp.col_upper_ = np.zeros(lay.n_cols)
        inf = highspy.kHighsInf
        lp.row_lower_ = np.concatenate([np.zeros(n_nodes), np.full(n_q + n_o, -inf)])
        lp.row_upper_ = np.concatenate([np.full(n_nodes + n_q, inf), np.zeros(n_o)])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a_start
        lp.a_matrix_.index_ = a_index
        lp.a_matrix_.value_ = a_value
        self.highs = h = highspy.Highs()
        h.silent()
        h.setOptionValue("output_flag", False)
        # month-to-month solves start from the previous basis; presolve would only add work
        h.setOptionValue("presolve", "off")
        h.passModel(lp)
        self._col_idx = np.arange(lay.n_cols, dtype=np.int32)
        self._zeros = np.zeros(lay.n_cols)
        self._cost = np.zeros(lay.n_cols)  # what HiGHS holds now
        self._upper = np.zeros(lay.n_cols)
        self._q_idx = np.arange(n_nodes, n_nodes + n_q, dtype=np.int32)
        self._q_lower = np.full(n_q, -inf)
        self.n_nodes = n_nodes
        self.solver_seconds = 0.0  # inside Highs.run()
        self.highs_seconds = 0.0  # inside any HiGHS call (changes, run, reading the solution)
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
        changed_cost = (cost != self._cost).nonzero()[0]
        new_cost = cost[changed_cost]
        self._cost[changed_cost] = new_cost
        changed_up = (upper != self._upper).nonzero()[0]
        new_up = upper[changed_up]
        self._upper[changed_up] = new_up
        t0 = time.perf_counter()
        if len(changed_cost):
            h.changeColsCost(len(changed_cost), changed_cost.astype(np.int32), new_cost)
        if len(changed_up):
            h.changeColsBounds(
                len(changed_up), changed_up.astype(np.int32), self._zeros[: len(changed_up)], new_up
            )
        if quota_upper is not None and len(quota_upper):
            h.changeRowsBounds(  # type: ignore[attr-defined]
                len(quota_upper), self._q_idx, self._q_lower, quota_upper
            )
        t1 = time.perf_counter()
        h.run()
        t2 = time.perf_counter()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError(
                f"HiGHS did not solve the clearing problem: {h.modelStatusToString(status)}"
            )
        sol = h.getSolution()
        col_list, dual_list = sol.col_value, sol.row_dual
        t3 = time.perf_counter()
        self.solver_seconds += t2 - t1
        self.update_seconds += t1 - t0
        self.highs_seconds += (t1 - t0) + (t3 - t1)
        self.solves += 1
        col = np.fromiter(col_list, dtype=np.float64, count=self.layout.n_cols)
        dual = np.fromiter(dual_list, dtype=np.float64, count=self.n_rows)[: self.n_nodes]
        return col, dual
