"""The hsp-eval command line, run as a user runs it (a real subprocess), and the committed demo data."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
from pathlib import Path

import pytest

import hsp_eval
from hsp_eval.data.contract import TABLES
from hsp_eval.data.templates import template_header

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "hsp_eval.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def _demo_args():
    """The demo's generate arguments, read from the Makefile so the test follows it."""
    line = next(ln for ln in (ROOT / "Makefile").read_text().splitlines() if ln.startswith("DEMO_ARGS"))
    return line.split(":=", 1)[1].split()


def test_committed_templates_match_the_contract():
    for name in TABLES:
        text = (ROOT / "data" / "templates" / f"{name}.csv").read_text(encoding="utf-8")
        assert text == template_header(name) + "\n"
    assert sorted(p.stem for p in (ROOT / "data" / "templates").glob("*.csv")) == sorted(TABLES)


def test_validate_reports_problems_and_exits_1(tmp_path):
    (tmp_path / "schools.csv").write_text("school_id,school_name,region,school_type\n0042,A,Mars,Contributing\n")
    (tmp_path / "enrolments.csv").write_text("year,school_id,student_id,family_id,year_level,ethnicity\n"
                                             "2024,0042,1,F,3,Asian\n")
    r = run("validate", tmp_path)
    assert r.returncode == 1
    assert "schools.csv, row 2, column 'region': 'Mars' is not an allowed value" in r.stderr
    assert "--quarantine" in r.stderr


def test_validate_with_quarantine_prints_the_accounting(tmp_path):
    (tmp_path / "d").mkdir()
    d = tmp_path / "d"
    (d / "schools.csv").write_text("school_id,school_name,region,school_type\n0042,A,Otago,Contributing\n")
    (d / "enrolments.csv").write_text("year,school_id,student_id,family_id,year_level,ethnicity\n"
                                      "2024,0042,1,F,3,Asian\n2024,0042,2,F,30,Asian\n")
    r = run("validate", d, "--quarantine", tmp_path / "q")
    assert r.returncode == 1
    assert "enrolments" in r.stderr and "2 =          1 +        1" in r.stderr
    assert (tmp_path / "q" / "enrolments.csv").exists()


def test_validate_says_what_it_repaired(tmp_path):
    """A spreadsheet export whose file settles how it is written is valid, and each repair is a note."""
    case = ROOT / "tests" / "bad_inputs" / "54_good_spreadsheet_export_all_at_once"
    r = run("validate", case)
    assert r.returncode == 0, r.stderr
    assert "Valid" in r.stdout
    assert "Note: enrolments.csv: the values are separated by ';' rather than commas; read as such" in r.stdout
    assert "Note: contacts.csv: the file is saved as UTF-16 text" in r.stdout
    assert r.stdout.count("Note: enrolments.csv: the header row is repeated") == 1


def test_validate_missing_folder_exits_2(tmp_path):
    r = run("validate", tmp_path / "nope")
    assert r.returncode == 2 and "is not a folder" in r.stderr


@pytest.mark.slow
def test_demo_data_is_committed_valid_and_regenerates_identically(tmp_path):
    assert (DEMO / "schools.csv").exists(), "data/demo is missing: run 'make demo-data' and commit it"
    r = run("generate", tmp_path / "demo", *_demo_args())
    assert r.returncode == 0, r.stderr
    made = sorted(p.name for p in (tmp_path / "demo").iterdir())
    # the demo's publication key lives with the demo data (not made by the generator)
    assert made == sorted(p.name for p in DEMO.iterdir() if p.name != "disclosure.key")
    for name in made:
        assert filecmp.cmp(DEMO / name, tmp_path / "demo" / name, shallow=False), f"{name} differs"
    r = run("validate", DEMO)
    assert r.returncode == 0, r.stderr
    assert "Valid" in r.stdout and "24 schools, years 2022-2025" in r.stdout
    meta = json.loads((DEMO / "generator.json").read_text())
    assert meta["seed"] == int(_demo_args()[_demo_args().index("--seed") + 1])


def test_indicators_writes_the_table_and_its_provenance(tmp_path):
    import pandas as pd

    from hsp_eval import load_dataset
    from hsp_eval.reports.provenance import read_sidecar

    out = tmp_path / "indicators.parquet"
    r = run("indicators", DEMO, "--out", out, "--min-n", "7")
    assert r.returncode == 0, r.stderr
    table = pd.read_parquet(out)
    assert {"school", "region", "national"} == set(table["level"])
    rec = read_sidecar(out)
    assert rec["data_fingerprint"] == load_dataset(DEMO).fingerprint()
    assert rec["min_n"] == 7 and rec["hsp_eval_version"] and rec["git_commit"]
    assert rec["data_read_at"][:4].isdigit()


def test_indicators_subset_reads_only_the_tables_it_needs(tmp_path):
    import pandas as pd

    from hsp_eval import load_dataset
    from hsp_eval.reports.provenance import read_sidecar

    full, part = tmp_path / "full.parquet", tmp_path / "part.parquet"
    assert run("indicators", DEMO, "--out", full).returncode == 0
    r = run("indicators", DEMO, "--out", part, "--indicators", "reach,two_way_share", "--group-types", "all")
    assert r.returncode == 0, r.stderr
    got = pd.read_parquet(part)
    assert set(got["indicator"]) == {"reach", "two_way_share"} and set(got["group_type"]) == {"all"}
    want = pd.read_parquet(full).query("indicator in ['reach', 'two_way_share'] and group_type == 'all'")
    want = want.reset_index(drop=True)
    keys = ["level", "area_id", "year", "indicator", "group_type", "group"]
    pd.testing.assert_frame_equal(got[keys], want[keys])
    # the same numbers wherever both show them; a row the full table withholds and the subset shows is
    # withheld there for a relation with an indicator the subset does not hold (a release is one run)
    both = ~got["suppressed"] & ~want["suppressed"]
    pd.testing.assert_frame_equal(got[both], want[both])
    assert not (got["suppressed"] & ~want["suppressed"]).any()
    rules = hsp_eval.indicators.engine.compute(load_dataset(DEMO), rules=True).merge(want.loc[got["suppressed"] != want["suppressed"], keys])
    assert set(rules["withheld_rule"]) <= {"population", "linked", "secondary", "complement"}, rules
    rec = read_sidecar(part)
    assert rec["tables"] == "schools,enrolments,activities,attendance,contacts"
    assert rec["data_fingerprint"] == load_dataset(DEMO, tables=["activities", "attendance", "contacts"]).fingerprint()
    bad = run("indicators", DEMO, "--out", part, "--indicators", "reach,nope")
    assert bad.returncode == 2 and "unknown: nope" in bad.stderr


def test_key_new_writes_a_256_bit_key_and_never_overwrites(tmp_path):
    from hsp_eval.indicators.disclosure_key import find_key, read_key

    path = tmp_path / "release.key"
    r = run("key", "new", path)
    assert r.returncode == 0 and "Keep it secret" in r.stdout
    key = read_key(path)
    assert len(key) == 32 and find_key(path) == key
    r = run("key", "new", path)
    assert r.returncode == 1 and "never overwritten" in r.stderr and read_key(path) == key
    other = tmp_path / "other.key"
    run("key", "new", other)
    assert read_key(other) != key


def test_no_key_says_how_to_make_one(tmp_path, monkeypatch):
    from hsp_eval.indicators.disclosure_key import KeyProblem, find_key

    monkeypatch.delenv("HSP_EVAL_KEY_FILE", raising=False)
    with pytest.raises(KeyProblem, match="hsp-eval key new FILE"):
        find_key(None, tmp_path)
    assert len(find_key(None, DEMO)) == 32  # the demo's key lives with the demo data
