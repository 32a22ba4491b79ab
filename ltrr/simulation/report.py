"""What a replay reports: summary.json, summary.md, the attribution table and the PNG plots.

Every per-policy number is first computed per seed, then given as the mean over seeds with a 95% interval
(Student t over seeds; [mean, mean] with one seed). Regret is against the oracle on the same sessions:
cumulative_regret = sum over sessions of (oracle value - policy value). CTR, satisfied, recall_ceiling (a
relevant entity was in the retrieved pool), ndcg10, candidates_scored and latency_ms are means over searches;
`by_class` splits them by the intent kind (spearfish, topical, ambiguous).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from .replay import ClassTally, SeedResult

METRICS = ("ctr", "satisfied", "recall_ceiling", "ndcg10", "candidates_scored", "latency_ms", "reward")


def interval(values: Sequence[float]) -> dict[str, Any]:
    """{"mean": m, "ci95": [lo, hi]}: Student t over the values (one value: a zero-width interval)."""
    array = np.asarray(values, dtype=np.float64)
    mean = float(array.mean()) if len(array) else float("nan")
    if len(array) < 2:
        return {"mean": mean, "ci95": [mean, mean]}
    half = float(stats.t.ppf(0.975, len(array) - 1) * array.std(ddof=1) / math.sqrt(len(array)))
    return {"mean": mean, "ci95": [mean - half, mean + half]}


def regret_curves(results: Sequence[SeedResult]) -> dict[str, np.ndarray]:
    """Policy -> (seeds x sessions) cumulative regret against the oracle (needs an oracle run)."""
    curves: dict[str, list[np.ndarray]] = {}
    for result in results:
        oracle = np.asarray(result.runs["oracle"].values)
        for name, run in result.runs.items():
            curves.setdefault(name, []).append(np.cumsum(oracle - np.asarray(run.values)))
    return {name: np.vstack(rows) for name, rows in curves.items()}


def summarize(results: Sequence[SeedResult], n_searches: int) -> dict[str, Any]:
    """The summary.json object (see the module docstring and sim/README.md)."""
    names = list(results[0].runs)
    curves = regret_curves(results) if "oracle" in names else {}
    policies: dict[str, Any] = {}
    for name in names:
        per_seed = [_seed_metrics(result.runs[name]) for result in results]
        entry: dict[str, Any] = {"cumulative_regret": interval([c[-1] for c in curves[name]]) if curves else None,
                                 "session_value": interval([np.mean(r.runs[name].values) for r in results])}
        entry.update({metric: interval([m["all"][metric] for m in per_seed]) for metric in METRICS})
        kinds = sorted({kind for m in per_seed for kind in m if kind != "all"})
        entry["by_class"] = {kind: {metric: interval([m[kind][metric] for m in per_seed if kind in m])
                                    for metric in METRICS} for kind in kinds}
        entry["attribution"] = _attribution(results, name)
        arms: dict[str, int] = {}
        for result in results:
            for arm, count in result.runs[name].arms.items():
                arms[arm] = arms.get(arm, 0) + count
        entry["arms"] = dict(sorted(arms.items(), key=lambda item: -item[1]))
        policies[name] = entry
    return {"n_searches": n_searches, "seeds": [r.seed for r in results],
            "best_fixed_arm": {str(r.seed): r.best_fixed_arm for r in results},
            "pilot": {str(r.seed): r.pilot for r in results}, "policies": policies}


def _seed_metrics(run) -> dict[str, dict[str, Any]]:
    out = {kind: tally.means() for kind, tally in run.tallies.items()}
    out["all"] = ClassTally.combined(list(run.tallies.values())).means()
    return out


def _attribution(results: Sequence[SeedResult], name: str) -> dict[str, dict[str, dict[str, float]]]:
    """Per intent kind: share of searches whose target any / each generator retrieved, and uniquely."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for kind in sorted({k for r in results for k in r.runs[name].tallies}):
        tallies = [r.runs[name].tallies[kind] for r in results if kind in r.runs[name].tallies]
        n = sum(t.searches for t in tallies) or 1
        generators = sorted({g for t in tallies for g in t.retrieved_by} | {g for t in tallies for g in t.uniquely_by})
        out[kind] = {"retrieved_at_all": {"any": sum(t.in_union for t in tallies) / n},
                     "retrieved_by": {g: sum(t.retrieved_by.get(g, 0) for t in tallies) / n for g in generators},
                     "uniquely_by": {g: sum(t.uniquely_by.get(g, 0) for t in tallies) / n for g in generators}}
    return out


def write_reports(out_dir: Path, summary: dict[str, Any], results: Sequence[SeedResult], *, scenario: str,
                  claim: str, moving_average: int) -> list[Path]:
    """summary.json, summary.md, attribution.md and the PNG plots in `out_dir`; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "summary.json", out_dir / "summary.md", out_dir / "attribution.md"]
    paths[0].write_text(json.dumps(summary, indent=1, sort_keys=False), encoding="utf-8")
    paths[1].write_text(summary_markdown(summary, scenario=scenario, claim=claim), encoding="utf-8")
    paths[2].write_text(attribution_markdown(summary), encoding="utf-8")
    return paths + plot(out_dir, results, moving_average)


def _fmt(entry: dict[str, Any] | None, digits: int = 3) -> str:
    if not entry:
        return "-"
    lo, hi = entry["ci95"]
    return f"{entry['mean']:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def summary_markdown(summary: dict[str, Any], *, scenario: str, claim: str) -> str:
    """The summary table: one row per policy, best (lowest regret) first."""
    policies = summary["policies"]
    order = sorted(policies, key=lambda n: (policies[n]["cumulative_regret"] or {"mean": 0})["mean"])
    lines = [f"# Replay: {scenario}", "", f"Claim: {claim}" if claim else "", "",
             f"{summary['n_searches']} sessions per seed, seeds {summary['seeds']}; mean [95% interval] over seeds. "
             f"best_fixed arm per seed: {summary['best_fixed_arm']}.", "",
             "| policy | cumulative regret | CTR | recall ceiling | nDCG@10 | candidates | latency ms |",
             "|---|---|---|---|---|---|---|"]
    for name in order:
        p = policies[name]
        lines.append(f"| {name} | {_fmt(p['cumulative_regret'], 1)} | {_fmt(p['ctr'])} | {_fmt(p['recall_ceiling'])} "
                     f"| {_fmt(p['ndcg10'])} | {_fmt(p['candidates_scored'], 0)} | {_fmt(p['latency_ms'], 1)} |")
    kinds = sorted({k for p in policies.values() for k in p["by_class"]})
    for kind in kinds:
        lines += ["", f"## {kind}", "", "| policy | CTR | recall ceiling | nDCG@10 | candidates |",
                  "|---|---|---|---|---|"]
        for name in order:
            c = policies[name]["by_class"].get(kind)
            if c:
                lines.append(f"| {name} | {_fmt(c['ctr'])} | {_fmt(c['recall_ceiling'])} | {_fmt(c['ndcg10'])} "
                             f"| {_fmt(c['candidates_scored'], 0)} |")
    return "\n".join(lines) + "\n"


def attribution_markdown(summary: dict[str, Any]) -> str:
    """Per policy and intent kind: how often a relevant entity was retrieved at all, by which generator, uniquely."""
    lines = ["# Recall ceiling and attribution", "",
             "Share of searches in which the retrieved pool held a relevant entity (any), in which each planned "
             "generator's list held one, and in which only that generator's did.", ""]
    for name, policy in summary["policies"].items():
        lines += [f"## {name}", "", "| intent | any | retrieved by | uniquely by |", "|---|---|---|---|"]
        for kind, table in policy["attribution"].items():
            by = ", ".join(f"{g} {v:.2f}" for g, v in table["retrieved_by"].items())
            unique = ", ".join(f"{g} {v:.2f}" for g, v in table["uniquely_by"].items())
            lines.append(f"| {kind} | {table['retrieved_at_all']['any']:.3f} | {by} | {unique} |")
        lines.append("")
    return "\n".join(lines)


def plot(out_dir: Path, results: Sequence[SeedResult], moving_average: int) -> list[Path]:
    """regret.png (mean cumulative regret per policy, shaded min-max over seeds) and reward.png (moving average
    of session value)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    names = list(results[0].runs)
    if "oracle" in names:
        curves = regret_curves(results)
        figure, axis = plt.subplots(figsize=(9, 5.5))
        for i, name in enumerate(names):
            mean = curves[name].mean(axis=0)
            x = np.arange(1, len(mean) + 1)
            axis.plot(x, mean, label=name, lw=1.4, **_style(i))
            axis.fill_between(x, curves[name].min(axis=0), curves[name].max(axis=0), alpha=0.12)
        axis.set(xlabel="session", ylabel="cumulative regret vs oracle", title="Cumulative regret (mean over seeds)")
        axis.legend(fontsize=7, ncol=2)
        figure.tight_layout()
        paths.append(out_dir / "regret.png")
        figure.savefig(paths[-1], dpi=110)
        plt.close(figure)
    figure, axis = plt.subplots(figsize=(9, 5.5))
    for i, name in enumerate(names):
        values = np.mean([np.asarray(r.runs[name].values) for r in results], axis=0)
        window = max(1, min(moving_average, len(values)))
        smoothed = np.convolve(values, np.ones(window) / window, mode="valid")
        axis.plot(np.arange(window, len(values) + 1), smoothed, label=name, lw=1.2, **_style(i))
    axis.set(xlabel="session", ylabel=f"session value, moving average of {moving_average}",
             title="Reward per session (mean over seeds)")
    axis.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    paths.append(out_dir / "reward.png")
    figure.savefig(paths[-1], dpi=110)
    plt.close(figure)
    return paths


def _style(index: int) -> dict[str, Any]:
    """A distinct colour and line style per policy (more policies than one palette has colours)."""
    import matplotlib

    colors = matplotlib.colormaps["tab10"].colors
    return {"color": colors[index % len(colors)], "linestyle": ("-", "--", ":")[index // len(colors) % 3]}
