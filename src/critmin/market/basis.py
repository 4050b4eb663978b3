"""Answer a re-solve from the kept basis when it provably stays optimal.

Month after month most solves of a chain end where they started: HiGHS, warm-started from the
previous basis, finds it still optimal and does zero simplex iterations (84-94 % of the
monthly solves of the seed study), yet each call pays HiGHS's per-call setup. This module
checks the two conditions that make HiGHS stop at once, from the basis it holds:

* **primal feasibility**: with every nonbasic variable at its (new) bound, the basic
  variables ``v_B = B^-1 (-N v_N)`` lie within their (new) bounds;
* **dual feasibility**: with the (new) costs, the duals ``pi = B^-T c_B`` give every
  nonbasic variable a reduced cost of the right sign (``>= 0`` at a lower bound, ``<= 0`` at
  an upper bound, minimisation).

Variables are the LP's columns ``x`` and its row activities ``r = A x`` (so ``[A, -I] v = 0``);
``B`` is the columns of ``[A, -I]`` of HiGHS's basic variables (``getBasicVariables``). When
both conditions hold to :data:`TOL`, that basic solution is optimal for the new data and is
the one HiGHS would return after zero iterations; the check is then the answer, computed with
HiGHS's own factorisation of ``B`` from its last solve (``getBasisSolve`` and
``getBasisTransposeSolve``; HiGHS's logical columns are ``+e_i`` for ``-r_i``, hence the sign
flip of the logical entries). When either fails (or the basis is not
determined, e.g. a nonbasic column fixed at 0 whose bounds open), the caller hands the solve
to HiGHS, which starts from the same basis. The sequence of bases is therefore the one of
always solving, and results agree with always solving to rounding (``tests/market/
test_basis_reuse.py`` checks it with hypothesis on random markets, and the golden results
of every built-in market hold).

:data:`TOL` (1e-9, absolute) is 100 times tighter than HiGHS's default primal and dual
feasibility tolerances (1e-7): what passes here passes there.
"""

from __future__ import annotations

from typing import Any

import highspy
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

TOL = 1e-9
_OK = highspy.HighsStatus.kOk


class Matrix:
    """The constraint matrix ``A`` (CSC arrays) with the two products the check needs."""

    def __init__(
        self,
        start: npt.NDArray[np.int32],
        index: npt.NDArray[np.int32],
        value: FloatArray,
        n_rows: int,
    ) -> None:
        self.index = index.astype(np.int64)
        self.value = value
        self.n_rows = n_rows
        self.n_cols = len(start) - 1
        self.entry_col = np.repeat(np.arange(self.n_cols), np.diff(start))

    def times(self, x: FloatArray) -> FloatArray:
        """``A x``."""
        out = np.bincount(self.index, weights=self.value * x[self.entry_col], minlength=self.n_rows)
        return out.astype(np.float64, copy=False)

    def transpose_times(self, y: FloatArray) -> FloatArray:
        """``A^T y``."""
        out = np.bincount(self.entry_col, weights=self.value * y[self.index], minlength=self.n_cols)
        return out.astype(np.float64, copy=False)


class KeptBasis:
    """The basis of an optimal HiGHS solve, ready to test (and answer) new costs and bounds."""

    def __init__(
        self,
        highs: Any,
        a: Matrix,
        *,
        basic: npt.NDArray[np.int32],
        col_value: FloatArray,
        col_upper: FloatArray,
        row_is_upper: BoolArray,
    ) -> None:
        """``highs``: the instance that just solved (its factorisation of the basis is used);
        ``basic``: its basic variables (``j >= 0`` column ``j``, ``j < 0`` row ``-j - 1``);
        ``col_value``/``col_upper``: the solution and the upper bounds it was solved with
        (lower bounds are 0); ``row_is_upper``: rows whose only finite bound is the upper one
        (quota and origin rows; node rows are ``>= 0``)."""
        self.highs = highs
        self.a = a
        n, m = a.n_cols, a.n_rows
        is_col = basic >= 0
        # variables indexed 0..n-1 (columns) then n..n+m-1 (row activities)
        self.b_var = np.where(is_col, basic, n - basic - 1).astype(np.int64)
        self.b_is_col = is_col
        self.b_cost_col = np.where(is_col, basic, 0).astype(np.int64)
        self.sign = np.where(is_col, 1.0, -1.0)  # HiGHS's logical is -r_i
        # lower bounds of the basic variables: 0 (columns, node rows), -inf (quota, origin rows)
        row_lower = np.where(row_is_upper, -np.inf, 0.0)
        self.b_lower = np.concatenate([np.zeros(n), row_lower])[self.b_var]
        # nonbasic variables: where each sits; +1 at its lower bound (reduced cost >= 0),
        # -1 at its upper bound (<= 0), 0 basic or fixed at 0 (a column with upper bound 0)
        basic_all = np.zeros(n + m, dtype=bool)
        basic_all[self.b_var] = True
        at_upper = np.concatenate([(col_upper > 0) & (col_value == col_upper), row_is_upper])
        self.at_upper = ~basic_all & at_upper
        fixed = np.zeros(n + m, dtype=bool)
        fixed[:n] = ~basic_all[:n] & (col_upper == 0)
        self.fixed = np.flatnonzero(fixed)
        self.dual_sign = np.where(basic_all | fixed, 0.0, np.where(self.at_upper, -1.0, 1.0))
        # A x_N needs only the columns at their upper bound (the others are 0)
        entries = self.at_upper[:n][a.entry_col]
        self.up_index = a.index[entries]
        self.up_value = a.value[entries]
        self.up_col = a.entry_col[entries]
        # the costs whose dual feasibility was last shown, and their duals: months that
        # change only bounds (growing demand) need no dual check
        self.dual_ok_cost: FloatArray | None = None
        self.dual_ok_pi: FloatArray | None = None

    def answer(
        self, cost: FloatArray, upper: FloatArray, row_upper: FloatArray
    ) -> tuple[FloatArray, FloatArray] | None:
        """``(col_value, row_dual)`` of the kept basis under the new data if it is optimal,
        else None. ``row_upper``: every row's upper bound (node rows: inf)."""
        n, m = self.a.n_cols, self.a.n_rows
        if len(self.fixed) and upper[self.fixed].any():
            return None  # a fixed column opened: which bound it sits at is not known
        bound = np.concatenate([upper, row_upper])
        v = np.where(self.at_upper, bound, 0.0)  # nonbasic values (basic ones set below)
        if np.isinf(v).any():
            return None  # a variable at its upper bound lost it (a bound or quota lifted)
        a_x = np.bincount(self.up_index, weights=self.up_value * v[self.up_col], minlength=m)
        status, y = self.highs.getBasisSolve(v[n:] - a_x)
        if status != _OK:
            return None
        v_b = y * self.sign  # B v_B = -N v_N in [A, -I] terms
        if (v_b - self.b_lower).min() < -TOL or (v_b - bound[self.b_var]).max() > TOL:
            return None  # primal infeasible under the new bounds
        pi = self._duals(cost)
        if pi is None:
            return None  # dual infeasible under the new costs
        v[self.b_var] = v_b
        return v[:n], pi

    def _duals(self, cost: FloatArray) -> FloatArray | None:
        """The basis's duals under ``cost`` if they are dual feasible, else None."""
        if self.dual_ok_cost is not None and np.array_equal(cost, self.dual_ok_cost):
            return self.dual_ok_pi
        status, pi = self.highs.getBasisTransposeSolve(
            np.where(self.b_is_col, cost[self.b_cost_col], 0.0)
        )
        if status != _OK:
            return None
        reduced = np.concatenate([cost - self.a.transpose_times(pi), pi])
        if (reduced * self.dual_sign).min() < -TOL:
            return None
        self.dual_ok_cost = cost.copy()
        self.dual_ok_pi = np.asarray(pi, dtype=np.float64)
        return self.dual_ok_pi
