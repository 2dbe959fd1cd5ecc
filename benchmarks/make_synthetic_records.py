"""Seeded synthetic record tables with known duplicates, for dedup scale runs.

Each synthetic *entity* (a study) gets a random title, authors, journal, year, volume, pages and
(usually) a DOI; 30% of entities appear 2-4 times, each copy perturbed the way databases
differ: capitalisation, punctuation, an abbreviated journal, initials-only authors, a missing
DOI, a short page range ("123-9"), a "[Review]" note, a one-letter typo. Distractors that must
*not* merge are planted too: the same title in another year with another DOI (updates/series).
Erratum notices (same journal, volume, year and authors, "Erratum: <title>", other pages) are
planted as members of their article's entity: the labelled sets in ../shared/benchmarks/dedup
count a correction printed in the same volume as the same item, and so does evreview's
``erratum_of_item`` rule. ``source_id`` is ``<entity>-<copy>``, so the gold clustering is the
part before the dash.

    python benchmarks/make_synthetic_records.py 100000 /tmp/synth_100k.parquet [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from evreview.ingest import write_records
from evreview.records import RECORD_COLUMNS, make_record_id

SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "ta", "vi", "zo", "pe", "sa", "do", "li", "mor", "tan", "vel",
             "cor", "dis", "pra", "ton", "ble", "gra", "sti", "qua", "fen", "hol", "bri", "sen", "dul")
SURNAMES_N = 5000
JOURNALS = (
    ("Journal of Clinical Epidemiology", "J Clin Epidemiol"),
    ("American Journal of Public Health", "Am J Public Health"),
    ("Nature Reviews Nephrology", "Nat Rev Nephrol"),
    ("Information Systems Journal", "Inf Syst J"),
    ("British Medical Journal", "Br Med J"),
    ("Journal of Information Technology", "J Inf Technol"),
    ("Current Opinion in Rheumatology", "Curr Opin Rheumatol"),
    ("International Journal of Nursing Studies", "Int J Nurs Stud"),
)


def _words(rng: np.random.Generator, n: int) -> list[str]:
    parts = rng.integers(0, len(SYLLABLES), size=(n, 3))
    lengths = rng.integers(2, 4, size=n)
    return sorted({"".join(SYLLABLES[p] for p in row[:k]) for row, k in zip(parts, lengths)})


def make_entities(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` distinct studies."""
    vocab = np.array(_words(rng, 20000))
    surnames = np.array([w.capitalize() for w in _words(rng, SURNAMES_N * 2)][:SURNAMES_N])
    title_len = rng.integers(6, 14, size=n)
    word_ids = rng.integers(0, len(vocab), size=(n, 14))
    titles = [" ".join(vocab[row[:k]]).capitalize() for row, k in zip(word_ids, title_len)]
    n_auth = rng.integers(1, 6, size=n)
    auth_ids = rng.integers(0, len(surnames), size=(n, 6))
    initials = rng.integers(65, 91, size=(n, 6))
    authors = [[f"{surnames[a]}, {chr(i)}." for a, i in zip(row[:k], ini[:k])]
               for row, ini, k in zip(auth_ids, initials, n_auth)]
    journal = rng.integers(0, len(JOURNALS), size=n)
    year = rng.integers(1990, 2025, size=n)
    volume = rng.integers(1, 120, size=n)
    issue = rng.integers(1, 13, size=n)
    start = rng.integers(1, 3000, size=n)
    length = rng.integers(3, 25, size=n)
    has_doi = rng.random(n) < 0.7
    return pd.DataFrame({
        "entity": [f"e{i}" for i in range(n)], "title": titles, "authors": authors,
        "journal_idx": journal, "year": year, "volume": volume.astype(str), "issue": issue.astype(str),
        "start": start, "end": start + length,
        "doi": [f"10.5555/syn.{i}" if d else "" for i, d in enumerate(has_doi)],
    })


def _typo(text: str, rng: np.random.Generator) -> str:
    if len(text) < 10:
        return text
    pos = int(rng.integers(1, len(text) - 1))
    return text[:pos] + text[pos + 1] + text[pos] + text[pos + 2:]


def perturb(row: dict, copy: int, rng: np.random.Generator) -> dict:
    """One database's version of an entity (copy 0 is the clean one)."""
    full, abbrev = JOURNALS[row["journal_idx"]]
    rec = {
        "title": row["title"], "authors": list(row["authors"]), "journal": full, "year": int(row["year"]),
        "volume": row["volume"], "issue": row["issue"], "pages": f"{row['start']}-{row['end']}", "doi": row["doi"],
    }
    if copy == 0:
        return rec
    r = rng.random(8)
    if r[0] < 0.3:
        rec["title"] = rec["title"].upper()
    if r[1] < 0.3:
        rec["title"] = rec["title"] + "."
    if r[2] < 0.1:
        rec["title"] = rec["title"] + " [Review]"
    if r[3] < 0.15:
        rec["title"] = _typo(rec["title"], rng)
    if r[4] < 0.5:
        rec["journal"] = abbrev
    if r[5] < 0.4:
        rec["doi"] = ""
    if r[6] < 0.3:
        rec["authors"] = [a.replace(".", "").replace(", ", " ") for a in rec["authors"]]
    if r[7] < 0.3 and len(str(row["end"])) == len(str(row["start"])):
        end = str(row["end"])
        rec["pages"] = f"{row['start']}-{end[-1]}" if end[:-1] == str(row["start"])[:-1] else rec["pages"]
    return rec


def make_records(n_records: int, seed: int = 7) -> pd.DataFrame:
    """About ``n_records`` records (exactly that many) with gold entities in ``source_id``."""
    rng = np.random.default_rng(seed)
    n_entities = int(n_records / 1.55) + 10
    entities = make_entities(n_entities, rng)
    copies = np.where(rng.random(n_entities) < 0.3, rng.integers(2, 5, size=n_entities), 1)
    rows: list[dict] = []
    files = ("medline.ris", "embase.ris", "scopus.csv", "wos.txt")
    for ent, k in zip(entities.to_dict("records"), copies):
        for c in range(int(k)):
            rec = perturb(ent, c, rng)
            rec["source_id"] = f"{ent['entity']}-{c}"
            rec["source_file"] = files[c % len(files)]
            rows.append(rec)
        if rng.random() < 0.01:  # distractor: same title, next edition (other year, DOI, pages)
            rec = perturb(ent, 0, rng)
            rec.update(year=int(ent["year"]) + 3, doi=f"{ent['doi']}.v2" if ent["doi"] else "",
                       volume=str(int(ent["volume"]) + 3), pages=f"{int(ent['start']) + 7}-{int(ent['end']) + 9}",
                       source_id=f"{ent['entity']}x-0", source_file="embase.ris")
            rows.append(rec)
        if rng.random() < 0.005:  # erratum notice: same item under the labelled sets' convention
            rec = perturb(ent, 0, rng)
            rec.update(title="Erratum: " + ent["title"], pages=str(int(ent["end"]) + 200), doi="",
                       source_id=f"{ent['entity']}-err", source_file="medline.ris")
            rows.append(rec)
        if len(rows) >= n_records:
            break
    rows = rows[:n_records]
    frame = pd.DataFrame(rows)
    frame["search"] = "synthetic"
    frame["source_index"] = frame.groupby("source_file").cumcount().astype("int64")
    frame["record_id"] = [
        make_record_id("synthetic", f, i) for f, i in zip(frame["source_file"], frame["source_index"])
    ]
    frame["source_format"] = "synthetic"
    frame["source_database"] = frame["source_file"].str.split(".").str[0]
    frame["source_line"] = pd.array([None] * len(frame), dtype="Int64")
    for col in ("abstract", "pmid", "issn", "isbn", "language", "doc_type", "url"):
        frame[col] = ""
    frame["keywords"] = [[] for _ in range(len(frame))]
    frame["raw"] = "{}"
    frame["year"] = frame["year"].astype("Int64")
    return frame.loc[:, list(RECORD_COLUMNS)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    frame = make_records(args.n, args.seed)
    write_records(frame, args.out)
    print(json.dumps({"records": len(frame), "entities": int(frame["source_id"].str.split("-").str[0].nunique())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
