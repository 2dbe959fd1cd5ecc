"""The analysts' API (``evreview.load_results``) on a small project laid out as the workflow leaves it.

The tables are written with the pipeline's own writers (``write_csv``, ``evreview map``), so
what is read here has the bytes the workflow's outputs have; the demo run itself is covered
in test_workflow.py.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import evreview
from evreview.cli import main
from evreview.errors import EvreviewError
from evreview.reporting import write_csv

REPO = Path(__file__).resolve().parents[1]

# id, theme, outcome_level, evidence_type, stage, place
CODED = [
    ("s01", "approaches", "individual", "participant_perception", "delivery", "uk"),
    ("s02", "approaches;skills_expertise", "individual;societal", "qualitative_case_study", "delivery", "uk;europe"),
    ("s03", "skills_expertise", "organisational", "longitudinal", "evaluation_sustainment", "usa"),
    ("s04", "behaviours_values", "societal", "review", "delivery", "canada"),
    ("s05", "infrastructure_systems", "organisational", "independent_evaluation", "initiation_setup", "uk"),
    ("s06", "approaches", "societal", "qualitative_case_study", "evaluation_sustainment", "australia"),
]


def _write_project(root: Path) -> Path:
    shutil.copytree(REPO / "config", root / "config")
    coded = pd.DataFrame(CODED, columns=["study_id", "theme", "outcome_level", "evidence_type", "stage", "place"])
    coded.insert(1, "title", [f"Study {i}" for i in coded["study_id"]])
    coded.insert(2, "year", pd.array([2008 + i for i in range(len(coded))], dtype="Int64"))
    coded["topic"] = "topic_0"
    coded["uncoded_reason"] = ""
    (root / "data" / "coded").mkdir(parents=True)
    coded.to_parquet(root / "data" / "coded" / "coded_records.parquet", index=False)
    studies = coded[["study_id", "title", "year"]].assign(
        journal="Evidence & Policy", doi=[f"10.1234/{i}" for i in coded["study_id"]],
        source_databases=[["Scopus"]] * len(coded))
    (root / "results" / "dedup").mkdir(parents=True)
    studies.to_parquet(root / "results" / "dedup" / "studies.parquet", index=False)
    # as screen, ledger and code write them: typed frames through write_csv
    (root / "results" / "screen").mkdir(parents=True)
    screening = pd.DataFrame({"study_id": ["s01", "s02", "s07", "s08"],
                              "status": ["included", "included", "excluded", "undecided"],
                              "decided_by": ["reviewer", "machine", "rule", ""], "reason": ["", "score>0", "year", ""],
                              "reviewer": ["ann", "", "", ""], "score": [1.5, 0.25, None, -2.5],
                              "rank": pd.array([None, 2, None, 10], dtype="Int64"), "evidence": ""})
    write_csv(screening, root / "results" / "screen" / "screening.csv")
    ledger = pd.DataFrame({"record_id": ["r01", "r02", "r09"], "source_database": ["Scopus", "PubMed", "PubMed"],
                           "source_index": [0, 1, 2], "study_id": ["s01", "s02", "s01"],
                           "kept": [True, True, False], "coded": [True, True, False],
                           "fate": ["included", "included", "duplicate"]})
    write_csv(ledger, root / "results" / "ledger.csv")
    topics = pd.DataFrame({"topic": [0, 1], "size": [4, 2], "label": ["0_a", "1_b"],
                           "nearest_code_score": [0.61, 0.7]})
    write_csv(topics, root / "data" / "coded" / "topics.csv")
    pd.DataFrame({"study_id": ["s01"], "dimension": ["theme"], "code": ["approaches"], "method": ["terms"],
                  "status": ["assigned"], "score": [0.5], "evidence": ["terms: co-production"]}).to_parquet(
        root / "data" / "coded" / "assignments.parquet", index=False)
    assert main(["map", "--coded", str(root / "data" / "coded" / "coded_records.parquet"),
                 "--studies", str(root / "results" / "dedup" / "studies.parquet"),
                 "--codebook", str(root / "config" / "codebook.yaml"), "--config", str(root / "config" / "config.yaml"),
                 "--out-dir", str(root / "results" / "map")]) == 0
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_project(tmp_path_factory.mktemp("project"))


def test_counts_scores_and_flags_are_numbers_and_booleans_not_text(project: Path):
    res = evreview.load_results(project)
    gaps = res.gaps
    for col in ("n_studies", "n_primary", "n_reviews"):
        assert pd.api.types.is_integer_dtype(gaps[col]), col
    assert len(gaps.query("n_studies < 1")) == (gaps["n_studies"] == 0).sum()  # was: TypeError, str vs int
    screening = res.screening.set_index("study_id")
    assert pd.api.types.is_float_dtype(screening["score"]) and pd.api.types.is_integer_dtype(screening["rank"])
    assert screening.loc["s08", "score"] == -2.5 and screening.loc["s08", "rank"] == 10
    assert pd.isna(screening.loc["s07", "score"]) and pd.isna(screening.loc["s01", "rank"])
    assert screening["reason"].tolist() == ["", "score>0", "year", ""]  # text stays text, empty stays ""
    assert res.screening.sort_values("rank")["study_id"].tolist()[:2] == ["s02", "s08"]  # 2 before 10
    ledger = res.ledger
    assert ledger["kept"].dtype == "boolean" and ledger["coded"].dtype == "boolean"
    assert ledger["kept"].sum() == 2  # "False" is not truthy
    assert pd.api.types.is_integer_dtype(ledger["source_index"])
    assert pd.api.types.is_integer_dtype(res.topics["size"]) and res.topics["size"].sum() == 6
    assert res.topics["topic"].tolist() == ["0", "1"]  # an id: text
    cells = res.table("map_cells")
    assert pd.api.types.is_integer_dtype(cells["n_studies"])


def test_pairs_and_duplicates_are_attributes_as_the_readme_says(tmp_path: Path):
    """README: dedup's pair audit is ``evreview.load_results(...).pairs`` (was: AttributeError)."""
    root = _write_project(tmp_path)
    pairs = pd.DataFrame({"record_id_a": ["r01"], "record_id_b": ["r09"], "decision": ["duplicate"], "rule": ["doi"]})
    pairs.to_parquet(root / "results" / "dedup" / "pairs.parquet", index=False)
    write_csv(pd.DataFrame({"record_id": ["r01", "r09"], "study_id": ["s01", "s01"], "kept": [True, False]}),
              root / "results" / "dedup" / "duplicates.csv")
    res = evreview.load_results(root)
    assert res.pairs.equals(pairs)
    assert res.duplicates["kept"].tolist() == [True, False]


def test_a_misspelt_map_argument_is_an_error_not_the_unfiltered_map(project: Path):
    """``matrix(filter={...})`` (for ``filters=``) or ``rows`` misspelt ``row`` gave the config's whole map
    without a word; years= works on matrix and studies_in_cell as on cells."""
    from evreview.errors import EvreviewError

    res = evreview.load_results(project)
    for call in (lambda: res.matrix(filter={"place": "uk"}), lambda: res.cells(row="stage"),
                 lambda: res.studies_in_cell("approaches", "individual", year=(2000, 2001))):
        with pytest.raises(EvreviewError, match=r"unknown argument '(filter|row|year)'.*filters=, years="):
            call()
    assert res.matrix(filters={"place": "uk"}).loc["Approaches", "Individual"] == 2  # s01, s02
    assert res.matrix(rows="stage", columns="evidence_type").loc["Delivery", "Review"] == 1
    assert res.matrix(years=(2008, 2008)).loc["Approaches", "Individual"] == 1  # s01 (2008)
    assert res.studies_in_cell("approaches", "individual", years=(2009, 2020))["study_id"].tolist() == ["s02"]


def test_a_filter_code_not_in_the_codebook_is_an_error_and_a_filter_matching_nothing_is_empty(project: Path):
    """``filters={"place": "UK"}`` (the label, not the code id ``uk``) gave a map of zeros, as if there were
    no UK evidence."""
    from evreview.errors import EvreviewError

    res = evreview.load_results(project)
    with pytest.raises(EvreviewError, match=r"no code 'UK' in dimension 'place'; its codes: uk, australia"):
        res.matrix(filters={"place": "UK"})
    assert res.filter_coded({"place": "global_south"}).empty  # a code no study carries: empty, no error
    assert (res.matrix(filters={"place": "global_south"}) == 0).all().all()
    assert res.studies_in_cell("approaches", "individual", filters={"place": "global_south"}).empty
    assert res.filter_coded(years=(1900, 1901)).empty


def test_a_missing_output_names_its_file_and_the_workflow_step_that_writes_it(tmp_path: Path):
    """On a project where only ingest and dedup have run, ``res.coded`` (and the map methods) said only
    'no such file' and ``res.stopping()`` was a silent ``{}``."""
    from evreview.errors import EvreviewError

    root = _write_project(tmp_path)
    for path in ("data/coded/coded_records.parquet", "results/screen/screening.csv"):
        (root / path).unlink()
    res = evreview.load_results(root)
    for call, file, step in ((lambda: res.coded, "coded_records.parquet", "code"),
                             (lambda: res.matrix(), "coded_records.parquet", "code"),
                             (lambda: res.screening, "screening.csv", "screen"),
                             (lambda: res.stopping(), "stopping.json", "screen"),
                             (lambda: res.changes, "changes.json", "changes"),
                             (lambda: res.pairs, "pairs.parquet", "deduplicate")):
        with pytest.raises(EvreviewError, match=rf"{file}: .* the workflow's '{step}' step writes it"):
            call()
    with pytest.raises(EvreviewError, match="no table 'changes'; known: records, "):
        res.table("changes")
    assert "studies" in res.available() and "coded" not in res.available()


def test_the_notebook_shows_its_figure_and_the_gaps_through_the_public_api(project: Path, monkeypatch):
    """The plot cell forced matplotlib's Agg backend, so Jupyter showed no figure; the gaps section showed
    only an (on the demo, empty) table of absolute gaps and never the stage x evidence-type combinations."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(REPO / "notebooks" / "explore_gaps.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:  # everything through the public API, no file read by hand
        assert not any(word in cell.source for word in ("read_csv", "read_parquet", "open(", "json.load")), cell.source
    monkeypatch.setenv("EVREVIEW_PROJECT", str(project))
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    plot = next(c for c in code if "imshow" in c.source)
    assert any("image/png" in o.get("data", {}) for o in plot.outputs)
    shown = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for c in code for o in c.outputs)
    assert re.search(r"Initiation and set-up +Longitudinal study +0\n", shown)  # an empty cross combination
    assert "1 of 6 coded studies are about initiation and set-up" in shown


def test_topics_carry_the_code_id_coded_studies_use_and_years_must_be_years(project: Path) -> None:
    """coded.topic holds code ids ("topic_0") and topics.topic the topic number, so joining them
    gave no row; topics now carry ``code``. Years given as text were a NumPy UFuncTypeError."""
    res = evreview.load_results(project)
    assert res.topics["code"].tolist() == ["topic_0", "topic_1"]
    joined = res.coded.merge(res.topics, left_on="topic", right_on="code")
    assert len(joined) == len(res.coded) == 6
    assert len(res.filter_coded(years=("2009", "2011"))) == 3  # years as text are read as numbers
    with pytest.raises(EvreviewError, match="years must be two whole years"):
        res.filter_coded(years=("2009", "later"))


def test_a_relative_config_is_found_inside_the_project_too(project: Path, tmp_path: Path, monkeypatch) -> None:
    """load_results('/p', config='conf2/x.yaml') looked for conf2/x.yaml in the current directory only."""
    alt = project / "conf2" / "x.yaml"
    alt.parent.mkdir(exist_ok=True)
    alt.write_text((project / "config" / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # elsewhere: the relative path is not under the current directory
    res = evreview.load_results(project, config="conf2/x.yaml")
    assert len(res.coded) == 6


def test_a_cell_of_the_matrix_is_named_by_its_labels_too(project: Path):
    """``matrix()`` is indexed by code labels; passing them on to ``studies_in_cell`` said
    "no cell 'Approaches' x 'Individual' on this map" although the cell holds studies."""
    res = evreview.load_results(project)
    m = res.matrix()
    row = m.index[m.index.str.startswith("Approaches")][0]
    column = m.columns[m.columns.str.startswith("Individual")][0]
    by_label = res.studies_in_cell(row, column)
    assert by_label["study_id"].tolist() == ["s01", "s02"] == res.studies_in_cell("approaches", "individual")[
        "study_id"].tolist()
    assert len(by_label) == m.loc[row, column]
    with pytest.raises(EvreviewError, match="no cell 'Nowhere' x 'individual'"):
        res.studies_in_cell("Nowhere", "individual")


def test_a_codebook_edited_since_coding_is_an_error_not_an_empty_column(tmp_path: Path, capsys):
    """A code renamed in the codebook (``societal`` -> ``society``) before the code step ran again:
    ``matrix()`` and ``evreview map`` showed the Societal column with 0 studies in every cell, a gap
    that is not there, because the studies still carried the old code id."""
    from evreview.errors import EvreviewError

    root = _write_project(tmp_path)
    book = root / "config" / "codebook.yaml"
    book.write_text(book.read_text(encoding="utf-8").replace("- id: societal", "- id: society"), encoding="utf-8")
    message = (r"coded_records\.parquet: outcome_level code 'societal' of study s02 is not in the codebook \(its "
               r"outcome_level codes: individual, organisational, society\): the codebook changed since the studies "
               r"were coded; run the code step again")
    with pytest.raises(EvreviewError, match=message):
        evreview.load_results(root).matrix()
    # the table itself still loads, so a notebook can see which studies carry the stale code
    stale = evreview.load_results(root).coded
    assert "societal" in set(stale.loc[stale["study_id"] == "s02", "outcome_level"].str.split(";").explode())
    capsys.readouterr()
    assert main(["map", "--coded", str(root / "data" / "coded" / "coded_records.parquet"),
                 "--codebook", str(book), "--config", str(root / "config" / "config.yaml"),
                 "--out-dir", str(tmp_path / "map")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err)
    # the codebook put back: s02 and s06 are on Approaches x Societal again
    book.write_text(book.read_text(encoding="utf-8").replace("- id: society", "- id: societal"), encoding="utf-8")
    assert evreview.load_results(root).matrix().loc["Approaches", "Societal"] == 2
