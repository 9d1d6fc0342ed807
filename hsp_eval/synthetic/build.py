"""A realistic, deterministic synthetic New Zealand evaluation dataset, with known effects.

:func:`generate` returns every table of the data contract as DataFrames; :func:`write_dataset`
streams them to ``<table>.csv`` or ``<table>.parquet`` files (plus ``generator.json``), a chunk
of schools at a time, so a national dataset (2,500 schools, five years) never sits in memory.
The same seed and arguments give byte-identical files, whatever the chunk size.

How it is built (details in ``docs/synthetic.md``):

* :mod:`hsp_eval.synthetic.roll` draws the schools (16 regions, school types, rolls, Equity
  Index, ethnic mix) and simulates each school's families and children over the years
  (siblings, new entrants, leavers, turnover, siblings at a primary and a secondary school,
  mid-year school changes);
* :mod:`hsp_eval.synthetic.school` draws what each school records: activities per term and who
  was invited and came, contacts, portal logins, whānau and staff surveys, inquiry steps and
  progress of target students, self-review, reported participation;
* this module turns the numbers into the contract's columns (pseudonymous id strings with
  leading zeros, vocabularies, ISO dates) and writes them.

:data:`KNOWN_EFFECTS` documents the effects written into the data, so that tests of the
indicator engine can check the indicators recover them.

Examples
--------
>>> from hsp_eval.synthetic.build import generate
>>> tables = generate(n_schools=2, years=[2023, 2024], seed=1)
>>> list(tables["schools"].columns)
['school_id', 'school_name', 'region', 'school_type', 'eqi']
>>> tables["enrolments"]["student_id"].str.len().unique().tolist()
[8]
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from hsp_eval.synthetic import school as sch
from hsp_eval.data import vocab
from hsp_eval.data.contract import TABLES
from hsp_eval.synthetic.roll import ETH_STRINGS, GENDERS, TYPES, World, make_schools, simulate_rolls
from hsp_eval.synthetic.text import INSTRUMENTS, survey_items_rows

#: schools generated and written together; any value gives the same tables
DEFAULT_CHUNK_SIZE = 50
PARQUET_COMPRESSION = "zstd"
FLOAT_DECIMALS = {"start_score": 1, "end_score": 1, "expected_gain": 1, "weight": 3}
MEASURES = ("reading", "writing", "maths")
FRAMEWORK = "partnership_self_review"

KNOWN_EFFECTS: dict[str, dict] = {
    "participation_by_ethnicity_and_activity": {
        "description": (
            "School-run formats reach groups unequally, not families that care less: among families "
            "reached in a year, the log-odds of attending an open activity carry an offset by the "
            "family's prioritised ethnic group. Information evenings, fundraising, volunteering and "
            "governance meetings reach Māori and Pacific families less than European families; "
            "community events and consultation (hui, fono) reach them as well or better. "
            "Invitation-based learning activities (conferences, goal setting, IEP, home visits) have no offset."),
        "applies_to": "all schools",
        "parameters": {
            "offsets_vs_european": {t: dict(zip(("Māori", "Pacific", "Asian/MELAA/Other"), v))
                                    for t, v in sch.ETHNIC_OFFSETS.items()},
            "open_activity_logodds": sch.OPEN_LOGODDS,
            "family_engagement_sd": sch.ENGAGEMENT_SD,
            "ethnic_group_used": "prioritised (Māori, Pacific, Asian, MELAA, Other, European)",
        },
    },
    "school0_maori_reach_rises": {
        "description": (
            "School index 0 (the lowest school_id; a Full Primary with about 55% Māori whānau) improves "
            "its reach of Māori whānau (families with Māori among their children's groups) steadily, "
            "linearly in the year from the first to the last year generated, while its other families "
            "stay flat. Reach = the family attended at least one activity that year; the new-family "
            "shift below also applies."),
        "applies_to": "school index 0",
        "parameters": {"maori_reach_first_year": sch.SCHOOL0_MAORI_REACH[0],
                       "maori_reach_last_year": sch.SCHOOL0_MAORI_REACH[1],
                       "other_families_reach": sch.SCHOOL0_OTHER_REACH},
    },
    "school1_one_way_deficit_contact": {
        "description": (
            "School index 1 (an Auckland secondary school) relies on one-way, problem-focused contact: "
            "about 10% of its contacts are family-initiated, about 60% of its school-initiated contacts "
            "are about behaviour or attendance and about 3% are good news. Its whānau rate "
            "two_way_communication lower (latent -0.7) and true_partnership lower (-0.3), and its whānau "
            "self-review raters rate the two_way_communication dimension 0.5 lower. Other schools: "
            "two-way share 35-45%, deficit share 20-30%, good news 15-25%."),
        "applies_to": "school index 1",
        "parameters": {"two_way_share": 0.10, "deficit_share": 0.60, "good_news_share": 0.03,
                       "other_schools": {"two_way_share": [0.35, 0.45], "deficit_share": [0.20, 0.30],
                                         "good_news_share": [0.15, 0.25]}},
    },
    "codesign_accelerates_progress": {
        "description": (
            "Target students whose whānau co-designed the response are more likely to make accelerated "
            "progress (end_score - start_score > expected_gain): logit P(accelerated) = intercept + "
            "log(2.5) * whanau_codesigned + start coefficient * (start_score - (300 + 50 * year_level)) / 25 "
            "+ level coefficient * (year_level - 6), so a logistic model on whanau_codesigned, "
            "start_score and year_level recovers an odds ratio of about 2.5. Co-design is itself more "
            "likely when the family came to goal setting (it is an association in the data, as in real "
            "data; the generator makes it causal)."),
        "applies_to": "all schools (target students)",
        "parameters": {"odds_ratio": 2.5, "intercept": sch.ACCEL_INTERCEPT, "start_coef": sch.ACCEL_START,
                       "level_coef": sch.ACCEL_LEVEL, "expected_gain": float(sch.SCALE_GAIN),
                       "scale": "expected score 300 + 50 * year level"},
    },
    "staff_whanau_perception_gap": {
        "description": (
            "Staff rate the four partnership scales more favourably than whānau of the same school and "
            "year: the staff share of favourable answers is the whānau share + 0.15 (capped at 0.97). "
            "In the self-review, leaders rate every dimension about 0.7 higher than whānau raters "
            "(staff about 0.35), before rounding to the 1-4 rubric."),
        "applies_to": "all schools",
        "parameters": {"favourable_gap": sch.STAFF_FAVOURABLE_GAP, "self_review_shift": sch.REVIEW_SHIFT},
    },
    "new_families_and_invitations": {
        "description": (
            "Families new to the school (no child there the year before) are reached less: their "
            "probit of being reached is shifted by -0.55 (e.g. 0.80 -> 0.61). Personal invitations "
            "work: an invited family that is reached that year comes with probability 0.85-0.92 "
            "(conferences at secondary schools 0.80), so invitation uptake is about 70%, far above "
            "the share of families at any one open event (mostly 5-35%)."),
        "applies_to": "all schools",
        "parameters": {"new_family_probit_shift": sch.NEW_FAMILY_SHIFT, "invited_uptake": sch.INVITED_UPTAKE,
                       "secondary_conference_uptake": sch.SECONDARY_CONFERENCE_UPTAKE},
    },
    "learning_at_home_is_universal": {
        "description": (
            "Learning at home, which no register sees, is reported by most linked whānau respondents "
            "whatever their attendance: 80% of European and other families, 86% of Māori and 88% of "
            "Pacific families (prioritised). Reports of register activities follow the registers "
            "(90% of attenders, 8% of non-attenders say they took part)."),
        "applies_to": "all schools (reported_participation)",
        "parameters": {"learning_at_home": dict(zip(("European/other", "Māori", "Pacific"), sch.LEARNING_AT_HOME)),
                       "reported_if_attended": 0.9, "reported_if_not": 0.08},
    },
}


# ---------------------------------------------------------------------------
# turning code columns into contract columns


def _arrow_type(kind: str) -> pa.DataType:
    return {"int": pa.int32(), "float": pa.float64(), "bool": pa.bool_(), "date": pa.date32()}.get(kind, pa.string())


def _schema(table: str, for_csv: bool) -> pa.Schema:
    fields = []
    for c in TABLES[table].columns:
        t = _arrow_type(c.kind)
        if for_csv and c.kind == "float":
            t = pa.string()
        fields.append(pa.field(c.name, t))
    return pa.schema(fields)


def _strings(values) -> pa.Array:
    return pa.array(list(values), pa.string())


def _take(values: Sequence[str], idx: np.ndarray) -> pa.Array:
    idx = np.asarray(idx, dtype=np.int64)
    return pc.take(pa.array(list(values), pa.string()), pa.array(idx, mask=idx < 0))


def _digits(x: np.ndarray, width: int, null: np.ndarray | None = None) -> pa.Array:
    arr = pa.array(np.asarray(x, dtype=np.int64), mask=null)
    return pc.utf8_lpad(pc.cast(arr, pa.string()), width=width, padding="0")


def _composed(world: World, school: np.ndarray, year: np.ndarray, letter, seq: np.ndarray, width: int) -> pa.Array:
    """'<school_id>-<year>-<letter><seq>', e.g. 0042-2024-A017."""
    if isinstance(letter, str):
        letter = pa.scalar(letter)
    else:
        letter = _take(("W", "S"), letter)
    return pc.binary_join_element_wise(
        _take(world.schools.school_id, school), pc.cast(pa.array(np.asarray(year, dtype=np.int64)), pa.string()),
        pc.binary_join_element_wise(letter, _digits(seq, width), ""), "-")


def _fixed(scaled: np.ndarray, decimals: int, for_csv: bool) -> pa.Array:
    """A float column from integers in units of 10**-decimals: float64, or for CSV fixed-decimal text."""
    scaled = np.asarray(scaled, dtype=np.int64)
    if not for_csv:
        return pa.array(scaled / 10 ** decimals)
    mag = np.abs(scaled)
    text = pc.binary_join_element_wise(pc.cast(pa.array(mag // 10 ** decimals), pa.string()),
                                       _digits(mag % 10 ** decimals, decimals), ".")
    return pc.if_else(pa.array(scaled < 0), pc.binary_join_element_wise("-", text, ""), text)


def _bool(v: np.ndarray) -> pa.Array:
    v = np.asarray(v)
    if v.dtype == bool:
        return pa.array(v)
    return pa.array(v == 1, mask=v < 0)


def _ids(world: World, nums: np.ndarray, which: str) -> pa.Array:
    nums = np.asarray(nums, dtype=np.int64)
    fn = world.student_ids if which == "student" else world.family_ids
    null = nums < 0
    return _digits(fn(np.where(null, 0, nums)), world.id_width, null if null.any() else None)


def _build(world: World, table: str, c: dict[str, np.ndarray], for_csv: bool) -> pa.Table:
    """Contract columns of ``table`` from the code columns ``c``."""
    n = len(next(iter(c.values())))
    yr = lambda: pa.array(np.asarray(c["year"], dtype=np.int32))  # noqa: E731
    school = lambda col="school_id": _take(world.schools.school_id, c[col])  # noqa: E731
    if table == "enrolments":
        cols = {"year": yr(), "school_id": school(), "student_id": _ids(world, c["student_id"], "student"),
                "family_id": _ids(world, c["family_id"], "family"),
                "year_level": pa.array(c["year_level"].astype(np.int32)),
                "ethnicity": _take(ETH_STRINGS, c["ethnicity"]), "gender": _take(GENDERS, c["gender"]),
                "target": _bool(c["target"])}
    elif table == "activities":
        cols = {"activity_id": _composed(world, c["_school"], c["_year"], "A", c["_aseq"], 3),
                "school_id": school(), "date": pa.array(c["date"].astype(np.int32)).cast(pa.date32()),
                "activity_type": _take(sch.ACTIVITY_TYPES, c["activity_type"]),
                "mode": _take(vocab.MODES, c["mode"]), "title": _strings(c["title"])}
    elif table == "attendance":
        cols = {"activity_id": _composed(world, c["_school"], c["_year"], "A", c["_aseq"], 3),
                "family_id": _ids(world, c["family_id"], "family"),
                "student_id": _ids(world, c["student_id"], "student"),
                "invited": _bool(c["invited"]), "attended": _bool(c["attended"])}
    elif table == "contacts":
        cols = {"contact_id": _composed(world, c["_school"], c["_year"], "C", c["_cseq"], 6),
                "school_id": school(), "date": pa.array(c["date"].astype(np.int32)).cast(pa.date32()),
                "family_id": _ids(world, c["family_id"], "family"),
                "student_id": _ids(world, c["student_id"], "student"),
                "initiated_by": _take(vocab.INITIATED_BY, c["initiated_by"]),
                "channel": _take(vocab.CHANNELS, c["channel"]), "purpose": _take(vocab.PURPOSES, c["purpose"]),
                "response_received": _bool(c["response_received"])}
    elif table == "portal_usage":
        cols = {"school_id": school(), "family_id": _ids(world, c["family_id"], "family"),
                "month": pc.binary_join_element_wise(pc.cast(pa.array(c["_year"]), pa.string()),
                                                     _digits(c["_month"], 2), "-"),
                "logins": pa.array(c["logins"].astype(np.int32))}
    elif table in ("survey_respondents", "survey_responses"):
        cols = {"instrument": _take(sch.INSTRUMENT_NAMES, c["_inst"]), "year": yr(), "school_id": school("_school"),
                "respondent_id": _composed(world, c["_school"], c["year"], c["_rkind"], c["_rseq"], 4)}
        if table == "survey_respondents":
            cols.update({"role": _take(vocab.ROLES, c["role"]), "family_id": _ids(world, c["family_id"], "family"),
                         "ethnicity": _take(ETH_STRINGS, c["ethnicity"]),
                         "weight": _fixed(c["weight"], FLOAT_DECIMALS["weight"], for_csv)})
        else:
            resp = np.asarray(c["response"], dtype=np.int64)
            cols.update({"item_id": _take([it[1] for it in sch.ITEMS], c["_item"]),
                         "response": pa.array(resp.astype(np.int32), mask=resp < 0)})
    elif table == "inquiry_steps":
        cols = {"year": yr(), "school_id": school(), "student_id": _ids(world, c["student_id"], "student")}
        for k in ("whanau_identified", "whanau_codesigned", "family_goal_included", "whanau_reviewed"):
            cols[k] = _bool(c[k])
    elif table == "progress":
        cols = {"year": yr(), "school_id": school(), "student_id": _ids(world, c["student_id"], "student"),
                "measure": _take(MEASURES, c["_measure"])}
        for k in ("start_score", "end_score", "expected_gain"):
            cols[k] = _fixed(c[k], FLOAT_DECIMALS[k], for_csv)
    elif table == "self_review":
        cols = {"year": yr(), "school_id": school(), "framework": _strings([FRAMEWORK] * n),
                "dimension": _take(sch.REVIEW_DIMENSIONS, c["_dimension"]),
                "rater_group": _take(vocab.RATER_GROUPS, c["rater_group"]),
                "rating": pa.array(c["rating"].astype(np.int32))}
    elif table == "reported_participation":
        cols = {"year": yr(), "school_id": school(),
                "respondent_id": _composed(world, c["_school"], c["year"], c["_rkind"], c["_rseq"], 4),
                "activity_type": _take(vocab.REPORTED_ACTIVITY_TYPES, c["activity_type"]),
                "participated": _bool(c["participated"]),
                "weight": _fixed(c["weight"], FLOAT_DECIMALS["weight"], for_csv)}
    else:
        raise KeyError(table)
    return pa.table([cols[name] for name in TABLES[table].column_names], schema=_schema(table, for_csv))


def _static_tables(world: World) -> dict[str, pa.Table]:
    s = world.schools
    schools = pa.table({"school_id": pa.array(s.school_id, pa.string()), "school_name": pa.array(s.school_name),
                        "region": _take(vocab.REGIONS, s.region), "school_type": _take(TYPES, s.type),
                        "eqi": pa.array(s.eqi.astype(np.int32))}, schema=_schema("schools", False))
    rows = survey_items_rows()
    items = pa.Table.from_pylist(rows, schema=_schema("survey_items", False))
    return {"schools": schools, "survey_items": items}


def _enrolment_codes(world: World, i: int) -> dict[str, np.ndarray]:
    r = world.rolls[i]
    keep = np.isin(r.row_year, world.years)
    ch = r.row_child[keep]
    return {"year": r.row_year[keep], "school_id": np.full(ch.size, i), "student_id": r.child_global[ch],
            "family_id": r.fam_global[r.child_fam[ch]], "year_level": r.row_level[keep],
            "ethnicity": r.child_mask[ch].astype(np.int64), "gender": r.child_gender[ch].astype(np.int64),
            "target": r.row_target[keep]}


def _chunk_tables(world: World, seed: int, schools: range, for_csv: bool) -> dict[str, pa.Table]:
    parts: dict[str, list[dict]] = {}
    for i in schools:
        parts.setdefault("enrolments", []).append(_enrolment_codes(world, i))
        for t, cols in sch.school_tables(world, i, seed).items():
            parts.setdefault(t, []).append(cols)
    out = {}
    for t in TABLES:
        if t in ("schools", "survey_items"):
            continue
        got = [p for p in parts.get(t, []) if len(next(iter(p.values())))]
        if not got:
            out[t] = _schema(t, for_csv).empty_table()
            continue
        cols = {k: np.concatenate([p[k] for p in got]) for k in got[0]}
        out[t] = _build(world, t, cols, for_csv)
    return out


def _world(n_schools: int, years: Sequence[int], seed: int) -> World:
    years = sorted({int(y) for y in years})
    if not years:
        raise ValueError("years must name at least one year")
    schools = make_schools(seed, n_schools, years)
    return simulate_rolls(seed, schools, years)


def _iter_tables(world: World, seed: int, chunk_size: int, for_csv: bool) -> Iterator[dict[str, pa.Table]]:
    yield _static_tables(world)
    n = len(world.schools)
    for start in range(0, n, max(1, int(chunk_size))):
        yield _chunk_tables(world, seed, range(start, min(n, start + chunk_size)), for_csv)


# ---------------------------------------------------------------------------
# public API


def _to_pandas(table: str, t: pa.Table) -> pd.DataFrame:
    out = {}
    for col in TABLES[table].columns:
        a = t.column(col.name)
        if col.kind == "int":
            s = pd.Series(a.to_pandas(), copy=False)
            out[col.name] = s.astype("Int64") if (col.nullable or a.null_count) else s.astype("int64")
        elif col.kind == "bool":
            s = a.to_pandas()
            out[col.name] = s.astype("boolean") if (col.nullable or a.null_count) else s.astype(bool)
        elif col.kind == "date":
            out[col.name] = pd.to_datetime(a.cast(pa.timestamp("s")).to_pandas()).astype("datetime64[s]")
        elif col.kind == "float":
            out[col.name] = a.to_pandas().astype("float64")
        else:
            out[col.name] = a.to_pandas().astype("str")
    return pd.DataFrame(out)


def generate(n_schools: int, years: Sequence[int], seed: int, *,
             chunk_size: int = DEFAULT_CHUNK_SIZE) -> dict[str, pd.DataFrame]:
    """Generate a synthetic dataset in memory: every contract table as a DataFrame.

    Parameters
    ----------
    n_schools : number of schools (school index 0 and 1 carry the school-specific known effects).
    years : the school years, e.g. ``range(2022, 2026)``.
    seed : the seed; the same arguments always give the same tables.
    chunk_size : schools generated together; it does not change the result.

    Returns
    -------
    dict
        table name -> DataFrame with exactly the contract's columns, in contract order.
        IDs, text and categories are strings; dates ``datetime64[s]``; booleans ``bool``
        (``boolean`` where the contract allows blanks); ints ``int64`` (``Int64``).
    """
    world = _world(n_schools, years, seed)
    parts: dict[str, list[pa.Table]] = {t: [] for t in TABLES}
    for tables in _iter_tables(world, seed, chunk_size, for_csv=False):
        for t, tab in tables.items():
            parts[t].append(tab)
    return {t: _to_pandas(t, pa.concat_tables(parts[t])) for t in TABLES}


def _csv_cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _write_small_csv(path: Path, table: pa.Table) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.column_names)
    for row in table.to_pylist():
        w.writerow([_csv_cell(row[c]) for c in table.column_names])
    path.write_bytes(buf.getvalue().encode("utf-8"))


class _Writer:
    """Streams one table to its file, chunk by chunk."""

    def __init__(self, path: Path, table: str, fmt: str):
        self.path, self.table, self.fmt, self.rows = path, table, fmt, 0
        if fmt == "parquet":
            self.w = pq.ParquetWriter(path, _schema(table, False), compression=PARQUET_COMPRESSION)
        else:
            self.f = open(path, "wb")
            self.f.write((",".join(TABLES[table].column_names) + "\n").encode("utf-8"))

    def write(self, t: pa.Table) -> None:
        self.rows += t.num_rows
        if self.fmt == "parquet":
            if t.num_rows:
                self.w.write_table(t)
            return
        if not t.num_rows:
            return
        try:
            buf = io.BytesIO()
            pacsv.write_csv(t, buf, pacsv.WriteOptions(include_header=False, quoting_style="none"))
        except pa.ArrowInvalid:  # a value with a comma or quote: quote where needed
            sio = io.StringIO()
            w = csv.writer(sio, lineterminator="\n")
            for row in t.to_pylist():
                w.writerow([_csv_cell(row[c]) for c in t.column_names])
            buf = io.BytesIO(sio.getvalue().encode("utf-8"))
        self.f.write(buf.getvalue())

    def close(self) -> None:
        if self.fmt == "parquet":
            self.w.close()
        else:
            self.f.close()


def write_dataset(out_dir, n_schools: int, years: Sequence[int], seed: int, fmt: str = "csv", *,
                  chunk_size: int = DEFAULT_CHUNK_SIZE) -> dict[str, int]:
    """Write a synthetic dataset to ``out_dir``; return rows written per table.

    Writes ``<table>.csv`` or ``<table>.parquet`` for every contract table, streaming
    ``chunk_size`` schools at a time, and ``generator.json`` (seed, schools, years, package
    version, known effects with the school ids they apply to). A file of the same table in the
    other format is removed, so the folder holds one file per table. CSV: UTF-8, header row,
    ``true``/``false``, blank for missing, ISO dates, floats with fixed decimals. Parquet: ids as
    strings, ints int32, dates date32, zstd, no pandas metadata.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    world = _world(n_schools, years, seed)
    other = "parquet" if fmt == "csv" else "csv"
    for t in TABLES:
        stale = out / f"{t}.{other}"
        if stale.exists():
            stale.unlink()
    counts = {t: 0 for t in TABLES}
    writers: dict[str, _Writer] = {}
    try:
        for tables in _iter_tables(world, seed, chunk_size, for_csv=(fmt == "csv")):
            for t, tab in tables.items():
                if t in ("schools", "survey_items") and fmt == "csv":
                    _write_small_csv(out / f"{t}.csv", tab)
                    counts[t] = tab.num_rows
                    continue
                if t not in writers:
                    writers[t] = _Writer(out / f"{t}.{fmt}", t, fmt)
                writers[t].write(tab)
    finally:
        for w in writers.values():
            w.close()
    for t, w in writers.items():
        counts[t] = w.rows
    (out / "generator.json").write_text(json.dumps(_metadata(world, seed, fmt, counts), indent=2,
                                                   ensure_ascii=False) + "\n", encoding="utf-8")
    return counts


def _metadata(world: World, seed: int, fmt: str, counts: dict[str, int]) -> dict:
    from hsp_eval._version import __version__

    ids = world.schools.school_id
    effects = {}
    for name, e in KNOWN_EFFECTS.items():
        e = dict(e)
        if e["applies_to"] == "school index 0":
            e["school_ids"] = ids[:1]
        elif e["applies_to"] == "school index 1":
            e["school_ids"] = ids[1:2]
        effects[name] = e
    return {"generator": "hsp_eval.synthetic", "package_version": __version__, "seed": seed,
            "n_schools": len(ids), "years": world.years, "format": fmt, "rows": counts,
            "sibling_links": world.links.get("sibling_links"), "midyear_moves": world.links.get("midyear_moves"),
            "instruments": list(INSTRUMENTS), "known_effects": effects}
