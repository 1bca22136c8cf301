"""The scorer's BG/NBD and Gamma-Gamma likelihoods against lifetimes' batch fits, on a small sample."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from scorer.clv import (
    BgNbdParams,
    LifetimeValue,
    bgnbd_log_likelihood,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
)
from scorer.clv.history import PurchaseHistory
from scorer.clv.bgnbd import bgnbd_gradient

lifetimes = pytest.importorskip("lifetimes")
pd = pytest.importorskip("pandas")


CDNOW = Path(__file__).resolve().parents[4] / "shared" / "data" / "cdnow" / "CDNOW_master.txt"
#: 1997-09-30, the end of the BG/NBD paper's calibration period, in days since 1970.
CALIBRATION_END = 10134


@functools.cache
def _sample(customers: int = 2_000) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Calibration summaries of CDNOW's first ``customers`` customers, built by the scorer's own history."""
    histories: dict[str, PurchaseHistory] = {}
    with open(CDNOW) as handle:
        handle.readline()
        for line in handle:
            customer, day, _, dollars = line.split()
            if int(customer) > customers:
                break
            period = (date(int(day[:4]), int(day[4:6]), int(day[6:])) - date(1970, 1, 1)).days
            if period <= CALIBRATION_END:
                histories.setdefault(customer, PurchaseHistory()).add(period, float(dollars))
    rows = np.array([h.summary(CALIBRATION_END) for h in histories.values()])
    return rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]


def test_bgnbd_fit_matches_lifetimes_batch_fit():
    x, t_x, T, _ = _sample()
    ours = fit_bgnbd(x, t_x, T)
    fitter = lifetimes.BetaGeoFitter().fit(x, t_x, T)
    theirs = fitter.params_
    for name in ("r", "alpha", "a", "b"):
        assert getattr(ours, name) == pytest.approx(theirs[name], rel=2e-3), name
    forecast = expected_purchases(ours, x, t_x, T, 39.0)
    assert forecast == pytest.approx(fitter.conditional_expected_number_of_purchases_up_to_time(39.0, x, t_x, T), rel=5e-3)
    assert p_alive(ours, x, t_x, T) == pytest.approx(fitter.conditional_probability_alive(x, t_x, T), rel=5e-3)


def test_scalar_and_array_forecasts_agree():
    params = BgNbdParams(0.25, 4.8, 0.72, 2.16)
    x, t_x, T = np.array([0.0, 1.0, 7.0]), np.array([0.0, 3.0, 30.0]), np.array([20.0, 20.0, 38.0])
    arrays = expected_purchases(params, x, t_x, T, 52.0)
    scalars = [expected_purchases(params, *row, 52.0) for row in zip(x, t_x, T)]
    assert arrays == pytest.approx(scalars)


def test_gradient_is_the_derivative_of_the_likelihood():
    x, t_x, T, _ = _sample(200)
    theta = np.array([0.3, 4.0, 0.8, 2.4])
    step = 1e-6
    numeric = [
        (bgnbd_log_likelihood(BgNbdParams(*(theta + step * e)), x, t_x, T).sum() - bgnbd_log_likelihood(BgNbdParams(*(theta - step * e)), x, t_x, T).sum()) / (2 * step)
        for e in np.eye(4)
    ]
    assert bgnbd_gradient(BgNbdParams(*theta), x, t_x, T).sum(axis=1) == pytest.approx(numeric, rel=1e-4)


def test_gamma_gamma_fit_matches_lifetimes():
    x, _, _, m = _sample()
    keep = (x > 0) & (m > 0)
    ours = fit_gamma_gamma(x, m)
    theirs = lifetimes.GammaGammaFitter().fit(pd.Series(x[keep]), pd.Series(m[keep])).params_
    for name in ("p", "q", "v"):
        assert getattr(ours, name) == pytest.approx(theirs[name], rel=5e-3), name


def test_a_refit_over_the_whole_sample_is_the_batch_fit():
    x, t_x, T, m = _sample()
    model = LifetimeValue(sample_size=10_000)
    for i, (xi, txi, Ti, mi) in enumerate(zip(x, t_x, T, m)):
        first = CALIBRATION_END - int(round(Ti * 7))
        model.sample.offer(f"u{i}", first, first + int(round(txi * 7)), int(xi), float(mi))
    model.refit(CALIBRATION_END * 86_400_000)
    batch = fit_bgnbd(x, t_x, T)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(model.params, name) == pytest.approx(getattr(batch, name), rel=1e-3), name
