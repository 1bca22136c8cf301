"""The Open Bandit Dataset's logged format (``obd``): impressions with the logging policy's propensities.

A directory holds ``all.csv`` (one row per impression: ``timestamp``, ``item_id``,
``position`` 1-3, ``click`` 0/1, ``propensity_score``, ``user_feature_0..3`` as hashed
categories, ``user-item_affinity_0..K-1``) and optionally ``item_context.csv``.
Rows are returned in file order, which is time order in the published sample.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scorer.datasets.files import DatasetError

__all__ = ["ObdLog", "read_obd"]

_REQUIRED = ("timestamp", "item_id", "position", "click", "propensity_score")


@dataclass(frozen=True)
class ObdLog:
    """Logged impressions, one row each, column by column."""

    timestamps: list[str]
    items: np.ndarray  # int, the item (action) shown
    positions: np.ndarray  # int, 1-based slot
    clicks: np.ndarray  # float 0/1, the reward
    propensities: np.ndarray  # float, the logging policy's probability of the item shown
    #: Hashed categorical user attributes, one tuple per row.
    user_features: list[tuple[str, ...]]
    #: ``affinity[i, a]``: past clicks of row i's user on item a.
    affinity: np.ndarray
    n_items: int

    def __len__(self) -> int:
        return len(self.timestamps)


def read_obd(directory: Path) -> ObdLog:
    """Read ``directory/all.csv`` (or a CSV path) in the Open Bandit Dataset's layout."""
    path = Path(directory)
    if path.is_dir():
        path = path / "all.csv"
    try:
        handle = open(path, newline="", encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: {exc.strerror}") from None
    with handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        missing = [name for name in _REQUIRED if name not in header]
        if missing:
            raise DatasetError(f"{path}: not the obd layout, missing columns {', '.join(missing)}")
        at = {name: header.index(name) for name in _REQUIRED}
        user_cols = [i for i, name in enumerate(header) if name.startswith("user_feature_")]
        affinity_cols = [i for i, name in enumerate(header) if name.startswith("user-item_affinity_")]
        timestamps, items, positions, clicks, propensities, users, affinity = [], [], [], [], [], [], []
        for line, row in enumerate(reader, start=2):
            try:
                timestamps.append(row[at["timestamp"]])
                items.append(int(row[at["item_id"]]))
                positions.append(int(row[at["position"]]))
                clicks.append(float(row[at["click"]]))
                propensities.append(float(row[at["propensity_score"]]))
                users.append(tuple(row[i] for i in user_cols))
                affinity.append([float(row[i]) for i in affinity_cols])
            except (IndexError, ValueError) as exc:
                raise DatasetError(f"{path}:{line}: {exc}") from None
    if not items:
        raise DatasetError(f"{path}: no rows")
    n_items = max(max(items) + 1, len(affinity_cols))
    return ObdLog(
        timestamps,
        np.asarray(items, dtype=np.int64),
        np.asarray(positions, dtype=np.int64),
        np.asarray(clicks, dtype=float),
        np.asarray(propensities, dtype=float),
        users,
        np.asarray(affinity, dtype=float),
        n_items,
    )
