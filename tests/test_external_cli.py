"""``hsp-eval external list`` and ``external run``, run as a user runs them (real subprocess, real papermill)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hsp_eval.external import DATASETS
from hsp_eval.run.execute import run_external as run

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    return subprocess.run([sys.executable, "-m", "hsp_eval.cli", "external", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


def test_every_dataset_has_its_data_and_notebook():
    for d in DATASETS.values():
        assert d.notebook_path.exists(), d.notebook_path
        assert (d.data_dir).is_dir(), d.data_dir
        assert list(d.data_dir.rglob("SOURCE.txt")), f"{d.data_dir} has no SOURCE.txt"


def test_list_names_every_dataset():
    r = run("list")
    assert r.returncode == 0, r.stderr
    for name in DATASETS:
        assert name in r.stdout


def test_unknown_name_is_refused_plainly():
    r = run("run", "no-such-data")
    assert r.returncode == 2
    assert "is not an external dataset" in r.stderr and "uci-student-performance" in r.stderr


def test_run_writes_the_report(tmp_path):
    r = run("run", "uci-student-performance", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    html = tmp_path / "uci_student_performance.html"
    assert html.exists() and (tmp_path / "uci_student_performance.ipynb").exists()
    text = html.read_text(encoding="utf-8")
    assert "association" in text.lower()
    assert not list(tmp_path.glob("*.failed.ipynb"))
