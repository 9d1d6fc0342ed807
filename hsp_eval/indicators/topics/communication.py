"""Communication indicators: personal contacts between school and family, and the portal.

Two-way, learning-centred communication is what partnership rests on: who starts the
conversation, whether the school also shares good news and not only problems, and
whether families reply. Contacts are counted per contact and broken down by the
groups of the family they were with; the portal is counted per family.

Examples
--------
>>> from hsp_eval import indicators                             # doctest: +SKIP
>>> indicators.compute(ds).query("indicator == 'two_way_share'")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hsp_eval.data import vocab
from hsp_eval.indicators.aggregate import count, for_indicator, per_unit, tally
from hsp_eval.data.keys import distinct, record_keys


def _flag(unit: np.ndarray, n: int) -> np.ndarray:
    """1.0 for the family units among ``unit`` (rows' unit positions, -1 none), else 0.0 (``n`` units)."""
    flag = np.zeros(n)
    flag[unit[unit >= 0]] = 1.0
    return flag


def _contacts_counted(ctx) -> list[pd.DataFrame]:
    c = ctx.dataset["contacts"].reset_index(drop=True)
    unit = ctx.family_unit_of("contacts", lambda: c.assign(year=c["date"].dt.year.astype("int64")))
    n = len(ctx.families)
    out = []
    if ctx.wants("contact_reach"):
        out.append(count(for_indicator(ctx.family_cells, "contact_reach"), _flag(unit, n))
                   .assign(indicator="contact_reach"))
    by_school = (c["initiated_by"] == "school").to_numpy()
    purpose = c["purpose"].astype("str")
    response = c["response_received"].astype("boolean")

    def only_school(flag: np.ndarray) -> np.ndarray:
        return np.where(by_school, flag, np.nan)

    flags = {
        "two_way_share": lambda: (c["initiated_by"] == "family").to_numpy(dtype="float64"),
        "reply_rate": lambda: only_school(response.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)),
        "good_news_share": lambda: only_school((purpose == "good_news").to_numpy(dtype="float64")),
        "deficit_share": lambda: only_school(purpose.isin(vocab.DEFICIT_PURPOSES).to_numpy(dtype="float64")),
        "learning_contact_share": lambda: (purpose == "learning").to_numpy(dtype="float64"),
    }
    contact_key = None  # each contact's record key, made once for every indicator below
    for ind, make in flags.items():  # per family, then into the family's groups
        if not ctx.wants(ind):
            continue
        if contact_key is None:
            contact_key = record_keys(c, ["school_id", "contact_id"], "contact")
        flag = make()
        known = ~np.isnan(flag)
        keys = (per_unit(unit, np.where(known & (flag > 0), contact_key, 0.0), n),
                per_unit(unit, np.where(known, contact_key, 0.0), n), None)
        out.append(tally(for_indicator(ctx.family_cells, ind), per_unit(unit, np.where(known, flag, 0.0), n),
                         per_unit(unit, known.astype("float64"), n), keys=keys, clustered=True).assign(indicator=ind))
    return out


def _portal_counted(ctx) -> list[pd.DataFrame]:
    p = ctx.dataset["portal_usage"].reset_index(drop=True)
    used = np.flatnonzero((p["logins"] > 0).to_numpy(dtype=bool, na_value=False))  # months with a login
    # the family unit of each of those month rows
    unit = ctx.family_unit_of("portal_usage", lambda: p.take(used).assign(
        year=lambda d: d["month"].str.slice(0, 4).astype("int64")), used)
    n = len(ctx.families)
    out = []
    if ctx.wants("portal_adoption"):
        out.append(count(for_indicator(ctx.family_cells, "portal_adoption"), _flag(unit, n))
                   .assign(indicator="portal_adoption"))
    if ctx.wants("portal_regular_use"):
        month, months = pd.factorize(p["month"])
        month = month[used]
        ok = (unit >= 0) & (month >= 0)
        pairs = distinct(unit[ok] * len(months) + month[ok])  # each unit's distinct months, once
        n_months = np.bincount(pairs // max(len(months), 1), minlength=n)
        regular = np.full(n, np.nan)
        regular[unit[unit >= 0]] = (n_months[unit[unit >= 0]] >= 6).astype("float64")
        out.append(count(for_indicator(ctx.family_cells, "portal_regular_use"), regular)
                   .assign(indicator="portal_regular_use"))
    return out


def counted(ctx) -> pd.DataFrame:
    """Communication indicators (that ``ctx`` wants) as counted school-level rows (before intervals and roll-up)."""
    parts = []
    if ctx.dataset.has("contacts"):
        parts += _contacts_counted(ctx)
    if ctx.dataset.has("portal_usage"):
        parts += _portal_counted(ctx)
    return pd.concat(parts, ignore_index=True)
