"""The offers part of ``scorer evaluate``: the simulator's known responses, and logged data with propensities.

``simulate_offers`` replays a simulated file through the worker's own offer model
(:func:`~scorer.worker.make_offer_model` over the features the engine keeps): every
decision is answered from the simulator's response model, its click sent back as
feedback a little later in event time, so the policy learns only when each window
has closed, as in production. Purchases do not reward decisions here: the simulator's
purchases do not depend on offers, so they would add the same noise to every policy.

``evaluate_obd`` learns the same bandit on the first half of an Open Bandit Dataset log
(uniform random logging, so each arm's logged rewards are an unbiased sample) and
estimates its click rate on the second half with IPS, SNIPS and DR, beside the
logging policy's own.
"""

from __future__ import annotations

import heapq
import random
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from scorer.datasets import ObdLog, read_obd
from scorer.events import InvalidEvent, decode_click, decode_purchase
from scorer.features import UserState
from scorer.offers import Catalogue, Offer, OfferPolicy, RewardTally, estimate
from scorer.settings import Settings
from scorer.worker import make_offer_model

__all__ = ["evaluate_obd", "evaluate_offers", "offers_sidecar", "print_offers", "simulate_offers", "write_regret_plot"]

#: Mean delay between a decision and the click on it, in event time.
_CLICK_DELAY_MS = 20_000


def offers_sidecar(events_path: Path) -> Path:
    """Where ``scorer simulate --offers --out FILE`` writes the catalogue, response model and user types."""
    return events_path.with_suffix(".offers.json")


def simulate_offers(
    settings: Settings, events: list[tuple[str, dict]], truth: dict, decisions: int | None = None, seed: int = 0
) -> dict[str, Any]:
    """Run the offer model over simulated events, answering each decision from the known response model."""
    catalogue = Catalogue([Offer.from_dict(entry) for entry in truth["catalogue"]])
    model = make_offer_model(settings, catalogue, purchase_reward=False)
    types, window_ms = truth["user_types"], model.join.window_ms
    tally = RewardTally(truth["response"], seed=seed)
    rng = random.Random(seed)
    states: dict[str, UserState] = {}
    fields: dict[str, Any] = {}
    feedback: list[tuple[int, str]] = []
    for kind, raw in events:
        try:
            event = (decode_click if kind == "click" else decode_purchase)(orjson.dumps(raw))
        except InvalidEvent:
            continue
        while feedback and feedback[0][0] <= event.ts:
            ts, decision_id = heapq.heappop(feedback)
            model.feedback(decision_id, "click", ts)
        state = states.get(event.user_id)
        if state is None:
            state = states[event.user_id] = UserState()
        if not state.update(event):
            continue
        fields[event.user_id], decision = model.observe(fields.get(event.user_id), event, state)
        if decision is None:
            continue
        eligible = catalogue.eligible(getattr(event, "category", None), decision.segment)
        if tally.add(types[event.user_id], eligible, decision.offer_id, rng.random()):
            delay = min(1_000 + int(rng.expovariate(1.0 / _CLICK_DELAY_MS)), window_ms)
            heapq.heappush(feedback, (event.ts + delay, decision.decision_id))
        if decisions is not None and tally.decisions >= decisions:
            break
    result = tally.result()
    result.update(
        policy=model.policy.kind,
        exploration_floor=model.policy.floor,
        resolved=model.resolved,
        learned_rewards=model.rewarded,
        by_segment=model.exposure.table(),
        curve=tally.curve,
    )
    return result


def _obd_context(log: ObdLog, i: int) -> dict[str, float]:
    context = {"bias": 1.0, f"position={log.positions[i]}": 1.0}
    for j, value in enumerate(log.user_features[i]):
        context[f"user_feature_{j}={value}"] = 1.0
    return context


def evaluate_obd(path: Path, settings: Settings, replicates: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Learn the bandit on the log's first half; IPS, SNIPS and DR of it and of the logging policy on the second."""
    log = read_obd(path)
    n, half = len(log), len(log) // 2
    arms = tuple(str(a) for a in range(log.n_items))
    policy = OfferPolicy(settings.offers_policy, floor=settings.offers_floor, seed=seed)
    for i in range(half):
        policy.learn(str(log.items[i]), _obd_context(log, i), f"position={log.positions[i]}", float(log.clicks[i]))
    # Reward model for DR: each item's click rate on the first half, shrunk towards the overall rate.
    prior = float(log.clicks[:half].mean())
    shown = np.bincount(log.items[:half], minlength=log.n_items)
    clicked = np.bincount(log.items[:half], weights=log.clicks[:half], minlength=log.n_items)
    q = (clicked + 100 * prior) / (shown + 100)
    test = np.arange(half, n)
    target = np.empty(len(test))
    q_expected = np.empty(len(test))
    for row, i in enumerate(test):
        probabilities = policy.probabilities(arms, _obd_context(log, i), f"position={log.positions[i]}")
        target[row] = probabilities[str(log.items[i])]
        q_expected[row] = sum(p * q[int(a)] for a, p in probabilities.items())
    rewards, logged, q_logged = log.clicks[test], log.propensities[test], q[log.items[test]]
    logging_expected = np.full(len(test), float(np.mean(q)))  # uniform over the items
    return {
        "rows": n,
        "clicks": float(log.clicks.sum()),
        "train_rows": half,
        "policy": policy.kind,
        "exploration_floor": policy.floor,
        "learned": estimate(rewards, logged, target, q_logged, q_expected, replicates, seed),
        "logging": estimate(rewards, logged, logged, q_logged, logging_expected, replicates, seed),
    }


def write_regret_plot(directory: Path, result: dict[str, Any]) -> Path:
    """Cumulative reward of the policy, the oracle and random, and the regret against the oracle."""
    from scorer.tools.plots import plt  # matplotlib, set up for files only

    curve = np.asarray(result["curve"], dtype=float)
    directory.mkdir(parents=True, exist_ok=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    if len(curve):
        left.plot(curve[:, 0], curve[:, 2], label="oracle")
        left.plot(curve[:, 0], curve[:, 1], label=f"policy ({result['policy']})")
        left.plot(curve[:, 0], curve[:, 3], label="uniform random")
        right.plot(curve[:, 0], curve[:, 2] - curve[:, 1], label="vs oracle")
        right.plot(curve[:, 0], curve[:, 2] - curve[:, 3], label="random vs oracle", linestyle="--")
    left.set(xlabel="decisions", ylabel="cumulative clicks", title="cumulative reward")
    right.set(xlabel="decisions", ylabel="cumulative regret (clicks)", title="regret against the oracle")
    left.legend()
    right.legend()
    path = directory / "offers_regret.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def print_offers(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if "simulation" in result:
        sim = result["simulation"]
        table = Table(title=f"offers, simulator: {sim['decisions']:,} decisions, policy {sim['policy']}")
        table.add_column("policy")
        table.add_column("clicks", justify="right")
        table.add_column("vs oracle", justify="right")
        for name, key in (("learned", "reward"), ("oracle", "oracle_reward"), (f"best fixed ({sim['best_fixed_offer']})", "best_fixed_reward"), ("uniform random", "random_reward")):
            table.add_row(name, f"{sim[key]:,.0f}", f"{sim[key] / sim['oracle_reward'] * 100:.1f} %" if sim["oracle_reward"] else "-")
        console.print(table)
        console.print(f"learned / random: {sim['times_random']:.2f}x")
    if "obd" in result:
        obd = result["obd"]
        table = Table(title=f"offers, logged data (obd): {obd['rows']:,} rows, {obd['clicks']:.0f} clicks; estimated click rate, 95 % bootstrap intervals")
        table.add_column("policy")
        for name in ("IPS", "SNIPS", "DR"):
            table.add_column(name, justify="right")
        for label, key in ((f"learned ({obd['policy']})", "learned"), ("logging (uniform random)", "logging")):
            est = obd[key]
            table.add_row(label, *(f"{est[m]:.4f} [{est[m + '_ci'][0]:.4f}, {est[m + '_ci'][1]:.4f}]" for m in ("ips", "snips", "dr")))
        console.print(table)
        console.print(f"evaluated on {obd['learned']['rows']:,} rows with {obd['learned']['rewards']:.0f} clicks: the intervals are wide.")


def _is_obd(path: Path) -> bool:
    if path.is_dir():
        return (path / "all.csv").exists()
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().split(",")
    return "propensity_score" in header and "item_id" in header


def evaluate_offers(
    settings: Settings, paths: list[Path], plots: Path | None = None, decisions: int | None = 50_000, replicates: int = 1000
) -> dict[str, Any]:
    """``scorer evaluate --offers``: a simulated file (with its ``.offers.json``) or an ``obd`` log."""
    from scorer.datasets import DatasetError, read_events

    result: dict[str, Any] = {}
    for path in paths:
        if _is_obd(path):
            result["obd"] = evaluate_obd(path, settings, replicates=replicates)
            continue
        sidecar = offers_sidecar(path)
        if not sidecar.exists():
            raise DatasetError(f"{path}: no {sidecar.name} beside it (write both with `scorer simulate --offers --out {path.name}`)")
        sim = simulate_offers(settings, read_events([path]), orjson.loads(sidecar.read_bytes()), decisions)
        if plots is not None:
            sim["plots"] = [str(write_regret_plot(plots, sim))]
        result["simulation"] = sim
        # The totals the issue names, over the same decisions.
        result["offers"] = {k: sim[k] for k in ("reward", "oracle_reward", "random_reward", "best_fixed_reward", "decisions")}
    return result
