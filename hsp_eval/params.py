"""A school's parameters file: ``params/<school_id>.yaml``.

It holds what the school decided for its evaluation: the name to show, the years,
its focus groups, ``min_n``, and its **targets** (indicators of success: indicator,
group, value to reach, and by which year). :func:`load_params` reads and checks one
file and raises :class:`ParamsError` naming the file, the field and the reason.

Example file::

    school_id: "0042"
    display_name: Kura o Te Awa
    years: 2022-2025
    min_n: 5
    focus_groups:
      - {group_type: ethnicity, group: Māori}
    targets:
      - {indicator: reach, group_type: ethnicity, group: Māori, value: 0.6, year: 2025}

Examples
--------
>>> p = parse_params({"school_id": "0042", "targets": [{"indicator": "reach", "value": 0.5, "year": 2025}]},
...                  "x.yaml")
>>> p["targets"][0]["group_type"], p["min_n"]
('all', 5)
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .registry import REGISTRY, base_id


class ParamsError(ValueError):
    """A params file that cannot be used; the message says which file, field and why."""


def _years(value, where: str) -> list[int]:
    if isinstance(value, str) and "-" in value:
        lo, hi = value.split("-", 1)
        try:
            return list(range(int(lo), int(hi) + 1))
        except ValueError:
            pass
    if isinstance(value, list) and all(isinstance(y, int) for y in value):
        return sorted(value)
    raise ParamsError(f"{where}: 'years' must be a range like 2022-2025 or a list of years, not {value!r}")


def parse_params(raw: dict, source: str) -> dict:
    """Check a params mapping and fill in defaults; raise :class:`ParamsError` when wrong."""
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: the file must be a YAML mapping of fields (school_id, targets, ...)")
    known = {"school_id", "display_name", "years", "min_n", "focus_groups", "targets"}
    extra = set(raw) - known
    if extra:
        raise ParamsError(f"{source}: unknown field(s) {', '.join(sorted(extra))} (known: {', '.join(sorted(known))})")
    sid = raw.get("school_id")
    if not isinstance(sid, str) or not sid:
        raise ParamsError(f"{source}: 'school_id' must be a quoted text such as \"0042\" "
                          f"(unquoted numbers lose their leading zeros), not {sid!r}")
    out = {"school_id": sid, "display_name": str(raw.get("display_name") or f"School {sid}"),
           "years": _years(raw["years"], source) if "years" in raw else None,
           "min_n": raw.get("min_n", 5), "focus_groups": [], "targets": []}
    if not isinstance(out["min_n"], int) or out["min_n"] < 1:
        raise ParamsError(f"{source}: 'min_n' must be a whole number of 1 or more, not {out['min_n']!r}")
    for k, g in enumerate(raw.get("focus_groups") or [], start=1):
        if not isinstance(g, dict) or set(g) != {"group_type", "group"}:
            raise ParamsError(f"{source}: focus_groups item {k} must have exactly group_type and group")
        out["focus_groups"].append({"group_type": str(g["group_type"]), "group": str(g["group"])})
    for k, t in enumerate(raw.get("targets") or [], start=1):
        where = f"{source}: target {k}"
        if not isinstance(t, dict):
            raise ParamsError(f"{where} must be a mapping with indicator, value and year")
        missing = {"indicator", "value", "year"} - set(t)
        if missing:
            raise ParamsError(f"{where} is missing {', '.join(sorted(missing))}")
        if base_id(str(t["indicator"])) not in REGISTRY:
            raise ParamsError(f"{where}: '{t['indicator']}' is not an indicator (see docs/indicators.md)")
        value = t["value"]
        kind = REGISTRY[base_id(str(t["indicator"]))].kind
        if not isinstance(value, (int, float)) or isinstance(value, bool) or \
                (kind == "proportion" and not 0 <= value <= 1):
            raise ParamsError(f"{where}: 'value' must be a number (a proportion between 0 and 1 for "
                              f"'{t['indicator']}'), not {value!r}")
        if not isinstance(t["year"], int) or not 2000 <= t["year"] <= 2100:
            raise ParamsError(f"{where}: 'year' must be a year such as 2025, not {t['year']!r}")
        out["targets"].append({"indicator": str(t["indicator"]),
                               "group_type": str(t.get("group_type", "all")),
                               "group": str(t.get("group", "all")), "value": float(value),
                               "year": int(t["year"])})
    return out


def load_params(path) -> dict:
    """Read and check ``params/<school_id>.yaml``."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML ({e})") from None
    return parse_params(raw, str(path))


def load_params_dir(folder) -> dict[str, dict]:
    """Every ``*.yaml`` params file of a folder, keyed by school_id."""
    out = {}
    for p in sorted(Path(folder).glob("*.yaml")):
        params = load_params(p)
        out[params["school_id"]] = params
    return out
