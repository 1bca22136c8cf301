"""Customer lifetime value: expected purchases and spend per customer, kept current at each purchase.

Pure (numpy and scipy). ``history`` reduces a customer's purchases to the
sufficient statistics of buy-till-you-die models, kept in the user's record;
``bgnbd`` holds the BG/NBD likelihood, fit and forecasts, ``gamma_gamma`` the
spend model; ``sample`` the bounded sample of customers the parameters are fitted
on; ``model`` the per-user model the engine runs (:class:`LifetimeValue`);
``evaluation`` the calibration/holdout replay on a purchase log.
"""

from scorer.clv.bgnbd import BgNbdParams, bgnbd_log_likelihood, expected_purchases, fit_bgnbd, p_alive
from scorer.clv.evaluation import ClvSplit, evaluate_clv
from scorer.clv.gamma_gamma import GammaGammaParams, expected_spend, fit_gamma_gamma, gamma_gamma_log_likelihood
from scorer.clv.history import DAY_MS, PurchaseHistory
from scorer.clv.model import LifetimeValue
from scorer.clv.sample import CustomerSummary, FitSample, user_hash

__all__ = [
    "BgNbdParams",
    "ClvSplit",
    "CustomerSummary",
    "DAY_MS",
    "FitSample",
    "GammaGammaParams",
    "LifetimeValue",
    "PurchaseHistory",
    "bgnbd_log_likelihood",
    "evaluate_clv",
    "expected_purchases",
    "expected_spend",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
    "p_alive",
    "user_hash",
]
