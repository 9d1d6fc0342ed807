"""Disclosure control of the indicator table (disclosure spec v2; ``docs/disclosure.md``).

Two regimes, both counting **people** (the ``people`` column), never contacts or answers:

- **School reports** (:func:`protect` with ``publication=False``, threshold ``min_n``, default 5):
  exact counts; a row with fewer than ``min_n`` people is withheld, and so is every row linked
  to it that would give it away (below).
- **Publication** (``publication=True``, threshold 6, every level): the same, plus counts of 1
  to 5 people in a numerator, 0% or 100% of fewer than 10 people, keyed random rounding of every
  shown count to base 3, and values and intervals computed from the rounded counts and written
  rounded (0.001 for shares, 0.01 for means).

Linked rows (``docs/disclosure.md`` has the reasons):

- the groups of a group type that partitions the population, and its ``all`` row (every breakdown
  but total-response ethnicity and families' year bands: :data:`OVERLAPPING`, which cover it);
- a school's rows and its region's, a region's and the nation's (the same cell summed);
- ``accelerated_rate`` over measures and ``accelerated_by_codesign``'s two groups (the same rows);
- a group of any breakdown and the rest of the population (``all`` minus the group): withheld
  when the rest has fewer people than the threshold; a group holding everyone goes with ``all``;
- indicators with the same population (e.g. every indicator over all families, registry
  ``population``, ``within``, ``bounded_by``): a cell withheld for its people in one is withheld
  in all; counts shown by two indicators (registry ``linked``) are shown or withheld together;
- derived rows (equity gaps, representation, perception and self-review gaps, the odds ratio)
  and the rows they are computed from: withheld when a source is.

Secondary suppression repeats until nothing changes: in every relation whose total is shown,
the withheld parts are none or at least two and cover at least the threshold in people (less one
per other withheld part), none is pinned by the bounds other rows put on it (retention: last
year's families), and a withheld total is never the only unknown. The extra cells withheld are the
smallest shown. In publication the school reports are known: their withheld school rows are
withheld, their shown ones never relied on.

A withheld row keeps its keys; numerator, denominator, people, value and interval are blank.
:func:`log_of` lists every cell with the rule that withheld it (the disclosure log).

Examples
--------
>>> t = pd.DataFrame({"level": "school", "area_id": "A", "year": 2024, "indicator": "reach",
...                   "group_type": ["all", "target", "target"], "group": ["all", "target", "not_target"],
...                   "numerator": [10.0, 1.0, 9.0], "denominator": [30.0, 2.0, 28.0],
...                   "people": [30.0, 2.0, 28.0]})
>>> out = protect(t, min_n=5)
>>> out["withheld_rule"].tolist()     # the rest of a small group is the other group: it goes too
['', 'small', 'rest_small']
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from hsp_eval.indicators import stats
from hsp_eval.data.keys import mix64
from hsp_eval.indicators.registry import GAP_SUFFIX, REGISTRY, base_id

PUBLICATION_MIN = 6
EXTREME_MIN = 10  #: publication: 0% or 100% of fewer people than this is withheld
KEY_COLS = ["level", "area_id", "year", "indicator", "group_type", "group"]
COUNTS = ("numerator", "denominator", "people")
#: the engine's sums of record keys per count (aggregate.KEY_SUMS): what publication's draws hash
KEY_SUMS = tuple(f"ck_{c}" for c in COUNTS)
#: the engine's columns for its own use (record key sums, cluster sums, effective sample size): dropped
HELPERS = (*KEY_SUMS, "c_yy", "c_xy", "c_xx", "c_n", "s_yy", "s_xy", "s_xx", "s_n", "n_eff")
BLANKED = ("numerator", "denominator", "people", "value", "ci_low", "ci_high")
#: group types whose groups overlap (a family in several), so they do not add up to the ``all`` row:
#: total-response ethnicity, and year bands of families (a student has one year band: for indicators
#: counting students they partition). Every other breakdown of the ``all`` row's population is taken
#: to partition it (ethnicity_prioritised, target, new_family, step:<id>, the NHES breakdowns...):
#: the safe default, since a relation that does not hold only withholds more.
OVERLAPPING = frozenset({"ethnicity", "year_band"})
#: breakdowns that are not of the ``all`` row's population (no sum or rest relation with it)
NOT_OF_ALL = frozenset({"activity_type", "scale", "item", "measure", "dimension", "instrument", "codesign"})

#: rules that withhold a row for its population (its people), which the rows of the same
#: population share; not small_count, extreme or rounding (the numerator's), nor source
POPULATION_RULES = ("small", "rest_small", "secondary", "population")

#: the disclosure log's rules, in plain words (``{t}`` is the threshold)
RULES = {
    "small": "fewer than {t} people: too few to show safely",
    "small_count": "a count of 1 to {m} people in it (publication)",
    "extreme": "everyone or no one of fewer than {e} people (publication)",
    "rest_small": "the rest of the population (everyone not in the group) is fewer than {t} people",
    "secondary": "withheld as well, so that a withheld cell cannot be worked out by subtraction",
    "complement": "withheld as well, so that a withheld count cannot be worked out by subtraction",
    "population": "the same people are withheld in a related indicator",
    "linked": "it shows a count of a withheld cell of a related indicator",
    "source": "computed from a withheld cell",
    "rounding": "the rounded counts it would be computed from do not make a valid value (publication)",
    "school_reports": "withheld in the school's own reports (publication)",
}


def _is_derived(indicator: pd.Series, group: pd.Series) -> np.ndarray:
    ind = _text(indicator)
    derived_ids = [i for i, x in REGISTRY.items() if x.derived_from]
    return (ind.str.endswith(GAP_SUFFIX).to_numpy(dtype=bool) | ind.isin(derived_ids).to_numpy()
            | (ind == "scale_alpha").to_numpy()
            | ((ind == "accelerated_by_codesign").to_numpy() & (_text(group) == "adjusted_odds_ratio").to_numpy()))


def _people(t: pd.DataFrame) -> np.ndarray:
    p = t["people"].to_numpy(dtype="float64") if "people" in t else np.full(len(t), np.nan)
    return np.where(np.isnan(p), t["denominator"].to_numpy(dtype="float64"), p)


# --- relations -------------------------------------------------------------------------------------

def _text(s: pd.Series) -> pd.Series:
    """A text key column as a categorical, index 0..n-1 (the engine's already are categoricals).

    Compared, merged and mapped by its codes: text columns of millions of rows, made into Python
    strings, were most of the memory disclosure control took at national scale (docs/performance.md).
    """
    s = s.reset_index(drop=True)
    return s if isinstance(s.dtype, pd.CategoricalDtype) else s.astype("str").astype("category")


def _keys(t: pd.DataFrame, cols) -> pd.DataFrame:
    """The key columns ``cols`` of ``t``: text as categoricals, the year as it is."""
    return pd.DataFrame({c: _text(t[c]) if c != "year" else t[c].reset_index(drop=True) for c in cols})


def _with(s: pd.Series, *values) -> pd.Series:
    """The categorical ``s`` with ``values`` among its categories (to assign them)."""
    new = [v for v in values if v not in s.cat.categories]
    return s.cat.add_categories(new) if new else s


def _like(s: pd.Series, values) -> pd.Series:
    """``values`` as a categorical with the categories of ``s`` (values outside them are missing):
    merged with ``s`` by codes."""
    cats = s.cat.categories
    return pd.Series(pd.Categorical.from_codes(cats.get_indexer(pd.Index(values, dtype=object)), cats))


def _per_indicator(ind: pd.Series, fact) -> np.ndarray:
    """``fact(REGISTRY entry)`` per row ("" outside the registry), looked up once per indicator."""
    return _text(ind).map(lambda i: fact(REGISTRY[i]) if i in REGISTRY else "").astype(object).to_numpy()


def relations(t: pd.DataFrame, region_of: pd.Series) -> pd.DataFrame:
    """Every sum relation among the rows of ``t``: one row per member (``set``, ``row``, ``total``).

    A set is a total and the parts that add up to it (``total`` marks the total's row), or, for
    ``accelerated_rate`` against ``accelerated_by_codesign``, two sides of the same rows with no
    row of the total (``total`` false throughout).
    """
    derived = _is_derived(t["indicator"], t["group"])
    k = _keys(t, KEY_COLS).assign(row=np.arange(len(t)))[~derived]
    unit = _per_indicator(k["indicator"], lambda x: x.people)
    out = []
    # groups that partition the all row's population (year bands do for students: one year level each)
    gt = k["group_type"]
    overlapping = gt.isin(OVERLAPPING).to_numpy() & ~((gt == "year_band").to_numpy() & (unit == "students"))
    parts = k[~gt.isin(NOT_OF_ALL | {"all"}).to_numpy() & ~overlapping]
    alls = k[k["group_type"] == "all"]
    cell = ["level", "area_id", "year", "indicator"]
    sets = parts[cell + ["group_type"]].drop_duplicates()
    out.append((True, parts, sets.merge(alls[cell + ["row"]], on=cell), cell + ["group_type"]))
    # groups that overlap cover the population: all <= sum of groups, each group <= all (a lone
    # withheld group whose shown others count no one has the all row's count)
    cover = k[overlapping]
    sets = cover[cell + ["group_type"]].drop_duplicates()
    covers = len(out)
    out.append((True, cover, sets.merge(alls[cell + ["row"]], on=cell), cell + ["group_type"]))
    # levels: school rows add up to their region's row, region rows to the nation's
    same = ["year", "indicator", "group_type", "group"]
    school = k[k["level"] == "school"]
    area = k["area_id"].cat.categories  # each school's region, as a code of the same categories
    region_code = area.get_indexer(area.map(lambda a: region_of.get(a)))
    school = school.assign(up=pd.Categorical.from_codes(region_code[school["area_id"].cat.codes.to_numpy()], area))
    region = k[k["level"] == "region"].rename(columns={"area_id": "up"})
    out.append((True, school, region[["up"] + same + ["row"]], ["up"] + same))
    reg = k[k["level"] == "region"]
    reg = reg.assign(up=_like(k["area_id"], ["NZ"] * len(reg)).array)
    nat = k[k["level"] == "national"].rename(columns={"area_id": "up"})
    out.append((True, reg, nat[["up"] + same + ["row"]], ["up"] + same))
    # accelerated_rate over measures counts the same rows as accelerated_by_codesign's two groups
    acc = k[(k["indicator"] == "accelerated_rate") | ((k["indicator"] == "accelerated_by_codesign")
                                                      & (k["group_type"] == "codesign"))]
    out.append((False, acc, acc.iloc[:0][["level", "area_id", "year", "row"]], ["level", "area_id", "year"]))
    members, offset = [], 0
    for n, (has_total, part_rows, total_rows, by) in enumerate(out):
        if has_total:  # parts whose total is not in the table are in no sum a reader can see
            part_rows = part_rows.merge(total_rows[by].drop_duplicates(), on=by, how="inner")
        codes, uniq = pd.factorize(pd.MultiIndex.from_frame(part_rows[by]))
        members.append(pd.DataFrame({"set": codes + offset, "row": part_rows["row"].to_numpy(), "total": False,
                                     "cover": n == covers}))
        if len(total_rows) and len(uniq):
            tot = pd.MultiIndex.from_frame(total_rows[by])
            pos = uniq.get_indexer(tot)
            ok = pos >= 0
            members.append(pd.DataFrame({"set": pos[ok] + offset, "row": total_rows["row"].to_numpy()[ok],
                                         "total": True, "cover": n == covers}))
        offset += len(uniq)
    return pd.concat(members, ignore_index=True)


def _secondary(m: pd.DataFrame, withheld: np.ndarray, people: np.ndarray, threshold: int,
               known: np.ndarray | None = None, for_people: np.ndarray | None = None,
               numerator: np.ndarray | None = None, upper: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows to withhold next so that no relation gives a withheld cell away (one row per unsafe set);
    rows ``known`` (shown exactly in another output) count as shown and are never picked.

    Returns the rows and, per row, whether it is withheld for counts only: every withheld row of its
    set is withheld for its counts (a numerator, a linked count), not for its people (``for_people``),
    so the pick hides a count and its population may still be shown elsewhere.

    Groups that overlap (``cover`` sets: all <= sum of groups, each group <= all) give a lone withheld
    group away only when the shown groups count no one in their numerators: it then has the all row's.

    ``upper`` gives, per row, bounds other shown rows put on its ``people`` and ``numerator`` (inf: none;
    retention's families are among last year's reached, its retained among this year's reached): a
    withheld part is then between what the others can hold at most and its own bound, which can pin it.
    """
    rows, sets = m["row"].to_numpy(), m["set"].to_numpy()
    w = withheld[rows]
    tot = m["total"].to_numpy()
    p = np.nan_to_num(people[rows])
    # the people a reader can attribute to the withheld parts together: the total's people minus the
    # shown parts' (the parts' own people where there is no total; a part withheld upstream, e.g. in a
    # table protected before, may have no people left in it)
    n = np.zeros(len(m)) if numerator is None else np.nan_to_num(numerator[rows])
    # per set (codes 0..S-1), one np.bincount a column: a frame of every member's columns at once took
    # gigabytes at national scale (docs/performance.md)
    n_sets = int(sets.max()) + 1 if len(sets) else 0

    def per_set(weights) -> np.ndarray:
        return np.bincount(sets, weights=weights, minlength=n_sets)

    wpart, spart = w & ~tot, ~w & ~tot
    g = pd.DataFrame({"wp": per_set(wpart), "sp": per_set(spart), "wt": per_set(w & tot) > 0, "t": per_set(tot) > 0,
                      "ns": per_set(np.where(spart, n, 0.0)), "nt": per_set(np.where(tot, n, 0.0)),
                      "pw": per_set(np.where(wpart, p, 0.0)), "ps": per_set(np.where(spart, p, 0.0)),
                      "pt": per_set(np.where(tot, p, 0.0))})
    del p, n, wpart, spart
    g["pw"] = np.where(g["t"], np.maximum(g["pt"] - g["ps"], g["pw"]), g["pw"])
    total_shown = g["t"] & ~g["wt"]
    # a withheld row is there, so it has at least one person: of k withheld parts covering P people,
    # one can hold at most P - (k - 1); that must reach the threshold, or each is proven small (groups
    # that overlap give no such sum: there only a lone withheld group is unsafe)
    cover = per_set(m["cover"].to_numpy()) > 0  # a set's members are all of a cover or none
    few = np.where(cover, False, g["pw"] - (g["wp"] - 1) < threshold)
    lone = (g["wp"] == 1) & (~cover | ((g["ns"] == 0) & (g["nt"] > 0)))
    unsafe = ((total_shown & (g["wp"] >= 1) & (lone | few))
              | (g["wt"] & (g["wp"] == 0) & (g["sp"] >= 1))
              | (~g["t"] & (g["wp"] == 1)))
    if upper is not None:
        unsafe |= _bounded_parts(m, w, tot, g, upper, threshold) & total_shown & ~cover
    bad = g.index[unsafe.to_numpy()]
    if not len(bad):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    # sets whose withheld rows are all withheld for counts, not people
    pop_w = w & (np.ones(len(m), bool) if for_people is None else for_people[rows])
    counts_only = pd.Series(per_set(pop_w) == 0)
    free = np.ones(len(m), dtype=bool) if known is None else ~known[rows]
    is_bad = np.zeros(n_sets, dtype=bool)
    is_bad[bad] = True
    cand = m[is_bad[sets] & ~w & ~tot & free].assign(p=lambda d: people[d["row"].to_numpy()])
    pick = cand.sort_values(["set", "p", "row"], kind="stable").drop_duplicates("set")
    picked, by = pick["row"].to_numpy(), pick["set"].to_numpy()
    # a set with no shown part left: its total goes
    no_part = np.setdiff1d(bad, by)
    if len(no_part):
        last = m[np.isin(sets, no_part) & tot]
        picked, by = np.concatenate([picked, last["row"].to_numpy()]), np.concatenate([by, last["set"].to_numpy()])
    only = counts_only.reindex(by).fillna(False).to_numpy(dtype=bool)
    # a row picked by a set for its people and by another for counts: for its people
    frame = pd.DataFrame({"row": picked.astype(np.int64), "only": only}).groupby("row", sort=False)["only"].all()
    return frame.index.to_numpy(dtype=np.int64), frame.to_numpy(dtype=bool)


def _bounded_parts(m: pd.DataFrame, w: np.ndarray, tot: np.ndarray, g: pd.DataFrame, upper: dict,
                   threshold: int) -> pd.Series:
    """Per set, whether a withheld part is pinned (or, in people, proven small) by the parts' bounds."""
    rows, sets = m["row"].to_numpy(), m["set"].to_numpy()
    part = w & ~tot
    out = np.zeros(len(g), dtype=bool)  # g: one row per set code

    def per_set(weights) -> np.ndarray:
        return np.bincount(sets, weights=weights, minlength=len(g))

    for what, rest in (("people", g["pw"]), ("numerator", g["nt"] - g["ns"])):
        bound = upper[what][rows]
        u = np.where(part, bound, 0.0)
        su = per_set(u)
        # the withheld parts' bounds together: also the total's bound less the shown parts' (the
        # bounding rows' own sum: last year's reached families of every group add up too)
        ut = per_set(np.where(tot, bound, 0.0))
        us = per_set(np.where(~w & ~tot, bound, 0.0))
        with np.errstate(invalid="ignore"):
            su = np.minimum(su, np.where(np.isfinite(ut) & np.isfinite(us), ut - us, np.inf))
        r = rest.to_numpy()[sets]
        with np.errstate(invalid="ignore"):
            lo = r - (su[sets] - u)
            up = np.minimum(u, r)
            hit = part & (((lo >= up - 1e-9) & (up >= 1)) | ((what == "people") & (lo >= 1) & (up < threshold)))
        out |= per_set(hit) > 0
    return pd.Series(out, index=g.index)


def _year_rows(t: pd.DataFrame) -> np.ndarray:
    """(retention row, reach row of the year before, reach row of the year) of the same level, area
    and group (-1 where missing): last year's reached families bound retention's, this year's its retained."""
    k = _keys(t, KEY_COLS).assign(row=np.arange(len(t)))
    if not (k["indicator"] == "retention").any():
        return np.zeros((0, 3), dtype=np.int64)
    k["year"] = pd.to_numeric(k["year"]).astype("int64")
    ret = k[k["indicator"] == "retention"]
    reach = k[k["indicator"] == "reach"].drop(columns="indicator")
    on = ["level", "area_id", "year", "group_type", "group"]
    before = ret.merge(reach.assign(year=reach["year"] + 1).rename(columns={"row": "prev"}), on=on, how="left")
    now = ret.merge(reach.rename(columns={"row": "now"}), on=on, how="left")
    return np.column_stack([ret["row"].to_numpy(), before["prev"].fillna(-1).to_numpy(dtype=np.int64),
                            now["now"].fillna(-1).to_numpy(dtype=np.int64)]).astype(np.int64)


def _population_labels(t: pd.DataFrame) -> pd.DataFrame:
    """Per row, the cell of its denominator's population: (group_type, group, population name or "").

    A breakdown that is not of the population (reach_by_type's activity types, the response rate's
    instruments) splits the numerator only: its denominator is the whole population's, the all cell's.
    An indicator over a group of the population (registry ``within``: new families) has that group's
    cell for its ``all`` row, and a population of its own for its groups.
    """
    ind = _text(t["indicator"])
    reg = {i: REGISTRY[i] for i in ind.unique() if i in REGISTRY}
    k = _keys(t, ["group_type", "group"]).assign(pop=_per_indicator(ind, lambda x: x.population))
    within = [x.within for x in reg.values() if x.within]
    k["group_type"] = _with(k["group_type"], "all", *[w[0] for w in within])
    k["group"] = _with(k["group"], "all", *[w[1] for w in within])
    whole = k["group_type"].isin(NOT_OF_ALL).to_numpy()
    k.loc[whole, "group_type"] = "all"
    k.loc[whole, "group"] = "all"
    for i, x in reg.items():
        if not x.within:
            continue
        rows = (ind == i).to_numpy()
        top = rows & (k["group_type"] == "all").to_numpy()
        k.loc[top, "group_type"], k.loc[top, "group"] = x.within
        k.loc[rows & ~top, "pop"] = x.population + " within " + ":".join(x.within)
    return k


def _cell_codes(t: pd.DataFrame, gt_g: pd.DataFrame, name: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of (level, area, year, group_type, group, name) for rows with a name (-1: none)."""
    shared = name != ""
    k = _keys(t, ["level", "area_id", "year"]).assign(gt=gt_g["group_type"].array, g=gt_g["group"].array, name=name)
    codes = np.full(len(t), -1, dtype=np.int64)
    if shared.any():
        codes[shared] = pd.factorize(pd.MultiIndex.from_frame(k[shared]))[0]
    return codes, shared


def _population_rows(t: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Codes of (level, area, year, group_type, group, population) for rows of a shared population (-1: none)."""
    k = _population_labels(t)
    return _cell_codes(t, k, k["pop"].to_numpy(dtype=object))


def _all_rows(t: pd.DataFrame) -> np.ndarray:
    """Per group row of a breakdown of the population, the row of its ``all`` cell (-1: none)."""
    k = _keys(t, ["level", "area_id", "year", "indicator", "group_type"]).assign(row=np.arange(len(t)))
    derived = _is_derived(t["indicator"], t["group"])
    is_group = ~k["group_type"].isin(NOT_OF_ALL | {"all"}).to_numpy() & ~derived
    alls = k[(k["group_type"] == "all").to_numpy() & ~derived][["level", "area_id", "year", "indicator", "row"]]
    m = k[is_group].merge(alls.rename(columns={"row": "top"}), on=["level", "area_id", "year", "indicator"], how="inner")
    out = np.full(len(t), -1, dtype=np.int64)
    out[m["row"].to_numpy()] = m["top"].to_numpy()
    return out


def _bounded_rows(t: pd.DataFrame) -> tuple[np.ndarray, bool]:
    """(all row, row of the bounding cell) pairs for indicators with ``bounded_by``: every row of the
    bounding group's cell of the same population (e.g. reach of the returning families)."""
    ind = _text(t["indicator"])
    wanted = {i: REGISTRY[i] for i in ind.unique() if i in REGISTRY and REGISTRY[i].bounded_by}
    if not wanted:
        return np.zeros((0, 2), dtype=np.int64), False
    k = _keys(t, ["level", "area_id", "year"]).assign(row=np.arange(len(t)), pop=_population_labels(t)["pop"].to_numpy(),
                                                      gt=_text(t["group_type"]).array, g=_text(t["group"]).array,
                                                      ind=ind.array)
    pairs = []
    for i, x in wanted.items():
        tops = k[(k["ind"] == i) & (k["gt"] == "all")]
        population, group_type, group = x.bounded_by
        cells = k[(k["pop"] == population) & (k["gt"] == group_type) & (k["g"] == group)]
        m = tops.merge(cells, on=["level", "area_id", "year"], suffixes=("", "_b"))
        pairs.append(m[["row", "row_b"]].to_numpy(dtype=np.int64))
    out = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)
    return out, bool(len(out))


def _linked_rows(t: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Codes of (level, area, year, group_type, group, link) for rows of linked indicators (-1: none)."""
    name = _per_indicator(t["indicator"], lambda x: x.linked)
    return _cell_codes(t, _keys(t, ["group_type", "group"]), name)


def _sources(t: pd.DataFrame) -> pd.DataFrame:
    """(derived row, source row or -1) for every derived row: a gap and its group, a representation
    and its response rates, a perception gap and both favourable shares, a self-review gap and both
    ratings, the odds ratio and both co-design groups."""
    k = _keys(t, KEY_COLS).assign(row=np.arange(len(t)))
    ind, grp = k["indicator"], k["group"]
    wanted = []
    gap = ind.str.endswith(GAP_SUFFIX).to_numpy(dtype=bool)
    # (assigning a column of k to an empty selection of k would give it k's rows: take the selection's own)
    wanted.append(k[gap].assign(s_ind=ind[gap].str.removesuffix(GAP_SUFFIX), s_gt=k.loc[gap, "group_type"],
                                s_grp=grp[gap]))
    rep = ind == "respondent_representation"
    wanted.append(k[rep].assign(s_ind="survey_response_rate", s_gt=k.loc[rep, "group_type"], s_grp=grp[rep]))
    wanted.append(k[rep].assign(s_ind="survey_response_rate", s_gt="all", s_grp="all"))
    per = ind == "perception_gap"
    for role in ("staff", "whanau"):
        wanted.append(k[per].assign(s_ind="scale_favourable", s_gt="scale", s_grp=role + ":" + grp[per].astype(object)))
    srg = ind == "self_review_gap"
    for role in ("leaders", "whanau"):
        wanted.append(k[srg].assign(s_ind="self_review_rating", s_gt="dimension", s_grp=grp[srg].astype(object) + ":" + role))
    odds = (ind == "accelerated_by_codesign") & (grp == "adjusted_odds_ratio")
    for g in ("codesigned", "not_codesigned"):
        wanted.append(k[odds].assign(s_ind="accelerated_by_codesign", s_gt="codesign", s_grp=g))
    w = pd.concat(wanted, ignore_index=True)
    look = k.rename(columns={"indicator": "s_ind", "group_type": "s_gt", "group": "s_grp", "row": "src"})
    for c in ("s_ind", "s_gt", "s_grp"):  # the sources' keys in the table's categories (merged by codes)
        w[c] = _like(look[c], w[c].astype(object)).array
    on = ["level", "area_id", "year", "s_ind", "s_gt", "s_grp"]
    m = w[on + ["row"]].merge(look[on + ["src"]], on=on, how="left")
    return pd.DataFrame({"row": m["row"].to_numpy(dtype=np.int64),
                         "src": m["src"].fillna(-1).to_numpy(dtype=np.int64)})


def _rest_people(t: pd.DataFrame, people: np.ndarray, top_of: np.ndarray) -> np.ndarray:
    """People of the rest of the population (``all`` minus the group) for group rows of breakdowns of it
    (``top_of``: each group row's all row, :func:`_all_rows`)."""
    rest = np.full(len(t), np.nan)
    if "rest_people" in t:
        rest = t["rest_people"].to_numpy(dtype="float64").copy()
    g = np.flatnonzero(top_of >= 0)
    rest[g] = people[top_of[g]] - people[g]
    return rest


def protect(table: pd.DataFrame, min_n: int = 5, publication: bool = False, region_of: pd.Series | None = None,
            key: bytes | None = None, school_min_n: int = 5) -> pd.DataFrame:
    """The indicator table with disclosure control applied, and a ``withheld_rule`` column.

    Parameters
    ----------
    table : rows at any levels with numerator, denominator, people, value, ci_low, ci_high (and the
        helper columns people_num, rest_people when the engine made them; they are dropped).
    min_n : the threshold of school reports (regime 1).
    publication : regime 2: threshold 6 (or ``min_n`` when larger), keyed rounding, values from
        the rounded counts.
    region_of : school_id -> region, for the relations between levels.
    key : the secret key (publication only; required there).
    school_min_n : publication only: the threshold of the school reports released with it. Their
        school rows are exact, so publication withholds every school row they withhold, and never
        counts on withholding a row they show (it would hide nothing).

    Returns
    -------
    DataFrame: ``table``'s rows and columns (helper columns dropped) and ``withheld_rule`` ("" when
    shown); withheld rows have blank counts, value and interval and ``suppressed`` true.
    """
    t = table.reset_index(drop=True).copy(deep=False)
    threshold = max(PUBLICATION_MIN, int(min_n)) if publication else int(min_n)
    if publication and key is None:
        from hsp_eval.indicators.disclosure_key import HOW_TO_MAKE, KeyProblem

        raise KeyProblem("publication needs a secret key, and none was given. " + HOW_TO_MAKE)
    if region_of is None:
        region_of = pd.Series(dtype="object")
    people = _people(t)
    numerator = t["numerator"].to_numpy(dtype="float64")
    rule = np.full(len(t), "", dtype=object)
    # publication: the school rows the school reports show exactly (regime 1 on the same rows)
    known = np.zeros(len(t), dtype=bool)
    if publication:
        reports = protect(table, min_n=school_min_n, region_of=region_of)
        at_school = (_text(t["level"]) == "school").to_numpy()
        known = at_school & ~reports["suppressed"].to_numpy(dtype=bool)
        rule[at_school & ~known] = "school_reports"

    def mark(mask, name):
        mask = np.asarray(mask, dtype=bool) & (rule == "")
        rule[mask] = name
        return mask.any()

    already = t["suppressed"].to_numpy(dtype=bool) if "suppressed" in t else np.zeros(len(t), bool)
    mark(already, "small")
    mark(people < threshold, "small")
    if publication:
        # people behind the numerator (the numerator itself for a table without them: families counted once)
        pn = (t["people_num"] if "people_num" in t else t["numerator"]).to_numpy(dtype="float64")
        mark((pn >= 1) & (pn < PUBLICATION_MIN), "small_count")
        v = t["value"].to_numpy(dtype="float64")
        prop = ~np.isnan(t["numerator"].to_numpy(dtype="float64"))
        mark(prop & ((v == 0) | (v == 1)) & (people < EXTREME_MIN), "extreme")
    top_of = _all_rows(t)
    rest = _rest_people(t, people, top_of)
    mark((rest >= 1) & (rest < threshold), "rest_small")
    if publication:
        # the rounded counts depend on the key and the records only: rows they make invalid (a
        # numerator over its denominator, an all-or-none share, a gap whose rest goes negative) are
        # known now, so that secondary suppression and derived rows take them into account
        helpers = [c for c in ("people_num", "rest_people", "rest_denominator") if c in t]
        first = _publish(t.drop(columns=helpers), np.zeros(len(t), dtype=bool), key, t)
        first = first.drop(columns=[c for c in HELPERS if c in first])
        for name in ("rounding", "extreme"):
            mark(first["withheld_rule"].to_numpy(dtype=object) == name, name)

    m = relations(t, region_of)
    src = _sources(t)
    pop, shared = _population_rows(t)
    link, linked = _linked_rows(t)
    bound, bounded = _bounded_rows(t)
    years = _year_rows(t)
    is_gap = _text(t["indicator"]).str.endswith(GAP_SUFFIX).to_numpy(dtype=bool)
    gap_src = src[is_gap[src["row"].to_numpy()]][["row", "src"]].to_numpy(dtype=np.int64)  # (gap row, group row)
    for _ in range(100):
        changed = False
        w = rule != ""
        # the rows of a shared population go together when the population is what is withheld (a row
        # withheld for its numerator alone, or as a derived row, shows nothing the others' need hiding)
        if shared.any():
            hit = np.zeros(pop.max() + 1, dtype=bool)
            hit[pop[shared & np.isin(rule, POPULATION_RULES)]] = True
            changed |= mark(shared & hit[np.maximum(pop, 0)], "population")
        # an all row bounded by a group's cell of its population goes when that cell goes
        if bounded:
            w = rule != ""
            gone = pd.Series(w[bound[:, 1]]).groupby(bound[:, 0]).any()
            changed |= mark(np.isin(np.arange(len(t)), gone.index[gone.to_numpy()]), "population")
        # a group holding every person of its all row is the all row (the same records): it goes with it
        whole = (rest == 0) & (top_of >= 0)
        changed |= mark(whole & (rule[np.maximum(top_of, 0)] != ""), "population")
        # a withheld all row of a bounded indicator (retention) takes its groups: their sizes cannot be
        # judged against a total that other relations still bound (a year band shown, last year's families)
        if bounded:
            gone = (top_of >= 0) & (rule[np.maximum(top_of, 0)] != "") & np.isin(top_of, bound[:, 0])
            changed |= mark(gone, "population")
        # linked rows show one another's counts: one withheld (for any reason) takes the others
        if linked.any():
            hit = np.zeros(link.max() + 1, dtype=bool)
            hit[link[linked & (rule != "")]] = True
            changed |= mark(linked & hit[np.maximum(link, 0)], "linked")
        # derived rows follow their sources; a gap whose rest is small takes its group too
        w = rule != ""
        s_w = np.where(src["src"].to_numpy() < 0, True, w[np.maximum(src["src"].to_numpy(), 0)])
        changed |= mark(np.isin(np.arange(len(t)), src["row"].to_numpy()[s_w]), "source")
        rest_gap = (rule[gap_src[:, 0]] == "rest_small") & (gap_src[:, 1] >= 0)
        changed |= mark(np.isin(np.arange(len(t)), gap_src[rest_gap, 1]), "rest_small")
        # sums: no lone withheld part, withheld parts cover the threshold, no lone withheld total
        # bounds shown rows put on withheld ones: retention is within last year's and this year's
        # reached families; in publication a school's group is within its all row, which the school
        # reports show exactly (with a region's published count, that can pin two schools' groups)
        shown = (rule == "") | known
        has_top = (top_of >= 0) & known[np.maximum(top_of, 0)]
        upper = {"people": np.where(has_top, people[np.maximum(top_of, 0)], np.inf),
                 "numerator": np.where(has_top, numerator[np.maximum(top_of, 0)], np.inf)}
        upper["numerator"] = np.where(np.isnan(upper["numerator"]), np.inf, upper["numerator"])
        if len(years):
            for what, col in (("people", 1), ("numerator", 2)):
                by = years[:, col]
                ok = (by >= 0) & shown[np.maximum(by, 0)]
                upper[what][years[ok, 0]] = np.minimum(upper[what][years[ok, 0]], numerator[by[ok]])
        extra, for_counts = _secondary(m, (rule != "") & ~known, people, threshold, known,
                                       np.isin(rule, POPULATION_RULES), numerator, upper)
        if len(extra):
            changed |= mark(np.isin(np.arange(len(t)), extra[~for_counts]), "secondary")
            changed |= mark(np.isin(np.arange(len(t)), extra[for_counts]), "complement")
        if not changed:
            break
    withheld = rule != ""
    out = t.drop(columns=[c for c in ("people_num", "rest_people", "rest_denominator", *HELPERS) if c in t])
    if publication:
        # the rounded counts and values made before the rules (their own rules are marked already)
        out = first.drop(columns="withheld_rule")
    out = out.assign(suppressed=withheld, withheld_rule=rule)
    for c in BLANKED:
        if c in out:
            out[c] = np.where(withheld, np.nan, out[c].to_numpy(dtype="float64"))
    return out


# --- publication: keyed rounding and values from the rounded counts --------------------------------

def _hash_key(key: bytes) -> str:
    """A 16-character SipHash key for pandas' hashing, derived from the secret key."""
    return hashlib.sha256(b"hsp_eval rr3 " + key).hexdigest()[:16]


def _draws(t: pd.DataFrame, key: bytes, count: str) -> np.ndarray:
    """A uniform(0,1) draw per row for one of its counts, fixed by the key and the records the count is made of.

    The engine gives every count the sum of its records' keys (column ``ck_<count>``, see
    :func:`hsp_eval.data.keys.record_keys`): the same records give the same sum, so the same draw and
    the same published count, in whichever table, level, indicator or year they are counted; a
    record more or less changes the sum and gives an independent draw. The draw hashes that sum
    and the count with the secret key (SipHash, as pandas hashes with a key).

    A row without record keys (made outside the engine) draws from its labels: level, area, year,
    indicator, group and which count.
    """
    c = t[count].to_numpy(dtype="float64")
    name = f"ck_{count}"
    ck = t[name].to_numpy(dtype="float64") if name in t else np.full(len(t), np.nan)
    by_records = ~np.isnan(ck) & ~np.isnan(c)
    hk = _hash_key(key)
    h = np.zeros(len(t), dtype=np.uint64)
    if by_records.any():
        pair = np.column_stack([ck[by_records], c[by_records]]).astype(np.uint64)  # both whole numbers
        h[by_records] = pd.util.hash_array(np.ascontiguousarray(pair).view("S16").ravel().astype(object),
                                           hash_key=hk, categorize=False)
    if (~by_records).any():
        labels = _keys(t[~by_records], KEY_COLS).astype("str").assign(count=count)
        h[~by_records] = pd.util.hash_pandas_object(labels, index=False, hash_key=hk, categorize=True).to_numpy(
            np.uint64)
    return (mix64(h) >> np.uint64(11)).astype("float64") / float(1 << 53)


def keyed_uniform(key: bytes, labels) -> np.ndarray:
    """Uniform(0,1) draws fixed by the key and each label (text): for counts made outside the engine.

    Examples
    --------
    >>> a, b = keyed_uniform(bytes(32), ["x", "y"])
    >>> bool(0 <= a < 1 and a != b and a == keyed_uniform(bytes(32), ["x"])[0])
    True
    """
    h = pd.util.hash_array(np.asarray(list(labels), dtype=object), hash_key=_hash_key(key), categorize=False)
    return (mix64(h) >> np.uint64(11)).astype("float64") / float(1 << 53)


def publish_from_published(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows summed from published (already rounded) counts, as publication shows them.

    Sums of published counts add nothing a reader of the publication could not add up; they are
    multiples of 3 already. Rows under 6 are withheld all the same, values and intervals are
    computed from the counts and rounded to 0.001: Wilson's, on the counts times the row's
    ``design_ratio`` when the rows carry one (clustering; the column is dropped).
    """
    out = rows.copy()
    num, den = out["numerator"].to_numpy(dtype="float64"), out["denominator"].to_numpy(dtype="float64")
    ratio = out.pop("design_ratio").to_numpy(dtype="float64") if "design_ratio" in out else np.ones(len(out))
    small = (den < PUBLICATION_MIN) | ((num >= 1) & (num < PUBLICATION_MIN))
    gap = out["indicator"].astype("str").str.endswith(GAP_SUFFIX).to_numpy()  # computed by the caller
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, hi = stats.wilson(num * ratio, den * ratio)
        out["value"] = _round(np.where(gap, out["value"].to_numpy(dtype="float64"), num / den), 3)
    out["ci_low"] = _round(np.where(gap, out["ci_low"].to_numpy(dtype="float64"), lo), 3)
    out["ci_high"] = _round(np.where(gap, out["ci_high"].to_numpy(dtype="float64"), hi), 3)
    out["suppressed"] = out["suppressed"].to_numpy(dtype=bool) | small
    for c in BLANKED:
        if c in out:
            out[c] = np.where(out["suppressed"], np.nan, out[c].to_numpy(dtype="float64"))
    return out


def rr3(counts: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Random rounding to base 3 with the draws ``u``: unbiased, a multiple of 3 stays as it is.

    One above a multiple goes down with probability 2/3, two above with probability 1/3.

    Examples
    --------
    >>> rr3(np.array([3.0, 7.0, 8.0, np.nan]), np.array([0.5, 0.5, 0.5, 0.5])).tolist()
    [3.0, 6.0, 9.0, nan]
    """
    c = np.asarray(counts, dtype="float64")
    r = np.mod(c, 3)
    p_down = np.where(r == 1, 2 / 3, np.where(r == 2, 1 / 3, 1.0))
    out = np.where(r == 0, c, np.where(u < p_down, c - r, c - r + 3))
    return np.where(np.isnan(c), np.nan, out)


#: differences of two shares: written like shares
SHARE_DIFFERENCES = ("respondent_representation", "perception_gap")


def value_places(indicator: pd.Series, group: pd.Series, numerator: pd.Series | None = None) -> np.ndarray:
    """Decimals a published value and interval are written to: 3 for shares (0.1 percentage point),
    their gaps and differences; 2 for means, ratings, alpha and odds ratios. Indicators outside the
    registry: 3 where the row has a numerator.

    Examples
    --------
    >>> value_places(pd.Series(["reach", "breadth", "perception_gap", "accelerated_by_codesign"]),
    ...              pd.Series(["all", "all", "c", "adjusted_odds_ratio"])).tolist()
    [3, 2, 3, 2]
    """
    ind = _text(indicator)
    kind = ind.map(lambda i: REGISTRY[base_id(i)].kind if base_id(i) in REGISTRY else "").astype(object)
    odds = (_text(group) == "adjusted_odds_ratio").to_numpy()
    three = (((kind == "proportion").to_numpy() & ~odds) | ind.str.endswith(GAP_SUFFIX).to_numpy(dtype=bool)
             | ind.isin(SHARE_DIFFERENCES).to_numpy())
    if numerator is not None:
        three |= (kind == "").to_numpy() & numerator.notna().to_numpy()
    return np.where(three, 3, 2)


def _round(x, places: int) -> np.ndarray:
    return np.round(np.asarray(x, dtype="float64"), places)


def _publish(out: pd.DataFrame, withheld: np.ndarray, key: bytes, full: pd.DataFrame) -> pd.DataFrame:
    """Round every shown count by its keyed draw and compute values and intervals from the rounded counts."""
    out = out.copy()
    rounded = {}
    for c in COUNTS:
        rounded[c] = rr3(out[c].to_numpy(dtype="float64"), _draws(out, key, c))
        out[c] = rounded[c]
    num, den = rounded["numerator"], rounded["denominator"]
    ind = _text(out["indicator"])
    kind = ind.map(lambda i: REGISTRY[base_id(i)].kind if base_id(i) in REGISTRY else "").to_numpy(dtype=object)
    derived = _is_derived(out["indicator"], out["group"])
    rule = np.full(len(out), "", dtype=object)
    prop = (kind == "proportion") & ~derived
    # a numerator rounded up past its denominator rounded down (19 of 20 published as 21 of 18) makes
    # no proportion: the row is withheld rather than either count changed (each is the same population's
    # published count elsewhere)
    bad_pair = ~withheld & (kind == "proportion") & ~derived & (num > den)
    rule[bad_pair] = "rounding"
    # 0% or 100% of fewer than 10 people, as published (rounding can make a share of 5 in 7 read 6 in 6)
    few = np.nan_to_num(full["people"].to_numpy(dtype="float64") if "people" in full else den, nan=np.inf) < EXTREME_MIN
    extreme = ~withheld & (kind == "proportion") & ~derived & few & ((num == 0) | (num == den))
    rule[extreme & (rule == "")] = "extreme"
    # the design effect of each row, from the exact counts (clustering: docs/methods.md), to 2 places:
    # the interval of the published counts is as much wider than Wilson's as the exact one is
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (full["n_eff"].to_numpy(dtype="float64") / full["denominator"].to_numpy(dtype="float64")
                 if "n_eff" in full else np.ones(len(out)))
    ratio = np.clip(np.where(np.isfinite(ratio), np.round(ratio, 2), 1.0), 0.01, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, hi = stats.wilson(num * ratio, den * ratio)
        out["value"] = np.where(prop, num / den, out["value"])  # written rounded below (value_places)
        out["ci_low"] = np.where(prop, lo, out["ci_low"])
        out["ci_high"] = np.where(prop, hi, out["ci_high"])
        # equity gaps from the group's and the all row's rounded counts
        gap = ind.str.endswith(GAP_SUFFIX).to_numpy(dtype=bool)
        if gap.any():
            k = _keys(out, ["level", "area_id", "year", "indicator"])
            g = k[gap].assign(row=np.flatnonzero(gap),
                              indicator=_like(k["indicator"], ind[gap].str.removesuffix(GAP_SUFFIX).astype(object)).array)
            alls = k.assign(n=num, d=den, f=ratio, row_all=np.arange(len(out)))[
                (_text(out["group_type"]) == "all").to_numpy()]
            m = g.merge(alls[["level", "area_id", "year", "indicator", "n", "d", "f"]],
                        on=["level", "area_id", "year", "indicator"], how="left")
            r = m["row"].to_numpy()
            gn, gd = num[r], den[r]
            rn, rd = m["n"].to_numpy() - gn, m["d"].to_numpy() - gd
            ok = (rd > 0) & (rn >= 0) & (rn <= rd) & (gd > 0)
            gf, rf = ratio[r], m["f"].fillna(1.0).to_numpy()  # the rest with the all row's design effect
            glo, ghi = stats.newcombe(gn * gf, gd * gf, rn * rf, rd * rf)
            out.loc[r, "value"] = np.where(ok, gn / gd - rn / rd, np.nan)
            out.loc[r, "ci_low"] = np.where(ok, glo, np.nan)
            out.loc[r, "ci_high"] = np.where(ok, ghi, np.nan)
            rule[r[~ok & ~withheld[r]]] = "rounding"
    # derived rows show their value only (their counts are those of other rows)
    out.loc[derived & ~gap, ["numerator", "denominator", "people"]] = np.nan
    places = value_places(out["indicator"], out["group"], out["numerator"])
    for c in ("value", "ci_low", "ci_high"):
        v = out[c].to_numpy(dtype="float64")
        out[c] = np.where(places == 3, _round(v, 3), _round(v, 2))
    return out.assign(withheld_rule=rule)


# --- the disclosure log ----------------------------------------------------------------------------

def log_of(table: pd.DataFrame, name: str, threshold: int) -> pd.DataFrame:
    """The disclosure log of a protected table: every cell, shown or withheld, and the rule that withheld it.

    Columns: table, level, area_id, year, indicator, group_type, group, status (shown|withheld), rule,
    reason (the rule in plain words). No counts: the log can travel with the release.
    """
    rule = table["withheld_rule"].astype("str").to_numpy()
    reason = pd.Series(rule).map(lambda r: RULES.get(r, "").format(t=threshold, m=PUBLICATION_MIN - 1,
                                                                    e=EXTREME_MIN) if r else "")
    return table[KEY_COLS].assign(status=np.where(rule == "", "shown", "withheld"), rule=rule,
                                  reason=reason.to_numpy()).reset_index(drop=True).assign(table=name)[
        ["table"] + KEY_COLS + ["status", "rule", "reason"]]
