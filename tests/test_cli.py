"""The `ltrr` command line: ingest, stats, exit codes, and messages naming the problem."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from builders import TRACKS, write_mpd

from ltrr.cli import main


def test_ingest_then_stats_json(tmp_path, capsys):
    db = tmp_path / "c.db"
    assert main(["ingest", "mpd", str(write_mpd(tmp_path / "mpd")), "--db", str(db), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "ingest mpd: read 5 tracks, 3 playlists; rejected 0" in out
    assert main(["stats", "--db", str(db), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert {k: stats[k] for k in ("tracks", "artists", "playlists", "albums", "users")} == \
        {"tracks": 5, "artists": 3, "playlists": 3, "albums": 0, "users": 0}


def test_ingest_json_summary_reports_idempotent_rerun(tmp_path, capsys):
    folder, db = write_mpd(tmp_path / "mpd"), str(tmp_path / "c.db")
    main(["ingest", "mpd", str(folder), "--db", db, "--quiet"])
    capsys.readouterr()
    assert main(["ingest", "mpd", str(folder), "--db", db, "--quiet", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["written"]["tracks"] == {"inserted": 0, "updated": 0, "unchanged": 5}


def test_bad_rows_exit_nonzero_with_file_and_line(tmp_path, capsys):
    folder = write_mpd(tmp_path / "mpd", tracks=TRACKS + [["spotify:track:B", "X", "Y", "lots", "0"]])
    db = str(tmp_path / "c.db")
    assert main(["ingest", "mpd", str(folder), "--db", db, "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "tracks.csv:7: n_playlists: expected an integer, got 'lots'" in err and "--skip-bad" in err
    main(["stats", "--db", db, "--json"])
    assert json.loads(capsys.readouterr().out)["tracks"] == 0


def test_skip_bad_writes_rejects_file(tmp_path, capsys):
    folder = write_mpd(tmp_path / "mpd", tracks=TRACKS + [["spotify:track:B", "X", "Y", "lots", "0"]])
    rejects = tmp_path / "bad.jsonl"
    code = main(["ingest", "mpd", str(folder), "--db", str(tmp_path / "c.db"), "--quiet", "--skip-bad",
                 "--rejects", str(rejects)])
    assert code == 0
    assert f"bad rows written to {rejects}" in capsys.readouterr().out
    assert json.loads(rejects.read_text())["line"] == 7


def test_unreadable_database_url_is_a_clear_error(tmp_path, capsys):
    assert main(["stats", "--db", "nosuchdialect://x/y"]) == 1
    assert "nosuchdialect" in capsys.readouterr().err


def test_console_entry_point_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ltrr.cli", "stats", "--db", str(tmp_path / "e.db"), "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tracks"] == 0


def test_demo_builds_the_catalog_and_a_second_run_changes_nothing(tmp_path, capsys):
    db = str(tmp_path / "demo.db")
    config = tmp_path / "fast.toml"  # the hashing encoder: the real model's demo is covered by README command (a)
    config.write_text('[retrieval]\nencoder = "hashing"\n[retrieval.dense]\nexact = true\n')
    demo = ["demo", "--db", db, "--quiet", "--seed", "3", "--config", str(config), "--warm-up", "60"]
    assert main(demo) == 0
    first = capsys.readouterr().out
    assert "synthetic catalog (seed 3)" in first and "most popular artists" in first
    assert "replay: 60 simulated sessions" in first and "ranker: LambdaMART v1" in first
    assert re.search(r"cumulative regret vs the oracle: vw_squarecb [\d.-]+, (not )?below the static union", first)
    plot = re.search(r"regret plot: (\S+\.png)", first)
    assert plot and open(plot.group(1), "rb").read(4) == b"\x89PNG"
    assert re.search(r"query '80s classic rock' \(\w+\); plan \S+ \[.+\] p=", first)
    main(["stats", "--db", db, "--json"])
    stats = json.loads(capsys.readouterr().out)
    assert stats["tracks"] > 1000 and stats["albums"] > 0 and stats["users"] > 0
    assert main(demo) == 0
    second = capsys.readouterr().out
    assert "indexes loaded" in second and "ranker: LambdaMART v1" in second  # each demo learns from scratch
    assert re.search(r"tracks\s+inserted\s+0\s+updated\s+0\s+unchanged\s+[1-9]", second)
    assert re.search(r"tracks\s+inserted\s+[1-9]", first)


def test_readme_test_command_is_what_ci_runs():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    command = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/pytest"
    assert command in (root / "README.md").read_text()
    assert command in (root / ".ci" / "run").read_text()


def test_index_search_and_train_ranker_commands(tmp_path, capsys):
    from ltrr.config import EngineConfig
    from ltrr.store import CatalogStore
    from ltrr.synthetic import generate_catalog, write_catalog

    db = str(tmp_path / "small.db")
    settings = EngineConfig.from_dict({"catalog": {"synthetic": {"n_artists": 15, "n_playlists": 10}}})
    write_catalog(CatalogStore.open(db), generate_catalog(settings.catalog.synthetic))
    config = tmp_path / "fast.toml"
    config.write_text('[retrieval]\nencoder = "hashing"\n[retrieval.dense]\nexact = true\n')
    common = ["--db", db, "--config", str(config), "--quiet"]
    assert main(["index", *common, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["action"] == "built"
    assert main(["search", "night", *common, "--json", "--limit", "3", "--device", "speaker"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"request_id", "items", "decision", "timings_ms"} <= set(out)
    assert {"plan", "propensity", "policy"} <= set(out["decision"]) and len(out["items"]) <= 3
    for item in out["items"]:
        assert {"entity_id", "kind", "title", "score", "sources"} <= set(item)
        assert all({"generator", "rank", "score"} == set(source) for source in item["sources"])
    assert main(["search", "night", *common, "--explain"]) == 0
    assert "p=" in capsys.readouterr().out
    assert main(["train-ranker", *common]) == 1  # nothing clicked yet: a clear error, not a traceback
    assert "no impressions with clicks" in capsys.readouterr().err
