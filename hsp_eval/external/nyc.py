"""NYC School Survey 2011 and 2019: parent response rates, family-community ties, change.

The New York City Department of Education (DOE) surveys parents, teachers and (from grade 6)
students every year and publishes school-level files on NYC Open Data. Three files are read,
as they are, from ``data/external/nyc-school-survey/`` (provenance in each ``SOURCE.txt``):

``2011/survey_d75.txt``
    2011, the 56 District 75 (special education) schools; complete.
``2011/survey_all.TRUNCATED.txt``
    2011, general-education schools. **Cut off in its source**: it stops in the middle of the
    record of DBN 09X404 (file row 456; 668 of the header's 1,942 values), so it holds only
    districts 01-09 and its last row is incomplete. See *The truncated file* below.
``2019/2019_PublicDataFile_Students.csv``
    2019, school-level summary of 1,829 schools: response rates (%) and Framework scores.

Coding
------
2011 files: tab-separated, UTF-8 with a byte-order mark, strings quoted (``"09X404"``), one
row per school, the header is row 1. Columns used:

- ``dbn``: the school's id (district, borough letter, number), e.g. ``01M015``;
- ``rr_p``: parent response rate, a whole percent, ``round-half-up(100 * N_p / nr_p)``, shown as
  100 where ``N_p > nr_p``;
- ``N_p``: parents who responded; **blank** in two schools whose ``rr_p`` is 0: taken as 0
  respondents, which ``rr_p = 0`` forces (``100 * N_p / nr_p < 0.5`` with ``nr_p`` under 200);
- ``nr_p``: parents counted by the DOE as the rate's denominator;
- ``saf_p_11``, ``com_p_11``, ``eng_p_11``, ``aca_p_11``: parent safety, communication,
  engagement and academic-expectation scores (0-10); blank where not reported;
- ``"NA"`` (quoted) marks a not-available item value; it does not occur in the columns above.

2019 file: comma-separated, UTF-8, header row 1. The parent column's header has an **embedded
newline** (``"Total Parent \\nResponse Rate %"``, quoted); headers are matched after collapsing
whitespace, so either spelling works. ``"N/A"`` marks a missing value (read as NaN, never 0).
Rates are whole percents; there are **no respondent or parent counts**, so 2019 rates have no
interval and no citywide pooled rate can be formed. Framework scores are on the DOE's 1-5
scale; ``Supportive Environment Score`` is ``N/A`` for every school in this file.

Mapping to hsp_eval's indicator table
-------------------------------------
Parent response rate per school becomes rows of the registry's ``survey_response_rate``
(``hsp_eval.indicators.registry``): level ``school``, area_id the DBN, year 2011 or 2019, group_type
``instrument`` and group :data:`INSTRUMENT` (``nyc_parent_survey``), as the engine gives one
row per survey instrument. For 2011, numerator ``N_p`` and denominator ``nr_p``, value their
ratio (not the rounded ``rr_p``) and a Wilson 95% interval (:func:`hsp_eval.indicators.stats.wilson`);
for 2019, value the published rate / 100 and no counts or interval. The unit differs from the
registry's *families*: NYC counts parents as the DOE counts them (a family with two children at
a school may count twice). Nothing is suppressed: the files are published school by school.

Rows that cannot give a rate are excluded and counted with their reason (rows read = used +
excluded, :func:`accounting`): a cut-off row; ``N_p`` greater than ``nr_p`` (more respondents
than parents: the published rate is capped at 100%, so the counts are not a proportion); no
parents (``nr_p`` 0 or blank).

The truncated file
------------------
:func:`read_2011` finds a cut-off last row the way :func:`hsp_eval.data.read.read_raw` does for
contract CSVs (Arrow's CSV reader reports every record whose number of values differs from
the header's; fewer values in the last record means the file was cut off). By default it
raises :class:`TruncatedFileError`, whose message names the file, the row, the school and
what is missing, in plain words. With ``allow_truncated=True`` it goes on with the complete
rows only, counts the cut-off row as excluded and keeps the same message in
``Survey2011.truncation`` for the report. A short row that is not the last is a different
problem (a damaged file) and always raises.

Analyses
--------
:func:`pooled_rates` (sum of respondents over sum of parents, Wilson 95%) per part of 2011;
:func:`funnel` (school rate against number of parents, 95% and 99.8% limits around the
part's pooled rate, :mod:`hsp_eval.reports.funnel`); :func:`family_ties_2019` (Strong
Family-Community Ties scores); :func:`rate_change` (schools in both years: 2019 rate minus 2011
rate with a Newcombe interval, :func:`hsp_eval.indicators.stats.newcombe`, approximate because 2019 has no
counts: see there).

Examples
--------
>>> s11 = read_2011(allow_truncated=True)                       # doctest: +SKIP
>>> rows = response_rate_rows(s11, read_2019())                 # doctest: +SKIP
>>> pooled_rates(s11)                                           # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from hsp_eval.reports import funnel as _funnel
from hsp_eval.indicators import stats
from hsp_eval.indicators.engine import COLUMNS as INDICATOR_COLUMNS
from hsp_eval.external import DATASETS, rawfiles

NAME = "nyc-school-survey"
INDICATOR = "survey_response_rate"
INSTRUMENT = "nyc_parent_survey"
#: part of the 2011 survey -> file (relative to the dataset folder)
FILES_2011 = {"District 75": "2011/survey_d75.txt", "general education": "2011/survey_all.TRUNCATED.txt"}
FILE_2019 = "2019/2019_PublicDataFile_Students.csv"
#: 2011 column -> name used here
COLUMNS_2011 = {"dbn": "dbn", "schoolname": "school_name", "schooltype": "school_type", "rr_p": "rr_p",
                "N_p": "N_p", "nr_p": "nr_p", "saf_p_11": "safety_p", "com_p_11": "communication_p",
                "eng_p_11": "engagement_p", "aca_p_11": "academic_expectations_p"}
#: 2019 header (whitespace collapsed) -> name used here
COLUMNS_2019 = {"DBN": "dbn", "School Name": "school_name", "Total Parent Response Rate %": "parent_rr",
                "Total Teacher Response Rate %": "teacher_rr", "Total Student Response Rate %": "student_rr",
                "Collaborative Teachers Score": "collaborative_teachers",
                "Effective School Leadership Score": "effective_leadership",
                "Rigorous Instruction Score": "rigorous_instruction",
                "Supportive Environment Score": "supportive_environment",
                "Strong Family-Community Ties Score": "family_community_ties", "Trust Score": "trust"}
MISSING_2011 = ("", "NA")
MISSING_2019 = ("N/A",)


class TruncatedFileError(ValueError):
    """A file ends in the middle of a row; the message says where and what is missing."""


@dataclass
class Survey2011:
    """The 2011 files as read: the usable schools, what was excluded and why."""

    schools: pd.DataFrame  #: one row per school used: part, file, row, dbn, ..., N_p, nr_p
    rows_read: dict  #: file name -> data rows read (cut-off row included)
    excluded: pd.DataFrame  #: file, row, dbn, reason
    truncation: str | None = None  #: the report of a cut-off last row, in plain words
    notes: list[str] = field(default_factory=list)


#: ``data_dir``, or the dataset's folder ``data/external/nyc-school-survey``.
default_dir = DATASETS[NAME].resolve_dir


def files(data_dir=None) -> list[Path]:
    """The raw files read, in a fixed order (for provenance)."""
    d = default_dir(data_dir)
    return [d / f for f in FILES_2011.values()] + [d / FILE_2019]


def part_of(dbn: pd.Series) -> pd.Series:
    """District 75 (DBN ``75...``), charter (``84...``) or general education, from the DBN.

    Examples
    --------
    >>> part_of(pd.Series(["75K004", "84X706", "01M015"])).tolist()
    ['District 75', 'charter', 'general education']
    """
    d = dbn.astype("str").str[:2]
    return pd.Series(np.select([d == "75", d == "84"], ["District 75", "charter"], "general education"),
                     index=dbn.index)


# --- reading -----------------------------------------------------------------------------------


def _header(data: bytes, path: Path, sep: str) -> list[str]:
    first = data.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    names = next(csv.reader([first], delimiter=sep), [])
    if not names or not names[0]:
        raise ValueError(f"{path.name}, row 1: no header row")
    return names


_ANSWER_KINDS = {"p": "parent", "t": "teacher", "s": "student"}


def _truncation_message(path: Path, names: list[str], bad, dbn: str, school: str, before: pd.Series) -> str:
    """The plain-words report of a cut-off last row; ``before`` holds the DBNs of the complete rows."""
    k, n = bad.actual_columns, bad.expected_columns
    missing = names[k:]
    kinds = [v for p, v in _ANSWER_KINDS.items() if any(c.startswith(p + "_") for c in missing)]
    what = (f" (the {' and '.join(kinds)} item-level answers)" if kinds and
            all(c[:2] in ("p_", "t_", "s_") for c in missing) else "")
    span = f"'{missing[0]}'" if len(missing) == 1 else f"the {len(missing):,} columns from '{missing[0]}' to '{missing[-1]}'"
    districts = sorted(before.astype("str").str[:2].unique())
    cover = (f"district {districts[0]}" if len(districts) == 1 else
             f"districts {districts[0]} to {districts[-1]}") if districts else "no school"
    return (f"{path.name}, row {bad.number} (school {dbn}, {school}): this row has only {k:,} of the "
            f"header's {n:,} values, and it is the last row: the file was cut off (truncated) in the "
            f"middle of this school's record. Missing: {span}{what}, and the last value read "
            f"('{names[k - 1]}') may itself be cut short. The row is not used, even where the columns "
            f"hsp_eval needs are present, because a cut-off record cannot be trusted. Only the "
            f"{len(before):,} complete rows before it can be used; the file holds no schools after this "
            f"one (its complete rows cover {cover}).")


def _read_tsv(path: Path, keep: list[str]) -> tuple[pd.DataFrame, list, list[str]]:
    """Kept columns of a 2011 file as text, the malformed records, and the header."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    names = _header(data, path, "\t")
    missing = [c for c in keep if c not in names]
    if missing:
        raise ValueError(f"{path.name}, row 1: the header has no column {', '.join(missing)}")
    invalid: list = []

    def handler(row):
        invalid.append(row)
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(use_threads=False, column_names=names, skip_rows=1),
        parse_options=pacsv.ParseOptions(delimiter="\t", newlines_in_values=True, ignore_empty_lines=True,
                                         invalid_row_handler=handler),
        convert_options=pacsv.ConvertOptions(include_columns=keep, column_types={c: pa.string() for c in keep},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False))
    frame = table.to_pandas()
    return frame, invalid, names


def _numbers(text: pd.Series, missing, rows: pd.Series, where: str, expected: str) -> pd.Series:
    """``text`` as float64 with the ``missing`` codes as NaN; else an error naming the first bad cell.

    ``where`` is the message's start with ``{row}`` for the file row, e.g. ``"f.txt, row {row}, column 'x'"``.

    Examples
    --------
    >>> _numbers(pd.Series(["1.5", "NA", ""]), ("", "NA"), pd.Series([2, 3, 4]), "f, row {row}", "a number").tolist()
    [1.5, nan, nan]
    """
    num = pd.to_numeric(text.where(~text.isin(missing)), errors="coerce")
    bad = (num.isna() & ~text.isin(missing)).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(where.format(row=rows.iat[i]) + f": value {text.iat[i]!r} is not {expected}")
    return num.astype("float64")


def read_2011(data_dir=None, allow_truncated: bool = False) -> Survey2011:
    """Read both 2011 files; exclude (with reasons) rows that cannot give a parent response rate.

    Parameters
    ----------
    data_dir : the dataset folder (default ``data/external/nyc-school-survey``).
    allow_truncated : go on with the complete rows when a file's last row is cut off; the
        cut-off row is counted as excluded and reported in ``truncation``.

    Raises
    ------
    TruncatedFileError
        When a file's last row is cut off and ``allow_truncated`` is False; the message names
        the file, row, school and the missing columns.
    ValueError
        A malformed row that is not the last, a missing column, a repeated DBN or a value that
        is not a number: naming the file, row, column and value.
    """
    d = default_dir(data_dir)
    keep = list(COLUMNS_2011)
    schools, excluded, rows_read = [], [], {}
    truncation, notes = None, []
    for part, rel in FILES_2011.items():
        path = d / rel
        frame, invalid, names = _read_tsv(path, keep)
        n_records = len(frame) + len(invalid)
        rows_read[path.name] = n_records
        last_row = n_records + 1  # header is row 1 (no value in these files spans lines)
        for bad in invalid:
            values = next(csv.reader([bad.text], delimiter="\t"), [])
            dbn, school = (values + ["?", "?", "?"])[0], (values + ["?", "?", "?"])[2]
            if bad.number == last_row and bad.actual_columns < bad.expected_columns:
                truncation = _truncation_message(path, names, bad, dbn, school, frame["dbn"])
                if not allow_truncated:
                    raise TruncatedFileError(truncation + " Call read_2011(..., allow_truncated=True) to go on "
                                             "with the complete rows only.")
                excluded.append({"file": path.name, "row": bad.number, "dbn": dbn,
                                 "reason": "the row is cut off (the file is truncated)"})
            else:
                raise ValueError(f"{path.name}, row {bad.number} (school {dbn}): this row has "
                                 f"{bad.actual_columns:,} values but the header has {bad.expected_columns:,}; "
                                 "the file is damaged")
        f = frame.rename(columns=COLUMNS_2011)
        f.insert(0, "row", np.arange(2, 2 + len(f)))  # complete rows come first; only the last can be cut
        f.insert(0, "file", path.name)
        f.insert(0, "part", part)
        for raw_col, col in list(COLUMNS_2011.items())[3:]:
            f[col] = _numbers(f[col], MISSING_2011, f["row"], f"{path.name}, row {{row}}, column '{raw_col}'",
                              'a number, blank or "NA"')
        schools.append(f)
    s = pd.concat(schools, ignore_index=True)
    dup = s["dbn"].duplicated(keep="first")
    if dup.any():
        r = s[dup].iloc[0]
        raise ValueError(f"{r['file']}, row {r['row']}, column 'dbn': school {r['dbn']} appears twice in the 2011 files")
    # blank N_p with rr_p 0: zero respondents (rr_p = 0 forces N_p = 0 when nr_p < 200)
    zero = s["N_p"].isna() & (s["rr_p"] == 0) & (s["nr_p"] < 200)
    if zero.any():
        notes.append(f"{int(zero.sum())} school(s) with blank N_p and rr_p 0 taken as 0 parent respondents: "
                     + ", ".join(s.loc[zero, "dbn"]))
        s.loc[zero, "N_p"] = 0.0
    reasons = pd.Series("", index=s.index)
    reasons[s["nr_p"].isna() | (s["nr_p"] <= 0)] = "no parents in the denominator (nr_p blank or 0)"
    reasons[(reasons == "") & s["N_p"].isna()] = "no number of parent respondents (N_p blank)"
    reasons[(reasons == "") & (s["N_p"] > s["nr_p"])] = (
        "more parent respondents than parents (N_p > nr_p); the published rate is capped at 100%")
    out = reasons != ""
    excluded += s.loc[out, ["file", "row", "dbn"]].assign(reason=reasons[out]).to_dict("records")
    used = s[~out].reset_index(drop=True)
    check = np.floor(100 * used["N_p"] / used["nr_p"] + 0.5)
    off = used["rr_p"].notna() & (check != used["rr_p"])
    if off.any():
        notes.append(f"{int(off.sum())} school(s) whose published rr_p differs from round(100 N_p / nr_p): "
                     + ", ".join(used.loc[off, "dbn"]))
    excluded = pd.DataFrame(excluded, columns=["file", "row", "dbn", "reason"])
    return Survey2011(used, rows_read, excluded, truncation, notes)


def _collapse(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip()


def read_2019(data_dir=None) -> pd.DataFrame:
    """The 2019 school summary: one row per school, ``"N/A"`` as NaN, rates in percent.

    Columns: part, row, dbn, school_name, parent_rr, teacher_rr, student_rr and the Framework
    scores (collaborative_teachers, effective_leadership, rigorous_instruction,
    supportive_environment, family_community_ties, trust).

    Raises
    ------
    ValueError
        A missing column, a repeated DBN, or a value that is neither a number nor ``"N/A"``
        (naming file, row, column and value); a rate outside 0-100.
    """
    path = default_dir(data_dir) / FILE_2019
    raw = pd.read_csv(path, dtype="str", keep_default_na=False, encoding="utf-8-sig")
    found = {_collapse(c): c for c in raw.columns}
    missing = [c for c in COLUMNS_2019 if c not in found]
    if missing:
        raise ValueError(f"{path.name}, row 1: the header has no column {', '.join(missing)}")
    out = pd.DataFrame({new: raw[found[old]] for old, new in COLUMNS_2019.items()})
    # a header with an embedded newline takes two lines, but it is one row: data start at row 2
    out.insert(0, "row", np.arange(2, 2 + len(out)))
    for old, new in list(COLUMNS_2019.items())[2:]:
        num = _numbers(out[new].str.strip(), MISSING_2019, out["row"],
                       f"{path.name}, row {{row}}, column '{_collapse(old)}'", 'a number or "N/A"')
        if new.endswith("_rr") and ((num < 0) | (num > 100)).any():
            i = int(np.flatnonzero(((num < 0) | (num > 100)).to_numpy())[0])
            raise ValueError(f"{path.name}, row {out['row'].iat[i]}, column '{_collapse(old)}': value "
                             f"{out[new].iat[i]!r} is not a percent from 0 to 100")
        out[new] = num.astype("float64")
    dup = out["dbn"].duplicated()
    if dup.any():
        r = out[dup].iloc[0]
        raise ValueError(f"{path.name}, row {r['row']}, column 'DBN': school {r['dbn']} appears twice")
    out.insert(0, "part", part_of(out["dbn"]))
    return out


def accounting(survey2011: Survey2011, schools2019: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows read = used + excluded (with reasons), per file; 2019 rows are all used."""
    counts = dict(survey2011.rows_read)
    if schools2019 is not None:
        counts[Path(FILE_2019).name] = len(schools2019)
    return rawfiles.accounting(counts, survey2011.excluded)


# --- indicator rows and analyses -----------------------------------------------------------------


def response_rate_rows(survey2011: Survey2011, schools2019: pd.DataFrame | None = None) -> pd.DataFrame:
    """Parent response rate per school as rows of hsp_eval's indicator table (see the module notes).

    2011: numerator parent respondents, denominator parents, Wilson 95% interval. 2019: the
    published rate only (no counts, no interval).

    Examples
    --------
    >>> s = Survey2011(pd.DataFrame({"dbn": ["01M015"], "N_p": [90.0], "nr_p": [150.0]}), {}, pd.DataFrame())
    >>> r = response_rate_rows(s)
    >>> r[["area_id", "group", "value"]].values.tolist()
    [['01M015', 'nyc_parent_survey', 0.6]]
    """
    s = survey2011.schools
    lo, hi = stats.wilson(s["N_p"], s["nr_p"])
    rows = [pd.DataFrame({"area_id": s["dbn"].to_numpy(), "year": 2011, "numerator": s["N_p"].to_numpy(),
                          "denominator": s["nr_p"].to_numpy(), "value": (s["N_p"] / s["nr_p"]).to_numpy(),
                          "ci_low": lo, "ci_high": hi})]
    if schools2019 is not None:
        t = schools2019
        rows.append(pd.DataFrame({"area_id": t["dbn"].to_numpy(), "year": 2019, "numerator": np.nan,
                                  "denominator": np.nan, "value": (t["parent_rr"] / 100).to_numpy(),
                                  "ci_low": np.nan, "ci_high": np.nan}))
    out = pd.concat(rows, ignore_index=True).assign(level="school", indicator=INDICATOR, group_type="instrument",
                                                    group=INSTRUMENT, suppressed=False)
    out["people"] = out["denominator"]  # parents surveyed, one each (the published school figures)
    out["year"] = out["year"].astype("int64")
    for c in ("numerator", "denominator", "people", "value", "ci_low", "ci_high"):
        out[c] = out[c].astype("float64")
    return out[INDICATOR_COLUMNS].sort_values(["year", "area_id"], kind="stable").reset_index(drop=True)


def pooled_rates(survey2011: Survey2011) -> pd.DataFrame:
    """2011 pooled parent response rate (sum of respondents / sum of parents), Wilson 95%, per part and all.

    "all read" pools the District 75 schools and the general-education schools the truncated
    file holds (districts 01-09): it is not a citywide rate.
    """
    s = survey2011.schools
    g = s.groupby("part", sort=True).agg(schools=("dbn", "size"), numerator=("N_p", "sum"),
                                          denominator=("nr_p", "sum")).reset_index()
    g = pd.concat([g, pd.DataFrame({"part": ["all read"], "schools": [len(s)], "numerator": [s["N_p"].sum()],
                                    "denominator": [s["nr_p"].sum()]})], ignore_index=True)
    g["value"] = g["numerator"] / g["denominator"]
    g["ci_low"], g["ci_high"] = stats.wilson(g["numerator"], g["denominator"])
    g.insert(0, "year", 2011)
    return g


def _mean_by_part(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per part and for all: schools, missing, mean (t 95% over schools), median, min, max of ``column``.

    Examples
    --------
    >>> f = pd.DataFrame({"part": ["a", "a", "b"], "x": [1.0, 3.0, np.nan]})
    >>> _mean_by_part(f, "x")[["part", "schools", "missing", "mean"]].values.tolist()
    [['a', 2, 0, 2.0], ['b', 1, 1, nan], ['all', 3, 1, 2.0]]
    """
    parts = [(p, g) for p, g in frame.groupby("part", sort=True)] + [("all", frame)]
    rows = []
    for p, g in parts:
        r = g[column].dropna()
        lo, hi = stats.t_interval([r.mean()], [r.std()], [len(r)])
        rows.append({"part": p, "schools": len(g), "missing": int(g[column].isna().sum()), "mean": r.mean(),
                     "ci_low": float(lo[0]), "ci_high": float(hi[0]), "median": r.median(), "min": r.min(),
                     "max": r.max()})
    return pd.DataFrame(rows)


def school_rates_2019(schools2019: pd.DataFrame) -> pd.DataFrame:
    """2019 parent response rates by part: schools, mean and median of the schools' published rates (%).

    No pooled rate: the 2019 file has no counts. The mean is of schools (each school counts
    once), with a t interval over schools.
    """
    out = _mean_by_part(schools2019, "parent_rr").rename(columns={"mean": "mean_%", "median": "median_%"})
    out.insert(0, "year", 2019)
    return out[["year", "part", "schools", "mean_%", "ci_low", "ci_high", "median_%"]]


def funnel(survey2011: Survey2011) -> pd.DataFrame:
    """Funnel data for 2011: each school's parent response rate against its number of parents.

    Limits at 95% and 99.8% around the **pooled rate of the school's part** (District 75 and
    general education separately: special-education schools are not held to the general
    schools' rate), from :func:`hsp_eval.reports.funnel.funnel_table`. Columns: part and
    :data:`hsp_eval.reports.funnel.COLUMNS`.
    """
    rows = response_rate_rows(survey2011)
    part = survey2011.schools.set_index("dbn")["part"]
    rows["part"] = rows["area_id"].map(part)
    out = []
    for p, g in rows.groupby("part", sort=True):
        f = _funnel.funnel_table(g, target=_funnel.pooled_rate(g))
        f.insert(0, "part", p)
        out.append(f)
    return pd.concat(out, ignore_index=True)


def funnel_counts(funnel_frame: pd.DataFrame) -> pd.DataFrame:
    """Schools per funnel band and part (every band listed)."""
    out = []
    for p, g in funnel_frame.groupby("part", sort=True):
        c = _funnel.band_counts(g)
        c.insert(0, "part", p)
        out.append(c[c["band"] != "suppressed"])
    return pd.concat(out, ignore_index=True).drop(columns="year")


def family_ties_2019(schools2019: pd.DataFrame) -> pd.DataFrame:
    """Strong Family-Community Ties scores (2019, 1-5 scale) by part and all: schools scored, not scored, mean (t 95%), median.

    A school without a score (``"N/A"``) is counted as not scored, never as 0.
    """
    out = _mean_by_part(schools2019, "family_community_ties")
    out["scored"] = out["schools"] - out["missing"]
    return out.rename(columns={"missing": "not_scored"})[["part", "schools", "scored", "not_scored", "mean",
                                                          "ci_low", "ci_high", "median", "min", "max"]]


def rate_change(survey2011: Survey2011, schools2019: pd.DataFrame) -> pd.DataFrame:
    """Change in parent response rate, 2019 minus 2011, for schools present in both years.

    The 2011 rate is ``N_p / nr_p``; the 2019 rate is the published whole percent. The 2019 file
    has no counts, so the Newcombe 95% interval (:func:`hsp_eval.indicators.stats.newcombe`) is
    **approximate**: it takes the school's 2019 number of parents to be its 2011 number
    (``denominator_2019_assumed``) and the 2019 respondents as the rate times that. Read it as
    a guide to how large a change chance alone could give, not as exact.

    Returns
    -------
    DataFrame: dbn, part, rate_2011, rate_2019, change, ci_low, ci_high, numerator_2011,
    denominator_2011, denominator_2019_assumed, direction ("higher in 2019", "lower in 2019",
    "no clear change": whether the interval excludes 0).
    """
    s = survey2011.schools[["dbn", "part", "N_p", "nr_p"]]
    m = s.merge(schools2019[["dbn", "parent_rr"]], on="dbn", how="inner").dropna(subset=["parent_rr"])
    r11 = m["N_p"] / m["nr_p"]
    r19 = m["parent_rr"] / 100
    n19 = m["nr_p"]
    c19 = np.round(r19 * n19)
    lo, hi = stats.newcombe(c19, n19, m["N_p"], m["nr_p"])
    out = pd.DataFrame({"dbn": m["dbn"], "part": m["part"], "rate_2011": r11, "rate_2019": r19,
                        "change": r19 - r11, "ci_low": lo, "ci_high": hi, "numerator_2011": m["N_p"],
                        "denominator_2011": m["nr_p"], "denominator_2019_assumed": n19})
    out["direction"] = np.select([out["ci_low"] > 0, out["ci_high"] < 0], ["higher in 2019", "lower in 2019"],
                                 "no clear change")
    return out.sort_values("dbn", kind="stable").reset_index(drop=True)


def change_summary(change: pd.DataFrame) -> pd.DataFrame:
    """Schools in both years by part and all: mean change (t 95% over schools), median, and directions."""
    out = _mean_by_part(change, "change").rename(columns={"mean": "mean_change", "median": "median_change"})
    for k in ("higher in 2019", "lower in 2019", "no clear change"):
        hit = change["direction"] == k
        counts = hit.groupby(change["part"]).sum()
        out[k.replace(" ", "_")] = out["part"].map(counts).fillna(int(hit.sum())).astype("int64")
    return out.drop(columns=["missing", "min", "max"])


def headline(survey2011: Survey2011, schools2019: pd.DataFrame) -> pd.DataFrame:
    """The key numbers, rounded, for a report's checked summary cell (item, value)."""
    pooled = pooled_rates(survey2011).set_index("part")
    ties = family_ties_2019(schools2019).set_index("part").loc["all"]
    ch = change_summary(rate_change(survey2011, schools2019)).set_index("part").loc["all"]
    reasons = survey2011.excluded["reason"]
    items = [
        ("2011 rows read", int(sum(survey2011.rows_read.values()))),
        ("2011 schools used", len(survey2011.schools)),
        ("2011 rows excluded", int(len(reasons))),
        ("2011 rows excluded as cut off", int(reasons.str.contains("cut off").sum())),
    ]
    for p in pooled.index:
        r = pooled.loc[p]
        items.append((f"2011 pooled parent response, {p} (%)",
                      f"{100 * r['value']:.1f} ({100 * r['ci_low']:.1f} to {100 * r['ci_high']:.1f}); "
                      f"{int(r['numerator']):,} of {int(r['denominator']):,}"))
    items += [
        ("2019 schools", len(schools2019)),
        ("2019 median school parent response (%)", f"{schools2019['parent_rr'].median():.0f}"),
        ("2019 family-community ties, schools scored", int(ties["scored"])),
        ("2019 family-community ties, mean (1-5)", f"{ties['mean']:.2f} ({ties['ci_low']:.2f} to {ties['ci_high']:.2f})"),
        ("schools in both years", int(ch["schools"])),
        ("mean change 2011 to 2019 (percentage points)",
         f"{100 * ch['mean_change']:+.1f} ({100 * ch['ci_low']:+.1f} to {100 * ch['ci_high']:+.1f})"),
    ]
    return pd.DataFrame(items, columns=["item", "value"]).astype({"value": "str"})


def provenance(data_dir=None, read_at: str | None = None, **extra) -> dict:
    """Version, commit, SHA-256 of each raw file and the time they were read."""
    return rawfiles.provenance_record(files(data_dir), default_dir(data_dir), read_at=read_at, **extra)


# --- figures (drawing only; the numbers come from the functions above) ---------------------------


def plot_funnel(funnel_frame: pd.DataFrame, part: str, ax=None):
    """Funnel plot of one part (:func:`hsp_eval.reports.plots_national.funnel_plot`), relabelled for NYC.

    School rate (%) against number of parents, 95% and 99.8% limits around the part's pooled
    rate; the shared plot's "national rate" and "families" labels become "pooled rate of the
    part" and "parents". Schools outside the limits are not labelled (there are hundreds).
    """
    from hsp_eval.reports.plots_national import funnel_plot

    f = funnel_frame[funnel_frame["part"] == part].assign(indicator=INDICATOR)
    ax = funnel_plot(f, title=f"2011 parent response rate, {part}: {len(f)} schools against their number of parents",
                     ax=ax, label_outside=False)
    ax.set_xlabel("parents at the school (nr_p, number)")
    ax.set_ylabel("parents who responded, %")
    legend = ax.get_legend()
    if legend is not None:
        for text in legend.get_texts():
            if text.get_text().startswith("national rate"):
                text.set_text(text.get_text().replace("national rate", f"pooled rate, {part}"))
    return ax


def plot_family_ties(schools2019: pd.DataFrame, ax=None):
    """Histogram of the 2019 Strong Family-Community Ties scores; unscored schools named in the title."""
    import matplotlib.pyplot as plt

    from hsp_eval.reports.plots import PALETTE

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    v = schools2019["family_community_ties"]
    ax.hist(v.dropna(), bins=np.arange(1, 5.01, 0.1), color=PALETTE[2])
    ax.set_xlabel("Strong Family-Community Ties score (1-5)")
    ax.set_ylabel("schools")
    ax.set_title(f"2019 Strong Family-Community Ties: {v.notna().sum():,} schools scored, "
                 f"{v.isna().sum():,} not scored (N/A)")
    return ax


def plot_change(change: pd.DataFrame, ax=None):
    """2019 against 2011 parent response rate per school (2011 Wilson interval drawn), with the no-change line."""
    import matplotlib.pyplot as plt

    from hsp_eval.reports.plots import GREY, PALETTE

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    lo, hi = stats.wilson(change["numerator_2011"], change["denominator_2011"])
    for k, (p, g) in enumerate(change.groupby("part", sort=True)):
        m = change["part"] == p
        ax.errorbar(100 * g["rate_2011"], 100 * g["rate_2019"],
                    xerr=[100 * (g["rate_2011"] - lo[m]), 100 * (hi[m] - g["rate_2011"])], fmt="o", ms=3,
                    color=PALETTE[k], ecolor=PALETTE[k], elinewidth=0.5, alpha=0.7, label=f"{p} ({len(g)})")
    ax.plot([0, 100], [0, 100], color=GREY, lw=1, ls="--", label="no change")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_xlabel("2011 parent response rate, % (95% Wilson interval)")
    ax.set_ylabel("2019 parent response rate, % (published, no interval)")
    ax.set_title("Parent response rate, schools in both years")
    ax.legend(frameon=False, fontsize="small", title="schools")
    return ax
