"""Evidence-gap map cells, gaps, determinism and escaping."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evreview.errors import ConfigError, EvreviewError
from evreview.maps import MapSpec, build_map, gap_report, spec_from_config, write_map
from evreview.maps.html import safe_json

VOCAB = {
    "theme": [("infra", "Infrastructure"), ("skills", "Skills"), ("values", "Values")],
    "outcome": [("ind", "Individual"), ("org", "Organisational")],
    "evidence": [("case", "Case study"), ("long", "Longitudinal"), ("review", "Review")],
    "stage": [("setup", "Set-up"), ("delivery", "Delivery")],
}
SPEC = MapSpec(rows="theme", columns="outcome", segment="evidence", filters=("stage",), sparse_threshold=1,
               synthesis_min_primary=3, review_dimension="evidence", review_code="review", min_filter_studies=2)


def _coded() -> pd.DataFrame:
    rows = [
        # id, theme, outcome, evidence, stage
        ("s1", "infra", "ind", "case", "setup"),
        ("s2", "infra;skills", "ind", "long", "delivery"),
        ("s3", "infra", "ind;org", "case", "delivery"),
        ("s4", "infra", "ind", "case", "delivery"),
        ("s5", "skills", "org", "review", "delivery"),
        ("s6", "skills", "org", "case", "setup"),
    ]
    return pd.DataFrame(
        {
            "study_id": [r[0] for r in rows],
            "title": [f"Study {r[0]}" for r in rows],
            "year": [2010 + i for i in range(len(rows))],
            "journal": "Evidence & Policy",
            "doi": [f"10.1234/{r[0]}" for r in rows],
            "source_databases": [["Scopus"]] * len(rows),
            "theme": [r[1] for r in rows],
            "outcome": [r[2] for r in rows],
            "evidence": [r[3] for r in rows],
            "stage": [r[4] for r in rows],
        }
    )


def test_cells_count_distinct_studies_per_cell_and_segment():
    result = build_map(_coded(), VOCAB, SPEC)
    cells = result.cells.set_index(["row", "column", "segment"])["n_studies"]
    assert cells[("infra", "ind", "")] == 4  # s1 s2 s3 s4
    assert cells[("infra", "ind", "case")] == 3
    assert cells[("infra", "ind", "long")] == 1
    assert cells[("infra", "org", "")] == 1  # s3 (multi-label outcome)
    assert cells[("skills", "org", "")] == 2
    assert cells[("values", "ind", "")] == 0
    assert len(result.cells) == 3 * 2 * 4  # every combination, totals + 3 segments


def test_gap_kinds():
    gaps = build_map(_coded(), VOCAB, SPEC).gaps
    top = gaps[gaps["filter_dimension"] == ""]
    absolute = set(zip(top.loc[top.kind == "absolute", "row"], top.loc[top.kind == "absolute", "column"]))
    assert absolute == {("values", "ind"), ("values", "org")}
    sparse = set(zip(top.loc[top.kind == "sparse", "row"], top.loc[top.kind == "sparse", "column"]))
    assert ("infra", "org") in sparse and ("skills", "ind") in sparse
    synthesis = top[top.kind == "synthesis"]
    assert list(zip(synthesis.row, synthesis.column)) == [("infra", "ind")]  # 4 primary, no review
    seg = top[(top.kind == "segment") & (top.row == "infra") & (top.column == "ind")]
    assert list(seg.segment) == []  # case and long both present; review is not a segment gap
    filtered = gaps[gaps["filter_dimension"] == "stage"]
    # under stage=delivery infra x ind has s2,s3,s4 (no gap); under setup (s1,s6) skills x ind is empty
    assert ((filtered.filter_code == "setup") & (filtered.kind == "absolute") & (filtered.row == "infra")
            & (filtered.column == "org")).any()
    report = gap_report(build_map(_coded(), VOCAB, SPEC), 6)
    assert "no study on Values x Individual" in report
    assert "No study is included yet" not in report and "appear in no cell" not in report
    # a study with no theme code is in no cell: the report counts it
    untagged = _coded()
    untagged.at[0, "theme"] = ""
    assert "1 included study has no theme or no outcome code" in gap_report(build_map(untagged, VOCAB, SPEC), 6)
    # before any study is included every cell is an "absolute gap": the report says why
    empty = gap_report(build_map(_coded().iloc[:0], VOCAB, SPEC), 0)
    assert "No study is included yet" in empty and "no study on Values x Individual" in empty


def test_gap_report_says_how_many_studies_still_await_screening(tmp_path: Path) -> None:
    """With most studies unscreened, "no study on X" said nothing of the evidence and gaps.md did
    not say so; evreview map --screening counts the undecided and maybe studies for it."""
    from evreview.maps.commands import count_awaiting

    screening = tmp_path / "screening.csv"
    screening.write_text("study_id,status,decided_by\na,included,reviewer\nb,undecided,\nc,maybe,reviewer\n"
                         "d,excluded,rule\ne,undecided,\n", encoding="utf-8")
    assert count_awaiting(screening) == 3 and count_awaiting(None) == 0
    report = gap_report(build_map(_coded(), VOCAB, SPEC), 6, awaiting=3)
    assert "3 studies are still awaiting screening or classification, against 6 included" in report
    assert "awaiting screening" not in gap_report(build_map(_coded(), VOCAB, SPEC), 6)
    (tmp_path / "bad.csv").write_text("study_id,decision\na,include\n", encoding="utf-8")
    with pytest.raises(EvreviewError, match=r"bad\.csv.*status"):
        count_awaiting(tmp_path / "bad.csv")


def test_gap_report_heading_names_the_review_once():
    """The heading read "# Evidence gaps: Evidence-gap map: <review title>" with the map's default title."""
    report = gap_report(build_map(_coded(), VOCAB, SPEC, title="Evidence-gap map: Restoration"), 6)
    assert report.splitlines()[0] == "# Evidence gaps: Restoration"
    assert gap_report(build_map(_coded(), VOCAB, SPEC, title="My map"), 6).startswith("# Evidence gaps: My map\n")


def test_config_spec_checks_dimensions():
    spec = spec_from_config({"rows": "theme", "columns": "outcome", "segment": "evidence"}, VOCAB)
    assert spec.rows == "theme"
    with pytest.raises(ConfigError, match=r"map\.columns"):
        spec_from_config({"rows": "theme", "columns": "nope"}, VOCAB)


def test_config_spec_checks_the_cross_dimensions_and_names_the_config():
    # map.cross naming a dimension the codebook lacks was a KeyError traceback from evreview map
    with pytest.raises(ConfigError, match=r"^config/config\.yaml: map\.cross: 'nope' is not a codebook dimension"):
        spec_from_config({"rows": "theme", "columns": "outcome", "cross": ["stage", "nope"]}, VOCAB,
                         source="config/config.yaml")


def test_outputs_are_deterministic_and_complete(tmp_path: Path):
    a = write_map(build_map(_coded(), VOCAB, SPEC, title="Demo"), tmp_path / "a", 6)
    b = write_map(build_map(_coded().sample(frac=1, random_state=1), VOCAB, SPEC, title="Demo"), tmp_path / "b", 6)
    for key in a:
        assert a[key].exists() and a[key].stat().st_size > 0
        assert hashlib.sha256(a[key].read_bytes()).digest() == hashlib.sha256(b[key].read_bytes()).digest(), key


def test_html_escapes_hostile_text_and_pins_its_script(tmp_path: Path):
    coded = _coded()
    coded.loc[0, "title"] = "<img src=x onerror=alert(1)>"
    coded.loc[1, "title"] = "</script><script>alert(2)</script> & <!-- x"
    page = build_map(coded, VOCAB, SPEC, title="<b>My</b> map").html
    assert "<img src=x" not in page and "</script><script>alert(2)" not in page and "<b>My</b>" not in page
    assert "&lt;b&gt;My&lt;/b&gt; map" in page
    data = re.search(r'<script type="application/json" id="egm-data">(.*?)</script>', page, re.S).group(1)
    assert json.loads(data)["studies"][0]["t"] == "<img src=x onerror=alert(1)>"
    assert "script-src 'sha256-" in page and "unsafe-inline'; img" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing fetched


def test_safe_json_never_closes_a_script():
    assert "<" not in safe_json({"a": "</script><!--"}) and "&" not in safe_json({"a": "&amp;"})


def test_empty_map_and_single_code_dimension(tmp_path: Path):
    empty = _coded().iloc[0:0]
    result = build_map(empty, VOCAB, SPEC)
    assert (result.cells["n_studies"] == 0).all()
    assert (result.gaps["kind"] == "absolute").sum() == 6
    write_map(result, tmp_path / "empty", 0)
    one = {**VOCAB, "outcome": [("ind", "Individual")]}
    result = build_map(_coded(), one, MapSpec(rows="theme", columns="outcome"))
    write_map(result, tmp_path / "one", 6)
    assert len(result.cells) == 3


def test_ten_thousand_studies_render(tmp_path: Path):
    base = _coded()
    big = pd.concat([base.assign(study_id=base["study_id"] + f"_{i}") for i in range(1667)], ignore_index=True)
    result = build_map(big, VOCAB, SPEC)
    paths = write_map(result, tmp_path, len(big))
    assert result.cells.set_index(["row", "column", "segment"]).loc[("infra", "ind", ""), "n_studies"] == 4 * 1667
    assert paths["html"].stat().st_size < 5_000_000


def _explode_by_rows(coded: pd.DataFrame, dims: list[str]) -> dict[str, dict[str, set[str]]]:
    """The row-by-row walk explode_codes replaced (the reference for its vectorised version)."""
    from evreview.maps.cells import split_codes

    out: dict[str, dict[str, set[str]]] = {}
    for dim in dims:
        members: dict[str, set[str]] = {}
        if dim in coded.columns:
            for sid, value in zip(coded["study_id"].astype(str), coded[dim]):
                for code in split_codes(value):
                    members.setdefault(code, set()).add(sid)
        out[dim] = members
    return out


@pytest.mark.parametrize("plain", [False, True])
def test_explode_codes_matches_a_row_by_row_walk_on_awkward_cells(plain: bool):
    """Grouping by distinct cell value must give the same sets, and codes in first-seen order,
    whatever the cells hold: multi-code and padded text, empty text, missing values, lists."""
    from evreview.maps.cells import as_plain_strings, explode_codes

    coded = pd.DataFrame(
        {
            "study_id": ["s3", "s1", "s2", "s4", "s5", "s6"],
            "theme": ["skills", "infra; skills", None, "", " values ;infra;", "skills;infra"],
            "outcome": ["ind", "ind", "org", None, "ind", "org"],
        }
    )
    mixed = coded.assign(evidence=pd.Series([["case", "long"], "review", None, float("nan"), ("long",), pd.NA],
                                            dtype=object))
    frame = as_plain_strings(mixed) if plain else mixed
    dims = ["theme", "outcome", "evidence", "not_a_column"]
    got, want = explode_codes(frame, dims), _explode_by_rows(mixed, dims)
    assert got == want
    assert [list(got[d]) for d in dims] == [list(want[d]) for d in dims]  # first-seen code order
    assert got["theme"]["infra"] == {"s1", "s5", "s6"} and "" not in got["theme"]
    assert explode_codes(frame.iloc[:0], dims) == {d: {} for d in dims}  # empty table


def test_plain_strings_keep_the_map_byte_identical(tmp_path: Path):
    """as_plain_strings (object columns for speed) must not change any map output."""
    from evreview.maps.cells import as_plain_strings

    coded = _coded()
    coded.loc[0, "stage"] = None  # a missing value in a filter dimension
    outs = []
    for i, frame in enumerate((coded, as_plain_strings(coded))):
        write_map(build_map(frame, VOCAB, SPEC), tmp_path / str(i), len(frame))
        outs.append({p.name: p.read_bytes() for p in sorted((tmp_path / str(i)).iterdir())})
    assert outs[0] == outs[1]


def test_gaps_under_a_filter_are_the_gaps_of_that_filters_studies():
    """find_gaps restricts the code sets to a filter value's studies: the same gaps as mapping
    just those rows of the table (less sparse ones and those already on the full map)."""
    import random
    from dataclasses import replace

    from evreview.maps.cells import find_gaps

    rng = random.Random(5)
    rows = []
    for i in range(120):
        pick = {dim: ";".join(sorted(rng.sample([c for c, _ in codes], rng.randint(0, 2))))
                for dim, codes in VOCAB.items()}
        rows.append({"study_id": f"s{i:03d}", **pick})
    coded = pd.DataFrame(rows)
    spec = replace(SPEC, min_filter_studies=1, filters=("stage", "evidence"))
    gaps = find_gaps(coded, spec, VOCAB)
    full = gaps[gaps["filter_dimension"] == ""]
    seen = set(zip(full["kind"], full["row"], full["column"], full["segment"]))
    checked = 0
    for dim in spec.filters:
        for code, label in VOCAB[dim]:
            subset = coded[coded[dim].str.split(";").map(lambda codes, c=code: c in codes)]
            if not len(subset):
                continue
            alone = find_gaps(subset, replace(spec, filters=()), VOCAB)
            new = [k not in seen for k in zip(alone["kind"], alone["row"], alone["column"], alone["segment"])]
            alone = alone[(alone["kind"] != "sparse").to_numpy() & np.array(new, dtype=bool)]
            alone = alone.assign(filter_dimension=dim, filter_code=code, filter_label=label,
                                 description=alone["description"] + f" (only where {dim} = {label})")
            got = gaps[(gaps["filter_dimension"] == dim) & (gaps["filter_code"] == code)]
            pd.testing.assert_frame_equal(got.reset_index(drop=True), alone.reset_index(drop=True))
            checked += len(got)
    assert checked >= 5


def test_cell_ids_read_as_a_joined_list_for_odd_study_ids():
    """A study id holding ";" (or an empty one) counts as the cell's joined list reads it back,
    as when gaps were found from the cell table's study_ids column."""
    from evreview.maps.cells import find_gaps

    coded = pd.DataFrame({"study_id": ["a;b", "", "c"], "theme": ["infra"] * 3, "outcome": ["ind"] * 3,
                          "evidence": ["case"] * 3, "stage": ["setup"] * 3})
    spec = MapSpec(rows="theme", columns="outcome", sparse_threshold=2, review_dimension=None, review_code=None)
    gaps = find_gaps(coded, spec, VOCAB)
    cell = gaps[(gaps["row"] == "infra") & (gaps["column"] == "ind") & (gaps["filter_dimension"] == "")]
    assert cell.empty  # "a", "b" and "c": three studies, not sparse; the empty id is dropped
    sparse = find_gaps(coded.iloc[1:], spec, VOCAB).query("row == 'infra' and column == 'ind'")
    assert sparse["n_studies"].tolist() == [1]  # "" and "c": the empty id is dropped


def _payload_studies_reference(coded: pd.DataFrame, dims: list[str]) -> list[dict]:
    """The per-row payload builder (a dict per itertuples row), kept as the reference."""
    from evreview.maps.cells import split_codes

    out = []
    for row in coded.sort_values("study_id").itertuples(index=False):
        rec = row._asdict()
        dbs = rec.get("source_databases")
        out.append({
            "id": str(rec["study_id"]),
            "t": str(rec.get("title") or ""),
            "y": int(rec["year"]) if pd.notna(rec.get("year")) and str(rec.get("year")) != "" else None,
            "j": str(rec.get("journal") or ""),
            "d": str(rec.get("doi") or ""),
            "db": split_codes(list(dbs) if hasattr(dbs, "__iter__") and not isinstance(dbs, str) else dbs),
            "c": {dim: split_codes(rec.get(dim)) for dim in dims},
        })
    return out


def test_map_payload_matches_the_per_row_builder():
    from evreview.maps.html import map_payload

    coded = _coded()
    coded.loc[0, "title"] = None
    coded.loc[1, "title"] = float("nan")  # NaN is truthy: the per-row builder wrote "nan"
    coded["year"] = pd.array([2010, None, 2012, 2013, 2014, 2015], dtype="Int64")
    coded["source_databases"] = [np.array(["Scopus", "WoS"]), "PubMed; Scopus", None, [], ("A",), ["B"]]
    coded["class"] = ["setup"] * 6  # a keyword: itertuples renames it, so it reads as no code
    coded["stage"] = ["setup", None, "setup;delivery", float("nan"), "", "delivery"]
    coded = coded.drop(columns=["journal"]).sample(frac=1, random_state=2)
    spec = MapSpec(rows="theme", columns="outcome", segment="evidence", filters=("stage", "class", "absent"))
    dims = ["theme", "outcome", "evidence", "stage", "class", "absent"]
    vocab = {**VOCAB, "class": [("setup", "Set-up")], "absent": [("x", "X")]}
    payload = map_payload(coded, spec, vocab, title="t")
    assert payload["studies"] == _payload_studies_reference(coded, dims)
    assert payload["studies"][0]["c"]["class"] == []


def test_static_map_draws_dollar_signs_as_text(tmp_path: Path):
    # matplotlib read "$...$" as a TeX formula: "US$ and AU$" was drawn as "USandAU" in italics
    # (as paths, not text) and a label like "$5 {$" stopped evreview map with a ParseFatalException
    vocab = {**VOCAB, "theme": [("infra", "US$ and AU$"), ("skills", "$5 {$"), ("values", "Values")]}
    paths = write_map(build_map(_coded(), vocab, SPEC, title="Costs from $1 to $2"), tmp_path, 6)
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", paths["svg"].read_text(encoding="utf-8"))
    assert {"US$ and AU$", "$5 {$", "Costs from $1 to $2"} <= set(texts)


@pytest.mark.parametrize("segment", ["evidence", None])
def test_static_map_says_how_to_read_its_bubbles(tmp_path: Path, segment: str | None):
    """The static map had no key to its bubble sizes; it now says what they count, with and
    without segments (the largest bubble is the largest segment count, or cell count)."""
    from dataclasses import replace

    paths = write_map(build_map(_coded(), VOCAB, replace(SPEC, segment=segment)), tmp_path, 6)
    text = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", paths["svg"].read_text(encoding="utf-8")))
    assert "Bubble area grows with the number of studies (the largest bubble:" in text


def test_static_map_cuts_a_very_long_label_to_a_few_lines(tmp_path: Path):
    # a 400-character code label was wrapped into 25 lines running over the next rows' labels and
    # the legend, and a long review title ran off both edges of the figure
    long = "A very long label " * 20
    vocab = {**VOCAB, "theme": [("infra", long), ("skills", "Skills"), ("values", "Values")],
             "evidence": [("case", "x" * 300), ("long", "Longitudinal"), ("review", "Review")]}
    title = "Evidence-gap map: " + "a long review title about partnerships " * 5
    paths = write_map(build_map(_coded(), vocab, SPEC, title=title), tmp_path, 6)
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", paths["svg"].read_text(encoding="utf-8"))
    long_lines = [t for t in texts if "very" in t or "label" in t]
    assert len(long_lines) <= 6 and long_lines[-1].endswith("…")
    assert len([t for t in texts if t.startswith("xxx")]) <= 2  # the legend entry
    assert 2 <= len([t for t in texts if "review title" in t]) <= 3 and max(map(len, texts)) <= 90


def test_gap_report_says_when_synthesis_gaps_were_not_looked_for():
    # a review code the codebook lacks found no reviews and the report listed "Synthesis gaps
    # (0): none", as if every cell had its review. Set in the config, it is a typo: an error
    # naming the key; left to its defaults in a codebook without them, "not looked for"
    typo = {"rows": "theme", "columns": "outcome", "segment": "evidence", "review_dimension": "evidence",
            "review_code": "reveiw", "synthesis_min_primary": 1}
    with pytest.raises(ConfigError, match=r"map.review_code: 'reveiw' is not a code of 'evidence'"):
        spec_from_config(typo, VOCAB)
    with pytest.raises(ConfigError, match=r"map.review_dimension: 'evidense' is not a codebook dimension"):
        spec_from_config({**typo, "review_dimension": "evidense"}, VOCAB)
    config = {"rows": "theme", "columns": "outcome", "segment": "evidence", "synthesis_min_primary": 1}
    spec = spec_from_config(config, VOCAB)  # the defaults, evidence_type / review: not in this codebook
    report = gap_report(build_map(_coded(), VOCAB, spec), 6)
    assert "## Synthesis gaps (primary studies, no review) (not looked for)" in report
    assert "(0)\n\n- none" not in report.split("## Synthesis")[1].split("##")[0]
    good = spec_from_config({"rows": "theme", "columns": "outcome", "review_dimension": "evidence",
                             "review_code": "review", "synthesis_min_primary": 1}, VOCAB)
    good_report = gap_report(build_map(_coded(), VOCAB, good), 6)
    assert "## Synthesis gaps (primary studies, no review) (3)" in good_report
    synthesis = good_report.split("## Synthesis")[1].split("##")[0]
    assert "1 primary studies" not in synthesis  # one study is "1 primary study"


def test_a_study_listed_twice_counts_once_and_odd_titles_stay_data(tmp_path: Path):
    """Red team: a cell counts distinct studies even when a table lists a study twice (as a join
    with records would); a very long, non-ASCII title is data in the page, and the page names no
    https:// resource either (a CDN would be https)."""
    coded = pd.concat([_coded(), _coded().iloc[[1]]], ignore_index=True)
    coded.loc[0, "title"] = "Partenariats « territoriaux » & Gemeinschaft – " + "x" * 5000
    result = build_map(coded, VOCAB, SPEC)
    cells = result.cells.set_index(["row", "column", "segment"])["n_studies"]
    assert cells[("infra", "ind", "")] == 4 and cells[("skills", "ind", "")] == 1  # s2 in two themes, once in each
    data = re.search(r'<script type="application/json" id="egm-data">(.*?)</script>', result.html, re.S).group(1)
    assert json.loads(data)["studies"][0]["t"].startswith("Partenariats « territoriaux » & Gemeinschaft")
    urls = set(re.findall(r"https?://[^\s\"'<>)]*", result.html))
    assert urls <= {"http://www.w3.org/2000/svg", "https://doi.org/"}, urls  # an SVG namespace and a link prefix
    write_map(result, tmp_path, 6)  # the static map draws the long title without error


def test_the_codebooks_map_role_of_a_dimension_is_kept(tmp_path: Path):
    """The codebook's per-dimension ``map: axis | filter | none`` was read by nothing: the demo's
    evidence type said ``filter`` and was the map's segment. A filter dimension is now refused as
    rows, columns or segment, a ``none`` one anywhere on the map; an axis may also filter."""
    roles = {"theme": "axis", "outcome": "axis", "evidence": "filter", "stage": "none"}
    with pytest.raises(ConfigError, match=r"map\.segment: dimension 'evidence' has map: filter in the codebook"):
        spec_from_config({"rows": "theme", "columns": "outcome", "segment": "evidence"}, VOCAB, roles=roles)
    with pytest.raises(ConfigError, match=r"map\.filters: dimension 'stage' has map: none"):
        spec_from_config({"rows": "theme", "columns": "outcome", "filters": ["stage"]}, VOCAB, roles=roles)
    spec = spec_from_config({"rows": "theme", "columns": "outcome", "filters": ["evidence", "theme"]}, VOCAB,
                            roles=roles)
    assert spec.filters == ("evidence", "theme")
