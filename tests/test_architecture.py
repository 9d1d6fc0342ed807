"""The package's layers, read from its imports: a lower layer never imports a higher one.

Layers, lowest first (docs/architecture.md): the version; the data (contract, reading, checks,
the dataset); synthetic data and the indicator engine, side by side and blind to each other;
reports; the public-data adapters; running (batch, notebooks, index page); the command line.
Every import counts, including those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hsp_eval"
#: top-level folder or module of hsp_eval -> layer (higher may import lower, never the reverse)
LAYERS = {"_version": 0, "data": 1, "synthetic": 2, "indicators": 2, "reports": 3, "external": 4, "run": 5,
          "cli": 6, "testing": 6, "__init__": 6}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _imports(module: str, path: Path):
    """Every hsp_eval module ``module`` imports (absolute names), with the line."""
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "hsp_eval":
                    yield a.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_pkg else base[:-1]
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] != "hsp_eval":
                continue
            for a in node.names:  # "from hsp_eval.x import y": y may be a module of x
                sub = f"{name}.{a.name}"
                yield (sub if _is_module(sub) else name), node.lineno


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (PACKAGE.parent / rel).with_suffix(".py").exists() or (PACKAGE.parent / rel / "__init__.py").exists()


def _layer(name: str) -> tuple[str, int]:
    parts = name.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return top, LAYERS[top]


def test_every_module_belongs_to_a_layer():
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.rglob("*.py")}
    assert tops <= set(LAYERS), f"modules outside every layer: {sorted(tops - set(LAYERS))}"


def test_no_layer_imports_a_higher_one():
    wrong = []
    for module, path in _modules():
        top, mine = _layer(module)
        for name, line in _imports(module, path):
            other, theirs = _layer(name)
            if theirs > mine or (theirs == mine and other != top):
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({top}, layer {mine}) imports {name} "
                             f"({other}, layer {theirs})")
    assert not wrong, "layer order broken:\n" + "\n".join(wrong)


def test_no_two_modules_import_each_other():
    graph = {m: {n for n, _ in _imports(m, p) if n != m} for m, p in _modules()}
    # a package's __init__ re-exporting its modules is not a cycle with them
    pairs = sorted({tuple(sorted((a, b))) for a, deps in graph.items() for b in deps
                    if a in graph.get(b, ()) and not (a.startswith(b + ".") or b.startswith(a + "."))})
    assert not pairs, f"modules that import each other: {pairs}"


@pytest.mark.parametrize("name", ["hsp_eval.data", "hsp_eval.indicators", "hsp_eval.reports", "hsp_eval.run"])
def test_each_layer_says_what_it_holds(name):
    import importlib

    doc = importlib.import_module(name).__doc__ or ""
    assert doc.startswith("Layer "), f"{name}'s docstring should say which layer it is and what it holds"


#: what reading the school's own files looks like in a notebook's code or a report module's imports
RAW_READS = ("load_dataset", "read_csv", "read_excel", "read_parquet", "open(", "data_dir", "hsp_eval.data",
             "Dataset(", ".for_schools(")
NOTEBOOKS = sorted((PACKAGE.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_reports_read_only_prepared_tables(notebook):
    """A school or national notebook reads the tables the batch's data step prepared, never the data folder."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    found = [(i, word) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             for word in RAW_READS if word in cell.source]
    assert not found, f"{notebook.name} reads raw data (cell, what): {found}; read a prepared table instead"


def test_report_modules_do_not_read_the_data_folder():
    readers = {"hsp_eval.data.load", "hsp_eval.data.read", "hsp_eval.data.parse", "hsp_eval.data.schemas",
               "hsp_eval.data.templates", "hsp_eval.data.sniff", "hsp_eval.data.dates"}
    wrong = [f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}" for module, path in _modules()
             if module.startswith("hsp_eval.reports") for name, line in _imports(module, path) if name in readers]
    assert not wrong, "report modules must read prepared tables, not the data folder:\n" + "\n".join(wrong)
