"""Tiny invented input files for ingestion tests (never copies of real data)."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

TRACK_HEADER = ["track_uri", "track_name", "artist_name", "n_playlists", "followers_sum"]

# 5 tracks by 3 artists ("Vela Moss" twice, "Okra Lane" twice, "Beyoncé-like" accent case once), 3 playlists
TRACKS = [
    ["spotify:track:AAAAAAAAAAAAAAAAAAAAA1", "Night Drive", "Vela Moss", "2", "30"],
    ["spotify:track:AAAAAAAAAAAAAAAAAAAAA2", "Glass Harbour - Remastered 2011", "Vela Moss", "1", "10"],
    ["spotify:track:AAAAAAAAAAAAAAAAAAAAA3", "Night Market", "Okra Lane", "2", "25"],
    ["spotify:track:AAAAAAAAAAAAAAAAAAAAA4", "Slow Tide", "Okra Lane", "0", "0"],
    ["spotify:track:AAAAAAAAAAAAAAAAAAAAA5", "Paper Suns", "Zoë Quill", "1", "15"],
]
PLAYLISTS = [
    {"pid": 1, "name": "night drive", "num_followers": 10,
     "tracks": ["spotify:track:AAAAAAAAAAAAAAAAAAAAA1", "spotify:track:AAAAAAAAAAAAAAAAAAAAA3"]},
    {"pid": 2, "name": "chill ", "description": "for slow sundays", "num_followers": 15,
     "tracks": ["spotify:track:AAAAAAAAAAAAAAAAAAAAA3", "spotify:track:AAAAAAAAAAAAAAAAAAAAA5",
                "spotify:track:AAAAAAAAAAAAAAAAAAAAA3"]},
    {"pid": 3, "name": "throwbacks", "num_followers": 20,
     "tracks": ["spotify:track:AAAAAAAAAAAAAAAAAAAAA1", "spotify:track:AAAAAAAAAAAAAAAAAAAAA2"]},
]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, objects: list[dict]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as out:
        for obj in objects:
            out.write(json.dumps(obj) + "\n")
    return path


def write_mpd(folder: Path, tracks: list[list[str]] = TRACKS, playlists: list[dict] = PLAYLISTS,
              gz: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    write_csv(folder / f"tracks.csv{suffix}", TRACK_HEADER, tracks)
    write_jsonl(folder / f"playlists.jsonl{suffix}", playlists)
    return folder
