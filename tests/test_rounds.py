"""Search rounds: dates from config or search.yaml, order by date, clear errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evreview.errors import ConfigError
from evreview.rounds import load_rounds, read_search_file, round_order, rounds_for


def _round(raw: Path, name: str, files: tuple[str, ...] = ("scopus.ris",), search_yaml: str | None = None) -> Path:
    folder = raw / name
    folder.mkdir(parents=True)
    for f in files:
        (folder / f).write_text("TY  - JOUR\nER  - \n", encoding="utf-8")
    if search_yaml is not None:
        (folder / "search.yaml").write_text(search_yaml, encoding="utf-8")
    return folder


def test_dates_from_config_and_search_yaml_order_by_date_not_name(tmp_path: Path):
    raw = tmp_path / "raw"
    # "z_first" was searched first although its name sorts last
    _round(raw, "z_first", files=("wos.txt", "scopus.ris", "README.md", ".DS_Store"))
    _round(raw, "a_update", files=("pubmed.nbib",), search_yaml="date: 2025-03-10\ndescription: update\n")
    _round(raw, "m_undated", files=("lens.csv",))
    searches = {"z_first": {"date": "2024-03-15", "description": "initial"}, "planned": {"description": "later"}}
    rounds = load_rounds(raw, searches)
    assert list(rounds["round"]) == ["z_first", "a_update", "m_undated", "planned"]
    table = rounds.set_index("round")
    assert table.loc["z_first", "date"] == "2024-03-15" and table.loc["z_first", "date_source"] == "config"
    assert table.loc["z_first", "files"] == ["scopus.ris", "wos.txt"]  # README and dotfiles are not exports
    assert table.loc["a_update", "date"] == "2025-03-10" and table.loc["a_update", "date_source"] == "search.yaml"
    assert table.loc["a_update", "description"] == "update"
    assert table.loc["m_undated", "date"] == "" and table.loc["m_undated", "date_source"] == "unknown"
    assert table.loc["planned", "files"] == []  # listed in config, no folder yet
    # order of a ledger's rounds: by date; a round nobody dated comes last
    assert round_order(rounds, ["m_undated", "a_update", "z_first", "zz_gone"]) == [
        "z_first", "a_update", "m_undated", "zz_gone"
    ]
    assert round_order(None, ["b", "a"]) == ["a", "b"]


def test_rounds_for_config_uses_paths_raw_and_extra_rounds(tmp_path: Path):
    raw = tmp_path / "raw"
    _round(raw, "2024-03_initial")
    config = {"paths": {"raw": str(raw)}, "searches": {"2024-03_initial": {"date": "2024-03-15"}}}
    rounds = rounds_for(config, extra_rounds=["2025-01_gone"])
    assert list(rounds["round"]) == ["2024-03_initial", "2025-01_gone"]
    assert rounds_for(config, raw_dir=tmp_path / "missing")["round"].tolist() == ["2024-03_initial"]


def test_search_yaml_agreeing_with_config_is_fine_and_quoted_dates_work(tmp_path: Path):
    raw = tmp_path / "raw"
    _round(raw, "r1", search_yaml='date: "2024-03-15"\nquery: \'"research partnership*"\'\ndatabases: [Scopus]\n')
    rounds = load_rounds(raw, {"r1": {"date": "2024-03-15"}})
    assert rounds.loc[0, "date_source"] == "config"
    assert read_search_file(raw / "r1" / "search.yaml") == {
        "date": "2024-03-15", "query": '"research partnership*"', "databases": "Scopus"
    }
    assert read_search_file(_round(raw, "r2", search_yaml="") / "search.yaml") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date: [2024\n", r"search\.yaml:\d+: not valid YAML"),
        ("- 2024-03-15\n", "must be a mapping"),
        ("date: 2024-03-15\ndatum: x\n", "unknown key.*datum"),
        ("date: 2024-13-01\n", "not a date in YYYY-MM-DD form"),
        ("date: 15/03/2024\n", "not a date in YYYY-MM-DD form"),
        ("description: {a: 1}\n", "description must be text"),
        ("databases: {a: 1}\n", "databases must be a list"),
    ],
)
def test_malformed_search_yaml_names_the_file(tmp_path: Path, text: str, message: str):
    raw = tmp_path / "raw"
    _round(raw, "r1", search_yaml=text)
    with pytest.raises(ConfigError, match=message) as info:
        load_rounds(raw, {})
    assert str(raw / "r1" / "search.yaml") in str(info.value)


def test_search_yaml_contradicting_config_is_an_error(tmp_path: Path):
    raw = tmp_path / "raw"
    _round(raw, "r1", search_yaml="date: 2024-03-16\n")
    with pytest.raises(ConfigError, match=r"2024-03-16 disagrees with config searches\.r1\.date 2024-03-15"):
        load_rounds(raw, {"r1": {"date": "2024-03-15"}})


def test_not_utf8_search_yaml(tmp_path: Path):
    raw = tmp_path / "raw"
    folder = _round(raw, "r1")
    (folder / "search.yaml").write_bytes(b"description: caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_rounds(raw, {})


def _ris(*records: tuple[str, str]) -> str:
    return "".join(f"TY  - JOUR\nTI  - {title}\nDO  - {doi}\nPY  - 2020\nER  - \n\n" for title, doi in records)


A, B, C = ("Trust in partnerships", "10.1000/a"), ("Councils and universities", "10.1000/b"), ("Civic labs", "")


def _ingest(tmp_path: Path, export: Path) -> int:
    from evreview.cli import main

    out = tmp_path / "results" / "ingest" / export.parent.name / f"{export.name}.parquet"
    return main(["ingest", str(export), "--search", export.parent.name, "--root", str(tmp_path), "--out", str(out),
                 "--id-register", str(tmp_path / "results" / "ingest" / "ids")])


def test_an_export_edited_in_place_is_refused_before_its_ids_name_other_records(tmp_path: Path, capsys):
    """A corrected export that replaced the original with one record fewer near the top gave
    every later record id, and every reviewer decision on it, to another record, silently
    (19 of the demo's 46 decisions landed on other studies). Now the file is named and refused."""
    export = tmp_path / "data" / "raw" / "2024-03_initial" / "scopus.ris"
    export.parent.mkdir(parents=True)
    export.write_text(_ris(A, B, C), encoding="utf-8")
    assert _ingest(tmp_path, export) == 0
    export.write_text(_ris(B, C), encoding="utf-8")  # the first record removed
    assert _ingest(tmp_path, export) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("evreview ingest: error: data/raw/2024-03_initial/scopus.ris: this export changed")
    assert "'Trust in partnerships' and is now 'Councils and universities' (and 1 more)" in err
    assert not (tmp_path / "results" / "ingest" / "2024-03_initial" / "scopus.ris.parquet").exists()
    # records appended at the end, or a title corrected with the same DOI, keep every id's record
    export.write_text(_ris(("Trust in place-based partnerships", "10.1000/a"), B, C, ("New", "")), encoding="utf-8")
    assert _ingest(tmp_path, export) == 0


def test_an_export_moved_to_another_round_is_named_with_its_old_place(tmp_path: Path, capsys):
    """A renamed round folder (or an export moved between rounds) gave every record a new id and
    the run stopped later on 'key r... is not a known study_id or record_id', not saying why."""
    raw = tmp_path / "data" / "raw"
    export = raw / "2024-03_initial" / "wos.txt.ris"
    export.parent.mkdir(parents=True)
    export.write_text(_ris(A, B), encoding="utf-8")
    assert _ingest(tmp_path, export) == 0
    copy = raw / "2025-03_update" / "wos.txt.ris"  # the same search exported again: both kept
    copy.parent.mkdir()
    copy.write_bytes(export.read_bytes())
    assert _ingest(tmp_path, copy) == 0
    renamed = raw / "2024-03_first" / "wos.txt.ris"
    renamed.parent.mkdir()
    export.rename(renamed)
    assert _ingest(tmp_path, renamed) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "data/raw/2024-03_first/wos.txt.ris: this export was data/raw/2024-03_initial/wos.txt.ris (moved" in err


def test_an_unchanged_export_with_a_record_without_identifiers_ingests_again(tmp_path: Path):
    """A record with no title, DOI, PMID or database id never matched itself, so the same,
    unchanged export was refused as "changed" on its second ingest (with its outputs deleted)."""
    export = tmp_path / "data" / "raw" / "r1" / "a.ris"
    export.parent.mkdir(parents=True)
    export.write_text(_ris(A) + "TY  - JOUR\nAU  - Smith, J\nPY  - 2020\nER  - \n\n" + _ris(B), encoding="utf-8")
    assert _ingest(tmp_path, export) == 0
    assert _ingest(tmp_path, export) == 0


def test_a_damaged_register_entry_or_register_path_is_one_line_and_leaves_no_output(tmp_path: Path, capsys):
    export = tmp_path / "data" / "raw" / "r1" / "a.ris"
    export.parent.mkdir(parents=True)
    export.write_text(_ris(A, B), encoding="utf-8")
    assert _ingest(tmp_path, export) == 0
    entry = tmp_path / "results" / "ingest" / "ids" / "data" / "raw" / "r1" / "a.ris.ids.parquet"
    entry.write_bytes(entry.read_bytes()[:300])  # cut short
    assert _ingest(tmp_path, export) == 2
    err = capsys.readouterr().err
    assert "a.ris.ids.parquet: this id register entry is damaged" in err and "Traceback" not in err
    assert not (tmp_path / "results" / "ingest" / "r1" / "a.ris.parquet").exists()
    entry.unlink()
    assert _ingest(tmp_path, export) == 0  # deleting the entry registers the export again
    from evreview.cli import main

    taken = tmp_path / "regfile"
    taken.write_text("x", encoding="utf-8")
    assert main(["ingest", str(export), "--root", str(tmp_path), "--out", str(tmp_path / "o.parquet"),
                 "--id-register", str(taken)]) == 2
    assert f"{taken}: --id-register is a file, not a folder" in capsys.readouterr().err
    assert not (tmp_path / "o.parquet").exists()


def test_an_export_outside_the_root_is_registered_inside_the_register(tmp_path: Path):
    """An export given outside --root had its entry written beside the export itself."""
    from evreview.cli import main

    elsewhere = tmp_path / "elsewhere" / "b.ris"
    elsewhere.parent.mkdir()
    elsewhere.write_text(_ris(A, B), encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    register = project / "ids"
    args = ["ingest", str(elsewhere), "--root", str(project), "--out", str(project / "o.parquet"),
            "--id-register", str(register)]
    assert main(args) == 0
    assert not list(elsewhere.parent.glob("*.ids.parquet"))
    assert len(list(register.rglob("*.ids.parquet"))) == 1
    assert main(args) == 0


def test_exports_outside_a_round_folder_are_refused_not_skipped(tmp_path: Path):
    """An export dropped in data/raw/ itself or in a folder inside a round was never ingested
    and nothing said so: its records were missing from every count of a run that succeeded."""
    from evreview.rounds import check_raw_layout, misplaced_exports

    raw = tmp_path / "raw"
    _round(raw, "2024-03_initial", files=("scopus.ris", "README.md", ".DS_Store"))
    (raw / "README.md").write_text("notes", encoding="utf-8")
    (raw / ".hidden").write_text("x", encoding="utf-8")
    (raw / "2024-03_initial" / ".git").mkdir()
    (raw / "2024-03_initial" / ".git" / "config").write_text("x", encoding="utf-8")
    check_raw_layout(raw)  # READMEs and hidden files are not exports
    assert misplaced_exports(raw) == []

    (raw / "embase.ris").write_text("TY  - JOUR\nER  - \n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"raw/embase\.ris: it is not in a search-round folder.*<round>/embase\.ris"):
        check_raw_layout(raw)
    (raw / "embase.ris").unlink()

    nested = raw / "2024-03_initial" / "extra" / "deeper"
    nested.mkdir(parents=True)
    (nested / "lens.csv").write_text("Title\nx\n", encoding="utf-8")
    (nested.parent / "wos.txt").write_text("FN x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"extra/deeper/lens\.csv: it is in a folder inside round "
                                          r"'2024-03_initial'.*\(1 more file\(s\) like it\)"):
        check_raw_layout(raw)
    assert [p.name for p in misplaced_exports(raw)] == ["lens.csv", "wos.txt"]
    assert load_rounds(raw).set_index("round").loc["2024-03_initial", "files"] == ["scopus.ris"]


def test_a_round_or_export_named_with_braces_is_refused_by_name(tmp_path: Path):
    """Snakemake read ``scholar{1}.json`` as a wildcard and stopped with a WildcardError."""
    from evreview.rounds import check_raw_layout

    raw = tmp_path / "raw"
    _round(raw, "2024-03_initial", files=("scholar{1}.json",))
    with pytest.raises(ConfigError, match=r"2024-03_initial/scholar\{1\}\.json: a folder or file name with \{"):
        check_raw_layout(raw)


def test_a_misspelt_round_in_the_config_is_refused_a_planned_one_is_not(tmp_path: Path):
    """`searches: {2024-03_intial: ...}` left the real round undated, so the first search was
    ordered last and reported as the update; a round listed before its folder exists is fine."""
    from evreview.rounds import check_round_names

    raw = tmp_path / "raw"
    _round(raw, "2024-03_initial")
    _round(raw, "2025-03_update", search_yaml="date: 2025-03-10\n")
    searches = {"2024-03_intial": {"date": "2024-03-15"}, "2026-03_planned": {"date": "2026-03-01"}}
    with pytest.raises(ConfigError, match=r"^config.yaml: searches.2024-03_intial: no round folder .* did you mean "
                                          r"'2024-03_initial'\?"):
        check_round_names(load_rounds(raw, searches), searches, "config.yaml", raw)
    searches = {"2024-03_initial": {"date": "2024-03-15"}, "2026-03_planned": {"date": "2026-03-01"},
                "2025-03_updte": {"description": "a typo of a dated round changes no order"}}
    check_round_names(load_rounds(raw, searches), searches, "config.yaml", raw)


def test_a_planned_round_with_its_own_folder_is_never_taken_for_a_misspelt_one(tmp_path: Path):
    """An undated round folder (``2025-03_update``) and a new round planned in the config
    (``2025-04_update``) whose folder is made but holds no export yet (only its search.yaml,
    or nothing): the names are close, but the planned round has a folder of its own, so it is
    no typo of the other. The run was refused ("did you mean '2025-03_update'?"). A config
    round with no folder at all, this close to an undated folder, is still refused, and the
    message says how to keep it if it is planned."""
    from evreview.rounds import check_round_names

    raw = tmp_path / "raw"
    _round(raw, "2024-03_initial", search_yaml="date: 2024-03-15\n")
    _round(raw, "2025-03_update")  # undated: ordered last
    _round(raw, "2025-04_update", files=(), search_yaml="description: exports to come\n")
    (raw / "2025-05_update").mkdir()  # an empty folder made for the round, no search.yaml either
    searches = {"2025-04_update": {"date": "2025-04-01"}, "2025-05_update": {"date": "2025-05-01"}}
    check_round_names(load_rounds(raw, searches), searches, "config.yaml", raw)

    searches = {"2025-06_update": {"date": "2025-06-01"}}  # no folder: a typo of 2025-03_update, or planned
    with pytest.raises(ConfigError, match=r"^config.yaml: searches.2025-06_update: no round folder .* did you mean "
                                          r"'2025-03_update'\?.*if 2025-06_update is a round planned, make its "
                                          r"folder"):
        check_round_names(load_rounds(raw, searches), searches, "config.yaml", raw)


def test_a_search_round_that_found_nothing_is_the_latest_search(tmp_path: Path):
    """A round folder with its search.yaml and no export (the update search found nothing
    new) was left out, so the round before it was reported as the latest search; a round only
    planned in the config, or an empty folder without a search.yaml, is not a search."""
    from evreview.ledger import ordered_rounds
    from evreview.prisma import prisma_counts
    from evreview.rounds import searched_rounds

    raw = tmp_path / "raw"
    _round(raw, "2024-03_initial", search_yaml="date: 2024-03-15\n")
    _round(raw, "2025-03_update", files=(), search_yaml="date: 2025-03-10\n")
    (raw / "scratch").mkdir()
    rounds = load_rounds(raw, {"2026-03_planned": {"date": "2026-03-01"}})
    searched = searched_rounds(rounds, raw, ["2024-03_initial"])
    assert searched == ["2024-03_initial", "2025-03_update"]
    ledger = pd.DataFrame({"record_id": ["r1", "r2"], "search": "2024-03_initial", "source_database": "Scopus",
                           "study_id": ["s1", "s1"], "kept": [True, False], "fate": ["included", "duplicate"],
                           "screen_reason": ["", ""]})
    order = round_order(rounds, searched)
    assert ordered_rounds(ledger, order) == ["2024-03_initial", "2025-03_update"]
    counts = prisma_counts(ledger, order=order)
    assert counts["template"] == "updated" and counts["latest_round"] == "2025-03_update"
    assert (counts["database_results"], counts["previous_studies"], counts["total_studies"]) == (0, 1, 1)
