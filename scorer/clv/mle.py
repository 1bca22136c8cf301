"""Maximum likelihood over log-parameters, restarted when a warm start sits on the edge.

Both population models have only positive parameters, so they are optimised in
logs with L-BFGS-B. A refit starts from the previous fit; when that lands near the
bounds (early in a stream nobody has dropped out yet, and the likelihood pushes
the dropout towards 0 or a spend shape to infinity) the later data may well have
an interior optimum the edge is a poor place to search from, so the next start is
tried too and the better optimum kept.

>>> import numpy as np
>>> loss = lambda theta: (float(((np.exp(theta) - 2.0) ** 2).sum()), 2 * (np.exp(theta) - 2.0) * np.exp(theta))
>>> [round(v, 4) for v in fit_log_parameters(loss, [(1.0, 5.0)])]
[2.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.optimize import minimize

__all__ = ["fit_log_parameters"]

# Log-parameter bounds, and how near them a fit counts as on the edge.
BOUND, EDGE = 10.0, 6.0


def fit_log_parameters(
    loss: Callable[[np.ndarray], tuple[float, np.ndarray]], starts: Sequence[Sequence[float]]
) -> list[float]:
    """Minimise ``loss(log parameters) -> (value, gradient)`` from each start in turn until an interior optimum."""
    best = None
    for start in starts:
        result = minimize(loss, np.log(np.asarray(start, dtype=float)), jac=True, method="L-BFGS-B", bounds=[(-BOUND, BOUND)] * len(start))
        if best is None or result.fun < best.fun:
            best = result
        if np.all(np.abs(best.x) < EDGE):
            break
    assert best is not None
    return [float(v) for v in np.exp(best.x)]
