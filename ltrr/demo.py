"""`ltrr demo`: build the seeded synthetic catalog in a local SQLite file, index it, replay a short stream of
simulated users through the learned policy, the static union and the oracle (the bandit learns; regret is
reported and plotted), and show a few searches with their explanations.

Returns the lines to print; `cli.py` prints them.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from .config import EngineConfig
from .progress import StageFactory, no_progress
from .store import CatalogStore
from .synthetic import SyntheticCatalog, generate_catalog, write_catalog
from .types import Entity


def run_demo(config: EngineConfig, db: str, seed: int | None = None, progress: StageFactory = no_progress,
             n_warm_up: int = 400) -> list[str]:
    """Generate the catalog of `config.catalog.synthetic` (seed overridable), write it to `db`, describe it."""
    settings = config.catalog.synthetic
    if seed is not None:
        settings = dataclasses.replace(settings, seed=seed)
    start = time.perf_counter()
    catalog = generate_catalog(settings)
    generated = time.perf_counter() - start
    store = CatalogStore.open(db)
    try:
        report = write_catalog(store, catalog, progress=progress)
        counts = store.counts()
    finally:
        store.close()
    written = time.perf_counter() - start - generated
    lines = [f"ltrr demo: synthetic catalog (seed {settings.seed}) generated in {generated:.1f} s, "
             f"written in {written:.1f} s", f"store: {store.url}", ""]
    lines += [f"  {name:<16}{value:>8,}" for name, value in counts.to_dict().items()]
    lines += ["", *report.lines(), ""]
    lines += describe(catalog, settings.reference)
    lines += ["", *learn_and_search(config, db, catalog, n_warm_up, progress)]
    lines += ["", f"next: `ltrr search \"{EXAMPLE_QUERIES[0]}\" --db {db} --explain`; ingest real data with "
              "`ltrr ingest KIND PATH --db FILE` (see README.md)"]
    return lines


EXAMPLE_QUERIES = ("80s classic rock", "workout")


DEMO_CLICK_MODEL = {"kind": "dbn", "gamma": 0.9, "min_attractiveness": 0.02, "max_attractiveness": 0.9,
                    "satisfaction_scale": 0.9}


def learn_and_search(config: EngineConfig, db: str, catalog: SyntheticCatalog, n_warm_up: int,
                     progress: StageFactory) -> list[str]:
    """Open the engine (building its indexes); replay `n_warm_up` simulated sessions in which the learned policy,
    the static union and the oracle each serve the same users; report regret and plot it; keep what the learned
    policy's engine learned (bandit, click memory, ranker) as the engine's state; show explained searches."""
    from .cli_engine import format_result
    from .engine import Engine
    from .simulation.click_models import make_click_model
    from .simulation.replay import Replay
    from .simulation.report import plot, summarize
    from .simulation.scenario import RunSpec, Scenario
    from .simulation.world import World, WorldConfig

    start = time.perf_counter()
    engine = Engine.open(db, config=config, progress=progress, restore_state=False)
    opened = time.perf_counter() - start
    learned_name = f"vw_{config.policy.exploration}" if config.policy.kind == "vw" else "greedy"
    seed = config.catalog.synthetic.seed
    try:
        scenario = Scenario(name="demo", claim="", db=db, engine=config, click_model=DEMO_CLICK_MODEL,
                            run=RunSpec(seeds=1, searches=n_warm_up, best_fixed_pilot=0,
                                        policies=("oracle", "static_union", learned_name),
                                        moving_average=max(10, n_warm_up // 10)))
        world = World.build(engine.store, WorldConfig(), seed=seed)
        replay = Replay(engine, world, make_click_model(**DEMO_CLICK_MODEL), scenario, progress=progress)
        result = replay.run_seed(seed, keep_logs=True)
        learned = result.runs[learned_name].engine
        try:
            fitted = learned.fit_ranker(save=False)
            ranker = f"LambdaMART v{fitted['version']} from {fitted['n_searches']} searches with clicks"
        except ValueError as error:
            ranker = f"default scorer kept ({error})"
        learned.save(engine.index_dir / "state")  # what `ltrr search --db` restores
        out = Path(db).parent / "demo_replay" if "://" not in db else Path("ltrr_data/demo_replay")
        out.mkdir(parents=True, exist_ok=True)
        plots = plot(out, [result], scenario.run.moving_average)
        lines = [f"engine: indexes {engine.index_report.action} in {opened:.1f} s ({engine.index_dir})",
                 f"replay: {n_warm_up} simulated sessions; the same users for each policy "
                 f"(oracle = knows the intent; static_union = equal split; {learned_name} = the bandit learning)",
                 *_regret_lines(summarize([result], n_warm_up), learned_name),
                 "plans the bandit chose: " + ", ".join(f"{name} {count}" for name, count in sorted(
                     result.runs[learned_name].arms.items(), key=lambda item: -item[1])[:6]),
                 f"regret plot: {plots[0].resolve()}", f"ranker: {ranker}", ""]
        track = catalog.tracks[0]
        artist = next(a.name for a in catalog.artists if a.entity_id == track.artist_id)
        for text in (*EXAMPLE_QUERIES, f"{artist} {track.name}"):
            shown = learned.search(text, limit=5, explain=True)
            learned.close(shown.request_id)
            lines += [*format_result(shown, n_contributions=3), ""]
    finally:
        engine.shutdown(keep_memory=False)
    return lines


def _regret_lines(summary: dict, learned_name: str) -> list[str]:
    lines = [f"  {'policy':<14}{'regret':>9}{'CTR':>7}{'recall':>8}{'candidates':>12}"]
    for name in ("oracle", "static_union", learned_name):
        entry = summary["policies"][name]
        lines.append(f"  {name:<14}{entry['cumulative_regret']['mean']:>9.1f}{entry['ctr']['mean']:>7.2f}"
                     f"{entry['recall_ceiling']['mean']:>8.2f}{entry['candidates_scored']['mean']:>12.0f}")
    union, mine = (summary["policies"][n]["cumulative_regret"]["mean"] for n in ("static_union", learned_name))
    verdict = "below" if mine < union else "not below"
    lines.append(f"  cumulative regret vs the oracle: {learned_name} {mine:.1f}, {verdict} the static union's "
                 f"{union:.1f} (lower is better)")
    return lines


def describe(catalog: SyntheticCatalog, reference: date) -> list[str]:
    """A few examples a person can check by eye: popular artists with tags, playlists, new tracks."""
    def score(entity: Entity) -> int:
        return entity.popularity.playlist_count or 0

    artists = {artist.entity_id: artist for artist in catalog.artists}
    lines = ["most popular artists (playlist count; top tags):"]
    for artist in sorted(catalog.artists, key=score, reverse=True)[:5]:
        top = sorted(artist.tags, key=lambda t: -t.weight)[:3]
        tags = ", ".join(f"{t.tag} {t.weight:.2f}" for t in top)
        lines.append(f"  {artist.name:<28}{score(artist):>5}  {tags}")
    lines.append("some playlists (tracks; followers):")
    for playlist in sorted(catalog.playlists, key=lambda p: -(p.popularity.follower_sum or 0))[:5]:
        lines.append(f"  {playlist.name:<28}{len(catalog.playlist_tracks[playlist.entity_id]):>5}  "
                     f"{playlist.popularity.follower_sum or 0:>6,}")
    cutoff = datetime.combine(reference, datetime.min.time()) - timedelta(days=30)
    fresh = [t for t in catalog.tracks if t.added_at is not None and t.added_at >= cutoff]
    lines.append(f"newly added in the last 30 days: {len(fresh)} tracks, e.g.")
    for track in fresh[:3]:
        lines.append(f"  {track.name} - {artists[track.artist_id].name} ({track.added_at:%Y-%m-%d})")
    return lines
