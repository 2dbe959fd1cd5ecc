"""Audit sample and agreement statistics."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from evreview.code.audit import agreement, cohen_kappa, draw_audit_sample, read_audit
from evreview.code.codebook import build_codebook
from evreview.errors import ConfigError

CODEBOOK = build_codebook(
    {
        "name": "t",
        "dimensions": [
            {
                "id": "theme",
                "label": "Theme",
                "multi_label": True,
                "codes": [
                    {"id": "trust", "label": "Trust", "description": "Trust between partners."},
                    {"id": "funding", "label": "Funding", "description": "Money and sustained funding."},
                ],
            }
        ],
    }
)


def test_kappa_hand_checked() -> None:
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    # p_o = 35/50 = 0.7; p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = (0.7-0.5)/(1-0.5) = 0.4
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    from sklearn.metrics import cohen_kappa_score

    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa([1, 1], [1, 1]) == 1.0
    assert math.isnan(cohen_kappa([], []))


def _assignments() -> pd.DataFrame:
    rows = [
        ("s1", "theme", "trust", "terms", "assigned"),
        ("s2", "theme", "trust", "zero-shot", "assigned"),
        ("s2", "theme", "funding", "zero-shot", "assigned"),
        ("s3", "theme", "funding", "terms", "removed"),  # machine said it; reviewer removed it later
        ("s4", "theme", "", "none", "uncoded"),
        ("s4", "theme", "trust", "reviewer", "assigned"),  # reviewer rows are not machine coding
    ]
    return pd.DataFrame(rows, columns=["study_id", "dimension", "code", "method", "status"])


def test_agreement_precision_recall_and_kappa() -> None:
    audit = pd.DataFrame(
        {
            "study_id": ["s1", "s2", "s3", "s4"],
            "dimension": "theme",
            "human_codes": ["trust", "funding", "funding", "trust"],
            "reviewer": "ana",
        }
    )
    table = agreement(_assignments(), audit, CODEBOOK).set_index("code")
    trust = table.loc["trust"]
    # machine trust: s1, s2; human trust: s1, s4 -> tp 1, fp 1, fn 1, tn 1
    assert (trust.tp, trust.fp, trust.fn, trust.tn) == (1, 1, 1, 1)
    assert trust.precision == 0.5 and trust.recall == 0.5 and trust.kappa == 0.0
    funding = table.loc["funding"]
    assert (funding.tp, funding.fp, funding.fn, funding.tn) == (2, 0, 0, 2) and funding.kappa == 1.0
    pooled = table.loc["(all)"]
    expected = cohen_kappa([1, 1, 0, 0, 0, 1, 1, 0], [1, 0, 0, 1, 0, 1, 1, 0])
    assert pooled.tp == 3 and pooled.kappa == pytest.approx(expected)


def test_audit_sample_is_stratified_seeded_and_blind() -> None:
    studies = pd.DataFrame({"study_id": [f"s{i}" for i in range(1, 5)], "title": "t", "abstract": "a"})
    one = draw_audit_sample(_assignments(), studies, CODEBOOK, per_code=1, seed=7)
    two = draw_audit_sample(_assignments(), studies, CODEBOOK, per_code=1, seed=7)
    pd.testing.assert_frame_equal(one, two)
    assert set(one["stratum"]) == {"trust", "funding", "(uncoded)"}
    assert "code" not in one.columns and (one["human_codes"] == "").all()
    assert one.loc[one["stratum"] == "(uncoded)", "study_id"].tolist() == ["s4"]


def test_read_audit_rejects_unknown_codes(tmp_path: Path) -> None:
    path = tmp_path / "audit.csv"
    path.write_text("study_id,dimension,human_codes,reviewer\ns1,theme,trust;money,ana\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"audit.csv:2: unknown code\(s\) money"):
        read_audit(path, CODEBOOK)


def test_audit_sample_draws_only_coded_studies() -> None:
    # the studies table (results/dedup/studies.parquet) holds excluded and undecided studies too:
    # the "(uncoded)" stratum drew them, so reviewers coded studies the machine never saw and
    # agreement counted them as the machine finding no code
    studies = pd.DataFrame({"study_id": [f"s{i}" for i in range(1, 9)], "title": "t", "abstract": "a"})
    sample = draw_audit_sample(_assignments(), studies, CODEBOOK, per_code=10, seed=0)
    assert set(sample["study_id"]) <= {"s1", "s2", "s3", "s4"}
    assert sample.loc[sample["stratum"] == "(uncoded)", "study_id"].tolist() == ["s4"]


def test_read_audit_names_the_file_line_and_skips_excel_empty_rows(tmp_path: Path) -> None:
    # the sheet holds abstracts, which may run over several lines: errors named the row number
    # + 1 (line 3 here), not the file line; an empty row Excel saves as ",,,," was "unknown dimension ''"
    path = tmp_path / "audit.csv"
    path.write_bytes(
        b"\xef\xbb\xbfStudy_ID,Dimension,Abstract,Human_Codes,Reviewer\r\n"
        b'\r\n,,,,\r\ns1,theme,"first line\r\nsecond line",trust,ana\r\n,,,,\r\n'
        b"s2,theme,one line,trust;money,ana\r\n"
    )
    with pytest.raises(ConfigError, match=r"audit.csv:7: unknown code\(s\) money"):
        read_audit(path, CODEBOOK)
    path.write_text("study_id,dimension,human_codes,reviewer\n,,,\ns1,theme,trust,ana\n", encoding="utf-8")
    assert read_audit(path, CODEBOOK)[["study_id", "line"]].values.tolist() == [["s1", 3]]


def test_agreement_refuses_an_audit_row_about_a_study_that_was_not_coded(tmp_path: Path, capsys) -> None:
    # a mistyped (or excluded) study id counted silently as the machine finding no code
    from evreview.cli import main

    assignments = tmp_path / "assignments.csv"
    _assignments().to_csv(assignments, index=False)
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(
        "name: t\ndimensions:\n  - id: theme\n    label: Theme\n    multi_label: true\n    codes:\n"
        "      - {id: trust, label: Trust, description: Trust between the partners.}\n",
        encoding="utf-8",
    )
    audit = tmp_path / "audit.csv"
    audit.write_text("study_id,dimension,human_codes,reviewer\ns1,theme,trust,ana\ns9,theme,,ana\n", encoding="utf-8")
    args = ["agreement", "--assignments", str(assignments), "--audit", str(audit), "--codebook", str(codebook),
            "--out", str(tmp_path / "agreement.csv")]
    assert main(args) == 2
    assert f"{audit}:3: study_id 's9' is not among the coded studies" in capsys.readouterr().err
    audit.write_text("study_id,dimension,human_codes,reviewer\ns1,theme,trust,ana\n", encoding="utf-8")
    assert main(args) == 0
