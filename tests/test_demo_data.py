"""The synthetic demo review: reproducible from its generator, and its planted truth consistent.

The demo data are what new users run first and what later stages are checked against, so the
committed files must be exactly what ``scripts/make_demo_review.py`` writes, and the truth
tables (record -> study, study codes, expected counts, planted gaps) must agree with the exports
and with each other.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from evreview.records import make_record_id

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "make_demo_review.py"
RAW1 = REPO / "data" / "raw" / "2024-03_initial"
TRUTH = REPO / "data" / "demo" / "truth"
UPDATE = REPO / "data" / "demo" / "update_round" / "2025-03_update"
DECISIONS = REPO / "data" / "decisions" / "screening.csv"

#: How each export marks the start of a record (counted independently of any evreview reader).
RECORD_START = {
    "scopus.ris": re.compile(r"^TY  - ", re.M),
    "pubmed.nbib": re.compile(r"^PMID- ", re.M),
    "wos.txt": re.compile(r"^PT ", re.M),
    "scholar.bib": re.compile(r"^@\w+\{", re.M),
}
READER_FOR = {"scopus.ris": "ris", "pubmed.nbib": "medline", "wos.txt": "wos", "scholar.bib": "bibtex"}


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_demo_review", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generator's output in a fresh temporary folder."""
    out = tmp_path_factory.mktemp("demo")
    assert _load_generator().main(["--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def studies() -> pd.DataFrame:
    return pd.read_csv(TRUTH / "studies.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    frame = pd.read_csv(TRUTH / "records.csv", dtype=str, keep_default_na=False)
    frame["source_index"] = frame["source_index"].astype(int)
    return frame


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads((TRUTH / "expected_counts.json").read_text(encoding="utf-8"))


def _generated_files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_regenerating_gives_byte_identical_files(generated: Path) -> None:
    produced = _generated_files(generated)
    assert len(produced) == 11
    for rel in produced:
        committed = REPO / rel
        assert committed.exists(), f"{rel} is generated but not committed (run scripts/make_demo_review.py)"
        assert committed.read_bytes() == (generated / rel).read_bytes(), f"{rel} differs from the generator"
    # Nothing stale beside them in the generator's folders.
    for folder in ("data/raw/2024-03_initial", "data/demo"):
        committed = {p.relative_to(REPO) for p in (REPO / folder).rglob("*") if p.is_file()}
        assert committed == {p for p in produced if str(p).startswith(folder)}


def test_generator_is_deterministic_in_process() -> None:
    module = _load_generator()
    assert module.build() == module.build()


def test_every_record_maps_to_a_study(records: pd.DataFrame, studies: pd.DataFrame) -> None:
    assert set(records["study_key"]) <= set(studies["study_key"])
    assert records["record_id"].is_unique
    assert not records.duplicated(["file", "source_index"]).any()
    for row in records.itertuples():
        assert row.record_id == make_record_id(row.search, row.source_file, row.source_index)
        assert row.source_file == f"data/raw/{row.search}/{Path(row.file).name}"
    per_study = records.groupby(["study_key", "search"]).size().unstack(fill_value=0)
    for s in studies.itertuples():
        n1 = per_study.loc[s.study_key].get("2024-03_initial", 0) if s.study_key in per_study.index else 0
        n2 = per_study.loc[s.study_key].get("2025-03_update", 0) if s.study_key in per_study.index else 0
        assert (n1, n2) == (int(s.n_records_round1), int(s.n_records_round2)), s.study_key
        assert n1 + n2 >= 1
        if s.first_round == "2024-03_initial":
            assert n1 >= 1


def test_record_counts_match_the_exports(records: pd.DataFrame, expected: dict) -> None:
    for folder, search in ((RAW1, "2024-03_initial"), (UPDATE, "2025-03_update")):
        for path in sorted(folder.iterdir()):
            text = path.read_text(encoding="utf-8")
            found = len(RECORD_START[path.name].findall(text))
            truth = records[(records["search"] == search) & (records["file"].str.endswith("/" + path.name))]
            assert found == len(truth), path
            assert sorted(truth["source_index"]) == list(range(found))
    r1 = expected["round1"]
    per_file = records[records["search"] == "2024-03_initial"].groupby("file").size().to_dict()
    assert per_file == r1["records_per_file"]
    assert sum(per_file.values()) == r1["total_records"]
    assert set(RECORD_START) == {Path(f).name for f in per_file}


def test_counts_add_up(records: pd.DataFrame, studies: pd.DataFrame, expected: dict) -> None:
    r1, r2 = expected["round1"], expected["round2"]
    s1 = studies[studies["first_round"] == "2024-03_initial"]
    rec1 = records[records["search"] == "2024-03_initial"]
    assert len(s1) == r1["unique_studies"] == rec1["study_key"].nunique()
    assert r1["duplicates_to_remove"] == len(rec1) - len(s1)
    assert 270 <= len(s1) <= 320
    files_per_study = rec1.groupby("study_key")["file"].nunique()
    assert (files_per_study > 1).sum() == r1["studies_in_2plus_files"]
    assert 0.2 <= r1["share_studies_in_2plus_files"] <= 0.35
    assert (s1["on_topic"] == "1").sum() == r1["on_topic_studies"]
    assert (s1["on_topic"] == "0").sum() == r1["off_topic_studies"] >= 50
    rules = Counter(s1.loc[s1["exclude_rule"] != "", "exclude_rule"])
    assert dict(rules) == r1["rule_exclusions"]
    assert {"year<2000", "language", "doc_type=conference", "doc_type=editorial"} <= set(rules)
    include = (s1["on_topic"] == "1") & (s1["exclude_rule"] == "")
    assert (s1["include_expected"] == "1").eq(include).all()
    assert include.sum() == r1["include_expected"]
    # Rule exclusions are visible in the study fields the rules read.
    for s in s1[s1["exclude_rule"] != ""].itertuples():
        if s.exclude_rule == "year<2000":
            assert int(s.year) < 2000
        elif s.exclude_rule == "language":
            assert s.language != "eng"
        else:
            assert s.exclude_rule == f"doc_type={s.doc_type}"
    # Update round: ~10% new studies and ~30 re-exports of round-1 studies.
    s2 = studies[studies["first_round"] == "2025-03_update"]
    rec2 = records[records["search"] == "2025-03_update"]
    assert len(s2) == r2["new_studies"] and 0.07 <= len(s2) / len(s1) <= 0.13
    reexported = set(rec2["study_key"]) & set(s1["study_key"])
    assert len(reexported) == r2["re_exported_round1_studies"] >= 25
    assert len(rec2) == r2["total_records"] == len(s2) + len(reexported)
    assert r2["unique_studies_after_update"] == len(studies)
    # Every kind of difference between duplicate copies that the README documents is planted.
    planted = Counter(v for vs in records["variations"] for v in vs.split(";") if v)
    documented = {"doi_missing", "title_typo", "title_upper", "journal_upper", "journal_abbreviated",
                  "journal_abbrev_and_full", "pages_abbreviated", "pages_endash", "year_epub_ahead",
                  "abstract_missing", "title_translated", "re_export"}
    assert set(planted) == documented
    assert planted["re_export"] == len(reexported)


def test_hard_negatives_are_distinct_studies_with_confusable_titles(
    studies: pd.DataFrame, records: pd.DataFrame
) -> None:
    by_key = studies.set_index("study_key")
    pairs = studies[studies["hard_negative_of"] != ""]
    assert 3 <= len(pairs) <= 6
    identical = 0
    for s in pairs.itertuples():
        other = by_key.loc[s.hard_negative_of]
        assert s.study_key != s.hard_negative_of
        a, b = s.title.lower(), other["title"].lower()
        assert a == b or a in b or b in a or a.split(".")[0] == b.split(".")[0]
        identical += a == b
        files = set(records.loc[records["study_key"] == s.study_key, "file"])
        other_files = set(records.loc[records["study_key"] == s.hard_negative_of, "file"])
        assert files & other_files, "both members must meet in one file"
    assert identical >= 2


def _cell(frame: pd.DataFrame, **want: str) -> int:
    columns = {"theme": "themes", "outcome_level": "outcome_levels", "evidence_type": "evidence_type",
               "stage": "stage", "place": "place"}
    mask = pd.Series(True, index=frame.index)
    for dim, value in want.items():
        mask &= frame[columns[dim]].str.split(";").map(lambda vals, v=value: v in vals)
    return int(mask.sum())


@pytest.mark.parametrize("after_update", [False, True])
def test_planted_gap_cells_hold_in_the_truth(studies: pd.DataFrame, expected: dict, after_update: bool) -> None:
    pool = studies if after_update else studies[studies["first_round"] == "2024-03_initial"]
    inc = pool[pool["include_expected"] == "1"]
    primary, reviews = inc[inc["kind"] == "primary"], inc[inc["kind"] == "review"]
    assert len(reviews) >= 5 and (reviews["evidence_type"] == "review").all()
    cells = expected["gap_cells_after_update" if after_update else "gap_cells"]
    # Absolute gap: no longitudinal evaluation of initiation_setup at all.
    assert _cell(primary, evidence_type="longitudinal", stage="initiation_setup") == 0 == cells[0]["studies"]
    assert _cell(primary, evidence_type="longitudinal") >= 10
    # Thin: initiation_setup is a small share, far below delivery.
    init = _cell(primary, stage="initiation_setup")
    assert init == cells[1]["studies"] and 5 <= init <= 0.12 * len(primary)
    assert _cell(primary, stage="delivery") > 4 * init
    # Thin: implementation specifics rarely independently evaluated.
    infra_eval = _cell(primary, theme="infrastructure_systems", evidence_type="independent_evaluation")
    assert infra_eval == cells[2]["studies"] and 1 <= infra_eval <= 2
    assert _cell(primary, evidence_type="independent_evaluation") >= 15
    # Synthesis gap: many primary studies, no review.
    assert _cell(primary, theme="behaviours_values", outcome_level="organisational") == cells[3]["studies"] >= 15
    assert _cell(reviews, theme="behaviours_values", outcome_level="organisational") == 0 == cells[3]["reviews"]
    # Every codebook value is used, so the map has all its rows and columns.
    for column, values in (("stage", 3), ("place", 6), ("evidence_type", 4)):
        assert primary[column].nunique() == values
    assert set(";".join(primary["themes"]).split(";")) == {
        "infrastructure_systems", "skills_expertise", "approaches", "behaviours_values"}


def test_decisions_refer_to_round1_records(records: pd.DataFrame, studies: pd.DataFrame, expected: dict) -> None:
    with DECISIONS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["key", "decision", "reviewer", "reason", "timestamp"]
    assert 35 <= len(rows) <= 50
    rec1 = records[records["search"] == "2024-03_initial"].set_index("record_id")
    truth = studies.set_index("study_key")
    assert {r["reviewer"] for r in rows} == {"reviewer_a", "reviewer_b"}
    assert {r["decision"] for r in rows} == {"include", "exclude", "maybe"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["timestamp"]) for r in rows)
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)
    by_key: dict[str, set[str]] = {}
    by_study: dict[str, set[str]] = {}
    for r in rows:
        assert r["key"] in rec1.index, r["key"]
        study = rec1.loc[r["key"], "study_key"]
        by_key.setdefault(r["key"], set()).add(r["decision"])
        by_study.setdefault(study, set()).add(r["decision"])
    conflicts = sorted(k for k, v in by_key.items() if len(v) > 1)
    assert conflicts == expected["decisions"]["conflicting_keys"] and len(conflicts) >= 2
    study_conflicts = sorted(k for k, v in by_study.items() if len(v) > 1)
    assert study_conflicts == expected["decisions"]["conflicting_studies"]
    assert len(study_conflicts) > len(conflicts), "one conflict only visible through duplicates"
    # Unanimous decisions agree with the planted truth.
    for study, decisions in by_study.items():
        if len(decisions) == 1 and decisions != {"maybe"}:
            assert (decisions == {"include"}) == (truth.loc[study, "on_topic"] == "1"), study


def test_abstracts_are_of_realistic_length() -> None:
    text = (RAW1 / "scopus.ris").read_text(encoding="utf-8")
    lengths = [len(line.split()) - 2 for line in text.splitlines() if line.startswith("AB  - ")]
    assert len(lengths) > 100
    assert min(lengths) >= 60 and max(lengths) <= 260
    assert sum(120 <= n <= 250 for n in lengths) / len(lengths) > 0.9


def test_readme_says_the_data_are_synthetic() -> None:
    text = (TRUTH / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in text
    assert "make_demo_review.py" in text


def _readers_missing() -> list[str]:
    from evreview.ingest.registry import readers

    return sorted(set(READER_FOR.values()) - set(readers()))


def test_ingest_round1_with_evreview_readers(records: pd.DataFrame, studies: pd.DataFrame) -> None:
    missing = _readers_missing()
    if missing:
        pytest.skip(f"format readers not available yet: {', '.join(missing)}")
    from evreview.ingest import ingest_file

    truth = records[records["search"] == "2024-03_initial"]
    dois = studies.set_index("study_key")["doi"].str.lower()  # the record table's DOIs are lower-case
    for path in sorted(RAW1.iterdir()):
        result = ingest_file(path, search="2024-03_initial", root=REPO)
        frame = result.records
        expected_rows = truth[truth["file"].str.endswith("/" + path.name)].sort_values("source_index")
        assert result.reports[0].source_format == READER_FOR[path.name]
        assert len(frame) == len(expected_rows), path.name
        assert result.reports[0].failed == 0
        assert (frame["title"].str.len() > 0).all(), path.name
        assert list(frame["record_id"]) == list(expected_rows["record_id"])
        # A DOI a record carries is the study's DOI (readers must not garble it).
        with_doi = frame["doi"] != ""
        study_dois = expected_rows["study_key"].map(dois).to_numpy()
        assert (frame.loc[with_doi, "doi"].to_numpy() == study_dois[with_doi.to_numpy()]).all(), path.name
