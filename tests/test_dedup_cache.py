"""The dedup cache (keys per export file, scores per pair): a cached run equals a fresh one.

An update round must cost little (issue #8): the second run takes the keys of unchanged files
and the scores of unchanged pairs from the cache. These tests check that the cache never
changes a result (every table equals a fresh run's), that it is actually used (the counts of
what was reused and computed), and that a changed record or a damaged cache is handled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from evreview.dedup import Deduplicator
from evreview.dedup.benchmark import records_from_bib_csv
from evreview.dedup.cache import CACHE_VERSION
from evreview.records import make_record_id


def as_rounds(records: pd.DataFrame, split: int) -> pd.DataFrame:
    """The same records as two search rounds: rows before ``split`` in one file, the rest in another."""
    out = records.copy().reset_index(drop=True)
    second = np.arange(len(out)) >= split
    out["search"] = np.where(second, "2025_update", "2024_initial")
    out["source_file"] = np.where(second, "update.csv", "initial.csv")
    out["source_index"] = np.where(second, np.arange(len(out)) - split, np.arange(len(out)))
    out["record_id"] = [make_record_id(s, f, int(i)) for s, f, i in
                        zip(out["search"], out["source_file"], out["source_index"])]
    return out


def assert_same_result(a: Deduplicator, b: Deduplicator) -> None:
    assert_frame_equal(a.pairs_, b.pairs_)
    assert_frame_equal(a.duplicates_, b.duplicates_)
    assert_frame_equal(a.studies_.drop(columns="member_record_ids"), b.studies_.drop(columns="member_record_ids"))
    assert [list(m) for m in a.studies_["member_record_ids"]] == [list(m) for m in b.studies_["member_record_ids"]]


@pytest.fixture
def rounds(fixtures_dir: Path) -> pd.DataFrame:
    return as_rounds(records_from_bib_csv(fixtures_dir / "dedup" / "records.csv"), split=12)


def test_update_round_reuses_keys_and_scores_and_equals_a_fresh_run(rounds: pd.DataFrame, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = Deduplicator(cache_dir=cache).fit(rounds[rounds["search"] == "2024_initial"])
    assert first.cache_stats_.key_files_built == 1 and first.cache_stats_.pairs_cached == 0
    update = Deduplicator(cache_dir=cache).fit(rounds)
    fresh = Deduplicator().fit(rounds)
    assert_same_result(update, fresh)
    stats = update.cache_stats_
    assert (stats.key_files_cached, stats.key_files_built, stats.records_keyed) == (1, 1, 6)
    # every round-1 pair that is still a candidate comes from the cache; only pairs with a new record are scored
    old_ids = set(rounds.loc[rounds["search"] == "2024_initial", "record_id"])
    old_pairs = update.pairs_["record_id_a"].isin(old_ids) & update.pairs_["record_id_b"].isin(old_ids)
    assert stats.pairs_cached == int(old_pairs.sum()) > 0
    assert stats.pairs_compared == int((~old_pairs).sum()) > 0
    # a third run over the same records computes nothing
    again = Deduplicator(cache_dir=cache).fit(rounds)
    assert (again.cache_stats_.key_files_built, again.cache_stats_.pairs_compared) == (0, 0)
    assert_same_result(again, fresh)


def test_a_changed_record_is_normalised_and_scored_again(rounds: pd.DataFrame, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    Deduplicator(cache_dir=cache).fit(rounds)
    edited = rounds.copy()
    edited.loc[0, "title"] = "A completely different title about something else entirely"
    cached = Deduplicator(cache_dir=cache).fit(edited)
    assert cached.cache_stats_.key_files_built == 1  # the edited file only
    assert_same_result(cached, Deduplicator().fit(edited))


def test_a_damaged_cache_is_ignored(rounds: pd.DataFrame, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    Deduplicator(cache_dir=cache).fit(rounds)
    files = sorted(cache.iterdir())
    assert sum(f.name.startswith(f"scores-{CACHE_VERSION}-") for f in files) == 1
    assert sum(f.name.startswith(f"keys-{CACHE_VERSION}-") for f in files) == 2
    for path in files:
        path.write_bytes(b"not a cache file")
    damaged = Deduplicator(cache_dir=cache).fit(rounds)
    assert damaged.cache_stats_.pairs_cached == 0 and damaged.cache_stats_.key_files_built == 2
    assert_same_result(damaged, Deduplicator().fit(rounds))


def test_files_no_longer_used_leave_the_cache(rounds: pd.DataFrame, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    Deduplicator(cache_dir=cache).fit(rounds)
    Deduplicator(cache_dir=cache).fit(rounds[rounds["search"] == "2024_initial"])
    assert sum(f.name.startswith("keys-") for f in cache.iterdir()) == 1


def test_cli_reports_the_cache(rounds: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from evreview.cli import main
    from evreview.reporting import write_parquet

    table = tmp_path / "records.parquet"
    write_parquet(rounds, table)
    args = ["dedup", str(table), "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]
    assert main(args) == 0
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "cache: keys: 2 file(s) from cache, 0 built (0 records); pairs:" in err
    assert (tmp_path / "out" / "pairs.parquet").exists()


def test_shared_set_split_into_rounds_equals_fresh_run(shared_dir: Path, tmp_path: Path) -> None:
    path = shared_dir / "benchmarks" / "dedup" / "sra_haematology" / "records_pre_merged.csv"
    records = as_rounds(records_from_bib_csv(path), split=900)
    cache = tmp_path / "cache"
    Deduplicator(cache_dir=cache).fit(records[records["search"] == "2024_initial"])
    update = Deduplicator(cache_dir=cache).fit(records)
    assert update.cache_stats_.pairs_cached > 0
    assert_same_result(update, Deduplicator().fit(records))


def test_cache_files_are_byte_identical_across_runs(rounds: pd.DataFrame, tmp_path: Path) -> None:
    """Two runs in two folders write the same cache bytes (the workflow's reproducibility test hashes results/)."""
    for name in ("one", "two"):
        Deduplicator(cache_dir=tmp_path / name).fit(rounds)
    one = {p.name: p.read_bytes() for p in (tmp_path / "one").iterdir()}
    two = {p.name: p.read_bytes() for p in (tmp_path / "two").iterdir()}
    assert one == two and len(one) == 3


def test_scores_are_appended_as_segments_and_compacted_when_stale(rounds: pd.DataFrame, tmp_path: Path) -> None:
    """An update writes only its new pairs (a second segment); a run where most stored pairs are no
    longer compared rewrites what is still used as one segment; a run with nothing new writes nothing."""
    cache = tmp_path / "cache"

    def segments() -> list[str]:
        return sorted(p.name for p in cache.glob(f"scores-{CACHE_VERSION}-*.pkl"))

    first = Deduplicator(cache_dir=cache).fit(rounds[rounds["search"] == "2024_initial"])
    assert len(segments()) == 1 and first.cache_stats_.segments_written == 1
    update = Deduplicator(cache_dir=cache).fit(rounds)
    assert len(segments()) == 2 and update.cache_stats_.segments_written == 1
    again = Deduplicator(cache_dir=cache).fit(rounds)
    assert again.cache_stats_.segments_written == 0 and again.cache_stats_.pairs_compared == 0
    # only the round-2 file: the round-1 pairs (most of the stored ones) are stale, so one compacted segment
    # holding exactly the pairs of this run remains, and the next run over the same records reuses all of it
    alone = rounds[rounds["search"] == "2025_update"]
    Deduplicator(cache_dir=cache).fit(alone)
    assert len(segments()) == 1
    reused = Deduplicator(cache_dir=cache).fit(alone)
    assert reused.cache_stats_.pairs_compared == 0
    assert_same_result(reused, Deduplicator().fit(alone))


def test_a_segment_left_behind_by_an_interrupted_compaction_is_harmless(rounds: pd.DataFrame, tmp_path: Path) -> None:
    """Compaction writes the merged segment before deleting the ones it replaces: a run killed in
    between leaves every hash twice. The next run reads one entry per hash, gives the fresh
    result and compacts the cache back to one segment."""
    import shutil

    cache = tmp_path / "cache"
    Deduplicator(cache_dir=cache).fit(rounds)
    (segment,) = sorted(cache.glob(f"scores-{CACHE_VERSION}-*.pkl"))
    shutil.copy(segment, cache / f"scores-{CACHE_VERSION}-{'0' * 19}a.pkl")
    again = Deduplicator(cache_dir=cache).fit(rounds)
    assert again.cache_stats_.pairs_compared == 0
    assert_same_result(again, Deduplicator().fit(rounds))
    assert len(list(cache.glob(f"scores-{CACHE_VERSION}-*.pkl"))) == 1
