"""ARIMA: one specification, and the automatic order selection of Hyndman & Khandakar.

Estimation is CSS-ML, as R's ``arima``: the conditional sum of squares (CSS, with an
analytic Jacobian) gives the starting values, then the exact Gaussian likelihood of the
differenced series is maximised. The likelihood is statsmodels' innovations algorithm
(``arma_innovations``), the same exact likelihood as its state-space ``SARIMAX`` but 10-15
times cheaper to evaluate; Levenberg–Marquardt (scipy) maximises it over statsmodels'
stationary and invertible reparametrisation. The fitted parameters are then filtered
through statsmodels' ``ARIMA`` state space of the undifferenced series (exact diffuse
initialisation of the differences, trend as a regressor), whose Kalman filter gives the
forecasts and their variance, the sample paths and the re-filtering of ``update``.

:class:`AutoARIMA` follows R's ``forecast::auto.arima`` (Hyndman & Khandakar, 2008): the
seasonal difference ``D`` from the STL seasonal strength (> 0.64, R's ``nsdiffs`` with
``test="seas"``), ``d`` from repeated KPSS tests, then a stepwise search over
``(p, q, P, Q)`` and the constant by AICc. Long series (> 150 observations) and seasons
longer than 12 are searched with CSS approximations of the AICc and only the chosen model
is fitted by exact likelihood, as R does.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.signal import lfilter

from capforecast.core.errors import FitError, ParameterError
from capforecast.forecast.base import Forecaster, Prediction, Selecting, normal_prediction

#: Longest season given seasonal AR and MA terms by :class:`AutoARIMA`. Beyond it (weekly
#: data, season 52) a seasonal ARMA term puts 52-105 states in the state space: one
#: statsmodels ``SARIMAX`` fit of (1,0,1)(1,0,1)[52] on 2,000 points takes 20 s and each
#: Kalman pass 0.5-2 s, so only the seasonal difference is kept (``docs/forecasting.md``).
MAX_SEASONAL_ARMA_PERIOD = 24

#: Smallest modulus of the AR and MA roots a model may have (R's ``auto.arima``).
MIN_ROOT = 1.01

#: Most Levenberg–Marquardt steps of one CSS fit (R's ``optim`` stops BFGS at 100
#: iterations): ill-conditioned candidates (near-cancelling roots) otherwise take hundreds.
CSS_MAX_EVALUATIONS = 100

#: Most Levenberg–Marquardt steps of one exact-likelihood fit (scipy counts the
#: likelihoods of its numerical Jacobian apart: each step costs one per coefficient).
EXACT_MAX_ITERATIONS = 50

#: Relative tolerance of the exact-likelihood fit on its sum of squares and its
#: parameters: a log-likelihood change below n · 1e-6 / 2 does not move the AICc.
EXACT_TOL = 1e-6

#: Root modulus at which the exact fit stops: the likelihood of an over-differenced series
#: rises towards a unit MA root (and of an under-differenced one towards a unit AR root),
#: where the optimiser would creep on for hundreds of iterations.
BOUNDARY_ROOT = 1.001

#: Seasonal strength above which ``AutoARIMA`` takes a seasonal difference (R's ``nsdiffs``).
SEASONAL_STRENGTH = 0.64


@dataclass(frozen=True)
class Spec:
    """One ARIMA(p,d,q)(P,D,Q)[s] specification; ``constant`` is a mean when
    ``d + D == 0``, a drift when ``d + D == 1`` and never included otherwise."""

    p: int
    d: int
    q: int
    P: int
    D: int
    Q: int
    s: int
    constant: bool

    def __post_init__(self) -> None:
        if self.s == 1 and (self.P or self.D or self.Q):
            object.__setattr__(self, "P", 0)
            object.__setattr__(self, "D", 0)
            object.__setattr__(self, "Q", 0)
        if self.d + self.D > 1:
            object.__setattr__(self, "constant", False)

    @property
    def n_coef(self) -> int:
        """Estimated coefficients besides the innovation variance."""
        return int(self.constant) + self.p + self.q + self.P + self.Q

    @property
    def n_lost(self) -> int:
        """Observations lost to differencing."""
        return self.d + self.D * self.s

    def label(self) -> str:
        """R-style name, e.g. ``ARIMA(1,1,0)(0,1,1)[7] with drift``."""
        text = f"ARIMA({self.p},{self.d},{self.q})"
        if self.s > 1 and self.P + self.D + self.Q > 0:
            text += f"({self.P},{self.D},{self.Q})[{self.s}]"
        if self.constant:
            text += " with drift" if self.d + self.D == 1 else " with mean"
        return text


@dataclass(frozen=True)
class Estimate:
    """Coefficients ``[constant, ar, ma, seasonal ar, seasonal ma]`` on the differenced
    series, the innovation variance and the information criteria."""

    coef: np.ndarray
    sigma2: float
    loglik: float
    aicc: float


def difference(y: np.ndarray, d: int, D: int, s: int) -> np.ndarray:
    """``(1 - B)^d (1 - B^s)^D y``.

    Examples
    --------
    >>> difference(np.array([1.0, 2.0, 4.0, 7.0, 11.0]), 1, 0, 1)
    array([1., 2., 3., 4.])
    >>> difference(np.arange(6.0) ** 2, 0, 1, 2)
    array([ 4.,  8., 12., 16.])
    """
    w = np.asarray(y, dtype=float)
    for _ in range(D):
        w = w[s:] - w[:-s]
    for _ in range(d):
        w = np.diff(w)
    return w


def _split(
    coef: np.ndarray, spec: Spec
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The constant and the four coefficient blocks of ``coef``."""
    i = int(spec.constant)
    mu = float(coef[0]) if spec.constant else 0.0
    ar = coef[i : i + spec.p]
    i += spec.p
    ma = coef[i : i + spec.q]
    i += spec.q
    sar = coef[i : i + spec.P]
    i += spec.P
    sma = coef[i : i + spec.Q]
    return mu, ar, ma, sar, sma


def _one_plus(block: np.ndarray) -> np.ndarray:
    """``[1, block...]``."""
    return np.concatenate((np.ones(1), block))


def _seasonal(poly: np.ndarray, s: int) -> np.ndarray:
    """``1 + c_1 B^s + c_2 B^{2s} ...`` from the coefficients ``poly = [1, c_1, c_2, ...]``."""
    out = np.zeros((len(poly) - 1) * s + 1)
    out[::s] = poly
    return out


def min_root(coef: np.ndarray, spec: Spec) -> float:
    """Smallest modulus among the roots of the AR and MA polynomials (in ``B``); 2 when
    there are none, as R's ``auto.arima`` reports it."""
    _, ar, ma, sar, sma = _split(coef, spec)
    smallest = 2.0
    for block, sign, power in ((ar, -1, 1), (ma, 1, 1), (sar, -1, spec.s), (sma, 1, spec.s)):
        nonzero = np.flatnonzero(np.abs(block) > 1e-8)
        if len(nonzero) == 0:
            continue
        roots = np.polynomial.polynomial.polyroots(np.r_[1.0, sign * block[: nonzero[-1] + 1]])
        smallest = min(smallest, float(np.min(np.abs(roots))) ** (1.0 / power))
    return smallest


def _factors(
    coef: np.ndarray, spec: Spec
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The constant and the lag polynomials ``φ(B)``, ``Φ(B^s)``, ``θ(B)``, ``Θ(B^s)``."""
    mu, ar, ma, sar, sma = _split(coef, spec)
    return (
        mu,
        _one_plus(-ar),
        _seasonal(_one_plus(-sar), spec.s),
        _one_plus(ma),
        _seasonal(_one_plus(sma), spec.s),
    )


def polynomials(coef: np.ndarray, spec: Spec) -> tuple[np.ndarray, np.ndarray]:
    """The expanded AR polynomial ``φ(B)Φ(B^s)`` and MA polynomial ``θ(B)Θ(B^s)``."""
    _, phi, seasonal_phi, theta, seasonal_theta = _factors(coef, spec)
    return np.convolve(phi, seasonal_phi), np.convolve(theta, seasonal_theta)


def css_residuals(coef: np.ndarray, w: np.ndarray, spec: Spec) -> np.ndarray:
    """Conditional residuals of the differenced series ``w``, as R's ``CSS``: the first
    ``p + P·s`` values are conditioned on, earlier innovations are zero."""
    mu, phi, seasonal_phi, theta, seasonal_theta = _factors(coef, spec)
    a, b = np.convolve(phi, seasonal_phi), np.convolve(theta, seasonal_theta)
    u = np.convolve(w - mu, a, mode="valid")  # u_t = φ(B)Φ(B^s) z_t for t >= p + P·s
    return np.asarray(lfilter([1.0], b, u))


def css_jacobian(coef: np.ndarray, w: np.ndarray, spec: Spec) -> np.ndarray:
    """Derivatives of :func:`css_residuals` with respect to ``coef`` (one column each):
    with ``b(B) e = a(B) z``, ``∂e/∂φ_i = -Φ(B^s) B^i z / b(B)`` and
    ``∂e/∂θ_j = -Θ(B^s) B^j e / b(B)``, likewise for the seasonal factors."""
    mu, phi, seasonal_phi, theta, seasonal_theta = _factors(coef, spec)
    a, b = np.convolve(phi, seasonal_phi), np.convolve(theta, seasonal_theta)
    z = w - mu
    e = lfilter([1.0], b, np.convolve(z, a, mode="valid"))
    width = len(a)

    def lagged(poly: np.ndarray, lag: int) -> np.ndarray:
        out = np.zeros(width)
        out[lag : lag + len(poly)] = poly
        return out

    ar_terms = [lagged(seasonal_phi, i) for i in range(1, spec.p + 1)]
    ar_terms += [lagged(phi, i * spec.s) for i in range(1, spec.P + 1)]
    ar_columns = [-np.convolve(z, kernel, mode="valid") for kernel in ar_terms]
    ma_terms = [np.concatenate((np.zeros(j), seasonal_theta)) for j in range(1, spec.q + 1)]
    ma_terms += [np.concatenate((np.zeros(j * spec.s), theta)) for j in range(1, spec.Q + 1)]
    ma_columns = [-np.convolve(e, kernel)[: len(e)] for kernel in ma_terms]
    mean_column = [np.full(len(e), -a.sum())] if spec.constant else []
    inputs = np.column_stack(
        mean_column + ar_columns[: spec.p] + ma_columns[: spec.q]
        + ar_columns[spec.p :] + ma_columns[spec.q :]
    )  # fmt: skip
    return np.asarray(lfilter([1.0], b, inputs, axis=0))


def _aicc(loglik: float, spec: Spec, n: int) -> float:
    k = spec.n_coef + 1  # and the innovation variance
    if n - k - 1 <= 0 or not np.isfinite(loglik):
        return math.inf
    return -2.0 * loglik + 2.0 * k + 2.0 * k * (k + 1) / (n - k - 1)


def fit_css(w: np.ndarray, spec: Spec) -> Estimate:
    """Least conditional sum of squares; the ``loglik`` is R's CSS approximation
    ``-n/2 · log σ²`` (up to a constant shared by every model of the same ``d, D``)."""
    if len(w) - (spec.p + spec.P * spec.s) < spec.n_coef + 2:
        raise FitError(f"{spec.label()}: too few observations for CSS")
    start = np.zeros(spec.n_coef)
    if spec.constant:
        start[0] = float(np.mean(w))
    if spec.n_coef == int(spec.constant):
        coef = start
    else:
        ceiling = 1e6 * (float(np.std(w)) + 1.0)
        n_resid = len(w) - (spec.p + spec.P * spec.s)

        def residuals(x: np.ndarray) -> np.ndarray:
            e = css_residuals(x, w, spec)
            return e if np.isfinite(e).all() else np.full(n_resid, ceiling)

        def jacobian(x: np.ndarray) -> np.ndarray:
            jac = css_jacobian(x, w, spec)
            return jac if np.isfinite(jac).all() else np.zeros((n_resid, len(x)))

        coef = least_squares(
            residuals, start, jac=jacobian, method="lm", max_nfev=CSS_MAX_EVALUATIONS
        ).x
    e = css_residuals(coef, w, spec)
    sigma2 = float(np.mean(e**2))
    if not (np.isfinite(sigma2) and sigma2 > 0):
        raise FitError(f"{spec.label()}: degenerate CSS fit")
    loglik = -0.5 * len(w) * math.log(sigma2)
    return Estimate(coef, sigma2, loglik, _aicc(loglik, spec, len(w)))


def _invert_ma(block: np.ndarray) -> np.ndarray:
    """The invertible MA block with the same autocorrelations: roots inside the unit
    circle are replaced by their inverses (R's ``maInvert``)."""
    if len(block) == 0 or not np.any(block):
        return block
    roots = np.polynomial.polynomial.polyroots(np.r_[1.0, block])
    if np.all(np.abs(roots) > 1.0):
        return block
    roots = np.where(np.abs(roots) < 1.0, 1.0 / roots, roots)
    poly = np.polynomial.polynomial.polyfromroots(roots).real
    return np.asarray(poly[1:] / poly[0])


def _blocks(spec: Spec) -> list[tuple[slice, int]]:
    """Slices of the AR and MA blocks of ``coef``, with the sign that maps them to
    statsmodels' stationary transform (``+1`` AR, ``-1`` MA)."""
    i = int(spec.constant)
    blocks = []
    for size, sign in ((spec.p, 1), (spec.q, -1), (spec.P, 1), (spec.Q, -1)):
        if size:
            blocks.append((slice(i, i + size), sign))
        i += size
    return blocks


def _constrain(x: np.ndarray, spec: Spec) -> np.ndarray:
    from statsmodels.tsa.statespace.tools import constrain_stationary_univariate

    coef = x.copy()
    for block, sign in _blocks(spec):
        coef[block] = sign * constrain_stationary_univariate(x[block])
    return coef


def _unconstrain(coef: np.ndarray, spec: Spec) -> np.ndarray:
    from statsmodels.tsa.statespace.tools import unconstrain_stationary_univariate

    x = coef.copy()
    for block, sign in _blocks(spec):
        x[block] = unconstrain_stationary_univariate(sign * coef[block])
    return x


def _innovations(coef: np.ndarray, w: np.ndarray, spec: Spec) -> tuple[np.ndarray, np.ndarray]:
    """One-step prediction errors of ``w`` and their variances relative to ``σ²``
    (statsmodels' innovations algorithm: the exact Gaussian likelihood)."""
    from statsmodels.tsa.innovations.arma_innovations import arma_innovations

    a, b = polynomials(coef, spec)
    z = w - coef[0] if spec.constant else w
    u, v = arma_innovations(z, ar_params=-a[1:], ma_params=b[1:], sigma2=1.0)
    return np.asarray(u, dtype=float), np.asarray(v, dtype=float)


def _start(w: np.ndarray, spec: Spec) -> np.ndarray:
    """Starting values from CSS, made stationary and invertible."""
    try:
        coef = fit_css(w, spec).coef.copy()
    except ValueError:
        coef = np.zeros(spec.n_coef)
        if spec.constant:
            coef[0] = float(np.mean(w))
    for block, sign in _blocks(spec):
        values = coef[block]
        if sign < 0:
            coef[block] = _invert_ma(values)
        else:
            roots = np.polynomial.polynomial.polyroots(np.r_[1.0, -values])
            if len(roots) and np.min(np.abs(roots)) <= MIN_ROOT:
                coef[block] = 0.0
        if not np.isfinite(coef[block]).all() or min_root(coef, spec) <= 1.0:
            coef[block] = 0.0
    return coef


class _AtBoundary(Exception):
    """Raised inside the exact fit when a root reaches :data:`BOUNDARY_ROOT`."""


def fit_exact(w: np.ndarray, spec: Spec) -> Estimate:
    """Exact Gaussian maximum likelihood of the stationary ARMA model of the differenced
    series ``w``, from CSS starting values (CSS-ML).

    The likelihood is statsmodels' innovations algorithm with the variance concentrated
    out; Levenberg–Marquardt minimises it in its sum-of-squares form
    ``|Λ|^(1/n) · Σ u²/v`` over statsmodels' stationary/invertible reparametrisation.
    """
    n = len(w)
    if n < spec.n_coef + 2:
        raise FitError(f"{spec.label()}: too few observations")
    if spec.p + spec.q + spec.P + spec.Q == 0:
        mu = float(np.mean(w)) if spec.constant else 0.0
        coef = np.array([mu]) if spec.constant else np.empty(0)
        v = np.ones(n)
        u = w - mu
    else:
        start = _unconstrain(_start(w, spec), spec)
        start[~np.isfinite(start)] = 0.0  # a unit root left by CSS
        best: list[Any] = [math.inf, start]

        def residuals(x: np.ndarray) -> np.ndarray:
            coef = _constrain(x, spec)
            u, v = _innovations(coef, w, spec)
            r = u / np.sqrt(v) * np.exp(0.5 * np.mean(np.log(v)))
            cost = float(r @ r)
            if cost < best[0]:
                best[:] = [cost, x.copy()]
            # Roots near the unit circle have a partial autocorrelation near ±1, i.e. a
            # large unconstrained value (|x| > 10 is |r| > 0.995): only then find them.
            near = np.max(np.abs(x[int(spec.constant) :])) > 10.0
            if near and min_root(coef, spec) < BOUNDARY_ROOT:
                raise _AtBoundary
            return r

        # At a unit root the likelihood still rises: keep the best point evaluated.
        with contextlib.suppress(_AtBoundary):
            least_squares(
                residuals,
                start,
                method="lm",
                ftol=EXACT_TOL,
                xtol=EXACT_TOL,
                max_nfev=EXACT_MAX_ITERATIONS,
            )
        x = best[1]
        coef = _constrain(x, spec)
        u, v = _innovations(coef, w, spec)
    sigma2 = float(np.mean(u**2 / v))
    if not (np.isfinite(coef).all() and np.isfinite(sigma2) and sigma2 > 0):
        raise FitError(f"{spec.label()}: exact likelihood fit failed")
    loglik = -0.5 * n * (math.log(2 * math.pi * sigma2) + 1.0) - 0.5 * float(np.sum(np.log(v)))
    return Estimate(coef, sigma2, loglik, _aicc(loglik, spec, n))


def _quiet(function: Callable[..., Any], *args: Any) -> Any:
    """Call ``function`` with statsmodels' and numpy's warnings silenced."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return function(*args)


def _full_model(y: np.ndarray, spec: Spec) -> Any:
    """statsmodels' ``ARIMA`` of the undifferenced series, trend as a regressor."""
    from statsmodels.tsa.arima.model import ARIMA as StatsmodelsARIMA

    trend = "n"
    if spec.constant:
        trend = "c" if spec.d + spec.D == 0 else "t"
    seasonal = (spec.P, spec.D, spec.Q, spec.s) if spec.s > 1 else (0, 0, 0, 0)
    return StatsmodelsARIMA(y, order=(spec.p, spec.d, spec.q), seasonal_order=seasonal, trend=trend)


def full_params(estimate: Estimate, spec: Spec) -> np.ndarray:
    """Parameters of :func:`_full_model`: the mean of the differenced series becomes the
    slope of the time trend (divided by ``s`` under a seasonal difference)."""
    coef = estimate.coef.copy()
    if spec.constant and spec.d + spec.D == 1:
        coef[0] /= spec.s if spec.D else 1
    return np.r_[coef, estimate.sigma2]


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """``L`` with ``L Lᵀ = matrix`` for a symmetric positive semi-definite matrix."""
    values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    return np.asarray(vectors * np.sqrt(np.clip(values, 0.0, None)))


def simulate_errors(
    filtered: Any, horizon: int, n_paths: int, rng: np.random.Generator
) -> np.ndarray:
    """Forecast errors ``[path, step]`` of a time-invariant state space after filtering,
    as statsmodels' ``simulate(anchor="end")`` draws them but for all paths at once: the
    state error starts from the filter's predicted covariance ``P_{n+1}``, then
    ``δ ← T δ + R η``, ``η ~ N(0, Q)``, and the error is ``Z δ + ε``, ``ε ~ N(0, H)``.
    """
    transition = filtered.transition[:, :, -1]
    selection = filtered.selection[:, :, -1]
    design = filtered.design[0, :, -1]
    state_shocks = selection @ _sqrt_psd(filtered.state_cov[:, :, -1])
    obs_sd = math.sqrt(max(float(filtered.obs_cov[0, 0, -1]), 0.0))
    delta = (
        rng.standard_normal((n_paths, len(transition)))
        @ _sqrt_psd(filtered.predicted_state_cov[:, :, -1]).T
    )
    errors = np.empty((n_paths, horizon))
    for step in range(horizon):
        errors[:, step] = delta @ design
        if obs_sd > 0:
            errors[:, step] += obs_sd * rng.standard_normal(n_paths)
        shocks = rng.standard_normal((n_paths, state_shocks.shape[1]))
        delta = delta @ transition.T + shocks @ state_shocks.T
    return errors


def _check_order(name: str, value: Any) -> tuple[int, int, int]:
    values = tuple(value) if isinstance(value, tuple | list) else ()
    if len(values) != 3 or not all(isinstance(v, int | np.integer) and v >= 0 for v in values):
        raise ParameterError(
            f"The '{name}' parameter of ARIMA must be 3 non-negative integers. "
            f"Got {value!r} instead."
        )
    return int(values[0]), int(values[1]), int(values[2])


class ARIMA(Forecaster):
    """One ARIMA(p,d,q)(P,D,Q)[s] model, fitted by CSS-ML.

    ``include_constant`` adds a mean when the model has no difference and a drift when
    it has one (as R's ``Arima(include.constant=TRUE)``); with two or more differences
    there is no constant. The seasonal part is ignored when ``season_length == 1``.
    Intervals are normal with the Kalman filter's forecast variance; paths are simulated
    from the state space with the filtered state at the end of the series.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = 100 + np.cumsum(rng.normal(1, 1, 200))
    >>> model = ARIMA(order=(0, 1, 1)).fit(y)
    >>> model.spec_.label()
    'ARIMA(0,1,1) with drift'
    >>> prediction = model.predict(4, levels=(95,))
    >>> bool((prediction.intervals[95][1] > prediction.mean).all())
    True
    """

    min_length = 3

    def __init__(
        self,
        season_length: int = 1,
        order: tuple[int, int, int] = (0, 1, 1),
        seasonal_order: tuple[int, int, int] = (0, 1, 1),
        include_constant: bool = True,
        alias: str | None = None,
    ) -> None:
        self.alias = alias
        self.season_length = season_length
        self.order = order
        self.seasonal_order = seasonal_order
        self.include_constant = include_constant

    def spec(self) -> Spec:
        """The :class:`Spec` of the parameters."""
        p, d, q = _check_order("order", self.order)
        P, D, Q = _check_order("seasonal_order", self.seasonal_order)
        return Spec(p, d, q, P, D, Q, int(self.season_length), bool(self.include_constant))

    def _fit(self, y: np.ndarray) -> None:
        spec = self.spec()
        w = difference(y, spec.d, spec.D, spec.s)
        if len(w) < spec.n_coef + 3:
            raise FitError(
                f"{spec.label()} needs at least {spec.n_coef + 3 + spec.n_lost} observations, "
                f"got {len(y)}"
            )
        if np.ptp(w) == 0:
            raise FitError(f"{spec.label()}: the differenced series is constant")
        try:
            self._set_estimate(y, spec, _quiet(fit_exact, w, spec))
        except FitError:
            raise
        except ValueError as exc:  # the likelihood fit or statsmodels' filter failed
            raise FitError(f"{spec.label()}: {exc}") from exc

    def _set_estimate(self, y: np.ndarray, spec: Spec, estimate: Estimate) -> None:
        """Filter ``y`` with ``estimate`` in the undifferenced state space."""
        self.spec_ = spec
        self.estimate_ = estimate
        self.aicc_ = estimate.aicc
        self.result_ = _quiet(
            lambda: _full_model(y, spec).filter(full_params(estimate, spec), cov_type="none")
        )
        self.n_obs_ = len(y)

    def update(self, y: np.ndarray, ds: pd.DatetimeIndex | None = None) -> Self:
        """Re-filter the longer series ``y`` with the fitted parameters (no re-estimation)."""
        self._check_fitted()
        values = np.asarray(y, dtype=float)
        updated = self.clone()
        updated.spec_, updated.estimate_, updated.aicc_ = self.spec_, self.estimate_, self.aicc_
        updated.result_ = _quiet(lambda: self.result_.apply(values))
        updated.n_obs_ = len(values)
        return updated

    def _predict(self, horizon: int, levels: tuple[int, ...]) -> Prediction:
        forecast = _quiet(lambda: self.result_.get_forecast(horizon))
        mean = np.asarray(forecast.predicted_mean, dtype=float)
        spread = np.sqrt(np.asarray(forecast.var_pred_mean, dtype=float))
        return normal_prediction(mean, spread, levels)

    def _paths(self, horizon: int, n_paths: int, rng: np.random.Generator) -> np.ndarray:
        mean = self._predict(horizon, ()).mean
        return mean + simulate_errors(self.result_.filter_results, horizon, n_paths, rng)


def is_constant(x: np.ndarray) -> bool:
    """Whether every value of ``x`` is the same (or ``x`` is empty)."""
    return len(x) == 0 or bool(np.ptp(x) == 0)


def kpss_rejects(x: np.ndarray, alpha: float = 0.05) -> bool:
    """Whether the KPSS test rejects level stationarity of ``x`` at ``alpha``, with R's
    ``ndiffs`` lag truncation ``floor(3 √n / 13)``."""
    from statsmodels.tsa.stattools import kpss

    nlags = math.floor(3 * math.sqrt(len(x)) / 13)
    try:
        _, pvalue, *_ = _quiet(lambda: kpss(x, regression="c", nlags=nlags))
    except (ValueError, np.linalg.LinAlgError, ZeroDivisionError):
        return False
    return bool(pvalue < alpha)


def ndiffs(x: np.ndarray, max_d: int = 2, alpha: float = 0.05) -> int:
    """Number of first differences that make ``x`` level-stationary by repeated KPSS
    tests (R's ``ndiffs``).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> ndiffs(np.cumsum(rng.normal(size=300))), ndiffs(rng.normal(size=300))
    (1, 0)
    """
    d = 0
    x = np.asarray(x, dtype=float)
    while d < max_d and not is_constant(x) and len(x) > 2 and kpss_rejects(x, alpha):
        d += 1
        x = np.diff(x)
    return d


def seasonal_strength(x: np.ndarray, season_length: int) -> float:
    """``max(0, 1 - Var(R) / Var(S + R))`` of an STL decomposition with R's ``mstl``
    settings (seasonal window 11, local-constant seasonal fit); 0 when STL fails."""
    from statsmodels.tsa.seasonal import STL

    try:
        fit = _quiet(lambda: STL(x, period=season_length, seasonal=11, seasonal_deg=0).fit())
    except (ValueError, np.linalg.LinAlgError):
        return 0.0
    remainder = np.asarray(fit.resid, dtype=float)
    total = float(np.var(remainder + np.asarray(fit.seasonal, dtype=float), ddof=1))
    if not (np.isfinite(total) and total > 0):
        return 0.0
    return float(np.clip(1.0 - np.var(remainder, ddof=1) / total, 0.0, 1.0))


def nsdiffs(x: np.ndarray, season_length: int, max_D: int = 1) -> int:
    """Number of seasonal differences by the seasonal-strength rule (R's ``nsdiffs``
    with ``test="seas"``): difference while the strength exceeds 0.64.

    Examples
    --------
    >>> t = np.arange(120)
    >>> rng = np.random.default_rng(0)
    >>> nsdiffs(50 + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(size=120), 12)
    1
    >>> nsdiffs(50 + rng.normal(size=120), 12)
    0
    """
    taken = 0
    x = np.asarray(x, dtype=float)
    while (
        taken < max_D
        and len(x) > 2 * season_length
        and not is_constant(x)
        and seasonal_strength(x, season_length) > SEASONAL_STRENGTH
    ):
        taken += 1
        x = x[season_length:] - x[:-season_length]
    return taken


def _catch(
    function: Callable[[np.ndarray, Spec], Estimate], w: np.ndarray, spec: Spec
) -> Estimate | None:
    """``function(w, spec)``, or ``None`` when the fit fails or is not stationary and
    invertible with a margin (R's ``auto.arima`` rejects roots within 1.01)."""
    try:
        estimate: Estimate = _quiet(function, w, spec)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError, OverflowError):
        return None
    if not np.isfinite(estimate.aicc) or min_root(estimate.coef, spec) < MIN_ROOT:
        return None
    return estimate


class AutoARIMA(Selecting):
    """ARIMA with the order chosen as R's ``forecast::auto.arima`` (Hyndman & Khandakar).

    1. ``D``: one seasonal difference when ``season_length > 1``, the series holds more
       than two seasons and its STL seasonal strength exceeds 0.64.
    2. ``d``: first differences while the KPSS test rejects stationarity at 5%
       (at most ``max_d``).
    3. Stepwise search by AICc from (2,d,2)(1,D,1), (0,d,0)(0,D,0), (1,d,0)(1,D,0) and
       (0,d,1)(0,D,1), with a constant (mean or drift) when ``d + D <= 1``; each step
       tries ``p, q, P, Q`` by ±1 (and ``p, q`` or ``P, Q`` together) and toggles the
       constant, moving to the first neighbour that improves, until none does or
       ``nmodels`` models were fitted. ``stepwise=False`` fits every model with
       ``p + q + P + Q <= max_order`` instead.

    With ``approximation`` (default: more than 150 observations or a season longer than
    12, as R) the search compares CSS fits and only the chosen model is refitted by exact
    likelihood (the next best when that fit fails). Seasons longer than
    ``MAX_SEASONAL_ARMA_PERIOD`` (24) get the seasonal difference but no seasonal AR or
    MA terms: with them, the first 6 M4 Weekly series took 2-76 s each at season 52
    (0.4 s without) and were less accurate (mean MASE 23.4 against 4.6). Candidates
    that fail or have roots within 1.01 of the unit circle are skipped; when none fits,
    ``fit`` raises ``ValueError``. Constant series, and series that differencing makes
    constant (a straight line), raise ``ValueError`` too. The intervals use the
    maximum-likelihood ``σ²`` (R and statsforecast widen it by ``n / (n - k)`` for
    ``k`` coefficients).

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> e = rng.normal(size=301)
    >>> y = 20 + e[1:] + 0.6 * e[:-1]
    >>> model = AutoARIMA().fit(y)
    >>> model.order_, model.chosen_.spec_.label()
    ((0, 0, 1), 'ARIMA(0,0,1) with mean')
    """

    min_length = 4

    def __init__(
        self,
        season_length: int = 1,
        max_p: int = 5,
        max_q: int = 5,
        max_P: int = 2,
        max_Q: int = 2,
        max_order: int = 5,
        max_d: int = 2,
        max_D: int = 1,
        start_p: int = 2,
        start_q: int = 2,
        start_P: int = 1,
        start_Q: int = 1,
        stepwise: bool = True,
        nmodels: int = 94,
        approximation: bool | None = None,
        alias: str | None = None,
    ) -> None:
        self.alias = alias
        self.season_length = season_length
        self.max_p = max_p
        self.max_q = max_q
        self.max_P = max_P
        self.max_Q = max_Q
        self.max_order = max_order
        self.max_d = max_d
        self.max_D = max_D
        self.start_p = start_p
        self.start_q = start_q
        self.start_P = start_P
        self.start_Q = start_Q
        self.stepwise = stepwise
        self.nmodels = nmodels
        self.approximation = approximation

    def _fit(self, y: np.ndarray) -> None:
        n, m = len(y), int(self.season_length)
        if is_constant(y):
            raise FitError("AutoARIMA: the series is constant")
        D = 0
        if m > 1 and n > 2 * m:
            D = nsdiffs(y, m, self.max_D)
        dx = difference(y, 0, D, m)
        d = ndiffs(dx, self.max_d)
        w = difference(dx, d, 0, 1)
        if is_constant(w):
            raise FitError(f"AutoARIMA: the series is constant after d={d}, D={D} differences")
        max_p, max_q = min(self.max_p, n // 3), min(self.max_q, n // 3)
        max_P, max_Q = min(self.max_P, n // 3 // m), min(self.max_Q, n // 3 // m)
        if m == 1 or m > MAX_SEASONAL_ARMA_PERIOD:
            max_P = max_Q = 0
        if m > 1:
            max_p, max_q = min(max_p, m - 1), min(max_q, m - 1)
        approximation = self.approximation
        if approximation is None:
            approximation = n > 150 or m > 12
        search = fit_css if approximation else fit_exact
        found: dict[Spec, Estimate | None] = {}

        def score(spec: Spec) -> float:
            if spec not in found:
                found[spec] = _catch(search, w, spec)
            estimate = found[spec]
            return math.inf if estimate is None else estimate.aicc

        def make(p: int, q: int, P: int, Q: int, constant: bool) -> Spec:
            return Spec(p, d, q, P, D, Q, m, constant)

        allow_constant = d + D <= 1
        if self.stepwise:
            self._stepwise(score, make, found, allow_constant, (max_p, max_q, max_P, max_Q), n)
        else:
            for p in range(max_p + 1):
                for q in range(max_q + 1):
                    for P in range(max_P + 1):
                        for Q in range(max_Q + 1):
                            if p + q + P + Q > self.max_order:
                                continue
                            for constant in (True, False) if allow_constant else (False,):
                                score(make(p, q, P, Q, constant))
        ranked = sorted((score(s), i, s) for i, s in enumerate(found) if np.isfinite(score(s)))
        self.n_models_ = len(found)
        for _, _, spec in ranked:
            estimate = found[spec] if not approximation else _catch(fit_exact, w, spec)
            if estimate is None:
                continue
            chosen = ARIMA(
                season_length=m,
                order=(spec.p, spec.d, spec.q),
                seasonal_order=(spec.P, spec.D, spec.Q),
                include_constant=spec.constant,
            )
            chosen._set_estimate(y, spec, estimate)
            self.chosen_ = chosen
            self.order_ = (spec.p, spec.d, spec.q)
            self.seasonal_order_ = (spec.P, spec.D, spec.Q)
            self.aicc_ = estimate.aicc
            return
        raise FitError("AutoARIMA: no ARIMA model could be fitted")

    def _stepwise(
        self,
        score: Callable[[Spec], float],
        make: Callable[[int, int, int, int, bool], Spec],
        found: dict[Spec, Estimate | None],
        allow_constant: bool,
        limits: tuple[int, int, int, int],
        n: int,
    ) -> None:
        """Hyndman–Khandakar's stepwise search (the moves of R's ``auto.arima``)."""
        max_p, max_q, max_P, max_Q = limits
        start_p, start_q, start_P, start_Q = self.start_p, self.start_q, self.start_P, self.start_Q
        if n < 10:
            start_p, start_q, start_P, start_Q = min(start_p, 1), min(start_q, 1), 0, 0
        p, q = min(start_p, max_p), min(start_q, max_q)
        P, Q = min(start_P, max_P), min(start_Q, max_Q)
        constant = allow_constant
        best = score(make(p, q, P, Q, constant))
        starts = [(0, 0, 0, 0, constant)]
        if max_p > 0 or max_P > 0:
            starts.append((int(max_p > 0), 0, int(max_P > 0), 0, constant))
        if max_q > 0 or max_Q > 0:
            starts.append((0, int(max_q > 0), 0, int(max_Q > 0), constant))
        if constant:
            starts.append((0, 0, 0, 0, False))
        for candidate in starts:
            value = score(make(*candidate))
            if value < best:
                best = value
                p, q, P, Q, constant = candidate
        moves = (
            (0, 0, -1, 0), (0, 0, 0, -1), (0, 0, 1, 0), (0, 0, 0, 1),
            (0, 0, -1, -1), (0, 0, -1, 1), (0, 0, 1, -1), (0, 0, 1, 1),
            (-1, 0, 0, 0), (0, -1, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0),
            (-1, -1, 0, 0), (-1, 1, 0, 0), (1, -1, 0, 0), (1, 1, 0, 0),
        )  # fmt: skip
        improved = True
        while improved and len(found) < self.nmodels:
            improved = False
            neighbours = [(p + a, q + b, P + c, Q + e, constant) for a, b, c, e in moves]
            if allow_constant:
                neighbours.append((p, q, P, Q, not constant))
            for np_, nq, nP, nQ, nc in neighbours:
                if not (0 <= np_ <= max_p and 0 <= nq <= max_q):
                    continue
                if not (0 <= nP <= max_P and 0 <= nQ <= max_Q):
                    continue
                spec = make(np_, nq, nP, nQ, nc)
                if spec in found:
                    continue
                if len(found) >= self.nmodels:
                    break
                value = score(spec)
                if value < best:
                    best, improved = value, True
                    p, q, P, Q, constant = np_, nq, nP, nQ, nc
                    break

    def update(self, y: np.ndarray, ds: pd.DatetimeIndex | None = None) -> Self:
        """Keep the chosen order and its parameters; re-filter ``y``."""
        self._check_fitted()
        updated = self.clone()
        updated.order_, updated.seasonal_order_ = self.order_, self.seasonal_order_
        updated.aicc_, updated.n_models_ = self.aicc_, self.n_models_
        updated.chosen_ = self.chosen_.update(y)
        updated.n_obs_ = len(y)
        return updated
