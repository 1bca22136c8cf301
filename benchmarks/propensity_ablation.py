"""Which feature groups carry the propensity signal: leave one group out at a time, through `scorer evaluate`.

    python benchmarks/propensity_ablation.py                               # Taobao even users and REES46
    python benchmarks/propensity_ablation.py ../shared/data/taobao-even-users.csv

Each row replays the file through the same offline engine as ``scorer evaluate`` (decoder,
features, delayed labels, the default model), with the group's values set to 0 in every
vector the model sees (a constant: the standardised value is 0, so the model can learn
nothing from it). A benchmark: it prints figures and asserts nothing. Prequential, whole
stream, W = 30 min; the interval is the bootstrap over users of ``scorer evaluate``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from scorer.features import FEATURE_NAMES, FeatureBuilder
from scorer.settings import Settings
from scorer.tools import evaluate_files

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FILES = [DATA / "taobao-even-users.csv", DATA / "rees46-2019-10-first17k.csv"]

#: The groups of the README's feature list, by name prefix or exact name.
GROUPS: dict[str, tuple[str, ...]] = {
    "rfm": ("recency_s", "has_purchased", "frequency_orders", "monetary_total", "aov"),
    "decayed counts": tuple(f"{kind}_hl{h}" for kind in ("views", "carts", "purchases") for h in ("1h", "1d", "7d")),
    "session": ("session_events", "session_duration_s", "session_views", "session_carts", "sessions_total"),
    "cart": ("cart_value", "cart_items"),
    "event context": ("item_views_by_user", "item_in_cart", "category_affinity", "brand_affinity", "price_vs_user_avg"),
    "time since the last event": ("secs_since_last_event",),
    "rates": ("cart_to_view_rate", "purchase_to_session_rate", "purchase_to_view_rate"),
    "repeat views": (
        "item_views_in_session", "secs_since_item_viewed", "category_views_in_session", "category_views_by_user",
        "item_purchased_by_user",
    ),
    "catalog rates": (
        "item_views_global", "item_cart_rate", "item_purchase_rate", "category_views_global", "category_cart_rate",
        "category_purchase_rate",
    ),
}

_original_vector = FeatureBuilder.vector


def without(names: tuple[str, ...]) -> None:
    """Make every vector from here on hold 0 for ``names``."""
    dropped = [FEATURE_NAMES.index(name) for name in names]

    def vector(self, state, event):  # type: ignore[no-untyped-def]
        values = _original_vector(self, state, event)
        for index in dropped:
            values[index] = 0.0
        return values

    FeatureBuilder.vector = vector  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, default=FILES)
    parser.add_argument("--replicates", type=int, default=200, help="bootstrap replicates per row")
    args = parser.parse_args()
    covered = {name for names in GROUPS.values() for name in names}
    if covered != set(FEATURE_NAMES):
        print(f"groups do not cover the features: {sorted(set(FEATURE_NAMES) ^ covered)}", file=sys.stderr)
        return 1
    for path in args.files:
        if not path.exists():
            print(f"{path}: no such file", file=sys.stderr)
            return 1
        print(f"\n{path.name}")
        print("| left out | ROC-AUC [95 %] | log loss / base-rate entropy | seconds |")
        print("|---|---|---|---|")
        for label, names in [(f"nothing (all {len(FEATURE_NAMES)} features)", ())] + list(GROUPS.items()):
            without(names)
            started = time.perf_counter()
            result = evaluate_files(Settings(), [path], progress=False, replicates=args.replicates)["propensity"]
            low, high = result["roc_auc_ci"]
            ratio = result["log_loss"] / result["base_rate_log_loss"]
            print(f"| {label} | {result['roc_auc']:.4f} [{low:.4f}, {high:.4f}] | {ratio:.3f} | {time.perf_counter() - started:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
