"""repeat_runs: the median of repeated replay measurements, worked by hand with scripted runs."""

from __future__ import annotations

import pytest

from ltrr.simulation.bench import repeat_runs


def scripted(results):
    """A run function returning the given results in order (and failing if called once too often)."""
    pending = list(results)
    return lambda: pending.pop(0)


def run(rate, growth, peak, seconds):
    return {"searches_per_s": rate, "rss_growth_mb": growth, "rss_end_mb": 2000.0 + growth, "peak_rss_mb": peak,
            "seconds": seconds}


def test_median_rate_with_the_median_runs_other_measures_and_the_worst_memory():
    combined = repeat_runs(scripted([run(250.0, 30.0, 2100.0, 50.0), run(200.0, 45.0, 2050.0, 62.0),
                                     run(270.0, 20.0, 2300.0, 46.0)]), 3)
    assert combined["searches_per_s"] == 250.0 and combined["seconds"] == 50.0  # the middle run's own time
    assert combined["searches_per_s_runs"] == [250.0, 200.0, 270.0]
    assert (combined["searches_per_s_min"], combined["searches_per_s_max"], combined["repeats"]) == (200.0, 270.0, 3)
    assert (combined["rss_growth_mb"], combined["rss_end_mb"], combined["peak_rss_mb"]) == (45.0, 2045.0, 2300.0)


def test_even_count_reports_the_median_of_the_two_middle_rates_and_the_lower_run():
    combined = repeat_runs(scripted([run(300.0, 1.0, 1.0, 10.0), run(200.0, 1.0, 1.0, 20.0)]), 2)
    assert combined["searches_per_s"] == 250.0 and combined["seconds"] == 20.0


def test_one_run_is_that_run():
    combined = repeat_runs(scripted([run(123.0, 5.0, 9.0, 7.0)]), 1)
    assert combined["searches_per_s"] == 123.0 and combined["searches_per_s_runs"] == [123.0]


@pytest.mark.parametrize("repeat", [0, -1, 1.5, True])
def test_bad_repeat_is_refused(repeat):
    with pytest.raises(ValueError, match="repeat must be an integer >= 1"):
        repeat_runs(scripted([]), repeat)
