"""Disclosure control of the indicator table.

Two regimes, as the indicator spec sets them:

- **School reports** (:func:`suppress_small`): a row whose denominator is under
  ``min_n`` is suppressed. Where a group_type has exactly one suppressed group and
  the ``all`` row is shown, that group could be recovered by subtraction, so the next
  smallest group of the same group_type is suppressed too. Equity-gap rows are
  suppressed with their group, and when the rest of the population is under ``min_n``.
  ``respondent_representation`` rows (a group's share of respondents against its share
  of families) are suppressed with the group's ``survey_response_rate`` row, in both
  regimes: they carry the group's respondent count in another form.
- **Publication** (:func:`publication`, regional and national rows): counts are
  randomly rounded to base 3 with a draw seeded by the cell's key (a rerun gives the
  same table); values and intervals come from unrounded counts; a row whose
  unrounded numerator or denominator is under 6 is suppressed.

A suppressed row keeps its keys and denominator; numerator, value and interval are blank.

Examples
--------
>>> import numpy as np
>>> keys = pd.DataFrame({"k": ["a", "b", "c"]})
>>> rr3(np.array([3, 7, 8]), keys).tolist()[0]
3.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .registry import GAP_SUFFIX

#: group types whose groups are breakdowns of one population (subtraction can reveal a group)
NOT_PARTITIONS = frozenset({"activity_type", "scale", "item", "measure", "dimension", "instrument"})
PUBLICATION_MIN = 6
KEY_COLS = ["level", "area_id", "year", "indicator", "group_type", "group"]


def _blank(df: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    df = df.copy(deep=False)  # pandas >= 3 copies a column only when it is written to
    df["suppressed"] = df["suppressed"].to_numpy(dtype=bool) | mask
    for c in ("numerator", "value", "ci_low", "ci_high"):
        df.loc[mask, c] = np.nan
    return df


#: derived rows that must be suppressed whenever the row they are computed from is
DERIVED_FROM = {"respondent_representation": "survey_response_rate"}


def _with_sources(t: pd.DataFrame, sup: np.ndarray) -> np.ndarray:
    """``sup`` extended to every :data:`DERIVED_FROM` row whose source row is suppressed or missing.

    The source row is the one of the same level, area, year, group type and group.
    """
    sup = np.asarray(sup, dtype=bool).copy()
    key = ["level", "area_id", "year", "group_type", "group"]
    for derived, source in DERIVED_FROM.items():
        is_derived = (t["indicator"] == derived).to_numpy()
        if not is_derived.any():
            continue
        is_source = (t["indicator"] == source).to_numpy()
        source_sup = t.loc[is_source, key].assign(_sup=sup[is_source]).drop_duplicates(key)
        of_derived = t.loc[is_derived, key].merge(source_sup, on=key, how="left")["_sup"]
        sup[is_derived] |= of_derived.fillna(True).to_numpy(dtype=bool)
    return sup


def _gap_ids(indicator: pd.Series) -> pd.Series:
    """The ``<id>_gap_vs_rest`` id of each row's indicator, in the column's own dtype.

    For a categorical column the ids are codes into the same categories (an id whose gap id
    is not among them gets none), so that merging on them stays a merge of codes.
    """
    if not isinstance(indicator.dtype, pd.CategoricalDtype):
        return indicator + GAP_SUFFIX
    cats = indicator.cat.categories
    to_gap = np.append(cats.get_indexer(cats.astype("str") + GAP_SUFFIX), -1)
    return pd.Series(pd.Categorical.from_codes(to_gap[indicator.cat.codes.to_numpy()], dtype=indicator.dtype),
                     index=indicator.index)


def suppress_small(table: pd.DataFrame, min_n: int = 5) -> pd.DataFrame:
    """Suppress rows with a denominator under ``min_n``, with complementary suppression.

    ``table`` is the indicator table (with a ``rest_denominator`` helper column on gap
    rows, dropped here).
    """
    t = table  # only read here: _blank makes the copy that is changed
    small = (t["denominator"].to_numpy(dtype="float64") < min_n)
    sup = pd.Series(small, index=t.index)
    is_gap = t["indicator"].str.endswith(GAP_SUFFIX).to_numpy()
    base = ~is_gap & ~t["group_type"].isin(NOT_PARTITIONS | {"all"}).to_numpy()
    # complementary suppression: a lone suppressed group gets a companion, the next smallest
    cell = ["level", "area_id", "year", "indicator", "group_type"]
    area = ["level", "area_id", "year", "indicator"]
    g = t.loc[base, cell + ["group", "denominator"]].assign(_sup=sup[base].to_numpy())
    g["_nsup"] = g.groupby(cell, sort=False)["_sup"].transform("sum")
    all_shown = (t.loc[(t["group_type"] == "all").to_numpy() & ~sup.to_numpy(), area]
                 .drop_duplicates().assign(_shown=True))
    cand = g[(g["_nsup"] == 1) & ~g["_sup"]].reset_index().merge(all_shown, on=area, how="inner")
    nxt = cand.sort_values(cell + ["denominator", "group"], kind="stable").drop_duplicates(cell)
    sup.loc[nxt["index"].to_numpy()] = True
    # gap rows go with their group, and with a small rest
    if is_gap.any():
        gap = t[is_gap]
        key = ["level", "area_id", "year", "group_type", "group"]
        src = t[~is_gap].assign(_sup=sup[~is_gap], indicator=_gap_ids(t.loc[~is_gap, "indicator"]))
        m = gap.reset_index().merge(src[key + ["indicator", "_sup"]], on=key + ["indicator"], how="left")
        rest_small = m["rest_denominator"].to_numpy(dtype="float64") < min_n
        sup.loc[m["index"].to_numpy()] = m["_sup"].fillna(True).to_numpy(dtype=bool) | rest_small
    return _blank(t, _with_sources(t, sup.to_numpy()))


def _key_uniform(keys: pd.DataFrame, salt: str) -> np.ndarray:
    """A uniform(0,1) draw per row, fixed by the row's key (stable across runs and machines)."""
    h = pd.util.hash_pandas_object(keys.astype("str").assign(_salt=salt), index=False).to_numpy(np.uint64)
    return (h >> np.uint64(11)).astype("float64") / float(1 << 53)


def rr3(counts: np.ndarray, keys: pd.DataFrame, salt: str = "") -> np.ndarray:
    """Random rounding to base 3, the draw seeded by each row's key.

    A multiple of 3 stays; one above goes down with probability 2/3, two above with
    probability 1/3; otherwise up. The expected rounded value equals the count.
    """
    c = np.asarray(counts, dtype="float64")
    r = np.mod(c, 3)
    u = _key_uniform(keys, salt)
    p_down = np.where(r == 1, 2 / 3, np.where(r == 2, 1 / 3, 1.0))
    down = u < p_down
    out = np.where(r == 0, c, np.where(down, c - r, c - r + 3))
    return np.where(np.isnan(c), np.nan, out).astype("float64")


def publication(table: pd.DataFrame, levels=("region", "national")) -> pd.DataFrame:
    """Random rounding to base 3 and suppression under 6 for the rows of ``levels``."""
    t = table.copy(deep=False)  # as in _blank: ``table`` stays as it was
    rows = t["level"].isin(levels).to_numpy()
    if not rows.any():
        return t
    sub = t[rows]
    num, den = sub["numerator"].to_numpy(dtype="float64"), sub["denominator"].to_numpy(dtype="float64")
    small = (den < PUBLICATION_MIN) | (~np.isnan(num) & (num < PUBLICATION_MIN))
    if "rest_denominator" in sub:
        rest = sub["rest_denominator"].to_numpy(dtype="float64")
        small |= ~np.isnan(rest) & (rest < PUBLICATION_MIN)
    keys = sub[KEY_COLS]
    t.loc[rows, "numerator"] = rr3(num, keys, "numerator")
    t.loc[rows, "denominator"] = rr3(den, keys, "denominator")
    mask = t["suppressed"].to_numpy(dtype=bool).copy()
    mask[np.flatnonzero(rows)[small]] = True
    return _blank(t, _with_sources(t, mask) & (rows | t["suppressed"].to_numpy(dtype=bool)))
