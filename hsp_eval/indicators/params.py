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
    measurement_error:        # optional: a measure's standard error of measurement, in its
      reading: 12             # score units; accelerated progress must then beat the expected
                              # gain by at least that much (docs/methods.md)
    reference_year: 2022      # optional: compare every year with schools like ours in this year
                              # (a fixed yardstick); left out, each year with its own
                              # (docs/reference-groups.md)

Examples
--------
>>> p = parse_params({"school_id": "0042", "targets": [{"indicator": "reach", "value": 0.5, "year": 2025}]},
...                  "x.yaml")
>>> p["targets"][0]["group_type"], p["min_n"]
('all', 5)
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from hsp_eval.indicators.registry import REGISTRY, base_id


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
    known = {"school_id", "display_name", "years", "min_n", "focus_groups", "targets", "measurement_error",
             "reference_year"}
    extra = set(raw) - known
    if extra:
        raise ParamsError(f"{source}: unknown field(s) {', '.join(sorted(extra))} (known: {', '.join(sorted(known))})")
    sid = raw.get("school_id")
    if not isinstance(sid, str) or not sid:
        raise ParamsError(f"{source}: 'school_id' must be a quoted text such as \"0042\" "
                          f"(unquoted numbers lose their leading zeros), not {sid!r}")
    out = {"school_id": sid, "display_name": str(raw.get("display_name") or f"School {sid}"),
           "years": _years(raw["years"], source) if "years" in raw else None,
           "min_n": raw.get("min_n", 5), "focus_groups": [], "targets": [],
           "measurement_error": _measurement_error(raw.get("measurement_error"), source),
           "reference_year": raw.get("reference_year")}
    ref = out["reference_year"]
    if ref is not None and (not isinstance(ref, int) or isinstance(ref, bool) or not 2000 <= ref <= 2100):
        raise ParamsError(f"{source}: 'reference_year' must be a year such as 2022 (compare every year with schools "
                          f"like ours in that year), or left out, not {ref!r}")
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


def _measurement_error(value, source: str) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ParamsError(f"{source}: 'measurement_error' must map each progress measure to its standard error "
                          f"of measurement in score points (e.g. reading: 12), not {value!r}")
    out = {}
    for measure, sem in value.items():
        if not isinstance(sem, (int, float)) or isinstance(sem, bool) or not sem >= 0:
            raise ParamsError(f"{source}: measurement_error of '{measure}' must be a number of score points, 0 or "
                              f"more, not {sem!r}")
        out[str(measure)] = float(sem)
    return out


def margins_frame(params_by_school: dict[str, dict]) -> pd.DataFrame:
    """Every school's standard errors of measurement (school_id, measure, margin), for
    :func:`hsp_eval.indicators.topics.inquiry.with_margins`.

    Examples
    --------
    >>> margins_frame({"0042": {"measurement_error": {"reading": 12.0}}}).to_dict("records")
    [{'school_id': '0042', 'measure': 'reading', 'margin': 12.0}]
    """
    rows = [{"school_id": sid, "measure": m, "margin": v} for sid, p in sorted(params_by_school.items())
            for m, v in sorted((p.get("measurement_error") or {}).items())]
    return pd.DataFrame(rows, columns=["school_id", "measure", "margin"])


def margins_of(folder) -> pd.DataFrame:
    """:func:`margins_frame` of every good params file of ``folder`` (bad ones are reported elsewhere)."""
    return margins_frame(load_params_each(folder)[0])


#: the YAML reader: libyaml's when PyYAML has it (a national batch reads 2,500 schools' files; the
#: time is in docs/performance.md), else PyYAML's own; both read the same safe subset of YAML
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_params(path) -> dict:
    """Read and check ``params/<school_id>.yaml``."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML ({e})") from None
    return parse_params(raw, str(path))


def _yaml_files(folder) -> list[Path]:
    """The ``*.yaml`` files of ``folder``, sorted; none when ``folder`` is None or missing."""
    return [] if folder is None else sorted(Path(folder).glob("*.yaml"))


def load_params_dir(folder) -> dict[str, dict]:
    """Every ``*.yaml`` params file of a folder, keyed by school_id (none for a missing folder or None)."""
    out = {}
    for p in _yaml_files(folder):
        params = load_params(p)
        out[params["school_id"]] = params
    return out


def params_path(folder, school_id: str) -> Path:
    """Where a school's params file lives: ``folder/<school_id>.yaml``.

    Examples
    --------
    >>> params_path("params/demo", "0113").as_posix()
    'params/demo/0113.yaml'
    """
    return Path(folder) / f"{school_id}.yaml"


#: what a school without a params file gets, in words (reports and messages say it)
DEFAULTS_IN_WORDS = ("the school's name from the data, every year in the data, numbers behind fewer than 5 "
                     "people withheld, no focus groups and no targets")


def default_params(school_id: str, display_name: str | None = None) -> dict:
    """The params of a school without a params file: :data:`DEFAULTS_IN_WORDS`.

    Examples
    --------
    >>> p = default_params("0042", "Kura o Te Awa")
    >>> p["display_name"], p["years"], p["min_n"], p["targets"]
    ('Kura o Te Awa', None, 5, [])
    """
    raw = {"school_id": str(school_id), **({"display_name": display_name} if display_name else {})}
    return parse_params(raw, "(the default params)")


def load_school_params(folder, school_id: str) -> dict:
    """The checked params of one school from ``folder/<school_id>.yaml``.

    Raises :class:`ParamsError` when the file is missing (saying how to make one), is bad,
    or names another school than its file name.
    """
    path = params_path(folder, school_id)
    if not path.exists():
        raise ParamsError(f"{path}: no params file for school {school_id}; write a starter one with "
                          f"'hsp-eval params init {school_id} --out {folder}'")
    params = load_params(path)
    if params["school_id"] != school_id:
        raise ParamsError(f"{path}: 'school_id' is \"{params['school_id']}\" but the file is named for "
                          f"school \"{school_id}\"")
    return params


def load_params_each(folder) -> tuple[dict[str, dict], dict[str, str]]:
    """Every params file of a folder, the good ones and the bad ones apart.

    Returns ``(params, errors)``: checked params keyed by school_id, and the
    :class:`ParamsError` message of each bad file keyed by the school id its file name
    gives. A batch run uses the good ones and reports each bad one against its school; a
    school with neither has no file and gets :func:`default_params`. A missing folder, or
    None, has no files.
    """
    good, bad = {}, {}
    for p in _yaml_files(folder):
        try:
            good[p.stem] = load_school_params(folder, p.stem)
        except ParamsError as e:
            bad[p.stem] = str(e)
    return good, bad


def _yaml_text(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def starter_text(school_id: str, display_name: str | None = None, years=None, min_n: int = 5) -> str:
    """The text of a starter params file: quoted id, name, years, ``min_n`` and commented example targets.

    Examples
    --------
    >>> text = starter_text("0042", "Kura o Te Awa", [2022, 2023, 2024, 2025])
    >>> parse_params(yaml.safe_load(text), "0042.yaml")["years"]
    [2022, 2023, 2024, 2025]
    """
    lines = [f"# Parameters of school {school_id} for hsp_eval's reports. Every field is described in",
             "# hsp_eval/indicators/params.py; check the file with 'hsp-eval report --school <id>'.",
             "# The school id stays in quotes, so a leading zero is kept.",
             f"school_id: {_yaml_text(school_id)}",
             f"display_name: {_yaml_text(display_name or f'School {school_id}')}"]
    if years:
        years = sorted(int(y) for y in years)
        contiguous = years == list(range(years[0], years[-1] + 1))
        lines.append(f"years: {years[0]}-{years[-1]}" if contiguous and len(years) > 1
                     else f"years: [{', '.join(map(str, years))}]")
    else:
        lines.append("# years: 2022-2025          # the years to report; all years in the data when left out")
    lines += [f"min_n: {int(min_n)}                    # counts under this are shown as suppressed, never as numbers",
              "# Groups the school pays most attention to (group_type and group as in the indicator table).",
              "focus_groups: []",
              "#  - {group_type: ethnicity, group: Māori}",
              "# Indicators of success: the value an indicator should reach, for a group, by a year.",
              "# Proportions are written between 0 and 1 (0.6 is 60%). Indicator ids: docs/indicators.md.",
              "targets: []",
              "#  - {indicator: reach_learning, group_type: all, group: all, value: 0.6, year: 2026}",
              "#  - {indicator: reach, group_type: ethnicity, group: Māori, value: 0.7, year: 2026}",
              "#  - {indicator: two_way_share, group_type: all, group: all, value: 0.4, year: 2026}",
              "# Compare every year with schools like ours in one base year (a fixed yardstick); left out,",
              "# each year is compared with schools like ours that year (docs/reference-groups.md).",
              "# reference_year: 2022"]
    return "\n".join(lines) + "\n"


def write_starter(folder, school_id: str, display_name: str | None = None, years=None, min_n: int = 5) -> Path:
    """Write ``folder/<school_id>.yaml`` from :func:`starter_text`; never overwrite an existing file.

    Raises
    ------
    FileExistsError
        When the school already has a params file.
    """
    path = params_path(folder, school_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = starter_text(school_id, display_name, years, min_n)
    parse_params(yaml.load(text, Loader=_LOADER), str(path))   # the starter must be a file load_params accepts
    with open(path, "x", encoding="utf-8") as f:  # "x": fails if the file exists, even in a race
        f.write(text)
    return path


def write_starters(folder, schools, min_n: int = 5) -> tuple[list[Path], list[Path]]:
    """A starter params file (:func:`write_starter`) for every school that has none in ``folder``.

    Parameters
    ----------
    folder : where the ``<school_id>.yaml`` files go (made when missing).
    schools : ``(school_id, display_name, years)`` of each school; ``years`` may be None.
    min_n : the starter files' ``min_n``.

    Returns
    -------
    (written, kept): the files written, and the files that were there already and were left as
    they are (a school's edits are never overwritten).

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> written, kept = write_starters(d, [("0042", "Kura o Te Awa", [2024, 2025])])
    >>> [p.name for p in written], kept
    (['0042.yaml'], [])
    >>> written, kept = write_starters(d, [("0042", "Kura o Te Awa", None), ("0043", None, None)])
    >>> [p.name for p in written], [p.name for p in kept]
    (['0043.yaml'], ['0042.yaml'])
    """
    written, kept = [], []
    for school_id, display_name, years in schools:
        try:
            written.append(write_starter(folder, str(school_id), display_name, years, min_n))
        except FileExistsError:
            kept.append(params_path(folder, str(school_id)))
    return written, kept
