"""An optional probe the engine reports its timings to (benchmarks only).

The domain types (:class:`~critmin.market.engine.MarketRun`,
:class:`~critmin.market.lp.ClearingLP`) carry no timings: whoever wants them passes a
:class:`Probe` to :func:`~critmin.market.engine.run_market` and reads it afterwards. Results
never depend on whether a probe is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Probe:
    """Seconds and counts summed over every chain run with this probe."""

    #: wall time of :func:`~critmin.market.engine.run_market` calls (LP build + month loop)
    engine_s: float = 0.0
    #: wall time around ``Highs.run()``
    highs_run_s: float = 0.0
    #: wall time in the HiGHS calls of a solve handed to HiGHS (building the model, pushing
    #: changes, run, reading the solution and basis back)
    highs_calls_s: float = 0.0
    #: HiGHS's own run clock (``Highs.getRunTime``) summed over the chains' instances: the
    #: time HiGHS itself reports for its solves
    highs_clock_s: float = 0.0
    #: wall time checking whether the kept basis answers a solve (whether it does or not;
    #: :mod:`critmin.market.basis`) and preparing the basis of each HiGHS solve for it
    basis_check_s: float = 0.0
    #: wall time inside the instruments' lifecycle methods
    instruments_s: float = 0.0
    #: solves handed to HiGHS, and their simplex iterations
    solves: int = 0
    simplex_iterations: int = 0
    #: solves answered without HiGHS because the previous basis provably stays optimal
    basis_kept: int = 0
    #: when a list, the optimal objective of every solve is appended (verification)
    objectives: list[float] | None = field(default=None)

    def record_solve(
        self,
        *,
        run_s: float,
        calls_s: float,
        highs_clock_s: float,
        iterations: int,
        objective: float,
    ) -> None:
        """One HiGHS solve (``highs_clock_s``: the growth of ``getRunTime`` over it)."""
        self.highs_run_s += run_s
        self.highs_calls_s += calls_s
        self.highs_clock_s += highs_clock_s
        self.solves += 1
        self.simplex_iterations += iterations
        if self.objectives is not None:
            self.objectives.append(objective)

    def record_kept(self, objective: float) -> None:
        """One solve answered from the kept basis (no HiGHS call)."""
        self.basis_kept += 1
        if self.objectives is not None:
            self.objectives.append(objective)
