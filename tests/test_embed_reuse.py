"""The TF-IDF backend's fit is saved in the cache dir and reused by later rounds (issue #8).

An update round must embed only its new texts: the saved fit keeps ``model_id`` (and with it
every cached vector and the saved topic model) valid; ``refit`` fits the new corpus instead.
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evreview.embed import TfidfSvdBackend, embed_studies, fit_backend, study_text
from evreview.embed.backends import EmbeddingError
from evreview.embed.cache import content_hash

REPO = Path(__file__).resolve().parents[1]
WORDS = [
    *("trust", "respect", "partners", "council", "university", "residents", "funding", "grant", "governance"),
    *("steering", "co-production", "workshop", "citizens", "equity", "power", "knowledge", "exchange", "policy"),
    *("impact", "local", "regional", "housing", "health", "transport"),
]


def _studies(n: int, start: int = 0, seed: int = 0) -> pd.DataFrame:
    """``n`` studies with ids ``s{start}``.. and seeded random two-sentence abstracts."""
    rng = np.random.default_rng(seed)
    rows = [
        {
            "study_id": f"s{i:04d}",
            "title": f"Partnership study {i} on {' '.join(rng.choice(WORDS, size=3))}",
            "abstract": f"{' '.join(rng.choice(WORDS, size=12))}. {' '.join(rng.choice(WORDS, size=9))} {i}.",
        }
        for i in range(start, start + n)
    ]
    return pd.DataFrame(rows)


def _texts(frame: pd.DataFrame) -> list[str]:
    return [study_text(t, a) for t, a in zip(frame["title"], frame["abstract"])]


def _fits(cache: Path) -> list[Path]:
    return sorted((cache / "tfidf-svd-fits").rglob("*"))


def test_saved_fit_reloads_to_byte_identical_vectors(tmp_path: Path) -> None:
    texts = _texts(_studies(60))
    fitted = TfidfSvdBackend(dim=16).fit(texts)
    assert fitted.save(tmp_path / "fit.zip") is True
    loaded = TfidfSvdBackend(dim=16).load(tmp_path / "fit.zip")
    assert loaded._vectorizer is None  # only the metadata is read until something is encoded
    probe = [*texts[:20], "an unseen text about trust and housing", "words nobody used", ""]
    assert loaded.model_id == fitted.model_id and loaded.n_fitted == 60
    assert loaded.encode(probe).tobytes() == fitted.encode(probe).tobytes()
    # a corpus too small for SVD keeps the raw TF-IDF space: saved and reloaded alike
    tiny = TfidfSvdBackend().fit(["only one document here"])
    tiny.save(tmp_path / "tiny.zip")
    again = TfidfSvdBackend().load(tmp_path / "tiny.zip")
    assert again.encode(["only one", "x"]).tobytes() == tiny.encode(["only one", "x"]).tobytes()
    # another backend's settings are refused, naming the file
    with pytest.raises(EmbeddingError, match=r"fit\.zip: saved tfidf fit has other settings: dim 16 \(expected 8\)"):
        TfidfSvdBackend(dim=8).load(tmp_path / "fit.zip")


def test_second_round_reuses_the_fit_and_embeds_only_new_texts(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    one = _studies(80)
    two = pd.concat([one, _studies(8, start=80, seed=1)], ignore_index=True)
    first = fit_backend(TfidfSvdBackend(dim=16), _texts(one), cache_dir=cache)
    assert first.fit_note.startswith(f"tfidf: no saved fit; fitted {first.model_id} on 80 texts and saved it to ")
    emb1 = embed_studies(one, first, cache, progress=False)
    assert emb1.stats.n_embedded == emb1.stats.n_unique > 0

    second = fit_backend(TfidfSvdBackend(dim=16), _texts(two), cache_dir=cache)
    assert second.model_id == first.model_id  # the round-1 fit, not a refit on the grown corpus
    assert second.fit_note == f"tfidf: reused saved fit {first.model_id} (fitted on 80 texts; --refit-topics refits)"
    emb2 = embed_studies(two, second, cache, progress=False)
    new_sentences = {content_hash(s) for group in emb2.sentences[80:] for s in group} - {
        content_hash(s) for group in emb1.sentences for s in group
    }
    assert emb2.stats.n_embedded == len(new_sentences) > 0
    assert emb2.stats.n_records_embedded == 8
    assert emb2.study_vectors[:80].tobytes() == emb1.study_vectors.tobytes()
    # a plain in-memory refit of the grown corpus would have been another model
    assert TfidfSvdBackend(dim=16).fit(_texts(two)).model_id != first.model_id


def test_refit_fits_this_corpus_and_later_runs_follow_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    one, two = _studies(40), _studies(50)
    first = fit_backend(TfidfSvdBackend(dim=8), _texts(one), cache_dir=cache)
    refitted = fit_backend(TfidfSvdBackend(dim=8), _texts(two), cache_dir=cache, refit=True)
    plain = TfidfSvdBackend(dim=8).fit(_texts(two))
    assert refitted.model_id == plain.model_id != first.model_id
    assert refitted.fit_note.startswith("tfidf: refit requested; fitted ")
    assert refitted.encode(_texts(two)).tobytes() == plain.encode(_texts(two)).tobytes()
    # the next run without refit loads the newer fit
    assert fit_backend(TfidfSvdBackend(dim=8), _texts(one), cache_dir=cache).model_id == plain.model_id

    # refitting the same corpus again (e.g. code --refit-topics after the shard jobs refitted) loads that fit
    def no_fit(self: TfidfSvdBackend, texts: list[str]) -> TfidfSvdBackend:
        raise AssertionError("fitted again although this corpus's fit is saved")

    monkeypatch.setattr(TfidfSvdBackend, "fit", no_fit)
    again = fit_backend(TfidfSvdBackend(dim=8), _texts(two), cache_dir=cache, refit=True)
    assert again.model_id == plain.model_id and "of this very corpus" in again.fit_note
    assert len([p for p in _fits(cache) if p.suffix == ".zip"]) == 2


def test_two_saves_of_one_fit_are_the_same_bytes_and_leave_no_temporaries(tmp_path: Path) -> None:
    texts = _texts(_studies(50))
    a, b = TfidfSvdBackend(dim=8).fit(texts), TfidfSvdBackend(dim=8).fit(texts)
    assert a.save(tmp_path / "fit.zip") is True
    assert b.save(tmp_path / "fit.zip") is False  # first one wins; the second never overwrites
    assert b.save(tmp_path / "other.zip") is True
    assert (tmp_path / "fit.zip").read_bytes() == (tmp_path / "other.zip").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.zip", "other.zip"]


def test_concurrent_jobs_converge_on_one_saved_fit(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    texts = _texts(_studies(60))
    start = threading.Barrier(4)
    backends = [TfidfSvdBackend(dim=8) for _ in range(4)]
    errors: list[BaseException] = []

    def job(backend: TfidfSvdBackend) -> None:
        try:
            start.wait()
            fit_backend(backend, texts, cache_dir=cache)
        except BaseException as exc:  # checked in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=job, args=(b,)) for b in backends]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({b.model_id for b in backends}) == 1
    assert len({b.encode(texts[:10]).tobytes() for b in backends}) == 1
    files = [p.name for p in _fits(cache) if p.is_file()]
    assert sorted(files) == ["current.json", f"{backends[0].model_id.rsplit(':', 1)[1]}.zip"]


def test_a_job_that_loses_the_race_uses_the_winners_fit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a winner whose fit differs in the last bits (another BLAS) is what every job then uses."""
    cache = tmp_path / "cache"
    texts = _texts(_studies(40))
    winner = TfidfSvdBackend(dim=8).fit(texts)
    winner._svd.components_ = winner._svd.components_ * (1 + 1e-6)
    real_fit = TfidfSvdBackend.fit

    def fit_then_lose(self: TfidfSvdBackend, texts: list[str]) -> TfidfSvdBackend:
        real_fit(self, texts)
        winner.save(self.fits_folder(cache) / f"{self._fingerprint}.zip")  # the other job finished first
        return self

    monkeypatch.setattr(TfidfSvdBackend, "fit", fit_then_lose)
    loser = fit_backend(TfidfSvdBackend(dim=8), texts, cache_dir=cache)
    assert "another job had saved it first: loaded that" in loser.fit_note
    assert loser.encode(texts).tobytes() == winner.encode(texts).tobytes()


def test_damaged_saved_fit_is_a_clear_error(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    backend = fit_backend(TfidfSvdBackend(dim=8), _texts(_studies(30)), cache_dir=cache)
    saved = backend.fits_folder(cache) / f"{backend.model_id.rsplit(':', 1)[1]}.zip"
    saved.write_bytes(b"not a zip")
    with pytest.raises(EmbeddingError, match=rf"{saved.name}: not a readable saved tfidf fit .*delete it to fit again"):
        fit_backend(TfidfSvdBackend(dim=8), ["anything"], cache_dir=cache)
    (backend.fits_folder(cache) / "current.json").write_text("{", encoding="utf-8")
    with pytest.raises(EmbeddingError, match=r"current\.json: unreadable saved tfidf fit pointer"):
        fit_backend(TfidfSvdBackend(dim=8), ["anything"], cache_dir=cache)


def _run(*argv: object) -> int:
    from evreview.code import commands as code_commands
    from evreview.embed import commands as embed_commands

    parser = argparse.ArgumentParser(prog="evreview")
    sub = parser.add_subparsers(dest="command", required=True)
    embed_commands.register(sub)
    code_commands.register(sub)
    args = parser.parse_args([str(a) for a in argv])
    return args.func(args)


def test_embed_and_code_commands_share_the_saved_fit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Round 2 on the command line: embed loads round 1's fit, embeds only new text; code embeds nothing."""
    cache = tmp_path / "cache"
    _studies(30).to_csv(tmp_path / "one.csv", index=False)
    _studies(34).to_csv(tmp_path / "two.csv", index=False)
    common = ["--codebook", REPO / "config" / "codebook.yaml", "--backend", "tfidf", "--cache-dir", cache,
              "--no-progress"]
    assert _run("embed", "--studies", tmp_path / "one.csv", *common) == 0
    err = capsys.readouterr().err
    assert "tfidf: no saved fit; fitted tfidf-svd:256:" in err and "and saved it to " in err
    model_id = err.split("fitted ", 1)[1].split(" ", 1)[0]

    assert _run("embed", "--studies", tmp_path / "two.csv", *common) == 0
    err = capsys.readouterr().err
    assert f"tfidf: reused saved fit {model_id} (fitted on " in err
    assert "(4 studies with new text)" in err

    assert _run("code", "--studies", tmp_path / "two.csv", *common, "--no-topics", "--out", tmp_path / "coded") == 0
    err = capsys.readouterr().err
    assert f"tfidf: reused saved fit {model_id}" in err and "; 0 sentences newly embedded;" in err

    assert _run("embed", "--studies", tmp_path / "two.csv", *common, "--refit-topics") == 0
    err = capsys.readouterr().err
    assert "tfidf: refit requested; fitted tfidf-svd:256:" in err and model_id not in err.split("\n")[0]


def test_a_process_loads_the_vector_cache_once_while_nobody_else_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The code step's five embed calls read the cache once; a shard added by another writer is seen."""
    from evreview.embed import embed_texts
    from evreview.embed.cache import EmbeddingCache

    cache = tmp_path / "cache"
    texts = _texts(_studies(30))
    backend = TfidfSvdBackend(dim=8).fit(texts)
    loads: list[int] = []
    real_load = EmbeddingCache.load

    def counting_load(self: EmbeddingCache) -> dict[str, np.ndarray]:
        if self._vectors is None:  # a read of the folder, not the instance's memo
            loads.append(1)
        return real_load(self)

    monkeypatch.setattr(EmbeddingCache, "load", counting_load)
    first, _ = embed_texts(texts[:20], backend, cache, progress=False)
    n_first = len(loads)
    again, st2 = embed_texts(texts[:20], backend, cache, progress=False)
    assert st2.n_embedded == 0 and again.tobytes() == first.tobytes()
    _, st3 = embed_texts(texts, backend, cache, progress=False)  # adds 10: still no re-read
    assert st3.n_embedded == 10 and len(loads) == n_first
    # another process adds a shard: the next call reads the folder again and finds it
    other = EmbeddingCache(cache, backend.model_id)
    extra = ["a text only the other writer embedded"]
    other.add([content_hash(extra[0])], backend.encode(extra))
    _, st4 = embed_texts(extra, backend, cache, progress=False)
    assert st4.n_cached == 1 and st4.n_embedded == 0 and len(loads) > n_first
