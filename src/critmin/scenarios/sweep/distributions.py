"""Distributions of uncertain inputs, each an inverse CDF from the unit interval.

Every sampler (Monte Carlo, Latin hypercube, Sobol, Morris) first draws points in the unit
hypercube ``[0, 1)^d``; each column is then mapped through the inverse CDF (``ppf``) of its
input's distribution. One mapping for every design keeps the designs comparable and lets
SALib's Sobol and Morris designs (stated on ``[0, 1]``) drive any distribution.

Parameters follow scipy's definitions (``scipy.stats``): ``triangular`` is
``triang(c=(mode-low)/(high-low), loc=low, scale=high-low)``; ``normal`` may be truncated to
``[low, high]`` (``truncnorm``); ``lognormal`` is given by its ``median`` and ``sigma`` (the
standard deviation of the log), i.e. ``lognorm(s=sigma, scale=median)``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from critmin.bounds import BoundedNumbers
from critmin.yamlio import FieldValueError

FloatArray = npt.NDArray[np.float64]

#: unit draws are kept inside (EPS, 1 - EPS) so that unbounded inverse CDFs stay finite
EPS = 1e-12


class _Dist(BoundedNumbers, BaseModel):
    # NaN and inf are refused in every parameter, sizes bounded (critmin.bounds): an sd of
    # 1e308 overflowed scipy's inverse CDF (issue 13)
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    def ppf(self, u: FloatArray) -> npt.NDArray[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def numeric(self) -> bool:
        return True


class Uniform(_Dist):
    """Uniform on ``[low, high]``."""

    kind: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if not self.high > self.low:
            raise FieldValueError("high", f"high ({self.high}) must be above low ({self.low})")
        return self

    def ppf(self, u: FloatArray) -> FloatArray:
        return self.low + u * (self.high - self.low)


class Triangular(_Dist):
    """Triangular on ``[low, high]`` with its mode at ``mode``."""

    kind: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> Triangular:
        if not (self.low <= self.mode <= self.high and self.high > self.low):
            raise FieldValueError(
                "mode",
                f"expected low <= mode <= high and low < high, got {self.low}, "
                f"{self.mode}, {self.high}",
            )
        return self

    def ppf(self, u: FloatArray) -> FloatArray:
        from scipy.stats import triang

        width = self.high - self.low
        c = (self.mode - self.low) / width
        return np.asarray(triang.ppf(u, c, loc=self.low, scale=width), dtype=np.float64)


class Normal(_Dist):
    """Normal(``mean``, ``sd``), optionally truncated to ``[low, high]``."""

    kind: Literal["normal"]
    mean: float
    sd: float = Field(gt=0)
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _order(self) -> Normal:
        if self.low is not None and self.high is not None and not self.high > self.low:
            raise FieldValueError("high", f"high ({self.high}) must be above low ({self.low})")
        return self

    def ppf(self, u: FloatArray) -> FloatArray:
        from scipy.stats import norm, truncnorm

        if self.low is None and self.high is None:
            return np.asarray(norm.ppf(u, loc=self.mean, scale=self.sd), dtype=np.float64)
        a = -np.inf if self.low is None else (self.low - self.mean) / self.sd
        b = np.inf if self.high is None else (self.high - self.mean) / self.sd
        out = truncnorm.ppf(u, a, b, loc=self.mean, scale=self.sd)
        return np.asarray(out, dtype=np.float64)


class LogNormal(_Dist):
    """Log-normal with median ``median`` and log-standard-deviation ``sigma``."""

    kind: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(gt=0)

    def ppf(self, u: FloatArray) -> FloatArray:
        from scipy.stats import lognorm

        return np.asarray(lognorm.ppf(u, self.sigma, scale=self.median), dtype=np.float64)


def _weights(values: list[Any], weights: list[float] | None) -> FloatArray:
    if weights is None:
        return np.full(len(values), 1.0 / len(values))
    if len(weights) != len(values):
        raise FieldValueError(
            "weights", f"{len(weights)} weights for {len(values)} values; give one per value"
        )
    w = np.asarray(weights, dtype=np.float64)
    if (w < 0).any() or not w.sum() > 0:
        raise FieldValueError("weights", "weights must be >= 0 with a positive sum")
    return w / w.sum()


def _pick(u: FloatArray, w: FloatArray) -> npt.NDArray[np.int64]:
    """Index of the value whose cumulative-weight bin holds each ``u`` (inverse CDF)."""
    cdf = np.cumsum(w)
    cdf[-1] = 1.0  # rounding must not leave u near 1 without a bin
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(w) - 1).astype(np.int64)


class Discrete(_Dist):
    """One of ``values`` (numbers) with probabilities ``weights`` (default: equal)."""

    kind: Literal["discrete"]
    values: list[float] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _check(self) -> Discrete:
        _weights(self.values, self.weights)
        return self

    def ppf(self, u: FloatArray) -> FloatArray:
        idx = _pick(u, _weights(self.values, self.weights))
        return np.asarray(self.values, dtype=np.float64)[idx]


class Categorical(_Dist):
    """One of the named ``choices`` (shock sets of the study) with ``weights``."""

    kind: Literal["categorical"]
    choices: list[str] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _check(self) -> Categorical:
        _weights(self.choices, self.weights)
        return self

    @property
    def numeric(self) -> bool:
        return False

    def ppf(self, u: FloatArray) -> npt.NDArray[Any]:
        idx = _pick(u, _weights(self.choices, self.weights))
        return np.asarray(self.choices, dtype=object)[idx]


Distribution = Annotated[
    Uniform | Triangular | Normal | LogNormal | Discrete | Categorical,
    Field(discriminator="kind"),
]


def unit_clip(u: FloatArray) -> FloatArray:
    """``u`` kept inside ``(EPS, 1 - EPS)`` (see :data:`EPS`)."""
    return np.clip(u, EPS, 1.0 - EPS)
