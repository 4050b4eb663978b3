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
        is_col = basic >= 0
        self.b_is_col = is_col
        self.b_cols = np.where(is_col, basic, 0).astype(np.int64)
        self.b_rows = np.where(is_col, 0, -basic - 1).astype(np.int64)
        self.col_b = self.b_cols[is_col]
        self.row_b = self.b_rows[~is_col]
        self.row_b_upper = row_is_upper[self.row_b]
        self.sign = np.where(is_col, 1.0, -1.0)  # HiGHS's logical is -r_i
        nonbasic = np.ones(a.n_cols, dtype=bool)
        nonbasic[self.col_b] = False
        # where each nonbasic column sits: at its upper bound (> 0), at 0, or fixed at 0
        self.at_upper = nonbasic & (col_upper > 0) & (col_value == col_upper)
        self.fixed = nonbasic & (col_upper == 0)
        self.at_lower = nonbasic & ~self.at_upper & ~self.fixed
        row_nonbasic = np.ones(a.n_rows, dtype=bool)
        row_nonbasic[self.row_b] = False
        self.row_at_upper = row_nonbasic & row_is_upper
        self.row_at_lower = row_nonbasic & ~row_is_upper

    def answer(
        self, cost: FloatArray, upper: FloatArray, row_upper: FloatArray
    ) -> tuple[FloatArray, FloatArray] | None:
        """``(col_value, row_dual)`` of the kept basis under the new data if it is optimal,
        else None. ``row_upper``: every row's upper bound (node rows: inf)."""
        if upper[self.fixed].any():
            return None  # a fixed column opened: which bound it sits at is not known
        x = np.where(self.at_upper, upper, 0.0)
        r_n = np.where(self.row_at_upper, row_upper, 0.0)
        if np.isinf(x).any() or np.isinf(r_n).any():
            return None  # a variable at its upper bound lost it (a bound or quota lifted)
        status, y = self.highs.getBasisSolve(r_n - self.a.times(x))
        if status != _OK:
            return None
        v_b = y * self.sign  # B v_B = -N v_N in [A, -I] terms
        x_b = v_b[self.b_is_col]
        r_b = v_b[~self.b_is_col]
        up = self.row_b_upper
        if (
            (x_b < -TOL).any()
            or (x_b > upper[self.col_b] + TOL).any()
            or (r_b[up] > row_upper[self.row_b][up] + TOL).any()
            or (r_b[~up] < -TOL).any()  # node rows: activity >= 0
        ):
            return None
        status, pi = self.highs.getBasisTransposeSolve(
            np.where(self.b_is_col, cost[self.b_cols], 0.0)
        )
        if status != _OK:
            return None
        d = cost - self.a.transpose_times(pi)
        if (
            (d[self.at_lower] < -TOL).any()
            or (d[self.at_upper] > TOL).any()
            or (pi[self.row_at_lower] < -TOL).any()
            or (pi[self.row_at_upper] > TOL).any()
        ):
            return None
        x[self.col_b] = x_b
        return x, np.asarray(pi, dtype=np.float64)
