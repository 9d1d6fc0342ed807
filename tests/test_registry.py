"""The registry defines each indicator once, as the spec does, and docs/indicators.md is generated from it."""

import re
from pathlib import Path

import pytest

from hsp_eval.indicators import registry

ROOT = Path(__file__).resolve().parents[1]
#: the project's indicator spec, kept beside the repository (not in it) ...
SHARED_SPEC = ROOT.parent / "shared" / "spec" / "indicators.md"
#: ... and a copy of it here, so that a clone without ../shared still checks the registry against it
SPEC = ROOT / "tests" / "spec" / "indicators.md"


def test_the_copy_of_the_spec_is_the_spec():
    if not SHARED_SPEC.exists():
        pytest.skip(f"the project's spec is not beside this clone ({SHARED_SPEC}); the copy is checked where it is")
    assert SPEC.read_bytes() == SHARED_SPEC.read_bytes(), f"the spec changed: copy {SHARED_SPEC} to {SPEC}"


def spec_units() -> dict[str, str]:
    """id -> unit ("" where the spec's table has no unit column) of every indicator the spec's tables define."""
    out, header = {}, None
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if cells is None:
            header = None
        elif header is None:
            header = cells
        elif header[0] == "id" and re.fullmatch(r"[a-z_]+", cells[0]):
            out[cells[0]] = cells[header.index("unit")] if "unit" in header else ""
    return out


def test_docs_are_generated_from_the_registry():
    assert (ROOT / "docs" / "indicators.md").read_text(encoding="utf-8") == registry.render_markdown(), \
        "docs/indicators.md is out of date: run 'python -m hsp_eval.indicators.registry > docs/indicators.md'"


def test_the_registry_holds_the_spec_indicators_once_with_their_units():
    spec = spec_units()
    ids = [i.id for i in registry.INDICATORS]
    assert len(ids) == len(set(ids))
    assert sorted(i.id for i in registry.INDICATORS if i.in_spec) == sorted(spec), \
        "the registry's indicators marked in_spec differ from the spec's (an addition beyond it: in_spec=False)"
    for i in registry.INDICATORS:
        if i.in_spec and spec[i.id]:
            assert i.unit == spec[i.id], i.id


def test_every_indicator_is_well_formed():
    from hsp_eval.data.contract import TABLES
    from hsp_eval.indicators.engine import TOPICS

    for i in registry.INDICATORS:
        assert i.kind in registry.KINDS, i.id
        assert set(i.tables) <= set(TABLES), i.id
        assert i.label and i.numerator and i.denominator and i.groups, i.id
        assert i.topic in TOPICS, i.id
        assert i.better in ("higher", "lower", ""), i.id
        assert set(i.key_for) <= set(registry.KEY_REPORTS), i.id
        assert i.people in ("families", "students", "respondents", "raters"), i.id
        assert set(i.derived_from) <= set(registry.REGISTRY), i.id
        assert i.in_spec or i.note, f"{i.id}: an indicator beyond the spec says why in its note"


def test_how_reports_show_an_indicator_is_complete():
    for i in registry.INDICATORS:
        assert i.short and i.axis and i.phrase, i.id
        assert i.percent == (i.kind == "proportion") or i.kind == "difference", i.id
        assert i.axis.endswith(", %") == (i.percent and i.kind == "proportion"), i.id
        assert bool(i.hint) == (i.kind == "difference"), f"{i.id}: a difference says what either side of 0 means"
    for report in registry.KEY_REPORTS:
        keys = registry.key_indicators(report)
        assert keys and all("all" in registry.REGISTRY[k].groups for k in keys), report
