"""Params files: the demo schools' files, bad files reported plainly, and ``hsp-eval params init``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from hsp_eval.indicators.params import ParamsError, load_params, load_params_each, load_school_params, parse_params, starter_text

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
PARAMS = ROOT / "params" / "demo"


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "hsp_eval.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_every_demo_school_has_a_good_params_file():
    schools = pd.read_csv(DEMO / "schools.csv", dtype=str)
    good, bad = load_params_each(PARAMS)
    assert bad == {} and sorted(good) == sorted(schools["school_id"])
    names = dict(zip(schools["school_id"], schools["school_name"]))
    for sid, p in good.items():
        assert p["display_name"] == names[sid]
        assert 1 <= len(p["targets"]) <= 3 and p["focus_groups"] and p["years"] == [2022, 2023, 2024, 2025]
    assert good["0113"]["targets"] == [
        {"indicator": "reach", "group_type": "ethnicity", "group": "Māori", "value": 0.6, "year": 2025},
        {"indicator": "reach_learning", "group_type": "all", "group": "all", "value": 0.5, "year": 2026}]


@pytest.mark.parametrize("text, message", [
    ("school_id: 42\n", "'school_id' must be a quoted text"),
    ('school_id: "0042"\ncolour: blue\n', "unknown field(s) colour"),
    ('school_id: "0042"\nyears: soon\n', "'years' must be a range like 2022-2025"),
    ('school_id: "0042"\nmin_n: 0\n', "'min_n' must be a whole number of 1 or more"),
    ('school_id: "0042"\ntargets:\n  - {indicator: happiness, value: 0.5, year: 2025}\n',
     "target 1: 'happiness' is not an indicator"),
    ('school_id: "0042"\ntargets:\n  - {indicator: reach, value: 60, year: 2025}\n',
     "'value' must be a number (a proportion between 0 and 1 for 'reach'), not 60"),
    ('school_id: "0042"\ntargets:\n  - {indicator: reach, value: 0.6}\n', "target 1 is missing year"),
    ('school_id: "0042"\nfocus_groups:\n  - {group: Māori}\n', "focus_groups item 1 must have exactly"),
    ('school_id: "0042"\ntargets: [\n', "not valid YAML"),
    ('school_id: "0042"\nreference_year: "2022"\n', "'reference_year' must be a year such as 2022"),
    ('school_id: "0042"\nreference_year: 22\n', "'reference_year' must be a year such as 2022"),
])
def test_a_bad_params_file_is_named_with_its_reason(tmp_path, text, message):
    path = tmp_path / "0042.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParamsError) as e:
        load_params(path)
    assert message in str(e.value) and str(path) in str(e.value)


def test_a_school_params_file_must_exist_and_name_its_own_school(tmp_path):
    with pytest.raises(ParamsError, match=r"no params file for school 0042; write a starter one with "
                                          r"'hsp-eval params init 0042"):
        load_school_params(tmp_path, "0042")
    (tmp_path / "0042.yaml").write_text('school_id: "0043"\n', encoding="utf-8")
    with pytest.raises(ParamsError, match='\'school_id\' is "0043" but the file is named for school "0042"'):
        load_school_params(tmp_path, "0042")
    (tmp_path / "0044.yaml").write_text('school_id: "0044"\n', encoding="utf-8")
    good, bad = load_params_each(tmp_path)
    assert list(good) == ["0044"] and list(bad) == ["0042"] and "named for school" in bad["0042"]


def test_params_init_writes_a_starter_file_load_params_accepts(tmp_path):
    r = cli("params", "init", "0042", "--out", tmp_path / "params", "--years", "2023-2025")
    assert r.returncode == 0, r.stderr
    path = tmp_path / "params" / "0042.yaml"
    assert 'school_id: "0042"' in path.read_text(encoding="utf-8")
    p = load_params(path)
    assert p["school_id"] == "0042" and p["years"] == [2023, 2024, 2025] and p["min_n"] == 5
    assert p["targets"] == [] and p["display_name"] == "School 0042"


def test_params_init_takes_name_and_years_from_the_data_and_never_overwrites(tmp_path):
    r = cli("params", "init", "4141", "--out", tmp_path, "--data", DEMO)
    assert r.returncode == 0, r.stderr
    path = tmp_path / "4141.yaml"
    p = load_params(path)
    assert p["display_name"] == "Gorge Road North School" and p["years"] == [2022, 2023, 2024, 2025]
    path.write_text(path.read_text(encoding="utf-8") + "# edited by the school\n", encoding="utf-8")
    again = cli("params", "init", "4141", "--out", tmp_path, "--data", DEMO)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert path.read_text(encoding="utf-8").endswith("# edited by the school\n")
    unknown = cli("params", "init", "9999", "--out", tmp_path, "--data", DEMO)
    assert unknown.returncode == 1 and "school 9999 is not in" in unknown.stderr
    assert not (tmp_path / "9999.yaml").exists()


def test_the_starter_files_example_targets_are_valid_when_uncommented():
    text = starter_text("0042", 'Kura "o" Te Awa: #1', [2022, 2024])
    lines = text.splitlines()
    uncommented = "\n".join(ln[1:] if ln.startswith("#  - ") else ln for ln in lines).replace(
        "focus_groups: []", "focus_groups:").replace("targets: []", "targets:")
    p = parse_params(yaml.safe_load(uncommented), "0042.yaml")
    assert p["display_name"] == 'Kura "o" Te Awa: #1' and p["years"] == [2022, 2024]
    assert len(p["targets"]) == 3 and p["focus_groups"] == [{"group_type": "ethnicity", "group": "Māori"}]


def test_a_frozen_reference_year_is_optional():
    """``reference_year``: compare every year with schools like ours in that year (docs/reference-groups.md)."""
    assert parse_params({"school_id": "0042"}, "x.yaml")["reference_year"] is None
    assert parse_params({"school_id": "0042", "reference_year": 2022}, "x.yaml")["reference_year"] == 2022
    text = starter_text("0042").replace("# reference_year: 2022", "reference_year: 2022")
    assert parse_params(yaml.safe_load(text), "0042.yaml")["reference_year"] == 2022


def test_params_init_all_writes_every_school_from_one_reading_and_keeps_existing_files(tmp_path, monkeypatch, capsys):
    from hsp_eval import cli as hsp_cli
    from hsp_eval.data import load

    out = tmp_path / "params"
    out.mkdir()
    edited = out / "4141.yaml"
    edited.write_text('school_id: "4141"\ndisplay_name: Our own name\n', encoding="utf-8")
    reads = []
    real = load.load_dataset
    monkeypatch.setattr(load, "load_dataset", lambda *a, **k: reads.append(a) or real(*a, **k))
    assert hsp_cli.main(["params", "init", "--all", "--data", str(DEMO), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert len(reads) == 1   # one reading of the data for every school
    assert f"Params files in {out}: 23 written, 1 kept as they were" in said
    assert f"hsp-eval batch --data {DEMO} --params {out}" in said
    schools = pd.read_csv(DEMO / "schools.csv", dtype=str)
    good, bad = load_params_each(out)
    assert bad == {} and sorted(good) == sorted(schools["school_id"])
    assert good["4141"]["display_name"] == "Our own name"   # never overwritten
    assert good["0113"]["display_name"] == "Rocky Point West Primary School"
    assert good["0113"]["years"] == [2022, 2023, 2024, 2025]
    assert hsp_cli.main(["params", "init", "--all", "--data", str(DEMO), "--out", str(out)]) == 0
    assert "0 written, 24 kept" in capsys.readouterr().out


def test_params_init_says_what_it_needs(tmp_path, capsys):
    from hsp_eval import cli as hsp_cli

    assert hsp_cli.main(["params", "init", "--all", "--out", str(tmp_path)]) == 2
    assert "--all (or leaving out the school id) needs --data DIR" in capsys.readouterr().err
    assert hsp_cli.main(["params", "init", "--data", str(DEMO), "--out", str(tmp_path)]) == 2
    assert "holds 24 schools; give a school id, or --all" in capsys.readouterr().err
    assert hsp_cli.main(["params", "init", "0113", "--all", "--data", str(DEMO), "--out", str(tmp_path)]) == 2
    assert list(tmp_path.iterdir()) == []


def test_no_params_folder_is_no_params_files(tmp_path):
    assert load_params_each(None) == ({}, {}) and load_params_each(tmp_path / "missing") == ({}, {})
