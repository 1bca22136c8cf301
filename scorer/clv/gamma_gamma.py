"""The Gamma-Gamma model of spend per purchase (Fader, Hardie and Lee 2005, "RFM and CLV").

A customer's purchase values are Gamma(``p``, ``nu``) around their own mean, with
``nu`` Gamma(``q``, ``v``) across customers; spend is independent of purchase
frequency. Fitted on customers with at least one repeat purchase, from ``x`` (the
number of repeat purchases) and ``m`` (their mean value).

>>> params = GammaGammaParams(p=6.25, q=3.74, v=15.45)
>>> round(expected_spend(params, x=0, m=0.0), 2)   # a newcomer: the population mean
35.24
>>> round(expected_spend(params, x=10, m=20.0), 2)  # shrunk towards it, mostly their own
20.64
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np
from scipy.special import digamma, gammaln

from scorer.clv.mle import fit_log_parameters

__all__ = ["GammaGammaParams", "expected_spend", "fit_gamma_gamma", "gamma_gamma_gradient", "gamma_gamma_log_likelihood"]


@dataclass(frozen=True, slots=True)
class GammaGammaParams:
    """Spend per purchase Gamma(p, nu) per customer, nu Gamma(q, v) across customers."""

    p: float
    q: float
    v: float

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "v": self.v}


#: Where a fit starts when nothing has been fitted yet.
PRIOR = GammaGammaParams(p=5.0, q=4.0, v=15.0)


def gamma_gamma_log_likelihood(params: GammaGammaParams, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Log-density of each customer's mean repeat value ``m`` over ``x`` > 0 purchases."""
    p, q, v = params.p, params.q, params.v
    px = p * x
    return (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(x * m + v)
    )


def gamma_gamma_gradient(params: GammaGammaParams, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Gradient of each customer's log-density in ``(p, q, v)``: shape ``(3, n)``."""
    p, q, v = params.p, params.q, params.v
    px = p * x
    log_total = np.log(x * m + v)
    shared = digamma(px + q)
    return np.array(
        [
            x * (shared - digamma(px) + np.log(m) + np.log(x) - log_total),
            shared - digamma(q) + np.log(v) - log_total,
            q / v - (px + q) / (x * m + v),
        ]
    )


def fit_gamma_gamma(x: np.ndarray, m: np.ndarray, start: GammaGammaParams = PRIOR) -> GammaGammaParams:
    """Maximum likelihood over customers with ``x > 0`` and ``m > 0`` (others carry no spend information)."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if not len(x):
        return start

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = GammaGammaParams(*np.exp(theta))
        value = -float(gamma_gamma_log_likelihood(params, x, m).mean())
        return value, -gamma_gamma_gradient(params, x, m).mean(axis=1) * np.exp(theta)

    return GammaGammaParams(*fit_log_parameters(loss, [astuple(start), astuple(PRIOR)]))


def expected_spend(params: GammaGammaParams, x, m):
    """Expected value of a future purchase given ``x`` repeat purchases of mean value ``m``.

    A weighted mean of the population mean ``p v / (q - 1)`` and the customer's own
    ``m``; with ``x = 0`` it is the population mean. Scalars or numpy arrays.
    """
    p, q, v = params.p, params.q, params.v
    if np.ndim(x) == 0:
        return p * (v + x * m) / (p * x + q - 1)
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    return p * (v + x * m) / (p * x + q - 1)
