"""Three buy-till-you-die models on the CDNOW split, fitted in batch by ``lifetimes``.

    python benchmarks/clv_models.py [FILE]     # default: ../shared/data/cdnow/CDNOW_master.txt

The summaries (repeat purchase days, recency and age in weeks, per customer) are those
``scorer evaluate --clv`` builds, through the same replay (``ClvSplit``), calibration to
1997-09-30 and 39 weeks of holdout. Beside BG/NBD, the scorer's model, it fits Pareto/NBD
and the modified BG/NBD on them, to show whether the holdout total depends on the model
class. Needs the ``clv-eval`` extra. A benchmark: it prints figures and asserts nothing.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import numpy as np
import orjson
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

from scorer.clv import ClvSplit
from scorer.datasets import read_events
from scorer.events import decode_purchase
from scorer.settings import Settings
from scorer.tools import DEFAULT_WEEKS, calibration_day
from scorer.worker import make_lifetime_value

CDNOW = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdnow" / "CDNOW_master.txt"


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else CDNOW
    purchases = [decode_purchase(orjson.dumps(doc)) for kind, doc in read_events([path]) if kind == "purchase"]
    split = ClvSplit.replay(purchases, calibration_day("1997-09-30"), DEFAULT_WEEKS * 7, make_lifetime_value(Settings()))
    horizon = split.holdout_days / 7.0
    actual = split.actual.sum()
    print(f"{path.name}: {len(split.users)} customers, {int(split.x.sum())} calibration repeat purchase days, {int(actual)} in the holdout")
    for fitter in (BetaGeoFitter(), ParetoNBDFitter(), ModifiedBetaGeoFitter()):
        with contextlib.redirect_stdout(io.StringIO()):
            fitter.fit(split.x, split.t_x, split.T)
        forecast = np.asarray(fitter.conditional_expected_number_of_purchases_up_to_time(horizon, split.x, split.t_x, split.T))
        params = ", ".join(f"{k} {v:.3f}" for k, v in fitter.params_.items())
        print(
            f"  {type(fitter).__name__:22} {params:44} predicted {forecast.sum():8.1f} ({forecast.sum() / actual - 1:+.1%}), "
            f"MAE {np.abs(forecast - split.actual).mean():.4f}"
        )


if __name__ == "__main__":
    main()
