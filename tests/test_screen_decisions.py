"""Reviewers' decision files: parsing, retractions, key resolution, conflicts and kappa."""

from __future__ import annotations

import pandas as pd
import pytest

from evreview.errors import ConfigError
from evreview.screen import decisions as dec

HEADER = "key,decision,reviewer,reason,timestamp\n"


def write(tmp_path, text, name="screening.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_missing_file_is_no_decisions(tmp_path):
    assert len(dec.read_decisions(tmp_path / "none.csv")) == 0


def test_parses_rows_with_file_lines(tmp_path):
    p = write(tmp_path, HEADER + "s1,include,ann,,2024-01-01T10:00:00Z\n\ns2,EXCLUDE,ann,\"wrong, design\",t\n")
    d = dec.read_decisions(p)
    assert d["decision"].tolist() == ["include", "exclude"]
    assert d["line"].tolist() == [2, 4]
    assert d.loc[1, "reason"] == "wrong, design"


@pytest.mark.parametrize(
    ("body", "line", "what"),
    [
        ("s1,include,ann,,t\ns2,perhaps,ann,,t\n", 3, "perhaps"),
        ("s1,include,ann,,t\ns2,include,,,t\n", 3, "empty reviewer"),
        ("s1,include,ann,,t\n,include,ann,,t\n", 3, "empty key"),
        ("s1,include,ann,,t\ns2,include,ann\n", 3, "expected 5 fields"),
    ],
)
def test_malformed_line_is_an_error_naming_file_and_line(tmp_path, body, line, what):
    p = write(tmp_path, HEADER + body)
    with pytest.raises(ConfigError) as err:
        dec.read_decisions(p)
    assert err.value.line == line
    assert str(p) in str(err.value) and f":{line}" in str(err.value)
    assert what in str(err.value)


def test_bad_header_is_an_error(tmp_path):
    p = write(tmp_path, "key,decision,who\ns1,include,ann\n")
    with pytest.raises(ConfigError, match="missing column"):
        dec.read_decisions(p)


def test_record_ids_resolve_to_studies_and_unknown_keys_fail(tmp_path):
    dups = pd.DataFrame({"record_id": ["r1", "r2", "r3"], "study_id": ["s1", "s1", "s3"]})
    keys = dec.key_map(dups, ["s1", "s3"])
    d = dec.parse_decisions(HEADER + "r2,include,ann,,t\ns3,exclude,ann,,t\n")
    assert dec.resolve(d, keys)["study_id"].tolist() == ["s1", "s3"]
    bad = dec.parse_decisions(HEADER + "s1,include,ann,,t\nr9,exclude,ann,,t\n")
    with pytest.raises(ConfigError, match="r9") as err:
        dec.resolve(bad, keys, "screening.csv")
    assert err.value.line == 3


def test_last_decision_wins_and_retract_restores_the_previous_one():
    text = HEADER + (
        "s1,include,ann,,t1\n"
        "s1,exclude,ann,,t2\n"
        "s1,retract,ann,undo,t3\n"  # back to include
        "s2,maybe,ann,,t1\n"
        "s2,retract,ann,undo,t2\n"  # no standing decision left
        "s3,exclude,bob,,t1\n"
    )
    d = dec.resolve(dec.parse_decisions(text), {"s1": "s1", "s2": "s2", "s3": "s3"})
    st = dec.latest(d)
    assert list(zip(st["study_id"], st["reviewer"], st["decision"])) == [
        ("s1", "ann", "include"),
        ("s3", "bob", "exclude"),
    ]


def two_reviewers():
    a = ["i", "i", "e", "e", "i", "e", "e", "e", "i", "e"]
    b = ["i", "e", "e", "e", "i", "e", "i", "e", "i", "e"]
    rows = []
    for n, (x, y) in enumerate(zip(a, b)):
        name = {"i": "include", "e": "exclude"}
        rows.append(f"s{n},{name[x]},ann,,t")
        rows.append(f"s{n},{name[y]},bob,,t")
    d = dec.parse_decisions(HEADER + "\n".join(rows) + "\n")
    return dec.latest(dec.resolve(d, {f"s{n}": f"s{n}" for n in range(10)}))


def test_kappa_on_a_hand_checked_example():
    # p_o = 8/10; both raters 4 include / 6 exclude: p_e = .4*.4 + .6*.6 = .52
    # kappa = (.8 - .52) / (1 - .52) = 0.58333
    ag = dec.agreement(two_reviewers())
    assert ag == [{"reviewers": ["ann", "bob"], "n_common": 10, "n_agree": 8, "kappa": 0.5833}]


def test_kappa_matches_scikit_learn_and_edge_cases():
    from sklearn.metrics import cohen_kappa_score

    a = ["include", "exclude", "maybe", "include", "exclude", "exclude"]
    b = ["include", "exclude", "include", "maybe", "exclude", "include"]
    assert dec.cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert dec.cohen_kappa([], []) is None
    assert dec.cohen_kappa(["include"] * 3, ["include"] * 3) == 1.0


def test_conflicts_are_listed_and_consensus_leaves_them_open():
    st = two_reviewers()
    c = dec.conflicts(st)
    assert c["study_id"].tolist() == ["s1", "s6"]
    assert c.loc[0, "decisions"] == "ann=include; bob=exclude"
    cons = dec.consensus(st).set_index("study_id")["decision"]
    assert cons["s1"] == "conflict" and cons["s0"] == "include" and cons["s2"] == "exclude"


def test_append_writes_header_once_and_only_appends(tmp_path):
    p = tmp_path / "d" / "screening.csv"
    dec.append_decision(p, {"key": "s1", "decision": "include", "reviewer": "ann", "timestamp": "t"})
    first = p.read_bytes()
    dec.append_decision(p, {"key": "s2", "decision": "exclude", "reviewer": "ann", "reason": "a, b"})
    assert p.read_bytes().startswith(first)
    d = dec.read_decisions(p)
    assert d["key"].tolist() == ["s1", "s2"] and d.loc[1, "reason"] == "a, b"


def test_decision_on_a_study_merged_into_another_follows_its_record():
    """Reviewers decided s1 and s2; a duplicates.csv ``same`` (or a new round's bridging record)
    then merges them into s1. The decision keyed by the retired id s2 resolves to s1 instead of
    stopping the run with "key 's2' is not a known study_id or record_id"."""
    dups = pd.DataFrame({"record_id": ["r1", "r2", "r3"], "study_id": ["s1", "s1", "s3"]})
    keys = dec.key_map(dups, ["s1", "s3"])
    d = dec.parse_decisions(HEADER + "s1,include,ann,,t1\ns2,exclude,bob,,t2\n")
    resolved = dec.resolve(d, keys, "screening.csv")
    assert resolved["study_id"].tolist() == ["s1", "s1"]
    assert dec.conflicts(dec.latest(resolved))["study_id"].tolist() == ["s1"]
    # a record id that happens to equal a retired study's "s" form never shadows a real study id
    assert dec.key_map(dups, ["s1", "s2", "s3"])["s2"] == "s2"


def test_excel_semicolon_file_says_so_instead_of_missing_columns(tmp_path):
    """Excel in many locales saves "CSV" with ';': the header then holds every column, so
    "missing column(s) key, decision, ..." misled; the error now names the separator."""
    p = write(tmp_path, HEADER.replace(",", ";") + "s1;include;ann;;t\n")
    with pytest.raises(ConfigError, match="separated by semicolons") as err:
        dec.read_decisions(p)
    assert err.value.line == 1 and "missing column" not in str(err.value)


def test_non_utf8_decisions_name_the_line(tmp_path):
    """A cp1252 file (Excel's "CSV (Comma delimited)") named only a byte offset."""
    p = tmp_path / "screening.csv"
    p.write_bytes((HEADER + "s1,include,ann,,t\ns2,exclude,ann,café,t\n").encode("cp1252"))
    with pytest.raises(ConfigError, match="not UTF-8") as err:
        dec.read_decisions(p)
    assert err.value.line == 3 and f"{p}:3:" in str(err.value)


def test_a_column_named_twice_is_an_error_not_a_silent_choice(tmp_path):
    p = write(tmp_path, "key,decision,reviewer,reason,timestamp,Decision\ns1,include,ann,,t,exclude\n")
    with pytest.raises(ConfigError, match="decision named more than once") as err:
        dec.read_decisions(p)
    assert err.value.line == 1


@pytest.mark.parametrize(
    "text",
    [
        "key,decision,reviewer,reason,timestamp\ns1,include,bob,by hand,t0",  # no newline at the end
        "Key,Reviewer,Decision,Timestamp,Reason\r\ns1,bob,include,t0,by hand\r\n",  # another column order
        "key,decision,reviewer,reason,timestamp,notes\ns1,include,bob,by hand,t0,n\n",  # a column of its own
        "\ufeffkey,decision,reviewer,reason,timestamp\n\ns1,include,bob,by hand,t0",  # BOM, blank line
    ],
    ids=["no-final-newline", "column-order-crlf", "extra-column", "bom-blank-line"],
)
def test_append_follows_a_hand_edited_file(tmp_path, text):
    """Appending to a file the reader accepts keeps it readable and each row intact. Before, the
    row was glued to a last line without a newline ("expected 5 fields, found 9"), written in
    the default column order under another header (decision 'ann' ...), or one cell short."""
    path = tmp_path / "screening.csv"
    path.write_bytes(text.encode("utf-8"))
    dec.append_decision(path, {"key": "s2", "decision": "exclude", "reviewer": "ann", "reason": "", "timestamp": "t1"})
    rows = dec.read_decisions(path)
    assert rows[["key", "decision", "reviewer", "reason", "timestamp"]].values.tolist() == [
        ["s1", "include", "bob", "by hand", "t0"],
        ["s2", "exclude", "ann", "", "t1"],
    ]


def test_an_unclosed_quote_names_its_line(tmp_path):
    """A reason typed with one '"' swallowed the rows below it into one cell, reported as
    "expected 5 fields, found 1" on the wrong idea of what went wrong."""
    p = write(tmp_path, HEADER + 's1,include,ann,"too vague,t1\ns2,exclude,ann,,t2\ns3,exclude,ann,,t3\n')
    with pytest.raises(ConfigError, match=r"quote .* opened on this line is never closed") as err:
        dec.read_decisions(p)
    assert err.value.line == 2


def test_an_id_of_a_removed_export_says_so():
    """A decision on a record of an export since removed from data/raw stopped the run with
    "key 'racdc33d44f68e1c' is not a known study_id or record_id (and 7 more)", as for a typo."""
    from evreview.dedup.decisions import check_known

    d = dec.parse_decisions(HEADER + "racdc33d44f68e1c,include,ann,,t\n")
    with pytest.raises(ConfigError, match="was an export removed from, or renamed in") as info:
        dec.resolve(d, {"s1": "s1"}, "screening.csv")
    assert str(info.value).startswith("screening.csv:2: key 'racdc33d44f68e1c' is not a known")
    # a new user who swapped the demo's exports for their own but kept its decisions file is told so
    assert "the bundled demo's decisions: remove them when you start your own review" in str(info.value)
    with pytest.raises(ConfigError) as typo:  # a typo gets no such guess
        dec.resolve(dec.parse_decisions(HEADER + "s9,include,ann,,t\n"), {"s1": "s1"}, "screening.csv")
    assert "export removed" not in str(typo.value)
    pairs = pd.DataFrame({"record_id_a": ["rd4cf27ce3abe87b"], "record_id_b": ["r1"], "line": [2]})
    with pytest.raises(ConfigError, match="was an export removed from, or renamed in"):
        check_known(pairs, ["r1"], "duplicates.csv")


def test_append_to_a_file_of_empty_cells_without_a_newline_starts_the_header_on_its_own_line(tmp_path):
    """A file holding only Excel's ",,,," with no line end got the header glued onto it
    (",,,,key,decision,..."), and the next read failed with "expected 9 fields, found 5"."""
    path = tmp_path / "screening.csv"
    path.write_bytes(b",,,,")
    dec.append_decision(path, {"key": "s1", "decision": "include", "reviewer": "ann", "reason": "", "timestamp": "t"})
    assert dec.read_decisions(path)[["key", "decision"]].values.tolist() == [["s1", "include"]]
