"""Embedding shards (scatter/gather) and the ``embed`` / ``embed-gather`` commands."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from evreview.cli import build_parser
from evreview.embed import TfidfSvdBackend, content_hash, embed_texts
from evreview.embed.cache import EmbeddingCache
from evreview.embed.shards import (
    ShardError,
    corpus_keys,
    embed_shard,
    gather_shards,
    read_shard,
    shard_of,
)
from evreview.errors import EvreviewError

REPO = Path(__file__).resolve().parents[1]


def _run(*argv: object) -> int:
    """Run an ``evreview`` command as the CLI parses it, its errors raised (not turned into exit codes)."""
    args = build_parser().parse_args([str(a) for a in argv])
    return args.func(args)


def _cache_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


TEXTS = [f"sentence number {i} about partnerships and councils" for i in range(40)] + ["", "  "]


def _backend(texts: list[str] = TEXTS) -> TfidfSvdBackend:
    return TfidfSvdBackend(dim=8).fit(texts)


def test_shards_partition_the_texts_and_assignment_depends_only_on_the_text() -> None:
    keys = list(corpus_keys(TEXTS))
    assert len(keys) == 40  # empty texts need no vector
    parts = [{k for k in keys if shard_of(k, 3) == s} for s in range(3)]
    assert set().union(*parts) == set(keys) and sum(map(len, parts)) == len(keys)
    assert all(parts)  # 40 texts over 3 shards: none empty
    # more records later: the old texts stay in the shards they were in
    grown = list(corpus_keys([*TEXTS, *(f"new text {i}" for i in range(100))]))
    assert {k: shard_of(k, 3) for k in keys} == {k: shard_of(k, 3) for k in grown if k in set(keys)}


def test_shard_files_gather_into_the_cache(tmp_path: Path) -> None:
    backend = _backend()
    files = [embed_shard(TEXTS, backend, s, 3, tmp_path / f"s{s}.zip", tmp_path / f"node{s}", progress=False)
             for s in range(3)]
    assert sum(f.n_shard for f in files) == 40 and all(f.n_embedded == f.n_shard for f in files)
    cache = tmp_path / "cache"
    stats = gather_shards([tmp_path / f"s{s}.zip" for s in (2, 0, 1)], cache)
    assert (stats.n_vectors, stats.n_added, stats.n_already_cached) == (40, 40, 0)
    # every vector is now cached and equals a direct embedding
    counting = _backend()
    vectors, st = embed_texts(TEXTS, counting, cache, progress=False)
    assert st.n_embedded == 0 and st.n_cached == 40
    direct, _ = embed_texts(TEXTS, _backend(), None, progress=False)
    np.testing.assert_allclose(vectors, direct, atol=1e-6)
    # idempotent: a second gather adds nothing and writes nothing
    before = _cache_files(cache)
    again = gather_shards([tmp_path / f"s{s}.zip" for s in range(3)], cache)
    assert again.n_added == 0 and again.n_already_cached == 40 and _cache_files(cache) == before


def test_shard_file_is_byte_identical_on_rerun_and_readable_by_numpy(tmp_path: Path) -> None:
    first = tmp_path / "a.zip"
    embed_shard(TEXTS, _backend(), 1, 3, first, tmp_path / "cache", progress=False)
    # re-run with the cache now warm, and with no cache at all: the same bytes
    again, cold = tmp_path / "b.zip", tmp_path / "c.zip"
    stats = embed_shard(TEXTS, _backend(), 1, 3, again, tmp_path / "cache", progress=False)
    assert stats.n_embedded == 0
    embed_shard(list(reversed(TEXTS)), _backend(), 1, 3, cold, None, progress=False)
    assert first.read_bytes() == again.read_bytes() == cold.read_bytes()
    with np.load(first) as npz:  # a standard zip of .npy members
        assert npz["vectors"].dtype == np.float32 and npz["vectors"].shape[0] == stats.n_shard


def test_empty_shard_is_fine(tmp_path: Path) -> None:
    texts = ["only one text here", "and a second"]
    backend = TfidfSvdBackend(dim=4).fit(texts)
    paths = [tmp_path / f"s{s}.zip" for s in range(8)]
    sizes = [embed_shard(texts, backend, s, 8, p, None, progress=False).n_shard for s, p in enumerate(paths)]
    assert 0 in sizes and sum(sizes) == 2
    assert read_shard(paths[sizes.index(0)]).keys == []
    assert gather_shards(paths, tmp_path / "cache").n_added == 2


def test_gather_refuses_incomplete_duplicate_or_mixed_shards(tmp_path: Path) -> None:
    for s in range(3):
        embed_shard(TEXTS, _backend(), s, 3, tmp_path / f"s{s}.zip", None, progress=False)
    with pytest.raises(ShardError, match=r"1 of 3 shard file\(s\) missing: shard\(s\) 1"):
        gather_shards([tmp_path / "s0.zip", tmp_path / "s2.zip"], tmp_path / "cache")
    with pytest.raises(ShardError, match="shard 0 given twice"):
        gather_shards([tmp_path / f"s{s}.zip" for s in (0, 0, 1, 2)], tmp_path / "cache")
    # a shard of another model (another tfidf fit) cannot join this run
    other = TfidfSvdBackend(dim=8).fit([*TEXTS, "one more text"])
    embed_shard(TEXTS, other, 1, 3, tmp_path / "other1.zip", None, progress=False)
    with pytest.raises(ShardError, match=r"model_id .* differs .*different runs") as err:
        gather_shards([tmp_path / "s0.zip", tmp_path / "other1.zip", tmp_path / "s2.zip"], tmp_path / "cache")
    assert "other1.zip" in str(err.value)
    # a shard of another corpus (a record added in between) neither
    embed_shard([*TEXTS, "late record"], _backend(), 1, 3, tmp_path / "late1.zip", None, progress=False)
    with pytest.raises(ShardError, match="differs"):
        gather_shards([tmp_path / "s0.zip", tmp_path / "late1.zip", tmp_path / "s2.zip"], tmp_path / "cache")
    assert not (tmp_path / "cache").exists()  # nothing half-gathered


def test_corrupt_or_tampered_shard_files_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip", encoding="utf-8")
    with pytest.raises(ShardError, match=r"bad\.zip: not a readable embedding shard file"):
        read_shard(bad)
    good = tmp_path / "s0.zip"
    embed_shard(TEXTS, _backend(), 0, 2, good, None, progress=False)
    with zipfile.ZipFile(good) as z:
        members = {n: z.read(n) for n in z.namelist()}
    keys = members["keys.txt"].decode().split()
    wrong = next(content_hash(t) for t in TEXTS if t.strip() and shard_of(content_hash(t), 2) == 1)
    members["keys.txt"] = ("\n".join([wrong, *keys[1:]]) + "\n").encode()
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(ShardError, match=r"tampered.zip: keys.txt line 1: key .* belongs to shard 1, not 0"):
        read_shard(tampered)
    with pytest.raises(ShardError, match="not found"):
        read_shard(tmp_path / "absent.zip")


def test_embed_command_shards_then_gather_then_code_embeds_nothing(tmp_path: Path, fixtures_dir: Path) -> None:
    studies = fixtures_dir / "code" / "studies.csv"
    codebook = REPO / "config" / "codebook.yaml"
    common = ["--studies", studies, "--codebook", codebook, "--backend", "tfidf", "--no-progress"]
    shard_files = []
    for s in range(3):
        out = tmp_path / "shards" / f"{s}-of-3.zip"
        assert _run("embed", *common, "--cache-dir", tmp_path / f"node{s}", "--shard", s, "--shards", 3,
                    "--out", out) == 0
        shard_files.append(out)
    cache = tmp_path / "cache"
    summary = tmp_path / "gather.json"
    assert _run("embed-gather", *shard_files, "--cache-dir", cache, "--summary", summary) == 0
    counts = json.loads(summary.read_text(encoding="utf-8"))
    assert counts["n_added"] == counts["n_vectors"] > 0 and counts["shards"] == 3
    before = _cache_files(cache)
    # the code step afterwards: every sentence and every code description is cached
    assert _run("code", *common, "--cache-dir", cache, "--no-topics", "--out", tmp_path / "coded") == 0
    # the saved TF-IDF fit (tfidf-svd-fits/) and the memoised sentence splits (study-sentences/: the
    # shard jobs had caches of their own) may be written by either step; the vectors must not change
    def vector_files(files: list[str]) -> list[str]:
        return [f for f in files if not f.startswith(("tfidf-svd-fits/", "study-sentences/"))]

    assert vector_files(_cache_files(cache)) == vector_files(before), \
        "the code step embedded something the shards did not"
    assert (tmp_path / "coded" / "assignments.csv").exists()


def test_embed_command_without_shards_fills_the_cache_for_code(tmp_path: Path, fixtures_dir: Path) -> None:
    common = ["--studies", fixtures_dir / "code" / "studies.csv", "--codebook", REPO / "config" / "codebook.yaml",
              "--backend", "tfidf", "--no-progress", "--cache-dir", tmp_path / "cache"]
    assert _run("embed", *common) == 0
    before = _cache_files(tmp_path / "cache")
    assert _run("code", *common, "--no-topics", "--out", tmp_path / "coded") == 0
    assert _cache_files(tmp_path / "cache") == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--shard", "0"], "missing --shards, --out"),
        (["--shard", "3", "--shards", "3", "--out", "x.zip"], "between 0 and 2"),
        (["--shard", "0", "--shards", "0", "--out", "x.zip"], "at least 1"),
    ],
)
def test_bad_shard_options_are_clear_errors(tmp_path: Path, fixtures_dir: Path, extra: list[str], message: str) -> None:
    with pytest.raises(EvreviewError, match=message):
        _run("embed", "--studies", fixtures_dir / "code" / "studies.csv", "--backend", "tfidf",
             "--cache-dir", tmp_path, *extra)


def test_gather_cache_is_the_models_own(tmp_path: Path) -> None:
    """Gathered vectors land in the folder of the shard files' model, beside other models' vectors."""
    backend = _backend()
    paths = [tmp_path / f"s{s}.zip" for s in range(2)]
    for s, p in enumerate(paths):
        embed_shard(TEXTS, backend, s, 2, p, None, progress=False)
    gather_shards(paths, tmp_path / "cache")
    assert len(EmbeddingCache(tmp_path / "cache", backend.model_id).load()) == 40
    assert EmbeddingCache(tmp_path / "cache", "fake:other").load() == {}
