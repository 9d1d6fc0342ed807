"""The prepared tables: everything a report reads besides the indicator and trends tables.

The batch's data step (:func:`hsp_eval.run.batch.prepare_data`) loads and validates the dataset
once, and writes these tables beside the indicator table, in the same folder (``_data/``).
Notebooks read them here and never open the school's own files, so the data flow runs one way:
files, validated dataset, indicator and prepared tables, notebooks, HTML.

=============================  ==============================================================
file                           what it holds
=============================  ==============================================================
``schools.parquet``            school_id, school_name, region, school_type, eqi, eqi_band
``items.parquet``              item_id, text: the survey's questions (wording, not answers)
``inquiry_compared.parquet``   accelerated progress with and without each inquiry step and by
                               group, years pooled, nationally and for each school, for every
                               measure and all together; disclosure-controlled
``inquiry_model.parquet``      the pooled co-design model of all schools, for every measure and
                               all together (counts randomly rounded as published)
``reference.parquet``          schools like ours: for each (school type, Equity Index band), year
                               and key indicator, the reference group's median and middle half
                               from published school values (:mod:`hsp_eval.reports.reference`)
=============================  ==============================================================

Examples
--------
>>> prepared_path("reports/_data/publication.parquet", "schools").as_posix()
'reports/_data/schools.parquet'
>>> eqi_band(pd.Series([400, 500, None])).tolist()
['fewer barriers (344-419)', 'more barriers (480-569)', 'no Equity Index']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: prepared table -> file name, in the folder of the indicator table
FILES = {"schools": "schools.parquet", "items": "items.parquet", "inquiry_compared": "inquiry_compared.parquet",
         "inquiry_model": "inquiry_model.parquet", "reference": "reference.parquet"}
#: Equity Index bands: (label, lowest EQI, highest EQI)
EQI_BANDS = (("fewer barriers (344-419)", 344, 419), ("moderate barriers (420-479)", 420, 479),
             ("more barriers (480-569)", 480, 569))
NO_EQI = "no Equity Index"
#: the ``measure`` of rows that pool every progress measure
ALL_MEASURES = "all"


def prepared_path(indicators_path, name: str) -> Path:
    """The path of prepared table ``name`` (a key of :data:`FILES`) beside the indicator table."""
    return Path(indicators_path).with_name(FILES[name])


def eqi_band(eqi: pd.Series, bands=EQI_BANDS) -> pd.Series:
    """The Equity Index band label of each EQI value (``NO_EQI`` where it is blank or outside the bands)."""
    v = pd.to_numeric(eqi, errors="coerce").to_numpy(dtype="float64")
    out = np.full(len(v), NO_EQI, dtype=object)
    for label, lo, hi in bands:
        out[(v >= lo) & (v <= hi)] = label
    return pd.Series(out, index=eqi.index, dtype="str")


# ---------------------------------------------------------------------------------------------
# made by the data step, from the validated dataset

def schools_table(schools: pd.DataFrame, bands=EQI_BANDS) -> pd.DataFrame:
    """The prepared schools table from the dataset's ``schools`` table, ordered by school.

    Examples
    --------
    >>> s = pd.DataFrame({"school_id": ["0002", "0001"], "school_name": ["B", "A"], "region": "Otago",
    ...                   "school_type": "Contributing", "eqi": [400, None]})
    >>> schools_table(s)[["school_id", "eqi_band"]].values.tolist()
    [['0001', 'no Equity Index'], ['0002', 'fewer barriers (344-419)']]
    """
    eqi = schools["eqi"] if "eqi" in schools else pd.Series(pd.NA, index=schools.index, dtype="Int64")
    text = {c: (schools[c].astype("str") if c in schools else pd.Series("", index=schools.index, dtype="str"))
            for c in ("school_id", "school_name", "region", "school_type")}
    out = pd.DataFrame({**text, "eqi": pd.array(pd.to_numeric(eqi, errors="coerce"), dtype="Int64"),
                        "eqi_band": eqi_band(eqi, bands)})
    return out.sort_values("school_id", kind="stable").reset_index(drop=True)


def items_table(dataset) -> pd.DataFrame:
    """item_id and text of every survey item (empty when the dataset has no ``survey_items``)."""
    if not dataset.has("survey_items"):
        return pd.DataFrame({"item_id": pd.Series(dtype="str"), "text": pd.Series(dtype="str")})
    items = dataset["survey_items"]
    return pd.DataFrame({"item_id": items["item_id"].astype("str"), "text": items["text"].astype("str")}
                        ).drop_duplicates("item_id").reset_index(drop=True)


def inquiry_tables(dataset, years=None, key: bytes | None = None, min_n: int = 5) -> dict[str, pd.DataFrame]:
    """The inquiry study's two prepared tables (see the module's table), years pooled.

    Parameters
    ----------
    dataset : the validated dataset (with the schools' measurement margins applied).
    years : the years to pool (None: every year).
    key : the publication key (national rows are randomly rounded with it).
    min_n : the school rows' threshold (complementary suppression as in school reports).

    Returns
    -------
    ``{"inquiry_compared": rows, "inquiry_model": terms}``; both empty (with their columns) when
    the dataset has no target students' progress.
    """
    from hsp_eval.indicators.topics.inquiry import MODEL_COLUMNS
    from hsp_eval.reports import inquiry_impact

    cols = inquiry_impact.COLUMNS + ["measure"]
    mcols = ["area_id", "measure", *MODEL_COLUMNS, "reason"]
    if not (dataset.has("progress") and dataset.has("enrolments")):
        return {"inquiry_compared": pd.DataFrame(columns=cols), "inquiry_model": pd.DataFrame(columns=mcols)}
    measures = [ALL_MEASURES] + sorted(dataset["progress"]["measure"].astype("str").unique())
    compared, models = [], []
    every = inquiry_impact.student_progress(dataset, "all", years)  # one row per student and measure
    for m in measures:
        measure = None if m == ALL_MEASURES else m
        progress = every if measure is None else every[every["measure"] == m].reset_index(drop=True)
        if progress.empty:
            continue
        compared.append(inquiry_impact.compared_rows(progress, key=key, min_n=min_n).assign(measure=m))
        fit = inquiry_impact.codesign_fit(dataset, "all", years, measure, key=key)
        models.append(fit.assign(area_id="NZ", measure=m, reason=fit.attrs.get("reason", "")) if len(fit) else
                      pd.DataFrame({"area_id": ["NZ"], "measure": [m], "reason": [fit.attrs.get("reason", "")]}))
    return {"inquiry_compared": (pd.concat(compared, ignore_index=True)[cols] if compared
                                 else pd.DataFrame(columns=cols)),
            "inquiry_model": (pd.concat(models, ignore_index=True).reindex(columns=mcols) if models
                              else pd.DataFrame(columns=mcols))}


# ---------------------------------------------------------------------------------------------
# read by the reports

def read_prepared(indicators_path, name: str) -> pd.DataFrame:
    """Prepared table ``name`` beside ``indicators_path``.

    Raises
    ------
    FileNotFoundError
        When the table is missing, saying how to make it (the batch's data step).
    """
    p = prepared_path(indicators_path, name)
    if not p.exists():
        raise FileNotFoundError(f"{p}: the prepared table '{name}' is missing; the data step of 'hsp-eval batch' "
                                "or 'hsp-eval report' writes it beside the indicator table")
    return pd.read_parquet(p)


def school_name(indicators_path, school_id: str) -> str | None:
    """The school's name in the prepared schools table (None when it has none there)."""
    p = prepared_path(indicators_path, "schools")
    if not p.exists():
        return None
    s = pd.read_parquet(p, columns=["school_id", "school_name"], filters=[("school_id", "==", str(school_id))])
    return s["school_name"].iloc[0] if len(s) and s["school_name"].iloc[0] else None


def item_texts(indicators_path) -> dict[str, str]:
    """Survey item id -> item text, from the prepared items table (empty when there is none)."""
    p = prepared_path(indicators_path, "items")
    if not p.exists():
        return {}
    items = pd.read_parquet(p)
    return dict(zip(items["item_id"], items["text"]))


def inquiry_compared(indicators_path, school_id="all", measure=None) -> pd.DataFrame:
    """The prepared with-and-without rows of one area (``"all"``: national) and measure (None: all)."""
    from hsp_eval.reports.inquiry_impact import area_of

    level, area = area_of(school_id)
    rows = read_prepared(indicators_path, "inquiry_compared")
    m = ALL_MEASURES if measure in (None, "", ALL_MEASURES) else str(measure)
    rows = rows[(rows["level"] == level) & (rows["area_id"] == area) & (rows["measure"] == m)]
    return rows.drop(columns="measure").reset_index(drop=True)


def inquiry_model(indicators_path, measure=None) -> pd.DataFrame:
    """The prepared pooled co-design model of all schools for ``measure`` (None: all measures).

    Returns the model's terms; when it could not be fitted, an empty table whose
    ``attrs["reason"]`` says why. ``attrs["note"]`` holds the association caveat.
    """
    from hsp_eval.reports.inquiry_impact import CAUSE_NOTE
    from hsp_eval.indicators.topics.inquiry import MODEL_COLUMNS

    m = ALL_MEASURES if measure in (None, "", ALL_MEASURES) else str(measure)
    rows = read_prepared(indicators_path, "inquiry_model")
    rows = rows[rows["measure"] == m]
    fit = rows.dropna(subset=["term"])[MODEL_COLUMNS].reset_index(drop=True)
    if fit.empty:
        fit.attrs["reason"] = (rows["reason"].iloc[0] if len(rows) and rows["reason"].iloc[0]
                               else f"no target students' progress for measure {m}")
    fit.attrs["note"] = CAUSE_NOTE
    return fit
