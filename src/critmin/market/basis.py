"""Answer a re-solve from the kept basis when it provably stays optimal.

Month after month many solves of a chain end where they started: HiGHS, warm-started from the
previous basis, finds it still optimal and does zero simplex iterations (400 of the 720
monthly solves of the seed study over 2026-2035; 84-94 % before its demand curves, whose
growing steps make most other months one pivot), yet each call pays HiGHS's per-call setup
(~100-200 us on the NdPr chain). This module checks the two conditions that make HiGHS stop
at once, from the basis it holds:

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
    """The constraint matrix ``A`` (CSC arrays) and what every kept basis of one LP shares:
    built once per LP, so that a basis costs only what depends on it."""

    def __init__(
        self,
        start: npt.NDArray[np.int32],
        index: npt.NDArray[np.int32],
        value: FloatArray,
        row_is_upper: BoolArray,
    ) -> None:
        """``row_is_upper``: rows whose only finite bound is the upper one (quota and origin
        rows, lower bound -inf; node rows are ``>= 0``, lower bound 0)."""
        self.index = index.astype(np.int64)
        self.value = value
        self.n_rows = len(row_is_upper)
        self.n_cols = n_cols = len(start) - 1
        self.entry_col = np.repeat(np.arange(n_cols), np.diff(start))
        self.up_rows = np.flatnonzero(row_is_upper)  # nonbasic rows sit at their upper bound
        # lower bounds of every variable: columns 0, node rows 0, quota and origin rows -inf
        self.lower = np.concatenate([np.zeros(n_cols), np.where(row_is_upper, -np.inf, 0.0)])

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
    ) -> None:
        """``highs``: the instance that just solved (its factorisation of the basis is used);
        ``basic``: its basic variables (``j >= 0`` column ``j``, ``j < 0`` row ``-j - 1``);
        ``col_value``/``col_upper``: the solution and the upper bounds it was solved with
        (lower bounds are 0)."""
        self.highs = highs
        self.a = a
        n = a.n_cols
        # variables indexed 0..n-1 (columns) then n..n+m-1 (row activities)
        is_col = basic >= 0
        self.b_var = b_var = np.where(is_col, basic, n - basic - 1).astype(np.int64)
        self.b_lower = a.lower[b_var] - TOL  # the check allows TOL below a lower bound
        self.sign = np.where(is_col, 1.0, -1.0)  # HiGHS's logical is -r_i
        self.b_col_pos = np.flatnonzero(is_col)  # positions of the basic columns in the basis
        self.b_cols = basic[self.b_col_pos].astype(np.int64)
        nonbasic = np.ones(n + a.n_rows, dtype=bool)
        nonbasic[b_var] = False
        # nonbasic columns sit at 0 or at their upper bound; those fixed at 0 (upper bound 0)
        # sit at a bound that is not known once it opens
        nb_col = nonbasic[:n]
        self.up_cols = np.flatnonzero(nb_col & (col_upper > 0) & (col_value == col_upper))
        self.fixed = np.flatnonzero(nb_col & (col_upper == 0))
        self.up_rows = a.up_rows[nonbasic[n + a.up_rows]]
        # A x_N needs only the entries of the columns at their upper bound
        at_upper = np.zeros(n, dtype=bool)
        at_upper[self.up_cols] = True
        entries = at_upper[a.entry_col]
        self.up_index = a.index[entries]
        self.up_minus_value = -a.value[entries]
        self.up_col = a.entry_col[entries]
        self.nonbasic = nonbasic
        # the costs whose dual feasibility was last shown, and their duals: months that
        # change only bounds (growing demand) need no dual check
        self.dual_ok_cost: FloatArray | None = None
        self.dual_ok_pi: FloatArray | None = None
        self._dual_sign: FloatArray | None = None

    def answer(
        self, cost: FloatArray, upper: FloatArray, row_upper: FloatArray
    ) -> tuple[FloatArray, FloatArray] | None:
        """``(col_value, row_dual)`` of the kept basis under the new data if it is optimal,
        else None. ``row_upper``: every row's upper bound (node rows: inf)."""
        if len(self.fixed) and upper[self.fixed].any():
            return None  # a fixed column opened: which bound it sits at is not known
        u = upper[self.up_cols]
        if not np.isfinite(u).all():
            return None  # a column at its upper bound lost it (a bound lifted)
        # B v_B = -N v_N in [A, -I] terms: minus the columns at their bound, plus the rows at
        # theirs (quota and origin rows)
        a_x = self.up_minus_value * upper[self.up_col]
        rhs = np.bincount(self.up_index, weights=a_x, minlength=self.a.n_rows).astype(np.float64)
        if len(self.up_rows):
            u_rows = row_upper[self.up_rows]
            if not np.isfinite(u_rows).all():
                return None  # a row at its upper bound lost it (a quota lifted)
            rhs[self.up_rows] += u_rows
        status, y = self.highs.getBasisSolve(rhs)
        if status != _OK:
            return None
        v_b = y * self.sign
        if (v_b < self.b_lower).any():
            return None  # primal infeasible under the new bounds: below a lower bound
        if (v_b - np.concatenate([upper, row_upper])[self.b_var]).max() > TOL:
            return None  # above an upper bound
        pi = self._duals(cost)
        if pi is None:
            return None  # dual infeasible under the new costs
        col = np.zeros(self.a.n_cols)  # nonbasic columns at 0 or at their bound
        col[self.up_cols] = u
        col[self.b_cols] = v_b[self.b_col_pos]
        return col, pi

    def _duals(self, cost: FloatArray) -> FloatArray | None:
        """The basis's duals under ``cost`` if they are dual feasible, else None."""
        if self.dual_ok_cost is not None and (cost == self.dual_ok_cost).all():
            return self.dual_ok_pi
        c_b = np.zeros(len(self.b_var))
        c_b[self.b_col_pos] = cost[self.b_cols]
        status, pi = self.highs.getBasisTransposeSolve(c_b)
        if status != _OK:
            return None
        reduced = np.concatenate([cost - self.a.transpose_times(pi), pi])
        if (reduced * self._signs()).min() < -TOL:
            return None
        self.dual_ok_cost = cost.copy()
        self.dual_ok_pi = np.asarray(pi, dtype=np.float64)
        return self.dual_ok_pi

    def _signs(self) -> FloatArray:
        """Per variable, the sign its reduced cost must have: +1 nonbasic at its lower bound
        (``>= 0``), -1 at its upper bound (``<= 0``), 0 basic or fixed at 0 (either sign).
        Built on the first dual check: months that change only bounds never need it."""
        if self._dual_sign is None:
            n = self.a.n_cols
            sign = np.where(self.nonbasic, 1.0, 0.0)
            sign[self.up_cols] = -1.0
            sign[n + self.up_rows] = -1.0
            sign[self.fixed] = 0.0
            self._dual_sign = sign
        return self._dual_sign
