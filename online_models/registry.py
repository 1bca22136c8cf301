"""River classifiers selectable by name.

>>> sorted(MODELS)
['arf', 'hat', 'logreg']
>>> make_model("logreg").predict_proba_one({"a": 1.0})
{False: 0.5, True: 0.5}
"""

from __future__ import annotations

from collections.abc import Callable

from river import base, compose, forest, linear_model, optim, preprocessing, tree


def _logreg(seed: int) -> base.Classifier:
    # Scaling matters: the features span seconds, counts and shares.
    return compose.Pipeline(
        preprocessing.StandardScaler(),
        linear_model.LogisticRegression(optimizer=optim.SGD(0.01), l2=1e-4),
    )


def _hat(seed: int) -> base.Classifier:
    return tree.HoeffdingAdaptiveTreeClassifier(grace_period=100, seed=seed)


def _arf(seed: int) -> base.Classifier:
    return forest.ARFClassifier(n_models=10, seed=seed)


#: Registered model factories, by the name used in the settings.
MODELS: dict[str, Callable[[int], base.Classifier]] = {"logreg": _logreg, "hat": _hat, "arf": _arf}


def make_model(name: str, seed: int = 42) -> base.Classifier:
    """A fresh, untrained classifier registered under ``name``."""
    try:
        factory = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}") from None
    return factory(seed)
