"""The packaging stays consistent: pyproject.toml is the single source of dependencies."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# pip name -> conda-forge name(s) where they differ
CONDA_NAMES = {"dask[distributed]": ["dask", "distributed"], "duckdb": ["python-duckdb"]}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", req.strip())
    return m.group(1).lower(), m.group(2).replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra, items in meta["optional-dependencies"].items():
        reqs += [r for r in items if not r.startswith("hsp_eval[")]
    out = {}
    for r in reqs:
        name, spec = _split(r)
        for conda in CONDA_NAMES.get(name, [name]):
            out[conda] = spec
    return out


def _conda_requirements() -> dict[str, str]:
    """environment.yml's requirements: conda-forge's, and those it takes from PyPI (its pip section)."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and not dep.startswith(("python=", "pip")):
            name, spec = _split(dep)
            out[name] = spec
    for dep in next(d["pip"] for d in env["dependencies"] if isinstance(d, dict)):
        if not dep.startswith("-"):
            name, spec = _split(dep)
            assert name not in out, f"{name} is both a conda and a pip requirement in environment.yml"
            out[name] = spec
    return out


def test_environment_yml_matches_pyproject():
    assert _conda_requirements() == _pyproject_requirements()


def test_environment_yml_installs_the_project_with_all_extras():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e .[all]" in pip
    assert "python=3.11" in env["dependencies"]


def test_all_extra_names_every_extra():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    listed = re.search(r"\[(.*)\]", extras["all"][0]).group(1).split(",")
    assert sorted(listed) == sorted(k for k in extras if k != "all")


def test_lock_file_pins_every_dependency_exactly():
    lines = [ln for ln in (ROOT / "constraints.txt").read_text().splitlines()
             if ln and not ln.startswith("#")]
    pins = dict(ln.split("==", 1) for ln in lines)
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.+\-]*", v) for v in pins.values()), "only exact pins"
    norm = {k.lower().replace("_", "-") for k in pins}
    for name in _pyproject_requirements():
        pip_name = {"python-duckdb": "duckdb"}.get(name, name).replace("_", "-")
        assert pip_name in norm, f"{pip_name} is not pinned in constraints.txt (run 'make lock')"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
