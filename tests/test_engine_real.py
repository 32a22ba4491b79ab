"""One engine on the real components together: the installed all-MiniLM-L6-v2 model, hnswlib, Vowpal Wabbit
(SquareCB) and LightGBM LambdaMART, over a tiny synthetic catalog."""

from __future__ import annotations

import numpy as np

from ltrr.config import EngineConfig
from ltrr.engine import Engine
from ltrr.ranking import LambdaMartRanker
from ltrr.retrieval.ann import HnswIndex
from ltrr.retrieval.encoders import SentenceEncoder
from ltrr.store import CatalogStore
from ltrr.synthetic import generate_catalog, write_catalog

TINY = {"catalog": {"synthetic": {"n_artists": 12, "n_playlists": 10, "n_users": 5}},
        "policy": {"exploration": "squarecb"}, "ranker": {"n_estimators": 20, "min_data_in_leaf": 5}}


def test_real_encoder_hnsw_vw_and_lightgbm_work_together(tmp_path):
    config = EngineConfig.from_dict(TINY)
    store = CatalogStore.open(tmp_path / "tiny.db")
    write_catalog(store, generate_catalog(config.catalog.synthetic))
    store.close()
    engine = Engine.open(tmp_path / "tiny.db", config=config)
    try:
        dense = engine.generators["dense"]
        assert isinstance(engine.encoder, SentenceEncoder) and isinstance(dense.index_, HnswIndex)
        assert engine.policy.name == "vw_squarecb"
        tracks = list(engine.store.iter_entities(kind="track"))
        rng = np.random.default_rng(1)
        for index in rng.choice(len(tracks), size=30, replace=False).tolist():
            result = engine.search(f"{tracks[index].name} {tracks[index].artist_name}", limit=10)
            shown = [item for item in result.items if item.entity_id == tracks[index].entity_id]
            if shown:
                engine.record_click(result.request_id, shown[0].entity_id, position=shown[0].position)
            else:
                engine.close(result.request_id)
        assert engine.policy.version == 30
        engine.fit_ranker()
        assert isinstance(engine.scorer, LambdaMartRanker) and engine.scorer.version == 1
        result = engine.search(tracks[0].name, limit=5, explain=True)
        for item in result.items:
            total = item.explanation.bias + sum(value for _, value in item.explanation.contributions)
            assert abs(total - item.score) < 1e-6
        engine.save(tmp_path / "saved")
    finally:
        engine.shutdown()
    twin = Engine.load(tmp_path / "saved")
    try:
        assert twin.scorer.version == 1 and twin.policy.version == 30
    finally:
        twin.shutdown()
