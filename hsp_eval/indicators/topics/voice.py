"""Family-voice indicators: who answered the surveys, and what they said.

Computed from ``survey_items``, ``survey_respondents`` and ``survey_responses`` for every
school and survey year at once (the year is ``survey_respondents.year``). A respondent is
one (instrument, year, school_id, respondent_id). See :mod:`hsp_eval.indicators.registry` for the
definitions; choices the spec leaves open are listed here.

- **Response rate** counts families with a linked whānau respondent (role ``whanau``,
  ``family_id`` given) who answered at least one item. It exists for a school and year
  (group_type ``instrument``: and instrument) only when the survey was run there with
  linking, i.e. at least one whānau respondent is linked to a family: a year without a
  survey, or an anonymous survey, has no rate rather than a rate of 0. The family group
  types (``all``, ``ethnicity``, ...) are over **any** whānau instrument: a family counts
  once, however many of its members answered and in however many instruments.
- **respondent_representation** uses the families' groups (their enrolled children's, as
  for every family indicator), not the respondent's own ethnicity; it is computed from the
  ``survey_response_rate`` counts at each level: numerator = respondents' families in the
  group, denominator = respondents' families, value = numerator / denominator minus the
  group's share of the surveyed families. No interval; no row where no family responded.
- **Scale groups** are ``"<role>:<scale>"`` (``whanau:two_way_communication``,
  ``staff:two_way_communication``): the same scale name in a whānau and a staff instrument
  is kept apart by the respondents' role (and pooled over instruments of one role).
- **Weights** (``survey_respondents.weight``) are not used: every voice indicator is
  unweighted, with the usual Wilson and t intervals. School surveys carry no weights; a
  weighted estimate would need design-based intervals that v1 does not have.
- **scale_score** keeps a respondent with at least half of the scale's items answered
  (``answered >= n_items / 2``); **scale_favourable** counts every answered response,
  including those of respondents that scale_score leaves out (the spec's wording).
  Its Wilson interval, and perception_gap's Newcombe interval, treat responses as
  independent, as the spec's unit (responses) says; answers of one respondent are
  correlated, so these intervals are narrower than a respondent-level analysis would give.
- **scale_alpha**: no row under 10 respondents answering every item of the scale, nor
  where alpha is undefined (a one-item scale, or no variance in total scores).
  Region and national rows pool the respondents of their schools. Alpha is computed per
  instrument; where two instruments of one role share a scale name in one area and year
  (two different item sets), there is no alpha row for it. numerator blank, denominator =
  respondents used.
- **perception_gap**: group is the scale name; numerator blank; denominator = the
  smaller of the staff and the whānau answered-response counts, so that disclosure control
  withholds the gap whenever either side's scale_favourable row would be withheld (the gap
  and the shown side would otherwise give the withheld one away).
- **barrier_prevalence**: group is the item_id, pooled over instruments and roles that
  share an item_id.

Examples
--------
>>> from hsp_eval import indicators                               # doctest: +SKIP
>>> indicators.compute(ds).query("indicator == 'perception_gap'")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hsp_eval.indicators import stats
from hsp_eval.indicators.aggregate import CLUSTER_SUMS, KEY_SUMS, Cells, count, for_indicator, moments, per_unit, tally
from hsp_eval.data.keys import codes_of, dense_unique, distinct, mix64, pack, positions, record_hashes, record_keys, to_record_keys

RESPONDENT = ["instrument", "year", "school_id", "respondent_id"]
ITEM = ["instrument", "item_id"]
ALPHA_MIN = 10  #: fewest respondents answering every item for a scale_alpha row
OUT = ["level", "area_id", "year", "indicator", "group_type", "group", "numerator", "denominator",
       "people", "value", "ci_low", "ci_high"]
COUNTED = ["school_id", "year", "group_type", "group", "indicator", "numerator", "denominator", "people", "people_num",
           "sum", "sumsq", *KEY_SUMS, *CLUSTER_SUMS]


# ---------------------------------------------------------------------------
# responses, respondents and families


def _scored(ctx) -> _Answers:
    """The context's answered responses (:func:`scored_responses`) and their rows, made once per engine run."""
    if "voice.scored" not in ctx.cache:
        ctx.cache["voice.scored"] = _answers(ctx.dataset)
    return ctx.cache["voice.scored"]


def _scales(ctx, answers: _Answers) -> tuple[pd.DataFrame, np.ndarray]:
    """respondent_scales of the context's answers (and each row's respondent row), made once per engine run."""
    if "voice.scales" not in ctx.cache:
        ctx.cache["voice.scales"] = answers.scales()
    return ctx.cache["voice.scales"]


def scored_responses(ds) -> pd.DataFrame:
    """Answered responses with their item and respondent, after reverse scoring.

    Returns columns instrument, year, school_id, respondent_id, item_id, scale (NA for an
    inventory item), role, scored (``response_min + response_max - response`` for a
    reverse-scored item, else the response) and favourable (1.0 when scored >=
    favourable_min, else 0.0).

    Examples
    --------
    >>> from hsp_eval.data.dataset import Dataset
    >>> ds = Dataset({"survey_items": pd.DataFrame({"instrument": ["w"], "item_id": ["q"],
    ...     "scale": ["s"], "response_min": [1], "response_max": [5], "favourable_min": [4],
    ...     "reverse": [True]}),
    ...     "survey_respondents": pd.DataFrame({"instrument": ["w"], "year": [2024],
    ...     "school_id": ["A"], "respondent_id": ["r"], "role": ["whanau"]}),
    ...     "survey_responses": pd.DataFrame({"instrument": ["w", "w"], "year": [2024, 2024],
    ...     "school_id": ["A", "A"], "respondent_id": ["r", "r"], "item_id": ["q", "q"],
    ...     "response": pd.array([2, None], dtype="Int64")})})
    >>> scored_responses(ds)[["scored", "favourable"]].values.tolist()
    [[4.0, 1.0]]
    """
    return _answers(ds).frame


def _answers(ds) -> _Answers:
    """:func:`scored_responses` with each answered row's respondent and item row."""
    r, items, who = ds["survey_responses"], ds["survey_items"], ds["survey_respondents"]
    # each response's item and respondent row: found by the loader's checks, else matched here
    item = ds.rows_in("survey_responses", "survey_items")
    item = positions(r, ITEM, items, ITEM) if item is None else item
    resp = ds.rows_in("survey_responses", "survey_respondents")
    resp = positions(r, RESPONDENT, who, RESPONDENT) if resp is None else resp
    keep = np.flatnonzero(r["response"].notna().to_numpy() & (item >= 0) & (resp >= 0)).astype(np.int32)
    item, resp = item[keep], resp[keep]
    # per item first, then one gather per answer: tens of millions of answers nationally, so
    # no more whole-length temporaries than needed
    lo, hi, fav = (items[c].to_numpy(dtype="float64") for c in ("response_min", "response_max", "favourable_min"))
    reverse = items["reverse"].astype("boolean").fillna(False).to_numpy(dtype=bool)[item]
    scored = r["response"].array[keep].to_numpy(dtype="float64", na_value=np.nan)  # the answers
    scored[reverse] = (lo + hi)[item[reverse]] - scored[reverse]
    return _Answers(r, keep, resp, item, scored, (scored >= fav[item]).astype("float64"), who, items)


@dataclass
class _Answers:
    """Answered responses as numbers: the position of each one in ``responses``
    (survey_responses), of its respondent in ``who`` (survey_respondents) and of its item in
    ``items`` (survey_items), its scored answer and whether it is favourable. The engine counts
    by these integers; the text frame of :func:`scored_responses` is made only when asked for.
    """

    responses: pd.DataFrame
    keep: np.ndarray
    resp: np.ndarray
    item: np.ndarray
    scored: np.ndarray
    favourable: np.ndarray
    who: pd.DataFrame
    items: pd.DataFrame

    @property
    def frame(self) -> pd.DataFrame:
        """The answers as :func:`scored_responses` returns them."""
        out = self.responses[RESPONDENT + ["item_id"]].take(self.keep).reset_index(drop=True)
        return out.assign(scale=self.items["scale"].take(self.item).reset_index(drop=True),
                          role=self.who["role"].astype("str").to_numpy()[self.resp],
                          scored=self.scored, favourable=self.favourable)

    def _respondent_groups(self, cols: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each respondent row's code of its values of ``cols``, and a respondent row of each code."""
        packed = pack([(c + 1, len(u) + 1) for c, u in (codes_of(self.who[col]) for col in cols)])
        _, first, where = np.unique(packed, return_index=True, return_inverse=True)
        return where.ravel(), first

    def alpha_moments(self, rows: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        """:func:`alpha_moments` of the answers at ``rows`` by (school_id, ALPHA_KEYS), respondents
        as units: sums over integer keys (scores are whole numbers, so any order sums the same)."""
        scale, names = self.scale_codes()
        scale = scale[rows]  # the answers' scales at rows only, the whole column let go
        ns, n_items = max(len(names), 1), len(self.items)
        where, first = self._respondent_groups(["school_id", "year", "instrument", "role"])
        resp, v = self.resp[rows].astype(np.int64), self.scored[rows]
        key = where[resp] * ns + scale  # the alpha keys of each answer

        def decoded(codes: np.ndarray) -> pd.DataFrame:
            rep = first[codes // ns]
            who = self.who.take(rep)
            return pd.DataFrame({"school_id": who["school_id"].to_numpy(), "year": who["year"].to_numpy(),
                                 "instrument": who["instrument"].astype("str").to_numpy(),
                                 "role": who["role"].astype("str").to_numpy(),
                                 "scale": np.asarray(names, dtype=object)[codes % ns]}).astype(
                {"school_id": self.who["school_id"].dtype, "scale": "str"})

        def moments_of(inverse: np.ndarray, values: np.ndarray) -> dict:
            return {"m_n": np.bincount(inverse).astype(np.int64), "m_sum": np.bincount(inverse, weights=values),
                    "m_sumsq": np.bincount(inverse, weights=values * values)}

        # arrays of one value per answer (tens of millions nationally) are dropped as soon as
        # they are used: held together they made the engine's peak of memory
        key *= n_items
        key += self.item[rows]
        per_item, inverse = dense_unique(key, len(first) * ns * n_items)
        del key
        items = decoded(per_item // n_items).assign(
            item_id=self.items["item_id"].astype("str").to_numpy()[per_item % n_items], **moments_of(inverse, v))
        del inverse
        resp *= ns
        resp += scale
        del scale
        units, inverse = dense_unique(resp, len(self.who) * ns)  # (respondent, scale)
        del resp
        total = np.bincount(inverse, weights=v)
        del inverse, v
        groups, inverse = dense_unique(where[units // ns] * ns + units % ns, len(first) * ns)
        return items, decoded(groups).assign(**moments_of(inverse, total))

    def respondent_hashes(self) -> np.ndarray:
        """Each respondent row's record hash (:func:`hsp_eval.data.keys.record_hashes`), made once."""
        if not hasattr(self, "_respondent_hashes"):
            self._respondent_hashes = record_hashes(self.who, RESPONDENT, "respondent")
        return self._respondent_hashes

    def answer_keys(self, rows: np.ndarray) -> np.ndarray:
        """The record key of each answer at ``rows``: its respondent's and its item's."""
        item = record_hashes(self.items, ITEM, "item")
        h = self.respondent_hashes()[self.resp[rows]]
        h ^= item[self.item[rows]]
        return to_record_keys(mix64(h, copy=False))

    def scale_codes(self) -> tuple[np.ndarray, pd.Index]:
        """Each answer's scale as a code into the sorted scale names (-1: an inventory item)."""
        codes, scales = pd.factorize(self.items["scale"], sort=True)
        return codes.astype(np.int32)[self.item], pd.Index(scales)  # int32: one per answer

    def respondent_rank(self) -> np.ndarray:
        """Each respondent row's rank in the order of (instrument, year, school_id, respondent_id)."""
        order = np.lexsort([pd.factorize(self.who[c], sort=True)[0] for c in reversed(RESPONDENT)])
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank

    def scales(self) -> tuple[pd.DataFrame, np.ndarray]:
        """:func:`respondent_scales` of these answers, summed over integer (respondent, scale) keys,
        and each row's respondent row in ``who``.

        The same rows in the same order: keys sort as the text does (respondent rank, then
        scale name), and each respondent has one role.
        """
        scale, names = self.scale_codes()
        on = np.flatnonzero(scale >= 0)
        rank = self.respondent_rank()
        key = rank[self.resp[on]] * len(names)
        key += scale[on]
        del scale  # one value per answer: dropped as soon as used (see alpha_moments)
        keys, inverse = dense_unique(key, len(rank) * len(names))
        del key
        n = np.bincount(inverse).astype(np.int64)
        total = np.bincount(inverse, weights=self.scored[on])
        favourable = np.bincount(inverse, weights=np.nan_to_num(self.favourable[on]))
        del inverse, on
        by_rank = np.empty(len(rank), dtype=np.int64)
        by_rank[rank] = np.arange(len(rank))
        rows = by_rank[keys // len(names)]
        who = self.who.take(rows)
        g = who[RESPONDENT].reset_index(drop=True).assign(
            role=who["role"].astype("str").to_numpy(),
            scale=pd.Series(names.take(keys % len(names)), dtype=self.items["scale"].dtype),
            answered=n, score=total / n, favourable=favourable)
        return _with_n_items(g, self.items), rows

    def groups_of(self, rows: np.ndarray, codes: np.ndarray, names, role: bool) -> tuple[pd.DataFrame, np.ndarray]:
        """Distinct (school_id, year, group) of the answers at ``rows``, and each answer's index among them.

        ``codes`` are the answers' groups as codes into ``names``; the school and year come from
        the respondent, whose role leads the group (``"<role>:<name>"``) when ``role``.
        """
        where, first = self._respondent_groups(["school_id", "year"] + (["role"] if role else []))
        width = max(len(names), 1)
        key = where[self.resp[rows]].astype(np.int64, copy=False)  # in place from here (one per answer)
        key *= width
        key += codes
        keys, inverse = dense_unique(key, len(first) * width)
        del key
        rep = first[keys // width]  # a respondent row of each group's school and year
        label = pd.Series(np.asarray(names, dtype=object)[keys % width])
        if role:
            label = self.who["role"].astype("str").take(rep).reset_index(drop=True) + ":" + label
        frame = self.who[["school_id", "year"]].take(rep).reset_index(drop=True)
        return frame.assign(group=label.to_numpy()), inverse


def _with_n_items(g: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Respondent-scale rows with the scale's item count and ``kept`` (half or more answered)."""
    k = (items[items["scale"].notna()].groupby(["instrument", "scale"], observed=True)
         .size().rename("n_items").reset_index())
    g = g.merge(k, on=["instrument", "scale"], how="left")
    return g.assign(kept=g["answered"] >= g["n_items"] / 2)


def linked_families(ds, answered: pd.DataFrame) -> pd.DataFrame:
    """Families linked to a whānau respondent, per school, year and instrument.

    ``answered`` holds the answered responses (:func:`scored_responses`). Returns one row
    per (school_id, year, instrument, family_id) with ``responded`` True when one of the
    family's respondents of that instrument answered at least one item.
    """
    r = ds["survey_respondents"]
    keep = (r["role"].astype("str") == "whanau").to_numpy() & r["family_id"].notna().to_numpy()
    # the respondent row of each answer: known for the engine's answers, else matched on the keys
    resp = answered.resp if isinstance(answered, _Answers) else positions(answered, RESPONDENT, r, RESPONDENT)
    done = np.zeros(len(r), dtype=bool)
    done[resp[resp >= 0]] = True
    m = r.loc[keep, RESPONDENT + ["family_id"]].reset_index(drop=True).assign(responded=done[keep])
    return (m.groupby(["school_id", "year", "instrument", "family_id"], observed=True, sort=True)
            ["responded"].any().reset_index())


def family_response_flag(families, linked: pd.DataFrame) -> np.ndarray:
    """Per family unit: 1.0 responded (any whānau instrument), 0.0 not, NaN not surveyed.

    A family is surveyed when its school ran a linked whānau survey that year.

    Examples
    --------
    >>> from hsp_eval.indicators.units import Units
    >>> fam = Units(pd.DataFrame({"school_id": ["A", "A", "B"], "year": [2024] * 3,
    ...                           "family_id": ["F", "G", "H"]}), pd.DataFrame())
    >>> linked = pd.DataFrame({"school_id": ["A"], "year": [2024], "instrument": ["w"],
    ...                        "family_id": ["F"], "responded": [True]})
    >>> family_response_flag(fam, linked).tolist()
    [1.0, 0.0, nan]
    """
    key = ["school_id", "year"]
    surveyed = linked[key].drop_duplicates().assign(_surveyed=True)
    s = families.frame[key].merge(surveyed, on=key, how="left")["_surveyed"].notna().to_numpy()
    flag = np.where(s, 0.0, np.nan)
    unit = families.locate(linked[linked["responded"].to_numpy(dtype=bool)], "family_id")
    flag[unit[unit >= 0]] = 1.0
    return flag


def instrument_response_rates(families, linked: pd.DataFrame) -> pd.DataFrame:
    """survey_response_rate per instrument (group_type ``instrument``), counted per school.

    The denominator is the families of the school and year where the instrument has a
    linked whānau respondent.
    """
    key = ["school_id", "year"]
    surveyed = linked[key + ["instrument"]].drop_duplicates()
    m = (families.frame[key + ["family_id"]].merge(surveyed, on=key)
         .merge(linked, on=key + ["instrument", "family_id"], how="left"))
    m["responded"] = m["responded"].eq(True).astype("float64")
    m["_k"] = record_keys(m, ["school_id", "family_id"], "family")  # the families' record keys
    m["_kn"] = m["_k"] * m["responded"]
    g = (m.groupby(key + ["instrument"], observed=True, sort=True)
         .agg(numerator=("responded", "sum"), denominator=("responded", "size"), ck_numerator=("_kn", "sum"),
              ck_denominator=("_k", "sum")).reset_index())
    return g.rename(columns={"instrument": "group"}).assign(
        group_type="instrument", denominator=lambda d: d["denominator"] * 1.0,
        people=lambda d: d["denominator"], people_num=lambda d: d["numerator"],  # a family each
        ck_people=lambda d: d["ck_denominator"])


# ---------------------------------------------------------------------------
# scales


def scale_group(df: pd.DataFrame) -> pd.Series:
    """The ``group`` of scale rows: ``"<role>:<scale>"``."""
    return df["role"].astype("str") + ":" + df["scale"].astype("str")


def respondent_scales(answered: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """One row per respondent and scale answered: n_items, answered, score (mean scored), kept.

    ``kept`` is True when at least half of the scale's items are answered.

    Examples
    --------
    >>> items = pd.DataFrame({"instrument": ["w"] * 4, "scale": ["s"] * 4})
    >>> ans = pd.DataFrame({"instrument": ["w"] * 3, "year": [2024] * 3, "school_id": ["A"] * 3,
    ...                     "respondent_id": ["r", "r", "q"], "role": ["whanau"] * 3,
    ...                     "scale": ["s"] * 3, "scored": [5.0, 3.0, 2.0]})
    >>> respondent_scales(ans, items)[["respondent_id", "score", "kept"]].values.tolist()
    [['q', 2.0, False], ['r', 4.0, True]]
    """
    s = answered[answered["scale"].notna()]
    by = s.groupby(RESPONDENT + ["role", "scale"], observed=True, sort=True)
    g = by["scored"].agg(answered="size", score="mean")
    if "favourable" in s:  # the respondent's favourable answers on the scale (its cluster sums)
        g["favourable"] = by["favourable"].sum().astype("float64")
    return _with_n_items(g.reset_index(), items)


def _one_group_cells(rows: pd.DataFrame, group_type: str, group: pd.Series) -> Cells:
    """Cells where each row of ``rows`` is in exactly one group of ``group_type``."""
    rows = rows.reset_index(drop=True)
    return Cells.build(rows, pd.DataFrame({"unit": np.arange(len(rows)), "group_type": group_type,
                                           "group": group.to_numpy()}))


def _moments(df: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """n, sum and sum of squares of ``value`` per ``keys``: statistics that add up across schools."""
    v = df[value].to_numpy(dtype="float64")
    g = df.assign(_s=v, _ss=v * v).groupby(keys, observed=True, sort=True)
    return pd.DataFrame({"m_n": g.size(), "m_sum": g["_s"].sum(), "m_sumsq": g["_ss"].sum()}).reset_index()


def alpha_moments(long: pd.DataFrame, keys: list[str], unit: str = "unit", item: str = "item_id",
                  value: str = "scored") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sufficient statistics of Cronbach's alpha: moments per (keys, item) and of the unit totals per keys.

    Both frames add up over any split of the units (e.g. by school), so alpha for a region or
    the nation is :func:`alpha_from_moments` of the summed moments of its schools.
    """
    totals = long.groupby(keys + [unit], observed=True, sort=True)[value].sum().rename("total").reset_index()
    return _moments(long, keys + [item], value), _moments(totals, keys, "total")


def _variance(m: pd.DataFrame) -> np.ndarray:
    n = m["m_n"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 1, (m["m_sumsq"] - m["m_sum"] ** 2 / n) / (n - 1), np.nan)


def alpha_from_moments(items: pd.DataFrame, totals: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Cronbach's alpha per ``keys`` from the moments of :func:`alpha_moments` (summed or not).

    alpha = k / (k - 1) * (1 - sum of item variances / variance of the unit totals), variances
    with ddof 1. Returns keys, n (units), k (items) and alpha (NaN where undefined).
    """
    iv = items[keys].assign(var=_variance(items)).groupby(keys, observed=True, sort=True)["var"]
    out = pd.DataFrame({"k": iv.size(), "sum_item_var": iv.sum()}).join(
        totals.set_index(keys).assign(total_var=_variance(totals))[["m_n", "total_var"]], how="inner")
    out = out.rename(columns={"m_n": "n"})
    k = out["k"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(k > 1, k / (k - 1) * (1 - out["sum_item_var"] / out["total_var"]), np.nan)
    alpha[~np.isfinite(alpha)] = np.nan
    return out.assign(alpha=alpha).reset_index()[keys + ["n", "k", "alpha"]]


def cronbach_alpha(long: pd.DataFrame, keys: list[str], unit: str = "unit", item: str = "item_id",
                   value: str = "scored") -> pd.DataFrame:
    """Cronbach's alpha per ``keys`` from long data of complete respondents.

    ``long`` holds one row per (keys, unit, item) and every unit answers every item of its
    key. alpha = k / (k - 1) * (1 - sum of item variances / variance of the unit totals),
    variances with ddof 1. Returns keys, n (units), k (items) and alpha (NaN where undefined).

    Examples
    --------
    >>> m = np.array([[1, 2, 2], [2, 3, 3], [4, 4, 5], [3, 3, 2]])
    >>> long = pd.DataFrame({"s": "x", "unit": np.repeat(np.arange(4), 3),
    ...                      "item_id": np.tile(["a", "b", "c"], 4), "scored": m.ravel()})
    >>> round(float(cronbach_alpha(long, ["s"])["alpha"].iloc[0]), 4)   # 3/2 * (1 - (13/3) / 11)
    0.9091
    """
    return alpha_from_moments(*alpha_moments(long, keys, unit, item, value), keys)


# ---------------------------------------------------------------------------
# counted rows (school level, rolled up by the engine)


def _response_rate_counted(ctx, answers: _Answers) -> list[pd.DataFrame]:
    linked = linked_families(ctx.dataset, answers)
    flag = family_response_flag(ctx.families, linked)
    ind = "survey_response_rate"
    return [count(for_indicator(ctx.family_cells, ind), flag).assign(indicator=ind),
            instrument_response_rates(ctx.families, linked).assign(indicator=ind)]


def _grouped_count(answers: _Answers, rows: np.ndarray, codes: np.ndarray, names, role: bool,
                   group_type: str) -> pd.DataFrame:
    """:func:`count` of the answers' ``favourable`` at ``rows`` into one group each (see
    :meth:`_Answers.groups_of`), summed per group first: the same counts as one row per answer."""
    groups, index = answers.groups_of(rows, codes, names, role)
    fav = answers.favourable[rows]
    favourable = per_unit(index, fav, len(groups))
    answered = per_unit(index, None, len(groups))
    key = answers.answer_keys(rows)
    keys = (per_unit(index, np.where(np.nan_to_num(fav) > 0, key, 0.0), len(groups)), per_unit(index, key, len(groups)))
    del key
    resp_key = to_record_keys(answers.respondent_hashes())
    people, people_num, people_key = _respondents_per_group(index, answers.resp[rows], fav, len(groups),
                                                            len(answers.who), resp_key)
    del index, fav
    return tally(_one_group_cells(groups, group_type, groups["group"]), favourable, answered, people, people_num,
                 keys=keys + (people_key,))


def _respondent_cluster_sums(sc: pd.DataFrame) -> pd.DataFrame:
    """Per (school, year, scale group), the cluster sums of scale_favourable with respondents as
    clusters, from the respondent-scale rows (y: a respondent's favourable answers on the scale,
    x: their answers): one row per respondent and scale, so no per-answer pairs are made.

    Examples
    --------
    >>> sc = pd.DataFrame({"school_id": ["A", "A"], "year": [2024, 2024], "role": ["whanau"] * 2,
    ...                    "scale": ["s", "s"], "favourable": [1.0, 1.0], "answered": [2, 1]})
    >>> _respondent_cluster_sums(sc)[["c_yy", "c_xy", "c_xx", "c_n"]].values.tolist()[0]
    [2.0, 3.0, 5.0, 2.0]
    """
    cells = _one_group_cells(sc, "scale", scale_group(sc))
    out = tally(cells, sc["favourable"].to_numpy(dtype="float64"), sc["answered"].to_numpy(dtype="float64"),
                clustered=True)
    return out[["school_id", "year", "group_type", "group", *CLUSTER_SUMS]]


def _respondents_per_group(index: np.ndarray, resp: np.ndarray, favourable: np.ndarray, n_groups: int,
                           n_resp: int, resp_key: np.ndarray | None = None) -> tuple:
    """Distinct respondents per group among the answers (``index``: each answer's group), and
    those with at least one favourable answer: the people behind a count of answers. With
    ``resp_key`` (each respondent's record key), also the sum of the keys of each group's respondents.

    Examples
    --------
    >>> p, pn = _respondents_per_group(np.array([0, 0, 1]), np.array([4, 4, 4]), np.array([1.0, 0.0, 0.0]), 2, 5)
    >>> p.tolist(), pn.tolist()
    ([1.0, 1.0], [1.0, 0.0])
    """
    pair = index.astype(np.int64) * max(n_resp, 1) + resp.astype(np.int64)
    fav = np.nan_to_num(np.asarray(favourable, dtype="float64")) > 0
    every = distinct(pair)
    some_fav = distinct(pair[fav])
    width = max(n_resp, 1)
    out = (np.bincount(every // width, minlength=n_groups).astype("float64"),
           np.bincount(some_fav // width, minlength=n_groups).astype("float64"))
    if resp_key is None:
        return out
    return out + (np.bincount(every // width, weights=resp_key[every % width], minlength=n_groups),)


def _scale_counted(ctx, answers: _Answers) -> list[pd.DataFrame]:
    sc, _ = _scales(ctx, answers)
    score = np.where(sc["kept"].to_numpy(dtype=bool), sc["score"].to_numpy(dtype="float64"), np.nan)
    cells = _one_group_cells(sc, "scale", scale_group(sc))
    cells.key = record_keys(sc.reset_index(drop=True), RESPONDENT, "respondent")
    out = [moments(cells, score).assign(indicator="scale_score")]
    sums = _respondent_cluster_sums(sc)  # scale_favourable's, respondents as clusters
    del cells
    del sc, score  # this function's references (the respondent scales stay in the topic's cache)
    scale, names = answers.scale_codes()
    on, off = np.flatnonzero(scale >= 0), np.flatnonzero(scale < 0)  # off: inventory items
    on_scale = scale[on]
    del scale  # one per answer: not held through the counts below
    fav = _grouped_count(answers, on, on_scale, names, True, "scale").drop(columns=list(CLUSTER_SUMS))
    on_keys = ["school_id", "year", "group_type", "group"]
    out.append(fav.merge(sums.astype({c: fav[c].dtype for c in on_keys if c in fav}), on=on_keys, how="left")
               .assign(indicator="scale_favourable"))
    del on, on_scale
    # inventory items: one group per item
    item, item_names = pd.factorize(answers.items["item_id"].astype("str"))
    out.append(_grouped_count(answers, off, item[answers.item[off]], item_names, False, "item")
               .assign(indicator="barrier_prevalence"))
    return out


def counted(ctx) -> pd.DataFrame:
    """Voice indicators that roll up by summing, as counted school-level rows.

    survey_response_rate (family groups and ``instrument``), scale_score (n, sum, sumsq),
    scale_favourable and barrier_prevalence. Columns school_id, year, group_type, group,
    indicator, numerator, denominator, sum, sumsq.

    Examples
    --------
    >>> from hsp_eval.indicators.engine import Context   # doctest: +SKIP
    >>> counted(Context.build(ds)).query("indicator == 'scale_favourable'")  # doctest: +SKIP
    """
    answers = _scored(ctx)
    parts = [p for p in _response_rate_counted(ctx, answers) + _scale_counted(ctx, answers) if len(p)]
    if not parts:  # typed, so that the engine's concatenation keeps numeric columns numeric
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in COUNTED[5:] else "object")
                             for c in COUNTED}).astype({"year": "int64"})
    return pd.concat(parts, ignore_index=True).reindex(columns=COUNTED)


# ---------------------------------------------------------------------------
# derived rows (every level)


def at_levels(df: pd.DataFrame, region_of: pd.Series) -> pd.DataFrame:
    """``df`` (with school_id) three times, with level and area_id of school, region and nation.

    Examples
    --------
    >>> df = pd.DataFrame({"school_id": ["A", "B"]})
    >>> at_levels(df, pd.Series({"A": "Otago", "B": "Otago"}))["area_id"].tolist()
    ['A', 'B', 'Otago', 'Otago', 'NZ', 'NZ']
    """
    sid = df["school_id"].astype("str")
    return pd.concat([df.assign(level="school", area_id=sid.to_numpy()),
                      df.assign(level="region", area_id=sid.map(region_of).to_numpy()),
                      df.assign(level="national", area_id="NZ")], ignore_index=True)


def _blank_interval(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(ci_low=np.nan, ci_high=np.nan)


def representation_rows(table: pd.DataFrame) -> pd.DataFrame:
    """respondent_representation from the survey_response_rate rows at every level.

    Examples
    --------
    >>> k = {"level": "school", "area_id": "A", "year": 2024, "indicator": "survey_response_rate"}
    >>> t = pd.DataFrame([{**k, "group_type": "all", "group": "all", "numerator": 2, "denominator": 4},
    ...                   {**k, "group_type": "ethnicity", "group": "Māori", "numerator": 1,
    ...                    "denominator": 1}])
    >>> float(representation_rows(t)["value"].iloc[0])   # 1/2 of respondents, 1/4 of families
    0.25
    """
    keys = ["level", "area_id", "year"]
    rr = table[table["indicator"] == "survey_response_rate"]
    alls = rr.loc[rr["group_type"] == "all", keys + ["numerator", "denominator"]].rename(
        columns={"numerator": "resp_all", "denominator": "fam_all"})
    g = rr[rr["group_type"] == "ethnicity"].merge(alls, on=keys, how="inner")
    g = g[g["resp_all"] > 0]
    value = g["numerator"] / g["resp_all"] - g["denominator"] / g["fam_all"]
    # shares of all respondents: its people are the respondents (the group's own count is its response
    # rate row's numerator, and the row is withheld whenever that row is: disclosure.protect)
    return _blank_interval(g.assign(indicator="respondent_representation", denominator=g["resp_all"],
                                    people=g["resp_all"], value=value))[OUT]


def perception_gap_rows(table: pd.DataFrame) -> pd.DataFrame:
    """perception_gap: staff minus whānau scale_favourable, per scale, at every level.

    Newcombe interval; numerator blank; denominator = the smaller answered-response count.

    Examples
    --------
    >>> k = {"level": "school", "area_id": "A", "year": 2024, "indicator": "scale_favourable",
    ...      "group_type": "scale"}
    >>> t = pd.DataFrame([{**k, "group": "staff:c", "numerator": 3, "denominator": 5},
    ...                   {**k, "group": "whanau:c", "numerator": 5, "denominator": 12}])
    >>> r = perception_gap_rows(t).iloc[0]
    >>> r["group"], round(float(r["value"]), 4), int(r["denominator"])
    ('c', 0.1833, 5)
    """
    keys = ["level", "area_id", "year", "scale"]
    fav = table[table["indicator"] == "scale_favourable"]
    parts = fav["group"].astype("str").str.split(":", n=1, expand=True)
    if parts.shape[1] < 2:
        return pd.DataFrame(columns=OUT)
    if "people" not in fav:
        fav = fav.assign(people=fav["denominator"])
    if "n_eff" not in fav:  # answers taken as independent (a table from outside the engine)
        fav = fav.assign(n_eff=fav["denominator"])
    fav = fav.assign(role=parts[0], scale=parts[1])[keys + ["role", "numerator", "denominator", "people", "n_eff"]]
    m = fav[fav["role"] == "staff"].merge(fav[fav["role"] == "whanau"], on=keys, suffixes=("_s", "_w"))
    # each side on its effective sample size: answers are clustered in respondents
    lo, hi = stats.newcombe(m["numerator_s"] / m["denominator_s"] * m["n_eff_s"], m["n_eff_s"],
                            m["numerator_w"] / m["denominator_w"] * m["n_eff_w"], m["n_eff_w"])
    return m.assign(indicator="perception_gap", group_type="scale", group=m["scale"], numerator=np.nan,
                    denominator=np.minimum(m["denominator_s"], m["denominator_w"]),
                    people=np.minimum(m["people_s"], m["people_w"]),
                    value=m["numerator_s"] / m["denominator_s"] - m["numerator_w"] / m["denominator_w"],
                    ci_low=lo, ci_high=hi)[OUT]


ALPHA_KEYS = ["year", "instrument", "role", "scale"]


def pooled(ctx) -> dict[str, pd.DataFrame]:
    """Per-school moments for scale_alpha (respondents answering every item of a scale).

    They add up across schools, so the engine can pool any split of the schools into region
    and national alpha (see :func:`alpha_rows`).
    """
    if not (ctx.dataset.has("survey_responses") and ctx.dataset.has("survey_items")):
        return {}
    answers = _scored(ctx)
    sc, who_row = _scales(ctx, answers)
    # the answers of respondents who answered every item of the scale, in their order
    scale, names = answers.scale_codes()
    complete = (sc["answered"] == sc["n_items"]).to_numpy()
    done = np.zeros(len(answers.who) * len(names), dtype=bool)  # (respondent row, scale)
    done[who_row[complete] * len(names) + pd.Categorical(sc["scale"][complete], categories=names).codes] = True
    rows = np.flatnonzero((scale >= 0) & done[answers.resp.astype(np.int64) * len(names) + np.maximum(scale, 0)])
    del scale, done  # one per answer: not held through the moments below
    items, totals = answers.alpha_moments(rows)
    return {"voice.alpha_items": items, "voice.alpha_totals": totals}


def alpha_rows(items: pd.DataFrame, totals: pd.DataFrame, region_of: pd.Series) -> pd.DataFrame:
    """scale_alpha at every level from the per-school moments of :func:`pooled`."""
    keys = ["level", "area_id"] + ALPHA_KEYS
    summed = [at_levels(m, region_of).groupby(keys + extra, sort=True)[["m_n", "m_sum", "m_sumsq"]].sum().reset_index()
              for m, extra in ((items, ["item_id"]), (totals, []))]
    a = alpha_from_moments(*summed, keys)
    a = a[(a["n"] >= ALPHA_MIN) & a["alpha"].notna()]
    a = a.assign(group=scale_group(a))
    a = a[~a.duplicated(["level", "area_id", "year", "group"], keep=False)]
    lo, hi = stats.feldt(a["alpha"], a["n"], a["k"])  # Feldt's interval (uncertainty spec v2)
    return a.assign(indicator="scale_alpha", group_type="scale", numerator=np.nan,
                    denominator=a["n"].astype("float64"), people=a["n"].astype("float64"),
                    value=a["alpha"], ci_low=lo, ci_high=hi)[OUT]


def derived(table: pd.DataFrame, pooled: dict, region_of: pd.Series) -> pd.DataFrame:
    """Voice indicators that do not roll up by summing, at school, region and national level.

    respondent_representation and perception_gap (from the finished ``table``) and
    scale_alpha (from the pooled per-school moments). Columns :data:`OUT`.
    """
    parts = [representation_rows(table), perception_gap_rows(table)]
    if "voice.alpha_items" in pooled:
        parts.append(alpha_rows(pooled["voice.alpha_items"], pooled["voice.alpha_totals"], region_of))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=OUT)
    return pd.concat(parts, ignore_index=True)
