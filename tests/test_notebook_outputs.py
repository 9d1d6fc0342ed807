"""Every notebook runs, every cell without error, and its key outputs are as expected.

Notebooks are committed as clean templates (no outputs). Each is executed once a session with
papermill on the demo (or its public dataset), with no parameters (the ``notebook_runs`` fixture of
``tests/conftest.py``, shared with the notebook tests). Every code cell must run without raising
(what ``make nbval``, nbval's ``--nbval-lax``, checks too). Each notebook has one cell marked
``# CHECKED_OUTPUT``; its output, after the substitutions of ``tests/output_sanitize.cfg`` (dates,
commits, addresses), must equal ``tests/notebook_outputs/<notebook>.json``.

When a change is meant to alter a key output, rewrite the expected file with
``HSP_EVAL_WRITE_EXPECTED=1 .venv/bin/python -m pytest tests/test_notebook_outputs.py`` and review the diff.
"""

from __future__ import annotations

import configparser
import json
import os
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXPECTED = Path(__file__).resolve().parent / "notebook_outputs"
MARK = "# CHECKED_OUTPUT"
ALL = sorted(p for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
#: each notebook, with its run as a template in notebook_runs (tests/conftest.py) to start early
RUNS = [pytest.param(p, marks=pytest.mark.notebooks(p.relative_to(NOTEBOOKS).as_posix()),
                     id=p.relative_to(NOTEBOOKS).as_posix()) for p in ALL]

pytestmark = pytest.mark.slow


def _sanitizers() -> list[tuple[re.Pattern, str]]:
    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).resolve().parent / "output_sanitize.cfg", encoding="utf-8")
    return [(re.compile(cfg[s]["regex"]), cfg[s]["replace"]) for s in cfg.sections()]


def _clean(value, subs):
    if isinstance(value, str):
        for pattern, replacement in subs:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, list):
        return [_clean(v, subs) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v, subs) for k, v in value.items()}
    return value


def checked_outputs(nb) -> list[list[dict]]:
    """The outputs of every ``# CHECKED_OUTPUT`` cell, text joined, sanitized."""
    subs = _sanitizers()
    out = []
    for cell in nb.cells:
        if cell.cell_type == "code" and MARK in cell.source:
            outputs = []
            for o in cell.outputs:
                o = {k: v for k, v in o.items() if k in ("output_type", "name", "text", "data")}
                if isinstance(o.get("text"), list):
                    o["text"] = "".join(o["text"])
                outputs.append(_clean(json.loads(json.dumps(o)), subs))
            out.append(outputs)
    return out


def _expected_path(path: Path) -> Path:
    return EXPECTED / path.relative_to(NOTEBOOKS).with_suffix(".json")


def test_every_notebook_has_one_checked_cell_and_its_expected_output():
    for path in ALL:
        assert nbformat.read(path, as_version=4) and path.read_text(encoding="utf-8").count(MARK) == 1, path
        assert _expected_path(path).exists(), f"{_expected_path(path)} is missing"


@pytest.mark.parametrize("path", RUNS)
def test_every_cell_runs(notebook_runs, path):
    nb = notebook_runs.template(path).nb   # raises NotebookFailed, naming the cell, when a cell raised
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert code and all(c.execution_count for c in code), f"{path.name}: cells not run"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"


@pytest.mark.parametrize("path", RUNS)
def test_checked_output_is_as_expected(notebook_runs, path):
    got = checked_outputs(notebook_runs.template(path).nb)
    expected_file = _expected_path(path)
    if os.environ.get("HSP_EVAL_WRITE_EXPECTED") == "1":
        expected_file.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert got and got[0], f"{path.name}: the checked cell gave no output"
    assert got == _clean(expected, _sanitizers()), f"{path.name}: key output differs from {expected_file.name}"
