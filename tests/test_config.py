"""EngineConfig: defaults, validation at the door, TOML and dict round trips, and the committed sample file."""

from __future__ import annotations

import json
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from ltrr.config import EngineConfig, StoreConfig, SyntheticCatalogConfig
from ltrr.errors import ConfigError

SAMPLE = Path(__file__).resolve().parents[1] / "catalog" / "synthetic.toml"


def to_toml(data: dict, prefix: str = "") -> str:
    """Just enough TOML for the config tree: tables of scalars and flat lists."""
    scalars = {key: value for key, value in data.items() if not isinstance(value, dict)}
    lines = [f"[{prefix}]"] if prefix and scalars else []
    lines += [f"{key} = {json.dumps(value)}" for key, value in scalars.items()]
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(to_toml(value, f"{prefix}.{key}" if prefix else key))
    return "\n".join(lines)


def test_defaults_are_valid_and_round_trip_through_dict():
    config = EngineConfig()
    assert config.catalog.synthetic == SyntheticCatalogConfig()
    assert EngineConfig.from_dict(config.to_dict()) == config
    assert json.loads(json.dumps(config.to_dict())) == config.to_dict()


@pytest.mark.parametrize("kwargs, message", [
    ({"n_artists": 0}, r"^catalog\.synthetic\.n_artists must be >= 1, got 0$"),
    ({"n_users": -1}, r"catalog\.synthetic\.n_users must be >= 0, got -1"),
    ({"new_window_days": 0}, r"catalog\.synthetic\.new_window_days must be >= 1, got 0"),
    ({"albums_per_artist": (3, 2)}, r"albums_per_artist must be \[low, high\] with 1 <= low <= high <= 1000, "
                                    r"got \[3, 2\]"),
    ({"tracks_per_album": (0, 5)}, r"tracks_per_album must be \[low, high\]"),
    ({"playlist_length": (5, 2000)}, r"playlist_length must be \[low, high\]"),
    ({"year_range": (1960, 2030)}, r"year_range must be \[low, high\] with 1900 <= low <= high <= 2026"),
    ({"reference_date": "yesterday"}, r"reference_date must be an ISO date like 2026-01-01, got 'yesterday'"),
    ({"new_share": 0.9}, r"catalog\.synthetic\.new_share must be in \[0\.0, 0\.5\], got 0\.9"),
    ({"popularity_exponent": -1.0}, r"popularity_exponent must be in \[0\.0, 4\.0\]"),
    ({"track_tag_share": 1.5}, r"track_tag_share must be in \[0\.0, 1\.0\]"),
    ({"genres": ("jazz", "polka")}, r"genres must be distinct names from \[.*'synthwave'.*\], got \['jazz', 'polka'\]"),
    ({"genres": ()}, r"genres must be distinct names"),
    ({"genres": ("jazz", "jazz")}, r"genres must be distinct names"),
    ({"n_artists": "300"}, r"catalog\.synthetic\.n_artists must be an int, got '300' \(str\)"),
    ({"n_artists": True}, r"n_artists must be an int, got True \(bool\)"),
    ({"new_share": "0.1"}, r"new_share must be a number, got '0\.1' \(str\)"),
    ({"albums_per_artist": (1, 2, 3)}, r"albums_per_artist must be a list of 2 \(an int, an int\)"),
    # code passes tuples; from_dict turns TOML lists into tuples
    ({"genres": ["jazz"]}, r"genres must be a list of strings, got \['jazz'\] \(list\)"),
])
def test_synthetic_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SyntheticCatalogConfig(**kwargs)


def test_store_config_rejects_empty_url():
    with pytest.raises(ConfigError, match=r"store\.url must be a file path or SQLAlchemy URL"):
        StoreConfig(url=" ")


def test_config_error_is_a_value_error():
    with pytest.raises(ValueError):
        SyntheticCatalogConfig(n_artists=0)


def test_int_is_accepted_where_a_number_is_expected():
    assert SyntheticCatalogConfig(new_share=0).new_share == 0


@pytest.mark.parametrize("data, message", [
    ({"retreival": {}}, r"unknown config key 'retreival'; known keys at the top level are: store, catalog"),
    ({"catalog": {"synthetic": {"n_artist": 3}}},
     r"unknown config key 'catalog\.synthetic\.n_artist'; known keys at \[catalog\.synthetic\] are: seed, n_artists"),
    ({"catalog": {"synthetic": {"n_artists": "many"}}}, r"catalog\.synthetic\.n_artists must be an int, got 'many'"),
    ({"catalog": 3}, r"catalog must be a table, got 3"),
    ({"store": {"url": 5}}, r"store\.url must be a string, got 5 \(int\)"),
    ({"retrieval": {"dense": {"build_threads": -1}}}, r"retrieval\.dense\.build_threads must be >= 0"),
    ({"ranker": {"position_bias_regularization": -1.0}}, r"ranker\.position_bias_regularization must be"),
    ({"policy": {"floor_decay": -1}}, r"policy\.floor_decay must be >= 0"),
    ({"retrieval": {"dense": {"encoder_backend": "cuda"}}},
     r"retrieval\.dense\.encoder_backend must be one of \['onnx', 'torch'\], got 'cuda'"),
])
def test_from_dict_names_the_bad_key(data, message):
    with pytest.raises(ConfigError, match=message):
        EngineConfig.from_dict(data)


def test_from_dict_keeps_defaults_for_missing_keys_and_makes_lists_tuples():
    config = EngineConfig.from_dict({"catalog": {"synthetic": {"n_artists": 12, "year_range": [1980, 1999]}}})
    assert config.catalog.synthetic == SyntheticCatalogConfig(n_artists=12, year_range=(1980, 1999))
    assert config.store == StoreConfig()


def test_from_toml_round_trip(tmp_path):
    config = EngineConfig.from_dict({"store": {"url": "sqlite://"},
                                     "catalog": {"synthetic": {"seed": 11, "genres": ["jazz", "soul"],
                                                               "new_share": 0.1, "playlist_length": [5, 9]}}})
    path = tmp_path / "ltrr.toml"
    path.write_text(to_toml(config.to_dict()))
    assert EngineConfig.from_toml(path) == config
    assert EngineConfig.from_toml(path).to_dict() == config.to_dict()


def test_from_toml_reports_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match=r"config file '.*nope\.toml' does not exist"):
        EngineConfig.from_toml(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[catalog.synthetic\nseed = 1\n")
    with pytest.raises(ConfigError, match=r"config file '.*bad\.toml' is not valid TOML"):
        EngineConfig.from_toml(bad)


def test_sample_file_equals_the_defaults():
    # the committed file documents the defaults; it must name every field so neither can drift
    assert EngineConfig.from_toml(SAMPLE) == EngineConfig()
    written = tomllib.loads(SAMPLE.read_text())["catalog"]["synthetic"]
    assert set(written) == {f.name for f in fields(SyntheticCatalogConfig)}
