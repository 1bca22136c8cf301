"""How far the propensity features could go on a dataset if labels came at once.

    python benchmarks/propensity_ceiling.py ../shared/data/rees46-2019-10-first17k.csv [--model logreg]

The worker learns a click only when its conversion window has closed. This
script cheats on purpose: it learns every click with its true label (read from
the future of the file) right after scoring it, through the same pipeline and
features. Its ROC-AUC is an upper bound for what the delayed, honest learner
can reach with these features and this model on this data; the gap between the
two is the price of the label delay.

``--features`` also ranks each feature alone, as a score, by ROC-AUC against
the same labels (a feature that falls with conversion counts as 1 - AUC): how
much signal the data holds for each, before any model.
"""

from __future__ import annotations

import argparse
import bisect
from pathlib import Path

from scorer.datasets import read_events
from scorer.features import FEATURE_NAMES
from scorer.scoring import label, run_offline, ScoringPipeline
from scorer.propensity import propensity_report, PropensityModel, roc_auc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--model", default="logreg")
    parser.add_argument("--window-s", type=float, default=1_800.0)
    parser.add_argument("--features", action="store_true", help="also rank each feature alone by ROC-AUC")
    args = parser.parse_args()
    window_ms = int(args.window_s * 1000)
    events = read_events(args.files)
    purchases: dict[str, list[int]] = {}
    for kind, doc in events:
        if kind == "purchase":
            purchases.setdefault(doc["user_id"], []).append(doc["ts"])
    for times in purchases.values():
        times.sort()

    pipeline = ScoringPipeline(PropensityModel(args.model, lineage="ceiling"), window_s=args.window_s)
    honest_handle = pipeline.handle
    seen: list[tuple[bool, list[float]]] = []

    def handle_with_future_labels(record, event):
        record, score = honest_handle(record, event)
        if score is not None:
            bought = purchases.get(event.user_id, [])
            first = bisect.bisect_left(bought, event.ts)
            converted = first < len(bought) and bought[first] - event.ts <= window_ms
            values = record.pending.latest_values()
            pipeline.model.learn(dict(zip(FEATURE_NAMES, values)), converted)
            seen.append((converted, list(values)))
        return record, score

    pipeline.handle = handle_with_future_labels  # type: ignore[method-assign]
    run = run_offline(events, pipeline, None)
    labels, scores, _ = label(run, window_ms)
    report = propensity_report(labels, scores)
    print(f"labels known at once (upper bound), model {args.model}:")
    for name, value in report.items():
        print(f"  {name:20s} {value:.4f}" if isinstance(value, float) else f"  {name:20s} {value}")
    if args.features:
        converted = [label for label, _ in seen]
        ranked = []
        for column, name in enumerate(FEATURE_NAMES):
            auc = roc_auc(converted, [values[column] for _, values in seen])
            ranked.append((max(auc, 1.0 - auc), name, "rises" if auc >= 0.5 else "falls"))
        print(f"each feature alone ({len(seen):,} clicks, labels from the future of the file):")
        for auc, name, direction in sorted(ranked, reverse=True):
            print(f"  {name:28s} {auc:.4f}  ({direction} with conversion)")


if __name__ == "__main__":
    main()
