"""Notebooks are committed clean and only communicate: the logic lives in hsp_eval.

Every notebook under ``notebooks/`` must
- have exactly one cell tagged ``parameters`` and the ``python3`` kernel;
- carry no outputs and no execution counts (clean templates; key outputs are checked by
  ``tests/test_notebook_outputs.py`` against ``tests/notebook_outputs/``);
- define no functions or classes (helpers belong in the package, not in a notebook);
- share no non-trivial code cell with another notebook (no logic copied between notebooks).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_clean(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", f"{path.name}: kernel must be python3"
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters', has {len(tagged)}"
    for k, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        src = _source(cell)
        assert not cell.get("outputs"), f"{path.name} cell {k}: committed with outputs (clear them)"
        assert cell.get("execution_count") is None, f"{path.name} cell {k}: committed with an execution count"
        for line in src.splitlines():
            stripped = line.lstrip()
            assert not stripped.startswith(("def ", "class ", "async def ")), \
                f"{path.name} cell {k}: defines '{stripped[:40]}'; put helpers in hsp_eval"


def test_no_code_cell_copied_between_notebooks():
    seen: dict[str, str] = {}
    for path in NOTEBOOKS:
        for cell in _cells(path):
            if cell["cell_type"] != "code":
                continue
            lines = [ln.strip() for ln in _source(cell).splitlines()
                     if ln.strip() and not ln.strip().startswith(("#", "import ", "from "))]
            if len(lines) < 4:  # short calls (load, one plot) may well repeat
                continue
            key = "\n".join(lines)
            assert key not in seen or seen[key] == path.name, \
                f"the same code cell is in {seen.get(key)} and {path.name}; move it into hsp_eval"
            seen[key] = path.name
