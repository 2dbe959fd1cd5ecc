"""Deduplication: keys, blocking, rules, the anti-chaining guard, decisions, study ids, outputs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evreview.dedup import Deduplicator, read_decisions, read_previous, write_outputs
from evreview.dedup.benchmark import (
    bib_row_to_fields,
    caption_flags,
    records_from_bib_csv,
    score_clustering,
    score_flags,
)
from evreview.dedup.blocking import candidate_pairs, pairs_within_groups
from evreview.dedup.codes import factorize
from evreview.dedup.keys import (
    american_spelling,
    author_surnames,
    build_keys,
    clean_title,
    doi_key,
    first_page,
    fold_text,
    issue_is_counter,
    issue_key,
    journals_compatible,
    spelled_titles,
    title_contrast,
    title_numbers,
    venue_alias,
)
from evreview.dedup.merge import merge_studies
from evreview.errors import ConfigError
from evreview.records import fold, make_record_id


@pytest.fixture
def records(fixtures_dir: Path) -> pd.DataFrame:
    return records_from_bib_csv(fixtures_dir / "dedup" / "records.csv", search="round1")


def studies_by_source(model: Deduplicator) -> dict[str, str]:
    return dict(zip(model.duplicates_["source_id"], model.duplicates_["study_id"]))


def make_records(*rows: dict, search: str = "") -> pd.DataFrame:
    out = []
    for n, row in enumerate(rows):
        fields = bib_row_to_fields(row)
        fields.update(record_id=make_record_id(search, "t.csv", n), search=search, source_file="t.csv",
                      source_index=n, source_id=row.get("ID", str(n)))
        out.append(fields)
    return pd.DataFrame(out)


# --- keys -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["Héllo, Wörld!", "Платформенная занятость: x", "a_b  c", "日本語のタイトル"])
def test_fold_text_matches_records_fold(text: str) -> None:
    assert fold_text(text) == fold(text).replace("_", " ").strip() or fold_text(text) == " ".join(
        fold(text).replace("_", " ").split())


def test_fold_text_ascii_fast_path_is_str_translate() -> None:
    # the byte-table fast path folds ASCII exactly as lower + str.translate + str.split did
    import random
    import string

    table = str.maketrans({ch: " " for ch in string.punctuation + "\t\n\r\x0b\x0c"})
    chars = [chr(c) for c in range(128)]
    rng = random.Random(4)
    texts = ["".join(chars), *chars, *("".join(rng.choices(chars, k=rng.randint(0, 12))) for _ in range(3000))]
    for text in texts:
        assert fold_text(text) == " ".join(text.lower().translate(table).split()), repr(text)


def test_clean_title_drops_database_notes() -> None:
    assert clean_title("Anti-FH autoantibodies.[Erratum appears in Am J Transplant. 2009 Sep;9(9):2205") == \
        "Anti-FH autoantibodies."
    assert clean_title("Update on HPV. [Review] [33 refs]") == "Update on HPV."
    assert clean_title("[Indications for living kidney donation]") == "[Indications for living kidney donation]"


def test_doi_key_merges_cochrane_versions_and_ignores_truncated() -> None:
    assert doi_key("10.1002/14651858.cd002273.pub2") == doi_key("10.1002/14651858.cd002273.pub3")
    assert doi_key("10.17705/1cais.") == ""
    assert doi_key("10.1000/a.1") != doi_key("10.1000/b.2")


def test_first_page_and_journals() -> None:
    assert first_page("e1234") == "1234"
    assert first_page("CD002273") == "2273"
    assert first_page("Suppl-29") == ""
    assert journals_compatible("nat rev nephrol", "nature reviews nephrology")
    assert not journals_compatible("journal digital studies", "workshop digital studies")


def test_author_surnames_any_style() -> None:
    assert author_surnames(["Zuber, J", "B. Abrahao", "Le Quintrec M"]) == ["zuber", "abrahao", "le"]
    assert author_surnames(["UNKNOWN"]) == []


#: British spellings and their American forms: each pair spelt alike by american_spelling
BRITISH_AMERICAN = [
    ("ageing", "aging"), ("modelling", "modeling"), ("labelled", "labeled"), ("travelled", "traveled"),
    ("counselling", "counseling"), ("signalling", "signaling"), ("oestrogen", "estrogen"), ("foetal", "fetal"),
    ("licence", "license"), ("licences", "licenses"), ("defence", "defense"), ("practise", "practice"),
    ("practised", "practiced"), ("practising", "practicing"), ("catalogue", "catalog"), ("catalogues", "catalogs"),
    ("programme", "program"), ("programmes", "programs"), ("cheque", "check"), ("plough", "plow"),
    ("draught", "draft"), ("aluminium", "aluminum"), ("sulphate", "sulfate"), ("paediatric", "pediatric"),
    ("orthopaedic", "orthopedic"), ("anaemia", "anemia"), ("haemoglobin", "hemoglobin"),
    ("oesophageal", "esophageal"), ("gynaecology", "gynecology"), ("diarrhoea", "diarrhea"),
    ("manoeuvre", "maneuver"), ("manoeuvres", "maneuvers"), ("tumour", "tumor"), ("behavioural", "behavioral"),
    ("centre", "center"), ("centres", "centers"), ("randomised", "randomized"), ("organisation", "organization"),
    ("analyse", "analyze"), ("grey", "gray"), ("judgement", "judgment"), ("artefacts", "artifacts"),
    ("speciality", "specialty"), ("orientated", "oriented"), ("mould", "mold"),
]


@pytest.mark.parametrize(("british", "american"), BRITISH_AMERICAN)
def test_american_spelling_writes_british_spellings_the_american_way(british: str, american: str) -> None:
    assert american_spelling(british) == american_spelling(american)


def test_american_spelling_changes_no_number_word() -> None:
    """"four" keeps its "our": compare.py reads titles alike once spelt as titles with the same numbers."""
    numbers = "zero one two three four five six seven eight nine ten eleven twelve"
    assert american_spelling(numbers) == numbers
    assert american_spelling("our") == american_spelling("or") != american_spelling("four")


def test_spelling_a_whole_title_spells_each_word(records: pd.DataFrame) -> None:
    """The rules keep to one word: a title (or titles joined by line breaks), as build_keys spells
    them, comes out as its words spelt one by one (a rule's anchor at a word's end sees a space or a
    line break; "re" alone, "there", "four" are left alone)."""
    titles = [fold_text(t) for t in records["title"]] + [
        "re evaluation of the centre s fibres there were four centres", "programmes practised in mould",
        "a national programme for healthy ageing modelling the labelled costs", "", "x", "centre", "re",
        "Платформенная занятость", "hämolytisch urämisches syndrom",
    ]
    titles = [fold_text(t) for t in titles]
    word_by_word = [" ".join(american_spelling(word) for word in title.split(" ")) for title in titles]
    assert spelled_titles(titles) == word_by_word
    assert american_spelling("\n".join(titles)).split("\n") == word_by_word
    unchanged = "a title the rules leave alone"
    assert spelled_titles([unchanged])[0] is unchanged  # the same object: no second string per record


# --- blocking -----------------------------------------------------------------------------------

def test_pairs_within_groups_all_pairs_and_window() -> None:
    codes = np.array([0, 0, 0, -1, 1, 1])
    pairs = pairs_within_groups(codes, np.arange(6), max_block=50, window=2)
    assert sorted(map(tuple, pairs.tolist())) == [(0, 1), (0, 2), (1, 2), (4, 5)]
    big = pairs_within_groups(np.zeros(100, dtype=int), np.arange(100), max_block=10, window=2)
    assert len(big) == 99 + 98  # neighbours only: linear, not 4950


def test_candidate_pairs_are_unique_and_sorted(records: pd.DataFrame) -> None:
    pairs = candidate_pairs(build_keys(records))
    assert (pairs["i"] < pairs["j"]).all()
    assert not pairs.duplicated(["i", "j"]).any()
    assert pairs.equals(pairs.sort_values(["i", "j"]).reset_index(drop=True))


SPELT_BRITISH = ("A national programme for healthy ageing: modelling the labelled costs of counselling in "
                 "paediatric anaemia")
SPELT_AMERICAN = "A national program for healthy aging: modeling the labeled costs of counseling in pediatric anemia"


def test_titles_in_british_and_american_spelling_are_paired_on_their_title() -> None:
    """Several spellings apart, the two titles differed in their start ("anationalprogramme..."), their
    end ("...paediatricanaemia") and their four longest words (the British ones are longer): no
    blocking key paired them, and without a DOI or pages the duplicate never reached a rule."""
    keys = build_keys(make_records({"title": SPELT_BRITISH}, {"title": SPELT_AMERICAN}))
    pairs = candidate_pairs(keys)
    assert pairs[["i", "j"]].values.tolist() == [[0, 1]]
    assert set(pairs["blocked_by"].iloc[0].split("+")) == {"title_prefix", "title_suffix", "title_words"}
    assert keys["title_compact"].nunique() == 1 and keys["title_key"].nunique() == 2


def test_titles_are_scored_as_spelt_the_american_way() -> None:
    """The rules that merge on the title's likeness read the spelt titles: the two spellings score 100."""
    from evreview.dedup.compare import compare_pairs

    keys = build_keys(make_records({"title": SPELT_BRITISH}, {"title": SPELT_AMERICAN}))
    scored = compare_pairs(keys, pd.DataFrame({"i": [0], "j": [1], "blocked_by": ["title_prefix"]}))
    assert scored[["title_score", "title_token_score"]].iloc[0].tolist() == [100.0, 100.0]
    assert not scored["title_contrast"].iloc[0]


# --- the fixture as a whole ---------------------------------------------------------------------

def test_fixture_clusters(records: pd.DataFrame) -> None:
    model = Deduplicator().fit(records)
    s = studies_by_source(model)
    assert s["a1"] == s["a2"] == s["a3"]  # case, hyphen, abbreviated journal, "[Review]", 23-5
    assert s["b1"] == s["b2"]
    assert s["c1"] != s["b1"]  # erratum is not the article
    assert s["d1"] == s["d2"]  # Cyrillic, case differs
    assert s["e1"] != s["e2"]  # identical generic titles, different authors and pages
    assert s["f1"] == s["f2"]  # only a DOI in common (DOI case differs)
    assert s["g1"] != s["g2"]  # no title, no identifier: never merged automatically
    assert s["h1"] == s["h2"]  # Cochrane pub2/pub3 of one review
    assert s["i1"] != s["i2"]  # identical record, different DOIs
    assert len(set(s.values())) == len(records) - 2 - 1 - 1 - 1 - 1


def test_one_trial_in_two_registers_is_one_study_by_its_registration_number() -> None:
    """ClinicalTrials.gov names the trial by its brief title, WHO ICTRP by its scientific one: the
    two records were two studies. A register record's id is the trial's registration number; a
    database's accession number is not, so two database records with one id stay apart."""
    from evreview.dedup.keys import registration_keys

    assert registration_keys([" nct04000001 ", "123", None], ["ClinicalTrials.gov", "Scopus", "WHO ICTRP"]) == [
        "NCT04000001", "", ""]
    rows = [
        ("ct", "Community Partnership to Reduce Diabetes Risk", "NCT04000001", "ClinicalTrials.gov", 2019),
        ("who", "Community-Academic Partnership to Reduce Diabetes Risk in Northtown: a Cluster Randomised Trial",
         "NCT04000001", "WHO ICTRP", 2019),
        ("other", "Walking groups run with local councils", "ISRCTN12345678", "WHO ICTRP", 2021),
        ("db1", "Trust and reciprocity in place-based partnerships", "A-1", "Scopus", 2020),
        ("db2", "Measuring the social value of university research", "A-1", "Web of Science", 2020),
    ]
    model = Deduplicator().fit(_register_records(rows))
    study = dict(zip(model.duplicates_["source_file"], model.duplicates_["study_id"], strict=True))
    assert study["ct.csv"] == study["who.csv"]
    assert len({study["ct.csv"], study["other.csv"], study["db1.csv"], study["db2.csv"]}) == 4
    same = model.pairs_[model.pairs_["decision"] == "same"]
    assert same["rule"].astype(str).tolist() == ["registration_match"]


def _register_records(rows: list[tuple[str, str, str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        {"record_id": [make_record_id("r1", f"{r[0]}.csv", 0) for r in rows], "search": "r1",
         "source_file": [f"{r[0]}.csv" for r in rows], "source_index": 0, "title": [r[1] for r in rows],
         "source_id": [r[2] for r in rows], "source_database": [r[3] for r in rows], "year": [r[4] for r in rows],
         "authors": [[] for _ in rows]}
    )


def test_registration_numbers_in_their_every_form_and_only_those() -> None:
    """An EU trial is listed by ICTRP once per member state and by the EU register bare; a
    Japanese one under ICTRP's prefix. A reference manager's "ID - 5" in a register's RIS export is
    no registration number (two trials with "5" were one study)."""
    from evreview.dedup.keys import registration_number

    assert {registration_number(v) for v in ("EUCTR2020-001234-56-DE", "EUCTR2020-001234-56-FR",
                                              "2020-001234-56")} == {"EU2020-001234-56"}
    assert registration_number("JPRN-UMIN000012345") == registration_number("UMIN000012345") == "UMIN000012345"
    assert registration_number(" nct04000001") == "NCT04000001"
    assert registration_number("5") == registration_number("A-1") == ""
    rows = [("a", "A trial of exercise", "5", "ISRCTN", 2020), ("b", "A trial of diet", "5", "ANZCTR", 2021)]
    study = Deduplicator().fit(_register_records(rows)).duplicates_["study_id"]
    assert study.nunique() == 2


def test_registration_numbers_decide_against_titles() -> None:
    """The same number merges titles that differ only in who the trial is about (adults /
    adolescents: title_population_differs had kept the trial's two records apart); two numbers
    keep one title's two trials for a reviewer, and no chain joins them through a third record."""
    rows = [
        ("ct", "Drug X in Patients With Severe Asthma", "NCT04000001", "ClinicalTrials.gov", 2019),
        ("who", "Drug X in Adults With Severe Asthma", "NCT04000001", "WHO ICTRP", 2019),
        ("ct2", "Drug X in Patients With Severe Asthma", "NCT04000002", "ClinicalTrials.gov", 2019),
    ]
    model = Deduplicator().fit(_register_records(rows))
    study = dict(zip(model.duplicates_["source_file"], model.duplicates_["study_id"], strict=True))
    assert study["ct.csv"] == study["who.csv"] != study["ct2.csv"]
    rules = set(model.pairs_["rule"].astype(str))
    assert {"registration_match", "registration_differs"} <= rules


def test_duplicates_table_contract(records: pd.DataFrame) -> None:
    model = Deduplicator().fit(records)
    dup = model.duplicates_
    assert list(dup.columns) == ["record_id", "source_file", "source_id", "study_id", "cluster_id", "kept"]
    assert len(dup) == len(records) and set(dup["record_id"]) == set(records["record_id"])
    assert (dup["study_id"] == dup["cluster_id"]).all()
    assert (dup.groupby("study_id")["kept"].sum() == 1).all()
    # study id = "s" + record id of the earliest member
    first = records.sort_values("source_index").groupby(dup.set_index("record_id").loc[records["record_id"],
                                                                                      "study_id"].to_numpy())
    for sid, group in first:
        assert sid == "s" + group["record_id"].iloc[0][1:]


def test_studies_merge_most_complete(records: pd.DataFrame) -> None:
    model = Deduplicator().fit(records)
    studies = model.studies_.set_index("study_id")
    sid = studies_by_source(model)["a1"]
    row = studies.loc[sid]
    assert row["doi"] == "10.1038/nrneph.2010.155"  # from the one member that has it
    assert row["n_members"] == 3 and len(row["member_record_ids"]) == 3
    assert studies["n_members"].sum() == len(records)


def test_pairs_audit_names_rule_and_scores(records: pd.DataFrame) -> None:
    model = Deduplicator().fit(records)
    pairs = model.pairs_
    assert (pairs["record_id_a"] < pairs["record_id_b"]).all()
    assert pairs["rule"].ne("").all() and pairs["decision"].isin(["same", "maybe", "different"]).all()
    ids = dict(zip(records["source_id"], records["record_id"]))
    i1, i2 = sorted([ids["i1"], ids["i2"]])
    row = pairs[(pairs["record_id_a"] == i1) & (pairs["record_id_b"] == i2)].iloc[0]
    assert row["decision"] == "different" and row["rule"] == "doi_conflict"
    assert row["method"].startswith("evreview.dedup/1 ")


def test_deterministic_and_order_independent(records: pd.DataFrame) -> None:
    a = Deduplicator().fit(records)
    b = Deduplicator().fit(records.sample(frac=1, random_state=3))
    pd.testing.assert_frame_equal(a.duplicates_, b.duplicates_)
    pd.testing.assert_frame_equal(a.pairs_, b.pairs_)


# --- anti-chaining guard ------------------------------------------------------------------------

def test_guard_stops_chaining_through_a_record_without_doi() -> None:
    """A~B (no DOI on B) and B~C, but A and C have different DOIs: A and C never share a cluster."""
    base = {"title": "Effects of exercise on sleep quality in older adults", "year": "2019",
            "author": "Kim, S and Lee, J", "journal": "Sleep Medicine", "volume": "50", "pages": "1-9"}
    recs = make_records({**base, "ID": "A", "doi": "10.1000/aaa"}, {**base, "ID": "B"},
                        {**base, "ID": "C", "doi": "10.1000/ccc"})
    s = studies_by_source(Deduplicator().fit(recs))
    assert s["A"] != s["C"]
    assert s["B"] in (s["A"], s["C"])


# --- reviewers' decisions and previous rounds ---------------------------------------------------

def _write_decisions(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_reviewer_different_splits_and_same_merges(records: pd.DataFrame, tmp_path: Path) -> None:
    ids = dict(zip(records["source_id"], records["record_id"]))
    path = _write_decisions(tmp_path / "duplicates.csv", [
        {"record_id_a": ids["a1"], "record_id_b": ids["a2"], "decision": "different", "reviewer": "ana",
         "timestamp": "2026-01-01T10:00"},
        {"record_id_a": ids["g1"], "record_id_b": ids["g2"], "decision": "same", "reviewer": "ben",
         "timestamp": "2026-01-01T10:01"},
    ])
    model = Deduplicator().fit(records, decisions=read_decisions(path))
    s = studies_by_source(model)
    assert s["a1"] != s["a2"]  # the reviewer wins, also against chaining via a3
    assert s["g1"] == s["g2"]
    rev = model.pairs_[model.pairs_["method"] == "reviewer"]
    assert set(rev["reviewer"]) == {"ana", "ben"} and set(rev["rule"]) == {"reviewer_different", "reviewer_same"}


def test_reviewers_who_disagree_on_a_pair_are_listed_not_silently_overruled(tmp_path: Path) -> None:
    """The last row about a pair still wins, but another reviewer's differing latest word on it
    is named (reviewer, decision, line) in the decisions and in the run's notes; one reviewer
    changing their mind, or reviewers who agree, are no conflict."""
    path = tmp_path / "duplicates.csv"
    path.write_text(
        "record_id_a,record_id_b,decision,reviewer,timestamp\n"
        "r1,r2,different,ana,2026-01-01\n"   # ana, overruled by ben below
        "r2,r1,same,ben,2026-01-02\n"
        "r3,r4,same,ana,2026-01-01\n"        # ana changes her mind: no conflict
        "r3,r4,different,ana,2026-01-02\n"
        "r5,r6,same,ana,2026-01-01\n"        # both agree
        "r5,r6,same,ben,2026-01-02\n"
        "r7,r8,same,Ana,2026-01-01\n"        # Ana and ana are one reviewer who changed her mind
        "r7,r8,different,ana,2026-01-02\n"
    )
    d = read_decisions(path).set_index(["record_id_a", "record_id_b"])
    assert d.loc[("r1", "r2"), "decision"] == "same"
    assert d.loc[("r1", "r2"), "overruled"] == "ana: different (line 2)"
    assert d.loc[("r3", "r4"), "overruled"] == "" and d.loc[("r5", "r6"), "overruled"] == ""
    assert d.loc[("r7", "r8"), "overruled"] == ""
    records = pd.DataFrame({
        "record_id": [f"r{i}" for i in range(1, 7)], "source_file": "f.ris", "source_index": range(6),
        "title": [f"A distinct study title number {i} about something" for i in range(1, 7)],
    })
    model = Deduplicator().fit(records, decisions=read_decisions(path))
    conflicts = [n for n in model.notes_ if n.startswith("reviewers disagree")]
    assert conflicts == ["reviewers disagree on r1 / r2: ben's 'same' (line 3) is applied over "
                         "ana: different (line 2); add a row to resolve it"]
    assert model.n_studies_ == 4  # the two "same" pairs are merged: ben's word on r1 / r2 is applied
    # and the audit table keeps ana's word beside ben's, for the report and the reviewers
    pairs = model.pairs_.set_index(["record_id_a", "record_id_b"])
    assert pairs.loc[("r1", "r2"), "overruled"] == "ana: different (line 2)"
    assert pairs.loc[("r1", "r2"), "reviewer"] == "ben"
    assert (pairs.drop(index=[("r1", "r2")])["overruled"] == "").all()

@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("record_id_a,record_id_b,decision,reviewer,timestamp\nr1,r2,dupe,ana,t\n", ":2: decision must be"),
        ("record_id_a,record_id_b,decision,reviewer\nr1,r2,same,ana\n", "missing column(s) timestamp"),
        ("record_id_a,record_id_b,decision,reviewer,timestamp\nr1,r2,same,ana,t\nr1,r1,same,ana,t\n", ":3: a record"),
        ("record_id_a,record_id_b,decision,reviewer,timestamp\nr1,r2,same,,t\n", ":2: reviewer is empty"),
    ],
)
def test_bad_decisions_name_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "duplicates.csv"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        read_decisions(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_decisions_saved_by_excel_are_read(tmp_path: Path) -> None:
    """Excel writes ",,,," for rows it once touched and keeps the header's case: both stopped
    the run ("record_id_a and record_id_b must both be given"; "missing column(s) record_id_a,
    ..." with the header holding Record_ID_A), while screening.csv accepted them."""
    path = tmp_path / "duplicates.csv"
    path.write_bytes(b"\xef\xbb\xbfRecord_ID_A, Record_ID_B ,Decision,Reviewer,Timestamp,,\r\n"
                     b"r2,r1,Same ,ana,2024-05-02,,\r\n,,,,,,\r\n,,,,,,\r\n")
    d = read_decisions(path)
    assert d[["record_id_a", "record_id_b", "decision", "reviewer", "line"]].values.tolist() == [
        ["r1", "r2", "same", "ana", 2]]


def test_semicolon_separated_decisions_say_so(tmp_path: Path) -> None:
    path = tmp_path / "duplicates.csv"
    path.write_text("record_id_a;record_id_b;decision;reviewer;timestamp\nr1;r2;same;ana;t\n")
    with pytest.raises(ConfigError, match=f"{path}:1: the columns are separated by semicolons"):
        read_decisions(path)


def test_previous_study_ids_survive_a_new_round(records: pd.DataFrame, tmp_path: Path) -> None:
    first_round = records[records["source_id"].isin(["b1", "d1", "e1"])]
    model1 = Deduplicator().fit(first_round)
    write_outputs(model1, tmp_path / "r1")
    previous = read_previous(tmp_path / "r1" / "duplicates.csv")
    # round 2: new records, one of which comes earlier in (round, file, position) order than b1
    later = records_from_bib_csv(Path(__file__).parent / "fixtures" / "dedup" / "records.csv", search="round0")
    later = later[later["source_id"].isin(["b2", "d2"])]
    both = pd.concat([first_round, later], ignore_index=True)
    model2 = Deduplicator().fit(both, previous=previous)
    old = dict(zip(model1.duplicates_["source_id"], model1.duplicates_["study_id"]))
    new = model2.duplicates_.groupby("source_id")["study_id"].agg(set).to_dict()
    assert new["b2"] == {old["b1"]} and new["d2"] == {old["d1"]}


def test_write_outputs(records: pd.DataFrame, tmp_path: Path) -> None:
    paths = write_outputs(Deduplicator().fit(records), tmp_path)
    dup = pd.read_csv(paths["duplicates"], dtype=str)
    assert len(dup) == len(records)
    studies = pd.read_parquet(paths["studies"])
    assert {"study_id", "member_record_ids", "source_databases", "n_members"} <= set(studies.columns)
    assert paths["pairs"].suffix == ".parquet"
    assert pd.read_parquet(paths["pairs"]).shape[0] > 0
    first = paths["pairs"].read_bytes()
    write_outputs(Deduplicator().fit(records), tmp_path)
    assert paths["pairs"].read_bytes() == first  # byte-identical re-run


def test_duplicate_record_ids_are_a_user_error(records: pd.DataFrame) -> None:
    from evreview.errors import EvreviewError

    with pytest.raises(EvreviewError, match="more than once"):
        Deduplicator().fit(pd.concat([records, records.iloc[:1]]))


# --- scoring ------------------------------------------------------------------------------------

def test_score_clustering_counts_like_asysd() -> None:
    gold = pd.Series(["g", "g", "g", "x", "y"])
    pred = pd.Series(["p", "p", "q", "x", "x"])  # y merged into x: y lost
    kept = pd.Series([True, False, True, True, False])
    s = score_clustering(gold, pred, kept)
    assert (s.tp, s.fn, s.tn, s.fp) == (1, 1, 2, 1)
    assert s.lost_entities == 1


def test_score_flags_counts_each_record_against_its_flag(tmp_path: Path) -> None:
    """SRA convention: every member of a duplicate set is flagged, so a flagged record left alone
    is a miss and an unflagged record in a study with others is one to look at."""
    library = tmp_path / "lib.xml"
    captions = ["Duplicate", "", "Duplicate", None, "Duplicate "]
    library.write_text("<xml><records>" + "".join(
        "<record><titles><title>t</title></titles>" + (f"<caption>{c}</caption>" if c is not None else "") + "</record>"
        for c in captions) + "</records></xml>")
    flags = caption_flags(library)
    assert flags == [True, False, True, False, True]
    s = score_flags(flags, ["a", "b", "a", "b", "c"])  # 1+3 together; 2+4 together but unflagged; 5 alone
    assert (s.flagged, s.flagged_grouped, s.flagged_alone, s.grouped_unflagged, s.studies) == (3, 2, 1, 2, 3)
    assert s.sensitivity == pytest.approx(2 / 3)
    assert s.specificity == 0.0
    with pytest.raises(ValueError, match="5 flags for 4 records"):
        score_flags(flags, ["a"] * 4)


# --- the curated pair cases (edge cases a reviewer would check) ---------------------------------

PAIR_CASES = Path(__file__).parent / "fixtures" / "dedup" / "pair_cases.json"


@pytest.mark.parametrize("case", json.loads(PAIR_CASES.read_text())["cases"], ids=lambda c: c["id"])
def test_pair_cases(case: dict) -> None:
    recs = make_records(*(
        {k: v for k, v in rec.items() if isinstance(v, str)} for rec in (case["record_a"], case["record_b"])
    ))
    merged = Deduplicator().fit(recs).n_studies_ == 1
    assert merged == case["expected_duplicate"], case["note"]


# --- command line -------------------------------------------------------------------------------

def test_cli_end_to_end_and_user_errors(records: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from evreview.dedup.commands import main
    from evreview.ingest import write_records

    table = tmp_path / "records.parquet"
    write_records(records, table)
    assert main(["dedup", str(table), "--out", str(tmp_path / "out")]) == 0
    dup = pd.read_csv(tmp_path / "out" / "duplicates.csv", dtype=str)
    assert len(dup) == len(records)
    # re-run with the first run as "previous": same study ids
    assert main(["dedup", str(table), "--out", str(tmp_path / "out2"),
                 "--previous", str(tmp_path / "out" / "duplicates.csv")]) == 0
    again = pd.read_csv(tmp_path / "out2" / "duplicates.csv", dtype=str)
    pd.testing.assert_frame_equal(dup, again)
    bad = tmp_path / "decisions.csv"
    bad.write_text("record_id_a,record_id_b,decision,reviewer,timestamp\nr1,r2,perhaps,ana,t\n")
    assert main(["dedup", str(table), "--out", str(tmp_path / "out3"), "--decisions", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: decision must be" in err and "Traceback" not in err
    # a decision naming no record of the run (a typo) was skipped with a count in the log, exit 0
    first = records["record_id"].iloc[0]
    bad.write_text(f"record_id_a,record_id_b,decision,reviewer,timestamp\n{first},{first[:-1]},same,ana,t\n")
    assert main(["dedup", str(table), "--out", str(tmp_path / "out3"), "--decisions", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: record {first[:-1]!r} is not a record_id of this run" in err and "Traceback" not in err
    assert main(["dedup", str(tmp_path / "missing.parquet"), "--out", str(tmp_path / "o")]) == 2
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(table.read_bytes()[:100])
    capsys.readouterr()
    assert main(["dedup", str(damaged), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{damaged}: cannot read record table" in err and "Traceback" not in err


def test_dedup_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, evreview.dedup.commands, evreview.dedup; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_dedup_command_imports_with_a_one_thread_openblas_and_frozen_modules(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    """Dedup does no linear algebra: the command spares OpenBLAS's thread pool, and leaves the
    environment (what child processes inherit) as it was; the imported modules are frozen out
    of the collector's way, which is running again afterwards."""
    import os
    import subprocess
    import sys

    pytest.importorskip("threadpoolctl")
    # checked at exit: as the program, main() ends the process itself once the outputs are written
    code = f"""
import atexit, os, sys
from evreview.cli import main

def report():
    import gc, threadpoolctl, pyarrow
    print([i["num_threads"] for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"])
    print("OPENBLAS_NUM_THREADS" in os.environ)
    print(gc.isenabled() and gc.get_freeze_count() > 0)
    print(pyarrow.default_memory_pool().backend_name)

atexit.register(report)
sys.argv = ["evreview", "dedup", {str(fixtures_dir / "dedup" / "records.csv")!r}, "--out", {str(tmp_path / "out")!r}]
assert main() == 0  # as the program: main parses the command line itself
"""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "ARROW_DEFAULT_MEMORY_POOL")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    threads, leaked, frozen, pool = out.stdout.strip().split("\n")
    assert frozen == "True"
    assert pool == "system"  # the program's Arrow allocator (evreview.cli.ARROW_POOL)
    if threads == "[]":
        pytest.skip("NumPy is not linked to OpenBLAS")
    assert threads == "[1]" and leaked == "False"
    # a user's own setting wins
    env["OPENBLAS_NUM_THREADS"] = "2"
    env["ARROW_DEFAULT_MEMORY_POOL"] = "mimalloc"  # a user's own choice wins
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip().split("\n") == ["[2]", "True", "True", "mimalloc"]
    env.pop("ARROW_DEFAULT_MEMORY_POOL")
    # Python code calling main(argv) keeps its process as it was: no frozen heap, default threads
    env.pop("OPENBLAS_NUM_THREADS")
    as_call = code.replace("sys.argv = [", "argv = [").replace("main() == 0", "main(argv[1:]) == 0")
    out = subprocess.run([sys.executable, "-c", as_call], capture_output=True, text=True, check=True, env=env)
    threads, _, frozen, pool = out.stdout.strip().split("\n")
    assert frozen == "False" and pool != "system"
    if (os.cpu_count() or 1) > 1:
        assert threads != "[1]"



def test_dedup_program_ends_its_process_with_every_output_written(tmp_path: Path, fixtures_dir: Path) -> None:
    """As the program, ``evreview dedup`` ends the process itself (no module teardown): the
    outputs equal those of a Python call, the summary and atexit handlers still come out, the
    exit code is 0, and a user's mistake still exits 2 with its message."""
    import os
    import subprocess
    import sys

    from evreview.cli import main

    records = fixtures_dir / "dedup" / "records.csv"
    code = f"""
import atexit, sys
atexit.register(lambda: print("atexit ran"))
print("buffered before the run", end="")  # still in stdout's buffer when the process ends
from evreview.cli import main
sys.argv = ["evreview", "dedup", {str(records)!r}, "--out", {str(tmp_path / "program")!r}]
sys.exit(main())
print("unreachable")
"""
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout a buffered pipe
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=buffered)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "buffered before the runatexit ran\n"
    assert "studies;" in out.stderr and "wrote" in out.stderr
    assert main(["dedup", str(records), "--out", str(tmp_path / "call")]) == 0
    written = sorted(path.name for path in (tmp_path / "call").iterdir())
    assert sorted(path.name for path in (tmp_path / "program").iterdir()) == written
    for name in written:
        if name.endswith(".csv"):
            assert (tmp_path / "program" / name).read_bytes() == (tmp_path / "call" / name).read_bytes(), name
        elif name.endswith(".parquet"):
            assert pd.read_parquet(tmp_path / "program" / name).equals(pd.read_parquet(tmp_path / "call" / name))
    bad = subprocess.run([sys.executable, "-m", "evreview", "dedup", str(records), "--out", str(tmp_path / "x"),
                          "--workers", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--workers must be at least 1" in bad.stderr


@pytest.mark.parametrize("closed", [">&-", "2>&-", ">&- 2>&-"])
def test_dedup_program_with_its_standard_streams_closed(tmp_path: Path, fixtures_dir: Path, closed: str) -> None:
    """Run with stdout or stderr closed (Python makes that stream None), the program writes its
    outputs and exits 0: it flushed None at its own exit (an AttributeError traceback, exit 1)."""
    import subprocess
    import sys

    records = fixtures_dir / "dedup" / "records.csv"
    out_dir = tmp_path / "out"
    command = f'exec "$0" -m evreview dedup "$1" --out "$2" {closed}'
    out = subprocess.run(["sh", "-c", command, sys.executable, str(records), str(out_dir)],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert (out_dir / "duplicates.csv").exists()

# --- round 2 rules: each with a case it merges and a near miss it must not --------------------

LONG_TITLE = ("Anti-factor H autoantibodies in a fifth renal transplant recipient with atypical hemolytic "
              "uremic syndrome")
AUTHORS = "Le Quintrec, M. and Zuber, J. and Noel, L. H. and Thervet, E."


def _row(**fields: str) -> dict:
    base = {"title": LONG_TITLE, "author": AUTHORS, "year": "2009", "journal": "American Journal of Transplantation",
            "volume": "9", "number": "5", "pages": "1223-1229"}
    base.update(fields)
    return {k: v for k, v in base.items() if v != ""}


def _rules_of(model: Deduplicator) -> set[str]:
    return set(model.pairs_["rule"])


def test_erratum_on_other_pages_of_the_volume_merges() -> None:
    model = Deduplicator().fit(make_records(_row(), _row(number="9", pages="2205")))
    assert model.n_studies_ == 1 and "title_same_volume_other_pages" in _rules_of(model)
    # another volume: a different item (or a re-publication), never merged
    other = Deduplicator().fit(make_records(_row(), _row(volume="10", number="9", pages="2205")))
    assert other.n_studies_ == 2
    # other authors on other pages: not this rule
    third = Deduplicator().fit(make_records(_row(), _row(author="Smith, A. and Jones, B.", pages="2205")))
    assert third.n_studies_ == 2


def test_erratum_notice_with_its_own_doi_merges_with_the_article() -> None:
    article = _row(doi="10.1057/s41265-016-0001-y", pages="151-170")
    erratum = _row(title="Erratum to: " + LONG_TITLE, doi="10.1057/s41265-017-0039-5", pages="171")
    model = Deduplicator().fit(make_records(article, erratum))
    assert model.n_studies_ == 1 and "erratum_of_item" in _rules_of(model)
    # a reply by other authors repeats the title too: not merged
    reply = _row(title="Reply to: " + LONG_TITLE, author="Smith, A. and Jones, B.", doi="10.1000/x", pages="171")
    assert Deduplicator().fit(make_records(article, reply)).n_studies_ == 2
    # the erratum of another volume: not merged
    late = dict(erratum, volume="10")
    assert Deduplicator().fit(make_records(article, late)).n_studies_ == 2


def test_translated_title_sharing_doi_merges() -> None:
    german = _row(title="Arbeiten in der Plattformoekonomie: Grundlagen und Grenzen von Cloudwork und Gigwork",
                  author="Kirchner, Stefan", doi="10.1007/s11577-019-00587-w", pages="3-25", volume="71", number="1")
    english = dict(german, title="[Working in the platform economy: foundations and limits of online labour]",
                   author="Kirchner, S.")
    model = Deduplicator().fit(make_records(german, english))
    assert model.n_studies_ == 1 and "doi_match_translated_title" in _rules_of(model)
    # same DOI, unrelated title and other authors (a DOI pasted onto the wrong record): not merged
    wrong = dict(english, author="Attili, F.", pages="88-90")
    assert Deduplicator().fit(make_records(german, wrong)).n_studies_ == 2


def test_translated_title_sharing_doi_and_pmid_merges() -> None:
    a = _row(doi="10.1000/abc", pmid="123", title="Indikationen zur Lebendnierenspende bei Kindern und Jugendlichen")
    b = _row(doi="10.1000/abc", pmid="123", volume="", number="", pages="",
             title="[Indications for living kidney donation in children and adolescents]")
    recs = make_records(a, b)
    recs["pmid"] = ["123", "123"]
    model = Deduplicator().fit(recs)
    assert model.n_studies_ == 1
    recs["pmid"] = ["123", "124"]
    assert Deduplicator().fit(recs).n_studies_ == 2


def test_subtitle_dropped_on_the_same_pages_merges() -> None:
    full = _row(title="Infrastructure in the wild: What mapping in post-earthquake Nepal reveals about infrastructure",
                author="Soden, Robert and Palen, Leysia", journal="Proceedings of the 2016 CHI Conference",
                volume="", number="", pages="2796-2807", year="2016")
    short = dict(full, title="Infrastructure in the Wild", author="Soden, R. and Palen, L.")
    model = Deduplicator().fit(make_records(full, short))
    assert model.n_studies_ == 1 and "title_subtitle_dropped_locator" in _rules_of(model)
    elsewhere = dict(short, pages="101-110")
    assert Deduplicator().fit(make_records(full, elsewhere)).n_studies_ == 2


def test_conference_paper_indexed_a_year_later_merges() -> None:
    title = "Call for bids to improve matching efficiency: evidence from online labor markets"
    a = {"title": title, "author": "Guo, Xue and Gong, Jing and Pavlou, Paul A.", "year": "2017",
         "booktitle": "International Conference on Information Systems", "ENTRYTYPE": "inproceedings"}
    b = {"title": title, "author": "Guo, X. and Gong, J. and Pavlou, P.", "year": "2018",
         "booktitle": "ICIS : Transforming Society with Digital Innovation", "ENTRYTYPE": "inproceedings"}
    model = Deduplicator().fit(make_records(a, b))
    assert model.n_studies_ == 1 and "conference_version_adjacent_year" in _rules_of(model)
    # a journal version a year after the conference paper stays separate
    journal = dict(b, booktitle="", journal="Information Systems Research", ENTRYTYPE="article")
    assert Deduplicator().fit(make_records(a, journal)).n_studies_ == 2
    # the yearly minitrack introduction repeats its title and authors: separate items
    intro = "Digital work and the platform economy minitrack introduction for the conference"
    assert Deduplicator().fit(make_records(dict(a, title=intro), dict(b, title=intro))).n_studies_ == 2
    # another conference
    amcis = dict(b, booktitle="Americas Conference on Information Systems")
    assert Deduplicator().fit(make_records(a, amcis)).n_studies_ == 2


def test_journal_under_two_names_merges_on_volume_issue_and_authors() -> None:
    a = _row(journal="Jinko Chino Gakkai Ronbunshi", pages="")
    b = _row(journal="Transactions of the Japanese Society for Artificial Intelligence", pages="")
    model = Deduplicator().fit(make_records(a, b))
    assert model.n_studies_ == 1 and "title_locator_venue_renamed" in _rules_of(model)
    assert Deduplicator().fit(make_records(a, dict(b, number="6"))).n_studies_ == 2


def test_venue_alias_and_placeholders() -> None:
    assert venue_alias("icis transforming society digital innovation") == "icis"
    assert venue_alias("international conference information systems") == "icis"
    assert venue_alias("european conference information systems sharing society") == "ecis"
    assert venue_alias("journal information systems") == ""
    keys = build_keys(make_records(_row(volume="UNKNOWN"), _row(volume="2009"), _row()))
    assert keys["volume_key"].tolist() == ["", "", "9"]  # a placeholder and a volume that is the year


def test_issue_counter_column_is_ignored() -> None:
    files = ["a.csv"] * 60 + ["b.csv"] * 60
    issues = [str(1000 + n) for n in range(60)] + [str(n % 12 + 1) for n in range(60)]
    counter = issue_is_counter(issues, files)
    assert counter[:60].all() and not counter[60:].any()
    assert not issue_is_counter(issues[:10], files[:10]).any()  # too few records to tell


def test_partial_ratio_only_where_a_rule_reads_it() -> None:
    recs = make_records(_row(doi="10.1000/a"), _row(doi="10.1000/a", title="Something else entirely different here"),
                        _row(title=LONG_TITLE[:40] + " in children: a second and different cohort", pages="5-9"))
    model = Deduplicator().fit(recs)
    pairs = model.pairs_
    assert len(pairs) == 2  # every compared pair stays in the audit, scored or not
    doi_pair = pairs["doi"] == 1
    assert pairs.loc[doi_pair, "title_partial_score"].notna().all()
    assert pairs.loc[~doi_pair, "title_partial_score"].isna().any()


def test_formula_safe_matches_reporting() -> None:
    from evreview.reporting import neutralise_cell, neutralise_formulas

    frame = pd.DataFrame({"a": ["=1+2", "-1.5", "ok", None], "b": [1, 2, 3, 4],
                          "c": pd.array(["+a", "b", "-", "@x"], dtype="string")})
    per_cell = frame.astype(object).apply(lambda col: col.map(neutralise_cell) if col.name != "b" else col)
    per_cell = per_cell.astype(object)
    pd.testing.assert_frame_equal(neutralise_formulas(frame).astype(object), per_cell)


# --- issue #4: digital_work misses, and the faster merged-row builder ---------------------------

def test_issue_key_reads_month_names_as_numbers() -> None:
    assert issue_key("May") == issue_key("5") == "5"
    assert issue_key("May-Jun") == "5" and issue_key("Sept.") == "9" and issue_key("DEC") == "12"
    assert issue_key("June") != issue_key("May")
    assert issue_key("4 (1)") == "4" and issue_key("Suppl") == "suppl" and issue_key("") == ""


HBR_TITLE = "Upwork's CEO on how an introverted engineer learned to lead"


def _hbr(**fields: str) -> dict:
    base = {"title": HBR_TITLE, "author": "Kasriel, Stephane", "year": "2016", "journal": "Harvard Business Review",
            "volume": "94", "number": "5", "pages": "35+"}
    base.update(fields)
    return {k: v for k, v in base.items() if v != ""}


def test_title_behind_a_lead_in_in_the_same_issue_merges() -> None:
    """digital_work group 210: a teaser before the title, the issue as "May" vs 5, the volume as the year."""
    teaser = _hbr(title="How did it ... " + HBR_TITLE)
    plain = _hbr(author="Kasriel, S.", volume="2016", number="May", pages="")
    model = Deduplicator().fit(make_records(teaser, plain))
    assert model.n_studies_ == 1 and "title_lead_in_same_issue" in _rules_of(model)
    # another month's issue: a different item
    assert Deduplicator().fit(make_records(teaser, dict(plain, number="June"))).n_studies_ == 2
    # another author
    assert Deduplicator().fit(make_records(teaser, dict(plain, author="Smith, A."))).n_studies_ == 2
    # a short title inside a longer one is not specific enough
    short = "How CEOs learn"
    assert Deduplicator().fit(make_records(_hbr(title="Why and " + short), dict(plain, title=short))).n_studies_ == 2


def _jit(**fields: str) -> dict:
    base = {"title": "Sponsorship and IT vendor management of projects", "author": "Liu, Li and Yetton, Philip",
            "year": "2009", "journal": "Journal of Information Technology", "volume": "24", "number": "1",
            "pages": "46--54", "doi": "10.1057/JIT.2009.2"}
    base.update(fields)
    return {k: v for k, v in base.items() if v != ""}


def test_article_printed_twice_merges_only_at_the_same_length() -> None:
    """digital_work group 213: one article in two volumes with two DOIs; the near misses of the labelled sets stay."""
    first = _jit()
    again = _jit(year="2010", volume="25", pages="56--64", doi="10.1057/JIT.2008.23")
    model = Deduplicator().fit(make_records(first, again))
    assert model.n_studies_ == 1 and "duplicate_publication_same_length" in _rules_of(model)
    # a recurring special-section introduction: other length (7-13 vs 7-10)
    assert Deduplicator().fit(make_records(_jit(pages="7--13"), dict(again, pages="7--10"))).n_studies_ == 2
    # a one-page notice repeating the title
    assert Deduplicator().fit(make_records(first, dict(again, pages="90--90"))).n_studies_ == 2
    # the same paper in another journal, or two years later
    assert Deduplicator().fit(make_records(first, dict(again, journal="Information Systems Journal"))).n_studies_ == 2
    assert Deduplicator().fit(make_records(first, dict(again, year="2011"))).n_studies_ == 2


def test_merge_studies_picks_like_the_sorted_groupby(records: pd.DataFrame) -> None:
    """The NumPy merged-row builder against the plain definition: kept first, then most complete, then earliest."""
    model = Deduplicator().fit(records)
    studies = model.studies_.set_index("study_id")
    dup = model.duplicates_.set_index("record_id")
    recs = records.set_index("record_id")
    for sid, members in model.clusters_.items():
        kept = [r for r in members if dup.loc[r, "kept"]]
        assert len(kept) == 1
        row = studies.loc[sid]
        for col in ("title", "journal", "doi", "volume"):
            filled = [recs.loc[r, col] for r in members if isinstance(recs.loc[r, col], str) and recs.loc[r, col]]
            if isinstance(recs.loc[kept[0], col], str) and recs.loc[kept[0], col]:
                assert row[col] == recs.loc[kept[0], col]
            assert row[col] in filled or (row[col] == "" and not filled)
        assert row["member_record_ids"] == members and row["n_members"] == len(members)
    assert studies["year"].dtype == "Int64" and model.studies_["study_id"].is_monotonic_increasing
    empty = merge_studies(records.iloc[:0], np.array([], dtype=object), np.array([], dtype=bool),
                          np.array([], dtype=np.int64))
    assert len(empty) == 0 and list(empty.columns) == list(model.studies_.columns)


def test_word_prefix_and_suffix_columns_match_their_definitions(records: pd.DataFrame) -> None:
    from evreview.dedup.compare import _word_prefix, _word_suffix, compare_pairs

    recs = make_records(_hbr(), _hbr(title="How did it ... " + HBR_TITLE), _hbr(title=HBR_TITLE + ": and more"),
                        _hbr(title="Upwork's CEO"), _hbr(title=""))
    for frame in (records, recs):
        keys = build_keys(frame)
        n = len(keys)
        pairs = pd.DataFrame({"i": [i for i in range(n) for j in range(i + 1, n)],
                              "j": [j for i in range(n) for j in range(i + 1, n)], "blocked_by": "all"})
        scored = compare_pairs(keys, pairs)
        tk = keys["title_spelled"].tolist()
        assert scored["title_word_prefix"].tolist() == [_word_prefix(tk[i], tk[j]) for i, j in zip(pairs.i, pairs.j)]
        assert scored["title_word_suffix"].tolist() == [_word_suffix(tk[i], tk[j]) for i, j in zip(pairs.i, pairs.j)]
    assert scored["title_word_suffix"].any() and scored["title_word_prefix"].any()


def test_scoring_each_distinct_pair_of_texts_once_gives_every_pair_its_score() -> None:
    import numpy as np
    from rapidfuzz import fuzz

    from evreview.dedup.compare import _pair_scores, _text_pair_codes

    values = np.array(["a b c", "a b d", "", "a b c", "x y", "a b d", ""], dtype=object)
    i = np.array([0, 0, 1, 3, 0, 2, 4, 5, 2, 3], dtype=np.int64)
    j = np.array([1, 3, 3, 5, 2, 6, 5, 0, 3, 1], dtype=np.int64)
    for scorer in (fuzz.ratio, fuzz.token_set_ratio, fuzz.partial_ratio):
        plain = _pair_scores(values[i], values[j], scorer, 1)
        once = _pair_scores(values[i], values[j], scorer, 1, _text_pair_codes(values, i, j))
        assert once.dtype == plain.dtype and once.tolist() == plain.tolist()
        assert plain[4] == 0 and plain[5] == 0  # an empty side scores 0


def test_threads_do_not_change_the_result(records: pd.DataFrame) -> None:
    """rapidfuzz scores each pair on its own, so the CLI's default 2 threads give the 1-thread result."""
    one, two = Deduplicator(workers=1).fit(records), Deduplicator(workers=2).fit(records)
    pd.testing.assert_frame_equal(one.pairs_, two.pairs_)
    pd.testing.assert_frame_equal(one.duplicates_, two.duplicates_)


def test_other_authors_in_another_issue_on_the_same_first_page_stay_apart() -> None:
    """Two false merges found in the 200k synthetic benchmark: one journal volume, another issue,
    the same first page (pages numbered per issue), other authors sharing common given names, and
    titles differing only in a place and a project name."""
    a = {"title": "Relationship satisfaction across the transition to parenthood in the UK: the Kalopra project",
         "author": "Lopez, Maria and Washington, Michael W.", "year": "2023",
         "journal": "Journal of Marriage and Family", "volume": "85", "number": "1", "pages": "352-370"}
    b = {"title": "Relationship satisfaction across the transition to parenthood in Canada: the Sazosa project",
         "author": "Garcia, Maria and Jackson, Michael and Davis, Jamal and Washington, Marcus", "year": "2023",
         "journal": "JOURNAL OF MARRIAGE AND FAMILY", "volume": "85", "number": "5", "pages": "352-367"}
    model = Deduplicator().fit(make_records(a, b))
    assert model.n_studies_ == 2
    assert _rules_of(model) == {"issue_conflict_authors_differ"}
    # one article recorded with a wrong issue by one database still merges
    assert Deduplicator().fit(make_records(a, dict(a, number="2", journal="J Marriage Fam"))).n_studies_ == 1
    # and so does one whose author list one database cut to the first author (the surnames'
    # similarity is then low), with another issue and the subtitle dropped: same first author
    cut = dict(a, author="Lopez, M.", number="2",
               title="Relationship satisfaction across the transition to parenthood in the UK")
    model = Deduplicator().fit(make_records(a, cut))
    assert model.n_studies_ == 1
    assert model.pairs_["surname_score"].iloc[0] < 95 and model.pairs_["first_author"].iloc[0] == 1


def test_online_first_year_and_a_typo_in_a_templated_title_still_meet() -> None:
    """The one split of the 200k synthetic benchmark: a study dated 2015 (online first) in one
    database and 2016 in another, a typo in the one word that tells its title from 80 others
    built on the same template (so the title keys' groups are too large to pair everything).
    First author, volume and first page still bring the two together."""
    template = ("Collaborative research agreements between firms and universities in the automotive sector:"
                " the {} project")
    rng = np.random.default_rng(3)
    letters = np.array(list("bdfgklmnprstvz"))
    # names that sort between "Birmido" and "Brimido", so the two are far apart in title order
    others = [
        {"title": template.format("B" + "jklmno"[n % 6] + "".join(rng.choice(letters, 5))), "author": f"Author{n}, A.",
         "year": "2015", "journal": "Technovation", "volume": str(10 + n), "pages": f"{100 + n}-{110 + n}"}
        for n in range(80)
    ]
    a = {"title": template.format("Birmido"), "author": "Smith, Liam and Chen, Daniel B.", "year": "2015",
         "journal": "Technovation", "volume": "36", "number": "1", "pages": "614-637"}
    b = dict(a, title=template.format("Brimido"), author="Smith, L. and Chen, D.B.", year="2016",
             doi="10.1016/j.technovation.2016.030879")
    model = Deduplicator().fit(make_records(*others, a, b))
    assert model.n_studies_ == 81
    merged = model.pairs_[model.pairs_["decision"] == "same"]
    assert len(merged) == 1 and "author_volume_page" in merged["blocked_by"].iloc[0]


# --- found auditing real multi-database exports (tmp/dedup_audit) -------------------------------

def test_two_short_items_by_one_author_on_one_page_are_not_one_article() -> None:
    """ASySD's Zotero export (Tierarztl Prax Ausg K 47(2)) holds two commentaries by K Resch on
    page 133, "Categorization of the Cavalier King Charles Spaniel's Skull Shape" (pages "133")
    and "Do castrated overweight Dogs die earlier?" (pages "133-134"): journal, volume, issue,
    start page, year and author agree, the titles have nothing in common. They were merged as
    a translated title; without the whole page range to agree they are only a pair to check."""
    base = {"author": "Resch, K", "year": "2019", "journal": "TIERAERZTLICHE PRAXIS AUSGABE KLEINTIERE",
            "volume": "47", "number": "2"}
    skull = dict(base, ID="skull", title="Categorization of the Cavalier King Charles Spaniel's Skull Shape",
                 pages="133", doi="10.1055/a-0870-2016")
    dogs = dict(base, ID="dogs", title="Do castrated overweight Dogs die earlier?", pages="133-134")
    model = Deduplicator().fit(make_records(skull, dogs))
    assert model.n_studies_ == 2
    assert _rules_of(model) == {"bibliographic_locator_title_differs"}
    assert len(model.maybe_pairs_) == 1
    # a translated title on the same pages of the same issue is still one article
    german = dict(base, ID="de", title="Plattformökonomie und Crowdworking als Herausforderungen", pages="205-226")
    english = dict(base, ID="en", title="Platform economy and crowdworking as challenges", pages="205-226")
    assert Deduplicator().fit(make_records(german, english)).n_studies_ == 1


@pytest.mark.parametrize("ovid_issue", ["uj0, 0330500", "6dr, 2985151r", "101616579"])
def test_ovid_medline_journal_id_in_the_issue_tag_is_no_issue(ovid_issue: str) -> None:
    """Ovid MEDLINE's RIS (medline_84.ris of CiteSource) writes the NLM journal id in ``IS`` for
    records without an issue ("IS  - 6dr, 2985151r" for Annu Rev Med). Read as an issue it
    conflicted with the issue Embase or Scopus gives the same article, a hard contradiction
    that split it when neither record has a DOI and one lacks pages."""
    base = {"title": "Wildfire smoke exposure and emergency visits for asthma in children",
            "author": "Gould, Carlos F and Heft-Neal, Sam", "year": "2015", "journal": "Annual review of medicine",
            "volume": "66"}
    ovid = dict(base, ID="ovid", number=ovid_issue)
    embase = dict(base, ID="embase", number="1", pages="277-292", journal="Annu Rev Med")
    model = Deduplicator().fit(make_records(ovid, embase))
    assert model.n_studies_ == 1
    assert build_keys(make_records(ovid))["issue_key"].iloc[0] == ""
    # a real issue still conflicts
    assert issue_key("Suppl 2") == "2" and issue_key("12") == "12"


def test_sici_dois_of_one_issue_do_not_make_its_articles_one_study(tmp_path: Path) -> None:
    """JVIM's SICI DOIs ("10.1892/0891-6640(2006)20[523:IDICKC]2.0.CO;2") were cut at the "[" on
    ingest, so every article of JVIM 20(3) got the "DOI" 10.1892/0891-6640(2006)20 (ASySD's
    Zotero export): a DOI match between any two of them, merged when the titles are alike."""
    from evreview.ingest import ingest_file

    bib = tmp_path / "jvim.bib"
    bib.write_text(
        "@article{a, title = {Immunoglobulin deficiency in Cavalier King Charles Spaniels with Pneumocystis pneumonia},"
        " author = {Watson, PJ and Wotton, P}, journal = {J Vet Intern Med}, year = {2006}, volume = {20},"
        " number = {3}, pages = {523--527}, doi = {10.1892/0891-6640(2006)20[523:IDICKC]2.0.CO;2}}\n"
        "@article{b, title = {Immunoglobulin deficiency in Cavalier King Charles Spaniels with Bordetella pneumonia},"
        " author = {Rusbridge, C and Greitz, D}, journal = {J Vet Intern Med}, year = {2006}, volume = {20},"
        " number = {3}, pages = {469--479}, doi = {10.1892/0891-6640(2006)20[469:SCCIPD]2.0.CO;2}}\n",
        encoding="utf-8",
    )
    records = ingest_file(bib).records
    assert records["doi"].tolist() == ["10.1892/0891-6640(2006)20[523:idickc]2.0.co;2",
                                       "10.1892/0891-6640(2006)20[469:sccipd]2.0.co;2"]
    assert Deduplicator().fit(records).n_studies_ == 2
    # a DOI already cut that way (another tool's export) names the issue, not the article
    cut = records.assign(doi="10.1892/0891-6640(2006)20")
    assert doi_key("10.1892/0891-6640(2006)20") == ""
    assert Deduplicator().fit(cut).n_studies_ == 2


def test_one_publishers_mistyped_doi_of_one_article_merges() -> None:
    """IEBH copper: Levin AS, "Nosocomial legionellosis: prevention and management", Expert Rev
    Anti Infect Ther 2009;7(1):57-68, once as 10.1586/14787210.7.1.57 and once as
    10.1586/14737140.7.1.57 (the ISSN part mistyped). Title, author, journal, volume, issue,
    page range and year all agree; the two DOIs were a hard conflict, so the article stayed
    twice (the one flagged duplicate set of the library left unmerged)."""
    base = {"title": "Nosocomial legionellosis: prevention and management", "author": "Levin, A. S.",
            "year": "2009", "volume": "7", "number": "1", "pages": "57-68"}
    a = dict(base, ID="a", journal="Expert Review of Anti-Infective Therapy", doi="10.1586/14737140.7.1.57")
    b = dict(base, ID="b", journal="Expert Rev Anti Infect Ther", doi="10.1586/14787210.7.1.57")
    model = Deduplicator().fit(make_records(a, b))
    assert model.n_studies_ == 1
    assert _rules_of(model) == {"doi_typo_same_article"}
    # another publisher's DOI is another publication (a reprint), and other pages are another article
    assert Deduplicator().fit(make_records(a, dict(b, doi="10.2217/14787210.7.1.57"))).n_studies_ == 2
    assert Deduplicator().fit(make_records(a, dict(b, pages="69-75"))).n_studies_ == 2
    # a third record with yet another DOI does not chain into the study
    c = dict(b, ID="c", doi="10.1586/14737140.7.1.58")
    assert Deduplicator().fit(make_records(a, b, c)).n_studies_ == 2


def test_other_dois_for_the_same_title_and_authors_are_listed_for_review_not_merged() -> None:
    """A preprint and its article (Lens: 10.31234/osf.io/fu4mj and BMC Public Health
    10.1186/s12889-022-13243-4, "Benchmarking gambling screens to health-state utility"), a
    meeting abstract and its paper (IEBH copper: Sifri et al., Open Forum Infect Dis and Am J
    Infect Control): other DOIs, so never merged, but a reviewer may call them one study; they
    were a plain "different" and nobody saw them."""
    base = {"title": "Benchmarking gambling screens to health-state utility: the PGSI and the SGHS estimate "
                     "similar levels of population gambling-harm",
            "author": "Browne, Matthew and Russell, Alex M T and Begg, Stephen and Rockloff, Matthew"}
    preprint = dict(base, ID="osf", year="2021", doi="10.31234/osf.io/fu4mj")
    article = dict(base, ID="bmc", year="2022", journal="BMC public health", volume="22", pages="839",
                   doi="10.1186/s12889-022-13243-4")
    other = dict(article, ID="other", author="Smith, John and Jones, Mary", doi="10.1186/s12889-022-99999-9")
    model = Deduplicator().fit(make_records(preprint, article, other))
    assert model.n_studies_ == 3
    maybe = model.maybe_pairs_
    assert maybe["rule"].tolist() == ["doi_conflict_same_title_authors"]
    by_source = dict(zip(model.duplicates_["record_id"], model.duplicates_["source_id"]))
    assert {by_source[maybe["record_id_a"].iloc[0]], by_source[maybe["record_id_b"].iloc[0]]} == {"osf", "bmc"}
    # a reviewer reads the two records' titles, years and databases beside their ids (they had
    # only ids and scores, to be looked up in records.parquet)
    row = maybe.iloc[0]
    assert row["title_a"] == row["title_b"] == base["title"]
    assert {str(row["year_a"]), str(row["year_b"])} == {"2021", "2022"}
    assert list(maybe.columns[4:10]) == ["title_a", "title_b", "year_a", "year_b",
                                         "source_database_a", "source_database_b"]
    # the "maybe" still keeps them apart when a record without a DOI matches both
    bare = dict(article, ID="bare", doi=None, journal=None, volume=None, pages=None, year="2021")
    s = studies_by_source(Deduplicator().fit(make_records(preprint, article, bare)))
    assert s["osf"] != s["bmc"]


def test_online_first_year_two_years_before_the_issue_year_merges() -> None:
    """Lens dates Gray et al., "Gamblers' Perceptions of Stakeholder Responsibility for
    Minimizing Gambling Harm", Int J Ment Health Addict 19(4), by its online-first year 2019
    (pages "1-17", no DOI); Scopus and PsycINFO by the issue's year 2021 (pages 891-907). Same
    title, authors, journal, volume and issue, two years apart: a year conflict kept it twice."""
    base = {"title": "Gamblers' Perceptions of Stakeholder Responsibility for Minimizing Gambling Harm",
            "journal": "International Journal of Mental Health and Addiction", "volume": "19", "number": "4"}
    lens = dict(base, ID="lens", year="2019", pages="1-17",
                author="Gray, Heather and LaPlante, Debi A. and Abarbanel, Brett and Bernhard, Bo J.")
    scopus = dict(base, ID="scopus", year="2021", pages="891-907", doi="10.1007/s11469-019-0056-4",
                  author="Gray, H.M. and LaPlante, D.A. and Abarbanel, B. and Bernhard, B.J.")
    psycinfo = dict(scopus, ID="psycinfo", author="Gray, Heather M. and LaPlante, Debi A. and Abarbanel, Brett"
                    " and Bernhard, Bo J.")
    model = Deduplicator().fit(make_records(lens, scopus, psycinfo))
    assert model.n_studies_ == 1
    assert "title_same_issue_years_apart" in _rules_of(model)
    # another issue, or three years apart, is still another item
    assert Deduplicator().fit(make_records(lens, dict(scopus, number="5"))).n_studies_ == 2
    assert Deduplicator().fit(make_records(lens, dict(scopus, year="2022"))).n_studies_ == 2


def test_a_journal_named_by_its_acronym_is_the_same_journal() -> None:
    """Google Scholar (Publish or Perish) writes "MIS Quarterly", the AIS eLibrary "Management
    Information Systems Quarterly": the same article (Guo et al. 2021, title truncated with an
    ellipsis by Google Scholar) was only a "title_venue_differs" maybe."""
    gs = {"ID": "gs", "title": "How Trust Leads to Commitment on Microsourcing Platforms: Unraveling the Effects of "
          "Governance and Third-Party Mechanisms on Triadic Microsourcing \u2026",
          "author": "W Guo and D Straub and P Zhang and Z Cai", "year": "2021", "journal": "MIS Quarterly"}
    ais = {"ID": "ais", "title": "How Trust Leads to Commitment on Microsourcing Platforms: Unraveling the Effects of "
           "Governance and Third-Party Mechanisms on Triadic Microsourcing Relationships",
           "author": "Guo, Wenbo and Straub, Detmar W. and Zhang, Pengzhu and Cai, Zhao", "year": "2021",
           "journal": "Management Information Systems Quarterly", "volume": "45", "number": "3", "pages": "1309-1348"}
    model = Deduplicator().fit(make_records(gs, ais))
    assert model.n_studies_ == 1
    assert journals_compatible("mis quarterly", "management information systems quarterly")
    assert journals_compatible("jama", "journal american medical association")
    # initials must spell the whole token, in place
    assert not journals_compatible("mis quarterly", "marketing science quarterly")
    assert not journals_compatible("ams review", "management information systems review")
    # a first word found nowhere in the other name settles it; other whitespace still separates words
    assert not journals_compatible("lancet oncol", "journal clinical oncology")
    assert journals_compatible("j\tclin oncol", "journal clinical oncology")
    assert journals_compatible("clin  oncol", "journal\tclinical oncology")


# --- red team: distinct studies that a "same" rule merged ---------------------------------------

_RT_AUTHORS = "Zhang, Wei and Li, Na and Wang, Jun and Chen, Hong"
_RT_TITLE = "Long-term outcomes of laparoscopic versus open surgery for rectal cancer in elderly patients"


_RT_BASE = {"title": _RT_TITLE, "author": _RT_AUTHORS, "year": "2019", "journal": "Journal of Surgical Oncology",
            "volume": "120", "number": "3", "pages": "401-409"}


def _rt(**fields: str) -> dict:
    """A record of the red-team article (see :func:`_row`), ``fields`` replaced ("" drops one)."""
    return _row(**{**_RT_BASE, **fields})


def test_parts_and_phases_in_roman_numerals_are_different_items() -> None:
    """"...: Part I" and "...: Part II" of a series by the same authors in one volume were merged
    (title_same_volume_other_pages; title_match when one record has no pages): only digits were
    title numbers, and "ii" against "i" is one character of a long title. A phase II and a
    phase III trial abstract of one group in one supplement likewise."""
    part1, part2 = _rt(title=_RT_TITLE + ": Part I"), _rt(title=_RT_TITLE + ": Part II", pages="410-419")
    assert Deduplicator().fit(make_records(part1, part2)).n_studies_ == 2
    assert Deduplicator().fit(make_records(part1, dict(part2, pages="", volume="", number=""))).n_studies_ == 2
    assert Deduplicator().fit(make_records(_rt(title=_RT_TITLE + ": Part A"),
                                           _rt(title=_RT_TITLE + ": Part B", pages="", volume=""))).n_studies_ == 2
    trial = "A randomized phase {} trial of nivolumab plus ipilimumab in advanced gastric cancer"
    phase2, phase3 = (_rt(title=trial.format(p), number="15 suppl", pages=pg)
                      for p, pg in (("II", "4010"), ("III", "4021")))
    assert Deduplicator().fit(make_records(phase2, phase3)).n_studies_ == 2
    # the same numbers written two ways are the same numbers: "phase 2" is "phase II", "one-year" is "1-year"
    assert title_numbers("a randomized phase ii trial of x") == title_numbers("a randomized phase 2 trial of x") == "2"
    assert title_numbers("one year outcomes of stage iv cancer") == title_numbers("1 year outcomes of stage 4 cancer")
    assert title_numbers("what i learned from x linked disease") == ""  # no sequence word: words, not numbers
    # and in other languages ("Teil II", "partie II", "часть II")
    assert title_numbers("behandlung teil ii") == title_numbers("la prise en charge partie ii") == "2"
    assert title_numbers(fold_text("Платформенная занятость: часть II")) == "2"
    teil = "Die chirurgische Behandlung des Rektumkarzinoms bei älteren Patienten: Teil {}"
    assert Deduplicator().fit(make_records(_rt(title=teil.format("I")),
                                           _rt(title=teil.format("II"), pages="501-509"))).n_studies_ == 2
    same = Deduplicator().fit(make_records(_rt(title=trial.format("2")), _rt(title=trial.format("II"))))
    assert same.n_studies_ == 1 and "title_numbers_differ" not in _rules_of(same)


def test_title_numbers_word_by_word_equals_the_pattern() -> None:
    """The word-by-word reading of plain ASCII titles gives what the pattern (the definition) gives."""
    import random

    from evreview.dedup.keys import _title_numbers_by_pattern

    vocab = ["part", "parts", "phase", "stage", "type", "teil", "study", "one", "two", "twelve", "zero",
             "i", "ii", "iv", "iiii", "vx", "x", "xl", "ivy", "a", "b", "h", "j", "c", "covid19", "2x2", "19th",
             "one1", "2", "007", "trial", "of", "the", "Part", "II", "phases", "ten", "in", "men", "v",
             # sub-stage letters, numerals of 2+ letters anywhere, tens and teens
             "iiia", "ia", "ib", "ivb", "iiiii", "via", "va", "3a", "3b", "12c", "3d", "a3a", "1ab", "viii", "ix", "xx",
             "xi", "twenty", "five", "fifteen", "ninety", "nine", "oneself", "seventeen"]
    rng = random.Random(5)
    titles = [" ".join(rng.choice(vocab) for _ in range(rng.randint(1, 8))) for _ in range(20000)]
    titles += ["", "part", "part  ii", " part ii", "part ii ", "phase ii-iii", "part b c", "parts h", "part i b",
               "stage iv iv", "type 2 diabetes part a", "part é", "x\x01 one", "one_two", "part\tii",
               "stage iiia", "twenty five", "twenty  five", "factor viii é", "iv é", "é iv"]
    for title in titles:
        assert title_numbers(title) == _title_numbers_by_pattern(title), title


def test_abstracts_under_one_supplement_doi_are_not_merged_by_it() -> None:
    """Embase writes the DOI of an abstract supplement (Ann Oncol 30 suppl 5) on each of its
    abstracts: one group's "3-year" and "5-year follow-up" abstracts, or two groups' alike titles,
    shared a DOI and doi_match merged them. Other numbers or other authors under one DOI are for a
    reviewer."""
    title = "Pembrolizumab plus chemotherapy in metastatic NSCLC: {}-year follow-up of KEYNOTE-189"
    supp = {"doi": "10.1093/annonc/mdz394", "journal": "Annals of Oncology", "volume": "30", "number": "Suppl 5"}
    three, five = _rt(**supp, title=title.format(3), pages="v851"), _rt(**supp, title=title.format(5), pages="v853")
    model = Deduplicator().fit(make_records(three, five))
    assert model.n_studies_ == 2 and _rules_of(model) == {"doi_shared_other_item"}
    car_t = _rt(**supp, pages="v858",
                title="Real-world outcomes of CAR T-cell therapy in relapsed or refractory large B-cell lymphoma")
    other = dict(car_t, title="Real-world outcomes of CAR-T therapy in relapsed large B-cell lymphoma",
                 author="Smith, John and Brown, Anne", pages="v860")
    assert Deduplicator().fit(make_records(car_t, other)).n_studies_ == 2
    # the same abstract twice under its DOI still merges
    assert Deduplicator().fit(make_records(three, dict(three, author="Zhang, W. and Li, N."))).n_studies_ == 1


def test_page_one_and_the_volume_do_not_locate_an_article() -> None:
    """Article-numbered journals start every article at page 1 (Sci Rep as "1-10"), and most
    journals have one volume a year: one group's sibling papers ("... in Kenya" / "... in Ghana")
    in one volume were merged by bibliographic_match_title_variant (page 1), similar_title_bibliographic
    (the volume), and an ICIS paper and its journal version a year later by
    title_adjacent_year_bibliographic (page 1 both). Each is now for a reviewer. Two one-page items
    on one page with titles only somewhat alike were merged too."""
    title = "Prevalence and risk factors of anaemia among pregnant women in {}"
    sci = {"journal": "Scientific Reports", "volume": "9", "number": "", "pages": "1-10"}
    kenya, ghana = _rt(**sci, title=title.format("Kenya")), _rt(**sci, title=title.format("Ghana"))
    assert Deduplicator().fit(make_records(kenya, ghana)).n_studies_ == 2
    plos = {"journal": "PLoS ONE", "volume": "14", "number": "5"}
    assert Deduplicator().fit(make_records(_rt(**plos, title=title.format("Kenya"), pages="e0216789"),
                                           _rt(**plos, title=title.format("Ghana"), pages=""))).n_studies_ == 2
    adults = _rt(**plos, title="Prevalence of hypertension among adults in rural Kenya", pages="e0216789")
    teens = _rt(**plos, title="Prevalence of hypertension among adolescents in rural Kenya", pages="")
    assert Deduplicator().fit(make_records(adults, teens)).n_studies_ == 2
    bids = "Call for bids to improve matching efficiency: evidence from online labor markets"
    icis = {"title": bids, "author": "Guo, Xue and Gong, Jing", "year": "2017", "pages": "1-17",
            "journal": "International Conference on Information Systems"}
    isr = dict(icis, year="2018", journal="Information Systems Research", pages="1-20")
    assert Deduplicator().fit(make_records(icis, isr)).n_studies_ == 2
    # "Editorial" without authors on page 1 of one volume: one in every issue
    editorial = {"title": "Editorial", "year": "2019", "journal": "Sustainability", "volume": "11", "pages": "1"}
    assert Deduplicator().fit(make_records(dict(editorial, number="3"), editorial)).n_studies_ == 2
    # two one-page commentaries by one author on one page, titles only somewhat alike (70-85):
    # the start page cannot tell them from one article, the page range is no range (a maybe)
    resch = {"author": "Resch, K", "pages": "133"}
    act = _rt(**resch, title="Antibiotic stewardship in primary care: time to act now")
    reflect = _rt(**resch, title="Antibiotic stewardship in general practice: time to reflect")
    assert Deduplicator().fit(make_records(act, reflect)).n_studies_ == 2
    # a start page other than 1 still locates the article
    same = Deduplicator().fit(make_records(_rt(), _rt(title=_RT_TITLE + ": a retrospective cohort study")))
    assert same.n_studies_ == 1


def test_two_abstracts_on_one_supplement_page_with_other_numbers_stay_apart() -> None:
    """A supplement page holds several abstracts: one group's "3-year" and "5-year horizon"
    models on page S512 of Value Health 22 suppl 3 were merged as a digit typo
    (title_numbers_typo_bibliographic), which now needs the whole page range (2+ pages) to agree."""
    title = "Cost-effectiveness of dapagliflozin in heart failure in China: a {}-year horizon Markov model"
    vih = {"journal": "Value in Health", "volume": "22", "number": "Suppl 3", "pages": "S512"}
    assert Deduplicator().fit(make_records(_rt(**vih, title=title.format(3)),
                                           _rt(**vih, title=title.format(5)))).n_studies_ == 2
    # "p6INK4a" for "p16(INK4a)" on the same pages 1099-1103 is still a typo
    typo = Deduplicator().fit(make_records(_rt(title=_RT_TITLE + " p16(INK4a)"), _rt(title=_RT_TITLE + " p6INK4a")))
    assert typo.n_studies_ == 1 and "title_numbers_typo_bibliographic" in _rules_of(typo)


def test_only_a_correction_of_the_article_itself_joins_it() -> None:
    """erratum_of_item merged "Erratum to: <title>: Part 2" with Part 1 (the rule never read the
    numbers), and a reply, comment or retraction notice by the article's authors with the article
    (a retraction merged into its article is hidden)."""
    part1 = _rt(title=_RT_TITLE + ": part 1", doi="10.1002/jso.1")
    erratum2 = _rt(title="Erratum to: " + _RT_TITLE + ": part 2", doi="10.1002/jso.9", pages="999")
    assert Deduplicator().fit(make_records(part1, erratum2)).n_studies_ == 2
    article = _rt(doi="10.1002/jso.1")
    for notice in ("Reply to: ", "Comment on: ", "Retraction: "):
        other = _rt(title=notice + _RT_TITLE, doi="10.1002/jso.9", pages="999")
        assert Deduplicator().fit(make_records(article, other)).n_studies_ == 2, notice
    erratum = _rt(title="Erratum to: " + _RT_TITLE, doi="10.1002/jso.9", pages="999")
    assert Deduplicator().fit(make_records(article, erratum)).n_studies_ == 1


def test_a_record_with_only_the_shared_doi_does_not_chain_two_abstracts() -> None:
    """A record with only a DOI (no title) matches every record with that DOI (doi_match), and an
    identifier match skips the page guard: with a supplement's DOI on two abstracts it joined both
    in one study. Two items under one DOI are now a hard "maybe" (doi_shared_other_item)."""
    title = "Pembrolizumab plus chemotherapy in metastatic NSCLC: {}-year follow-up of KEYNOTE-189"
    supp = {"doi": "10.1093/annonc/mdz394", "journal": "Annals of Oncology", "volume": "30", "number": "Suppl 5"}
    three = dict(_rt(**supp, title=title.format(3), pages="v851"), ID="three")
    five = dict(_rt(**supp, title=title.format(5), pages="v853"), ID="five")
    for bare in ({"ID": "bare", "doi": supp["doi"]}, {"ID": "bare", "doi": supp["doi"], "author": _RT_AUTHORS}):
        s = studies_by_source(Deduplicator().fit(make_records(three, bare, five)))
        assert s["three"] != s["five"] and s["bare"] in (s["three"], s["five"])


@pytest.mark.parametrize("case", ["volume_and_pages", "years", "numbers"])
def test_a_record_matching_two_conflicting_records_joins_one_of_them(case: str) -> None:
    """Anti-chaining: A~B and B~C, A and C in conflict (other volume and pages a year later, three
    years apart, "Part I" / "Part II" with B's title cut short): A and C never end in one study."""
    bare = {"title": _RT_TITLE, "author": _RT_AUTHORS, "journal": "Journal of Surgical Oncology", "ID": "B"}
    a, c = dict(_rt(), ID="A"), dict(_rt(year="2020", volume="121", number="1", pages="55-70"), ID="C")
    if case == "years":
        a, c = dict(a, volume=None, number=None), dict(c, year="2022", volume=None, number=None)
    elif case == "numbers":
        a = dict(_rt(title=_RT_TITLE + ": Part I", pages=""), ID="A")
        c = dict(_rt(title=_RT_TITLE + ": Part II"), ID="C")
        bare = dict(_rt(), ID="B")
    s = studies_by_source(Deduplicator().fit(make_records(a, bare, c)))
    assert s["A"] != s["C"] and s["B"] in (s["A"], s["C"])


def test_sibling_papers_printed_back_to_back_are_not_one_article() -> None:
    """One group's "... among adults" and "... among adolescents" on pages 401-409 and 409-415 of
    one volume: the ranges touch (one page shared), which the start-page check reads as a typo, and
    similar_title_bibliographic merged them. A mistyped start page shares the article's pages."""
    adults = _rt(title="Prevalence of hypertension among adults in rural Kenya", pages="401-409")
    teens = _rt(title="Prevalence of hypertension among adolescents in rural Kenya", pages="409-415")
    assert Deduplicator().fit(make_records(adults, teens)).n_studies_ == 2
    # titles that differ in other words than who the study is about (title_population_differs
    # keeps adults / adolescents apart before any page is read): the touching ranges alone
    rural, urban = (_rt(title=f"Prevalence of hypertension among adults in {where} Kenya", pages=pages)
                    for where, pages in (("rural", "401-409"), ("urban", "409-415")))
    assert Deduplicator().fit(make_records(rural, urban)).n_studies_ == 2
    # the same title on touching ranges is one article with one range wrong (sra_cytology_screening:
    # Zanotti, Cleve Clin J Med 69, "945-948" 2003 / "948-961" 2002)
    assert Deduplicator().fit(make_records(rural, dict(rural, pages="409-415"))).n_studies_ == 1
    typo = Deduplicator().fit(make_records(_rt(title=_RT_TITLE + ": brief communication", pages="2141-2147"),
                                           _rt(pages="2142-2147")))
    assert typo.n_studies_ == 1 and _rules_of(typo) == {"similar_title_bibliographic"}


# --- titles that differ only in who the study is about -------------------------------------------

@pytest.mark.parametrize(("a", "b", "contrast"), [
    ("effect of x on y in men", "effect of x on y in women", True),
    ("x in adults", "x in adolescents", True),
    ("acute kidney injury after x", "chronic kidney injury after x", True),
    ("x in young men", "x in older men", True),
    ("paediatric x", "pediatric x", False),  # spelling: one member
    ("x in child", "x in children", False),  # plural: one member
    ("x in men and women", "x in women", False),  # "and" differs too
    ("x in older adults", "x in adults", False),  # a word added, none swapped
    ("x in kenya", "x in ghana", True),  # where the study was done
    ("x in south africa", "x in nigeria", True),  # a name of two words is one place
    ("x in papua new guinea", "x in guinea", True),  # the longest name is taken
    ("x in chinese patients", "x in japanese patients", True),  # the people's adjective
    ("x in new york", "x in new jersey", True),  # US states
    ("x in the uk", "x in the united kingdom", False),  # one place, two names
    ("x in china", "x in chinese", False),  # one place
    ("x in rural kenya", "x in ghana", False),  # "rural" differs too
    ("x in kenya and uganda", "x in kenya", False),  # a place added, none swapped
    ("x in kenya", "y in ghana", False),  # another word differs
    ("x in men in kenya", "x in women in ghana", True),  # two groups at once
    ("x in guinea pigs", "x in rats", True),  # not a place swap, but two species
    # two spellings or translations of one word leave the other words to tell (they hid the contrast)
    ("a programme for x in men", "a program for x in women", True),
    ("healthy ageing programme in kenya", "healthy aging program in ghana", True),
    ("diagnosis and management of x in men", "diagnosis and treatment of x in women", True),
    ("a programme for smokers", "a program for non smokers", True),  # a negation added
    ("a programme for x in men", "a program for x in men", False),
    ("modelling the ageing of x in mice", "modeling the aging of x in mice", False),
])
def test_title_contrast(a: str, b: str, contrast: bool) -> None:
    assert title_contrast(a, b) is contrast


def test_sibling_abstracts_for_men_and_women_stay_two_studies() -> None:
    """One group's abstracts in one supplement, for men and for women, with no pages (as many
    abstract exports): every field agrees but the population, and they were merged by
    title_match. They are now a maybe for the reviewer that keeps them apart, also against a
    third record that matches both (the men's abstract with its title cut)."""
    base = {"author": "Lee, K. and Park, J. and Kim, S.", "year": "2019", "journal": "Ann Oncol",
            "volume": "30", "number": "Suppl 5"}
    recs = make_records(
        {**base, "ID": "men", "title": "Long-term survival after adjuvant chemotherapy for gastric cancer in men"},
        {**base, "ID": "women", "title": "Long-term survival after adjuvant chemotherapy for gastric cancer in women"},
        {**base, "ID": "men2", "title": "Long-term survival after adjuvant chemotherapy for gastric cancer in men."},
    )
    model = Deduplicator().fit(recs)
    s = studies_by_source(model)
    assert s["men"] == s["men2"] != s["women"]
    rules = set(model.pairs_.loc[model.pairs_["decision"] == "maybe", "rule"])
    assert rules == {"title_population_differs"}
    assert len(model.maybe_pairs_) == 2


def test_one_teams_studies_in_two_countries_stay_two_studies() -> None:
    """One team's conference abstracts, no pages, every field alike but the country: merged by
    title_match before (the red team's Kenya / Ghana pair); now a question for the reviewer that
    keeps them apart. The same abstract from a second database still joins its own study."""
    base = {"author": "Otieno, P. and Mensah, K. and Smith, J.", "year": "2021", "journal": "BMJ Glob Health",
            "volume": "6", "number": "Suppl 3"}
    title = "Community health workers and childhood vaccination uptake in {}: a mixed-methods evaluation"
    recs = make_records(
        {**base, "ID": "kenya", "title": title.format("Kenya")},
        {**base, "ID": "ghana", "title": title.format("Ghana")},
        {**base, "ID": "ghana2", "title": title.format("Ghana").upper(), "journal": "BMJ Global Health"},
        {**base, "ID": "za", "title": title.format("South Africa")},
    )
    model = Deduplicator().fit(recs)
    s = studies_by_source(model)
    assert s["ghana"] == s["ghana2"]
    assert len({s["kenya"], s["ghana"], s["za"]}) == 3
    assert set(model.maybe_pairs_["rule"]) == {"title_population_differs"}


@pytest.mark.parametrize(("title", "notice"), [
    ("correction x", True), ("corrections to x", True), ("erratum", True), ("retractions x", True),
    ("correctional officers stress and burnout", False),  # a study, not a notice
    ("replying to patients questions online", False),
    ("reply to smith", True), ("in reply", True),
])
def test_notice_titles_are_whole_words(title: str, notice: bool) -> None:
    from evreview.dedup.keys import is_notice_title

    assert is_notice_title(title) is notice



def test_a_reviewers_same_on_a_question_carries_to_the_records_own_duplicates(tmp_path: Path) -> None:
    """a = "... in men", b = "... in women", c = b again from another database. Left to the
    rules: {a}, {b, c}. A reviewer says a and b are one study: before, the a / c question of the
    same kind still stood and split c off b ({a, b}, {c}, worse than before the answer); now the
    answer covers that question, and a reviewer's "different" on a pair is never lifted."""
    title = "Effects of resistance training on bone mineral density in {} with osteopenia"
    a = dict(_rt(title=title.format("men"), pages="401-409"), ID="a")
    b = dict(_rt(title=title.format("women"), pages="410-418"), ID="b")
    c = dict(_rt(title=title.format("women"), pages="410-418", journal="J Surg Oncol"), ID="c")
    recs = make_records(a, b, c)
    s = studies_by_source(Deduplicator().fit(recs))
    assert s["b"] == s["c"] != s["a"]
    ids = dict(zip(recs["source_id"], recs["record_id"]))
    path = tmp_path / "duplicates.csv"
    header = "record_id_a,record_id_b,decision,reviewer,timestamp\n"
    path.write_text(header + f"{ids['a']},{ids['b']},same,ann,2026-01-01\n")
    s = studies_by_source(Deduplicator().fit(recs, decisions=read_decisions(path)))
    assert s["a"] == s["b"] == s["c"]
    # the reviewer's "different" on a / c stands: b and c stay one study, a joins neither
    path.write_text(header + f"{ids['a']},{ids['b']},same,ann,2026-01-01\n"
                    f"{ids['a']},{ids['c']},different,ann,2026-01-01\n")
    model = Deduplicator().fit(recs, decisions=read_decisions(path))
    s = studies_by_source(model)
    assert s["a"] != s["c"]


@pytest.mark.parametrize("dtype", ["str", "string[pyarrow]", "string[python]", object])
def test_empty_fields_are_found_alike_in_every_text_dtype(dtype: object) -> None:
    """Arrow-backed text takes a kernel of its own in _is_empty: missing and "" are empty, as elsewhere."""
    from evreview.dedup.merge import _is_empty

    values = pd.Series([None, "", "a", " ", None], dtype=dtype)
    assert _is_empty(values).tolist() == [True, True, False, False, True]
    assert _is_empty(values.iloc[:0]).tolist() == []


def test_a_missing_value_and_the_text_nan_are_keyed_apart() -> None:
    """keys._cached keyed a NaN by its repr, "nan", the key of the text "nan" too: after a record
    whose volume was the text "nan", a record without a volume got volume key "nan"."""
    from evreview.dedup.keys import _cached, volume_key

    assert _cached(volume_key, ["nan", float("nan")]) == [volume_key("nan"), ""]
    assert _cached(volume_key, [float("nan"), "nan"]) == ["", volume_key("nan")]


# --- the program reads its exports in a child process while it imports pandas ---------------


def _keys_both_ways(paths: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """build_keys of the records ingest_files gives, and key_columns of the Arrow tables
    ingest_table gives (what the dedup program's child computes), for the same files."""
    import pyarrow as pa

    from evreview.dedup.keys import key_columns, key_frame
    from evreview.ingest import ingest_files, ingest_table

    records = ingest_files(paths).records
    table = pa.concat_tables([ingest_table(path)[0] for path in paths])
    keys = key_frame(key_columns(lambda name: table.column(name).to_pylist(), table.num_rows), records.index)
    return build_keys(records), keys


def _fixture_exports(fixtures_dir: Path) -> list[Path]:
    from evreview.errors import EvreviewError
    from evreview.ingest import ingest_file

    found = []
    for path in sorted(fixtures_dir.rglob("*")):
        if path.is_file() and path.suffix not in (".md", ".json", ".yaml", ".py") and "screen" not in path.parts:
            try:
                if len(ingest_file(path).records):
                    found.append(path)
            except EvreviewError:
                continue
    return found


def test_keys_from_the_arrow_tables_equal_build_keys(fixtures_dir: Path) -> None:
    """The dedup program's child builds the keys from the ingested Arrow tables, without
    pandas; they must be build_keys' own, value for value and dtype for dtype, for every
    export format among the fixtures, one file at a time and all together."""
    exports = _fixture_exports(fixtures_dir)
    assert len(exports) > 40
    for path in exports:
        built, from_tables = _keys_both_ways([path])
        pd.testing.assert_frame_equal(built, from_tables, check_exact=True, obj=str(path))
    built, from_tables = _keys_both_ways(exports[:12])
    pd.testing.assert_frame_equal(built, from_tables, check_exact=True)


def test_fit_with_given_keys_equals_fit(records: pd.DataFrame, tmp_path: Path) -> None:
    """Keys given to fit (in the records' input order) give the same results, with or without
    a cache, also when fit puts the records in another order first."""
    shuffled = records.sample(frac=1, random_state=3).reset_index(drop=True)
    expected = Deduplicator().fit(shuffled)
    for cache_dir in (None, tmp_path / "cache"):
        given = Deduplicator(cache_dir=cache_dir).fit(shuffled, keys=build_keys(shuffled))
        pd.testing.assert_frame_equal(given.pairs_, expected.pairs_)
        pd.testing.assert_frame_equal(given.duplicates_, expected.duplicates_)
        pd.testing.assert_frame_equal(given.keys_, expected.keys_)
    with pytest.raises(ValueError, match="rows for"):
        Deduplicator().fit(shuffled, keys=build_keys(shuffled.iloc[1:]))


def _program(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    import sys

    script = tmp_path / "program.py"
    script.write_text(code)
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True)


_SPY = """
import sys
import evreview.dedup.commands as commands
real = commands._early_records

def spy(early, paths, search):
    records, keys, scored = real(early, paths, search)
    print("child:", early is not None, "keys:", keys is not None, "scored:", scored is not None)
    return records, keys, scored

commands._early_records = spy
{patch}
from evreview.cli import main
sys.argv = ["evreview", "dedup", *{files!r}, "--out", {out!r}, *{extra!r}]
sys.exit(main())
"""


def test_dedup_program_reads_exports_in_a_child_with_the_same_results(tmp_path: Path, fixtures_dir: Path) -> None:
    """The program ingests its exports and builds their keys in a forked child while it
    imports pandas; the outputs equal a Python call's. A child that fails for any other
    reason than the user's input (here: a bug) leaves the reading to the program itself."""
    from evreview.cli import main

    files = [str(fixtures_dir / "dedup" / "records.csv"), str(fixtures_dir / "ris" / "scopus.ris")]
    decisions = tmp_path / "decisions.csv"
    decisions.write_text("record_id_a,record_id_b,decision,reviewer,timestamp\n")
    runs = {  # name: (patch, extra arguments, what the program got from its child)
        "child": ("", [], "child: True keys: True scored: True"),
        "fallback": ("commands._read_early = lambda *args: 1 / 0", [], "child: True keys: False scored: False"),
        # reviewers' decisions add pairs, a cache keeps scores: the pairs are scored in the program
        "decided": ("", ["--decisions", str(decisions)], "child: True keys: True scored: False"),
        "cached": ("", ["--cache-dir", str(tmp_path / "cache")], "child: True keys: True scored: False"),
        # exports too large to send back: all read in the program
        "big": ("commands.EARLY_MAX_BYTES = 10", [], "child: False keys: False scored: False"),
    }
    assert main(["dedup", *files, "--out", str(tmp_path / "call")]) == 0
    for name, (patch, extra, got) in runs.items():
        out = _program(_SPY.format(patch=patch, files=files, out=str(tmp_path / name), extra=extra), tmp_path)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == got, name
        for written in (tmp_path / "call").iterdir():
            mine = tmp_path / name / written.name
            if written.suffix == ".csv":
                assert mine.read_bytes() == written.read_bytes(), (name, written.name)
            elif written.suffix == ".parquet":
                assert pd.read_parquet(mine).equals(pd.read_parquet(written)), (name, written.name)


def test_dedup_program_interrupted_before_it_reads_its_child_ends(tmp_path: Path) -> None:
    """Interrupted while importing pandas (its child still to be read, with more records than
    a pipe holds), the program says so and ends: it waited for its child at exit while the
    child waited for it to read the pipe (it hung)."""
    import sys

    export = tmp_path / "mid.ris"
    export.write_text("".join(f"TY  - JOUR\nTI  - A randomised trial of treatment number {i} in adults\n"
                              f"AU  - Smith, J\nPY  - 2020\nDO  - 10.1000/x{i}\nER  - \n\n" for i in range(2000)))
    code = f"""
import os, sys
PARENT = os.getpid()

class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "pandas" and os.getpid() == PARENT:
            raise KeyboardInterrupt

sys.meta_path.insert(0, Interrupt())
from evreview.cli import main
sys.argv = ["evreview", "dedup", {str(export)!r}, "--out", {str(tmp_path / "out")!r}]
sys.exit(main())
"""
    script = tmp_path / "program.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 130 and out.stderr.strip() == "evreview dedup: interrupted"


@pytest.mark.parametrize(
    ("content", "twice", "message"),
    [
        (b"", False, "empty.csv: file is empty"),
        (b"TY  - JOUR\nTI  - One\nER  - \n", True, "file given twice"),
        (b"\x00\x01\x02binary", False, "NUL character"),
    ],
)
def test_dedup_program_reports_an_export_error_from_its_child_as_one_line(
    tmp_path: Path, content: bytes, twice: bool, message: str, capsys: pytest.CaptureFixture
) -> None:
    """A user's mistake found in the child is the program's one-line error, exit 2, the same
    as the Python call's."""
    import sys

    from evreview.cli import main

    path = tmp_path / ("empty.csv" if not content else "x.ris" if twice else "bin.csv")
    path.write_bytes(content)
    files = [str(path)] * (2 if twice else 1)
    out = subprocess.run([sys.executable, "-m", "evreview", "dedup", *files, "--out", str(tmp_path / "out")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
    assert main(["dedup", *files, "--out", str(tmp_path / "call")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == out.stderr.strip().splitlines()[-1]


def test_user_errors_pickle_with_their_place() -> None:
    """An error raised in a child process reaches the parent whole (file, line, record, notes)."""
    import pickle

    from evreview.errors import IngestError

    error = IngestError("bad byte", path="a.ris", line=3, record=7)
    error.add_note("more")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is IngestError and str(again) == str(error) == "a.ris:3 (record 7): bad byte"
    assert (again.path, again.line, again.record, again.__notes__) == ("a.ris", 3, 7, ["more"])


def test_scored_pairs_are_used_only_for_the_records_and_settings_they_were_made_for(records: pd.DataFrame) -> None:
    """Pairs scored elsewhere (the program's child) give fit's own results where they fit, and
    are left aside (fit scores its own) for other records, another order or other settings."""
    from evreview.dedup.blocking import candidate_pair_arrays
    from evreview.dedup.codes import order_ranks
    from evreview.dedup.compare import ScoredPairs, pair_scores
    from evreview.dedup.keys import key_columns

    def scored_for(frame: pd.DataFrame, max_block: int = 50) -> ScoredPairs:
        columns = {name: frame[name].tolist() for name in frame}
        keys = key_columns(lambda name: [None if v is pd.NA else v for v in columns.get(name, [None] * len(frame))],
                           len(frame))
        ids = frame["record_id"].astype(str).tolist()
        at = np.argsort(order_ranks(frame["search"].tolist(), frame["source_file"].tolist(),
                                    frame["source_index"].to_numpy(), ids), kind="stable").tolist()
        ordered = {n: v[at] if isinstance(v, np.ndarray) else [v[k] for k in at] for n, v in keys.items()}
        pairs = candidate_pair_arrays(ordered, max_block=max_block)
        return ScoredPairs([ids[k] for k in at], max_block, 10, pairs, pair_scores(ordered, pairs["i"], pairs["j"]))

    shuffled = records.sample(frac=1, random_state=5).reset_index(drop=True)
    expected = Deduplicator().fit(shuffled)
    given = Deduplicator().fit(shuffled, scored=scored_for(shuffled))
    pd.testing.assert_frame_equal(given.pairs_, expected.pairs_)
    pd.testing.assert_frame_equal(given.duplicates_, expected.duplicates_)
    # made for fewer records, or for another largest block: fit's own pairs and scores
    for model, scored in ((Deduplicator(), scored_for(shuffled.iloc[1:])),
                          (Deduplicator(max_block=3), scored_for(shuffled))):
        pd.testing.assert_frame_equal(model.fit(shuffled, scored=scored).pairs_,
                                      type(model)(max_block=model.max_block).fit(shuffled).pairs_)


@pytest.mark.parametrize("sort", [False, True])
def test_factorize_numbers_values_as_pandas_does(sort: bool) -> None:
    """The pandas-free codes of blocking and scoring are pandas.factorize's."""
    rng = np.random.default_rng(0)
    values = [str(v) for v in rng.integers(0, 50, 500)] + ["", "", "ä", "a"]
    ours = factorize(values, sort=sort)
    theirs, _ = pd.factorize(np.asarray(values, dtype=object), sort=sort)
    assert ours.tolist() == theirs.tolist()
    with_none = ["b", None, "a", "b", None]
    assert factorize(with_none).tolist() == pd.factorize(np.asarray(with_none, dtype=object))[0].tolist()
    assert factorize(with_none, missing=()).tolist() == [0, 1, 2, 0, 1]
    assert factorize(["x", "", "x"], missing=(None, "")).tolist() == [0, -1, 0]


@pytest.mark.parametrize(("sort", "missing"), [(False, (None,)), (True, (None,)), (False, ()), (False, (None, "")),
                                                (True, (None, ""))])
def test_factorize_by_dict_and_by_pandas_group_and_order_alike(monkeypatch: pytest.MonkeyPatch, sort: bool,
                                                               missing: tuple) -> None:
    """Many values with pandas imported go through pandas' hash table, few (or none imported)
    through a dict: the same values share a code, missing ones are -1, and codes sort alike."""
    from evreview.dedup import codes

    rng = np.random.default_rng(1)
    values = [f"t{v}" for v in rng.integers(0, 300, 3000)] + ["", ""] + ([] if sort else [None])
    monkeypatch.setattr(codes, "_PANDAS_FROM", 10)
    by_pandas = codes.factorize(values, sort=sort, missing=missing)
    monkeypatch.setattr(codes, "_PANDAS_FROM", 10**9)
    by_dict = codes.factorize(values, sort=sort, missing=missing)
    assert ((by_pandas == -1) == (by_dict == -1)).all()
    kept = by_dict != -1
    ranks = [np.unique(found[kept], return_inverse=True)[1] for found in (by_pandas, by_dict)]
    assert (ranks[0] == ranks[1]).all()


def test_dedup_program_reports_a_reader_bug_as_a_python_call_does(tmp_path: Path, fixtures_dir: Path) -> None:
    """A parser bug is wrapped in a one-line error whose cause (the traceback --debug shows) does
    not travel from the reader process: the main process reads the exports again and reports
    it as a Python call does, with the hint to run with --debug."""
    import sys

    export = str(fixtures_dir / "ris" / "scopus.ris")
    code = f"""
import sys
from evreview.ingest.formats import ris

def broken(*args, **kwargs):
    raise ZeroDivisionError("bug")

ris.record_fields = broken
from evreview.cli import main
sys.argv = ["evreview", "dedup", {export!r}, "--out", {str(tmp_path / "out")!r}]
sys.exit(main())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert "ZeroDivisionError" in lines[0] and "bug in evreview" in lines[0]
    assert lines[-1] == "  (run with --debug for the traceback)" and "Traceback" not in out.stderr
