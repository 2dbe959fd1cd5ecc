"""Exports checked in round 5 (asreview/citation-file-formatting, CC0: the same records exported
by about twenty tools). Where each fixture comes from is in tests/fixtures/tabular/README.md and
tests/fixtures/ris/README.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from evreview.ingest import ingest_file
from evreview.ingest.registry import SNIFF_GATES, Source, detect
from evreview.ingest.textio import decode, is_container

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TABULAR = FIXTURES / "tabular"
RIS = FIXTURES / "ris"


def source_for(path: Path) -> Source:
    data = path.read_bytes()
    return Source(path=path, data=data, text=None if is_container(data) else decode(data, path))


# --------------------------------------------------------------------------- Embase CSV


@pytest.mark.parametrize(
    ("name", "lines", "titles"),
    [
        (
            "embase_search.csv",
            [5, 6, 7],
            ["Cellular structure", "Erratum: Author Correction", "A new abelisaurid"],
        ),
        (
            "embase_search_excel.csv",
            [5, 6, 7],
            ["Cellular structure", "A remarkable assemblage", "Erratum: Correction"],
        ),
    ],
)
def test_embase_csv_with_its_search_lines_above_the_header(name: str, lines: list[int], titles: list[str]) -> None:
    """Embase's "SEARCH QUERY" line, dashes and blank line above the header (and Excel's re-save
    of them with semicolons) made the export "no title column recognised"."""
    path = TABULAR / name
    source = source_for(path)
    assert SNIFF_GATES["embase_csv"](source.head)
    assert detect(source).name == "embase_csv"
    result = ingest_file(path, root=TABULAR)
    report = result.reports[0]
    assert (report.found, report.parsed, report.failed, report.warnings) == (3, 3, 0, 0)
    assert report.source_database == "Embase"
    records = result.records
    assert list(records["source_line"]) == lines
    for title, expected in zip(records["title"], titles):
        assert title.startswith(expected)
    first = records.iloc[0]
    assert (first["source_id"], first["doi"], first["pmid"], first["year"]) == (
        "L2029880245",
        "10.1038/s41467-024-48400-3",
        "38773066",
        2024,
    )
    assert list(first["authors"]) == ["Yang Z.", "Jiang B.", "Xu J.", "McNamara M.E."]


def test_embase_search_lines_without_the_dashes_are_not_skipped(tmp_path: Path) -> None:
    """Only Embase's whole block (down to its line of dashes) is skipped: a hand-made table
    whose first cell happens to say SEARCH QUERY is still read from its first line."""
    path = tmp_path / "table.csv"
    path.write_text('"SEARCH QUERY","Title"\n"q1","A title"\n', encoding="utf-8")
    assert detect(source_for(path)).name != "embase_csv"


# --------------------------------------------------------------------------- Abstrackr CSV


def test_abstrackr_csv_skips_its_section_line_and_zero_pmids() -> None:
    """Read as a generic table, the "citations that are not yet labeled by anyone" line was an
    empty record, every record had PMID 0 and the record id was that 0."""
    path = TABULAR / "abstrackr.csv"
    assert detect(source_for(path)).name == "abstrackr_csv"
    result = ingest_file(path, root=TABULAR)
    report = result.reports[0]
    assert (report.found, report.parsed, report.failed, report.warnings) == (4, 4, 0, 0)
    assert report.source_database == "Abstrackr"
    records = result.records
    assert list(records["source_id"]) == ["41893415", "41893418", "41893421", "41893424"]
    assert list(records["pmid"]) == ["", "", "", ""]
    assert all(records["title"].str.len() > 40)
    assert list(records.iloc[1]["authors"]) == [
        "Pol, D.", "Baiano, M.A.", "??ern??, D.", "Novas, F.E.", "Cerda, I.A.", "Pittman, M.",
    ]  # fmt: skip
    assert list(records.iloc[3]["authors"]) == ["Brownstein, C.D."]
    assert list(records.iloc[0]["keywords"])[:3] == ["phosphate", "Africa", "animal"]
    assert records.iloc[0]["abstract"].endswith("distinct dinosaurian faunas. Titanosaurians and abelisaurids dominated the Gondwanan continents.")
    assert records.iloc[2]["abstract"] == ""
