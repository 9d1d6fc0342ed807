"""An attacker that reads only the published indicator table and tries to undo disclosure control.

Disclosure spec v2 ("Who is protected, and against what") says that a reader who holds every
output of a release, public knowledge (each school's region, the method, the code) and can do
arithmetic across all of it must not learn a count of 1 to (threshold - 1) people behind any
cell, nor the exact value of a withheld cell, nor something about one identifiable person.
:func:`attack` is that reader. It sees the indicator table as published and the schools'
regions, and nothing else, and it tries every relation the method makes public:

``back_out``
    (publication only) the exact counts behind a rounded value, when the value and its
    interval were computed from counts other than the published ones;
``group_sum``
    a group type that partitions the population adds up to the ``all`` row;
``overlap_rest``
    a group of an overlapping group type (total-response ethnicity, a family's year bands)
    and the ``all`` row give the rest of the population; a gap row carries its group's counts;
``related_indicator``
    identities between indicators (the same denominator population, ``accelerated_rate``
    over measures against ``accelerated_by_codesign``, ``respondent_representation`` against
    the response rates, ``self_review_gap`` and ``perception_gap`` against their two sides);
``level_sum``
    a region's counts are the sum of its schools', the nation's the sum of the regions';
``year``
    the returning families of a year are among the previous year's families, retention is
    bounded by reach;
``small_shown``
    a shown row with 1 to (threshold - 1) people, and in publication a shown 0% or 100% over
    fewer than 10 people;
``unperturbed``
    (publication only) a published count that is not a multiple of 3 was not perturbed.

Three readings (``regime``): ``school`` (exact counts: the school reports' rows), ``publication``
(rounded counts) and ``release`` (a table holding both, with a column ``regime`` per row and a
column ``secret`` marking the cells the school reports withhold: the only targets). A column
``public`` marks cells another output shows exactly (not targets). Counts of derived rows are no
targets (they are their sources' counts), nor is a count that an identity (:data:`IDENTITIES`:
the same records) ties to a count shown in another row.

Every count relation is linear, so the attacker puts them all into one linear programme: each
withheld count (and the rest of each shown overlapping group) gets the tightest [low, high]
that all relations together allow, exact shown counts fixed (regime 1) or within +-2 of the
published count (regime 2, random rounding to base 3; a published count that is not a multiple
of 3 is taken as exact). A withheld count that is pinned (low == high >= 1) or proven to lie in
[1, threshold - 1] (a count of people, or in publication any count) is a recovery; so is the
rest of a shown group proven to hold 1 to threshold - 1 people. A withheld count pinned at 0
is not reported: it follows from a shown 0 (no one in the school did it), not from the cell.

How the programme is kept small (:class:`_LP`): counts a relation says are equal are merged;
equalities with one unknown count are solved directly (propagation); the rest splits into
components of counts linked through unknown counts; a few programmes over all components
(minimise, maximise, random signs) give feasible points that rule most counts out (a count that
can be 0, or can take two values, or can reach the threshold, is no recovery); only the counts
left get their own minimum and maximum. In a component of more than :data:`BIG_COMPONENT`
relations a count is bounded over the :data:`NEIGHBOURHOOD` relations nearest to it (fewer
relations only widen bounds). Dropping relations never creates a recovery, so every reported
recovery is proven from the table as long as the relations are true of the engine:
:func:`check_relations` verifies them on a table where nothing is withheld. Each recovery is
named after the first of the stages group_sum, level_sum, related_indicator, year whose
relations (cumulatively) prove it.

Not attacked here: outputs other than the indicator table (report figures, the inquiry-impact
tables), values of means other than through self_review_gap and perception_gap, and
relations that need the value of a row in regime 2 (the representation share).

Examples
--------
>>> import pandas as pd
>>> rows = [("school", "A", 2024, "reach", "all", "all", 3, 10),
...         ("school", "A", 2024, "reach", "target", "target", None, None),
...         ("school", "A", 2024, "reach", "target", "not_target", 3, 8)]
>>> t = pd.DataFrame(rows, columns=["level", "area_id", "year", "indicator", "group_type", "group",
...                                 "numerator", "denominator"])
>>> t["suppressed"] = t["denominator"].isna()
>>> found = attack(t, pd.DataFrame({"school_id": ["A"], "region": ["Otago"]}), 5, "school")
>>> found[["relation", "group", "quantity", "bounds_low", "bounds_high"]].values.tolist()
[['group_sum', 'target', 'denominator', 2, 2]]
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from hsp_eval.indicators import stats
from hsp_eval.indicators.registry import GAP_SUFFIX, REGISTRY, base_id

#: the columns of the table :func:`attack` returns, one row per recovery
RESULT_COLUMNS = ["relation", "level", "area_id", "year", "indicator", "group_type", "group", "quantity",
                  "bounds_low", "bounds_high", "detail"]
KEYS = ["level", "area_id", "year", "indicator", "group_type", "group"]
COUNTS = ("numerator", "denominator", "people")
REGIMES = ("school", "publication", "release")
#: the thresholds of the two regimes, for a release that holds rows of both
THRESHOLDS = {"school": 5, "publication": 6}
#: regime 2's perturbation: a published count c stands for a true count in [c - 2, c + 2]
RR3_SLACK = 2
#: regime 2: a 0% or 100% over fewer than this many people is a group attribute disclosure
ALL_OR_NONE_MIN = 10
#: the upper bound given to a count nothing bounds (far above any school's roll)
CAP = 1.0e6
#: group types whose groups split the population of the ``all`` row (each unit in exactly one)
PARTITIONS = frozenset({"ethnicity_prioritised", "target", "new_family"})
#: group types where a unit can be in several groups (and is in at least one)
OVERLAPPING = frozenset({"ethnicity", "year_band"})
#: indicators whose rows do not add up across levels: derived from other rows, or only present
#: where a size condition holds at that level (alpha from 10 respondents, a fitted model, both
#: rater groups present)
NOT_SUMMED = frozenset({"scale_alpha", "self_review_gap", "perception_gap", "respondent_representation"})
#: indicators whose denominator is the families with a child enrolled (same population per cell)
FAMILY_DENOMINATOR = ("reach", "reach_learning", "attendances_per_family", "breadth", "contact_reach",
                      "portal_adoption")
#: indicators whose denominator is the target students (same population per cell)
TARGET_DENOMINATOR = ("target_whanau_identified", "target_whanau_codesigned", "target_family_goal",
                      "target_whanau_reviewed")
#: the stages of relations, each adding kinds to the last; a recovery is named after the first
#: stage whose relations prove it (``row``: a numerator and its people are at most the denominator)
STAGES = (("group_sum", ("row", "group_sum", "overlap")),
          ("level_sum", ("row", "group_sum", "overlap", "level_sum")),
          ("related_indicator", ("row", "group_sum", "overlap", "level_sum", "related")),
          ("year", ("row", "group_sum", "overlap", "level_sum", "related", "year")))
_TOL = 1e-6
#: a component with more relations than this is bounded one count at a time over the relations
#: nearest to it (at most NEIGHBOURHOOD of them): fewer relations only widen bounds, so what is
#: proven stays proven, and one programme over tens of thousands of relations per count is avoided
BIG_COMPONENT = 4000
NEIGHBOURHOOD = 1500


# ---------------------------------------------------------------------------------------------
# the table as the attacker reads it


def _kind(indicator: str, group: str) -> str:
    """What a row holds: ``proportion``, ``mean``, ``gap`` (an equity-gap row: group minus rest),
    ``difference`` (a difference of two other rows), ``alpha`` or ``model`` (an odds ratio)."""
    if group == "adjusted_odds_ratio":
        return "model"
    if indicator.endswith(GAP_SUFFIX):
        return "gap"
    spec = REGISTRY.get(base_id(indicator))
    return spec.kind if spec is not None else "unknown"


def _unit(indicator: str) -> str:
    spec = REGISTRY.get(base_id(indicator))
    return spec.unit if spec is not None else ""


def read_table(table: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """The published table with numeric counts and each row's kind and unit.

    Returns the cells (one per row, index 0..n-1) and whether the table has a ``people``
    column (the old engine's tables do not: the people behind a row are then unknown).
    """
    has_people = "people" in table.columns
    cells = table.reset_index(drop=True).copy()
    for c in ("numerator", "denominator", "people", "value", "ci_low", "ci_high"):
        cells[c] = pd.to_numeric(cells[c], errors="coerce") if c in cells else np.nan
    for c in ("level", "area_id", "indicator", "group_type", "group"):  # plain Python strings: fast to loop over
        cells[c] = pd.Series(cells[c].astype("str").tolist(), dtype=object, index=cells.index)
    cells["year"] = pd.to_numeric(cells["year"]).astype("int64")
    cells["suppressed"] = cells["suppressed"].astype(bool) if "suppressed" in cells else False
    pairs = cells[["indicator", "group"]].drop_duplicates()
    kinds = {(i, g): _kind(i, g) for i, g in pairs.itertuples(index=False)}
    cells["kind"] = [kinds[(i, g)] for i, g in zip(cells["indicator"], cells["group"])]
    units = {i: _unit(i) for i in cells["indicator"].unique()}
    cells["unit"] = cells["indicator"].map(units)
    return cells, has_people


def _has_numerator(kind: str, indicator: str) -> bool:
    return kind in ("proportion", "gap") or indicator == "respondent_representation"


# ---------------------------------------------------------------------------------------------
# the linear system: one variable per count, relations between them


@dataclass
class System:
    """Every count the attacker reasons about, and the linear relations between them.

    A variable is one count of one cell (``numerator``, ``denominator`` or ``people``) or the
    rest of an overlapping group (``rest_<count>``: the ``all`` row minus the group). ``lo`` and
    ``hi`` are its bounds before any relation: the published count (exact in regime 1, +-2 in
    regime 2), or [0, CAP] when it is withheld. A relation is ``sum(coef * var) (= or <=) rhs``.
    """

    cells: pd.DataFrame
    has_people: bool
    var_cell: list = field(default_factory=list)
    var_q: list = field(default_factory=list)
    lo: list = field(default_factory=list)
    hi: list = field(default_factory=list)
    shown: list = field(default_factory=list)
    of: dict = field(default_factory=dict)  #: (cell, quantity) -> variable
    rel_kind: list = field(default_factory=list)
    rel_eq: list = field(default_factory=list)
    rel_rhs: list = field(default_factory=list)
    rel_note: list = field(default_factory=list)
    #: the relations' terms: relation, variable and coefficient of each
    t_rel: list = field(default_factory=list)
    t_var: list = field(default_factory=list)
    t_coef: list = field(default_factory=list)

    def var(self, cell: int, q: str) -> int:
        """The variable of ``q`` of ``cell``, or -1 when the cell has no such count."""
        return self.of.get((cell, q), -1)

    def add_var(self, cell: int, q: str, lo: float, hi: float, shown: bool) -> int:
        v = len(self.var_cell)
        self.var_cell.append(cell)
        self.var_q.append(q)
        self.lo.append(float(lo))
        self.hi.append(float(hi))
        self.shown.append(bool(shown))
        self.of[(cell, q)] = v
        return v

    def relate(self, kind: str, terms, eq: bool = True, rhs: float = 0.0, note: str = "") -> None:
        """Add ``sum(coef * var) == rhs`` (or ``<= rhs``); terms on missing variables (-1) are an
        error of the caller, so every term must be a real variable."""
        terms = [(v, c) for v, c in terms if c != 0]
        if not terms:
            return
        assert all(v >= 0 for v, _ in terms), terms
        r = len(self.rel_kind)
        self.rel_kind.append(kind)
        self.rel_eq.append(eq)
        self.rel_rhs.append(float(rhs))
        self.rel_note.append(note)
        self.t_rel.extend([r] * len(terms))
        self.t_var.extend(v for v, _ in terms)
        self.t_coef.extend(float(c) for _, c in terms)

    @property
    def terms(self):
        """(relation, variable, coefficient) of every term."""
        return zip(self.t_rel, self.t_var, self.t_coef)

    @property
    def n_vars(self) -> int:
        return len(self.var_cell)

    @property
    def n_rels(self) -> int:
        return len(self.rel_kind)

    def matrix(self) -> sparse.csr_matrix:
        """The relations' coefficients, one row per relation."""
        r = np.array(self.t_rel, dtype=np.int64)
        v = np.array(self.t_var, dtype=np.int64)
        c = np.array(self.t_coef, dtype="float64")
        return sparse.csr_matrix((c, (r, v)), shape=(self.n_rels, self.n_vars))


def _published_bounds(count: float, regime: str) -> tuple[float, float]:
    """The true counts a published count stands for: itself in regime 1; in regime 2 within +-2
    of it when it is a multiple of 3 (random rounding to base 3), else itself (not perturbed)."""
    if regime == "publication" and count % 3 == 0:
        return max(0.0, count - RR3_SLACK), count + RR3_SLACK
    return count, count


def build_system(cells: pd.DataFrame, has_people: bool, schools: pd.DataFrame, regime: str,
                 value_relations: bool = True) -> System:
    """The variables and every relation of the method between them (see the module docstring).

    ``value_relations`` adds the relations that read a value (respondent_representation's
    share of families, regime 1 only).
    """
    if "regime" not in cells:  # every row of one regime
        cells = cells.assign(regime=regime)
    s = System(cells, has_people)
    col = _columns(cells)
    # --- variables: the counts of every row
    for i, row in enumerate(cells.itertuples(index=False)):
        qs = (["numerator"] if _has_numerator(row.kind, row.indicator) else []) + ["denominator"]
        qs += ["people"] if has_people and row.kind != "model" else []
        for q in qs:
            c = getattr(row, q)
            if pd.notna(c):
                s.add_var(i, q, *_published_bounds(float(c), row.regime), shown=True)
            else:
                s.add_var(i, q, 0.0, CAP, shown=False)
    index = {k: i for i, k in enumerate(zip(*(cells[c] for c in KEYS)))}

    def cell(level, area, year, indicator, group_type, group) -> int:
        return index.get((level, area, year, indicator, group_type, group), -1)

    # --- row: a numerator and the people behind a row are at most its denominator
    for i in range(len(cells)):
        d = s.var(i, "denominator")
        for q in ("numerator", "people"):
            if d >= 0 and s.var(i, q) >= 0 and col["indicator"][i] != "respondent_representation":
                s.relate("row", [(s.var(i, q), 1), (d, -1)], eq=False, note=f"{q} <= denominator")
    _group_relations(s, cells, col, cell)
    _level_relations(s, cells, schools, index)
    _related_relations(s, cells, col, cell, regime, value_relations)
    _surveyed_area_relations(s, cells, schools, cell)
    _year_relations(s, cells, col, cell)
    return s


def _columns(cells: pd.DataFrame) -> dict[str, list]:
    """The cells' columns as lists (a list lookup is far faster than ``DataFrame.at``)."""
    return {c: cells[c].tolist() for c in KEYS + ["numerator", "denominator", "value", "kind", "suppressed", "regime"]}


def _shown_or_gap_shown(col: dict, cell, i: int) -> bool:
    """Whether cell ``i`` or its gap row (``<id>_gap_vs_rest``) is shown."""
    if not col["suppressed"][i]:
        return True
    gap = cell(col["level"][i], col["area_id"][i], col["year"][i], col["indicator"][i] + GAP_SUFFIX,
               col["group_type"][i], col["group"][i])
    return gap >= 0 and not col["suppressed"][gap]


def _group_relations(s: System, cells: pd.DataFrame, col: dict, cell) -> None:
    """group_sum (partitions add up to ``all``) and overlap (rest = all - group, groups cover all,
    a gap row carries its group's counts)."""
    body = cells[cells["kind"].isin(["proportion", "mean"]) | (cells["indicator"] == "respondent_representation")]
    by_cell = body.groupby(["level", "area_id", "year", "indicator"], sort=False).groups
    for (level, area, year, indicator), rows in by_cell.items():
        rows = list(rows)
        alls = [i for i in rows if col["group_type"][i] == "all"]
        if not alls:
            continue
        a = alls[0]
        students = _unit(indicator) == "students"
        by_type = defaultdict(list)
        for i in rows:
            by_type[col["group_type"][i]].append(i)
        for gt, members in by_type.items():
            if gt == "all":
                continue
            partition = gt in PARTITIONS or (gt == "year_band" and students)
            overlapping = gt in OVERLAPPING and not partition
            for q in COUNTS:
                va = s.var(a, q)
                vs = [s.var(i, q) for i in members]
                if va < 0 or min(vs) < 0:
                    continue
                if partition:
                    # new_family has no groups in a school's first year, so a region or the nation
                    # of schools of different first years has fewer in the groups than in all
                    if gt != "new_family" or level == "school":
                        s.relate("group_sum", [(va, 1)] + [(v, -1) for v in vs], note=f"all = sum of {gt}")
                    else:
                        s.relate("group_sum", [(v, 1) for v in vs] + [(va, -1)], eq=False,
                                 note=f"sum of {gt} <= all")
                elif overlapping:
                    # every unit is in at least one group: all <= sum of groups
                    s.relate("overlap", [(va, 1)] + [(v, -1) for v in vs], eq=False, note=f"all <= sum of {gt}")
                    for i, v in zip(members, vs):
                        if q != "numerator" and _shown_or_gap_shown(col, cell, i):
                            # the rest of a shown group (its people: could they be few?)
                            rest = s.add_var(i, "rest_" + q, 0.0, CAP, shown=False)
                            s.relate("overlap", [(rest, 1), (va, -1), (v, 1)], note="rest = all - group")
                        else:  # the rest is not a variable of interest: only rest >= 0
                            s.relate("overlap", [(v, 1), (va, -1)], eq=False, note="group <= all")
    # a gap row's counts are its group's
    gaps = cells.index[cells["kind"] == "gap"]
    for i in gaps:
        g = cell(col["level"][i], col["area_id"][i], col["year"][i], base_id(col["indicator"][i]),
                 col["group_type"][i], col["group"][i])
        if g < 0:
            continue
        for q in COUNTS:
            if s.var(i, q) >= 0 and s.var(g, q) >= 0:
                s.relate("overlap", [(s.var(i, q), 1), (s.var(g, q), -1)], note="gap row = its group")


def _level_relations(s: System, cells: pd.DataFrame, schools: pd.DataFrame, index: dict) -> None:
    """level_sum: region = sum of its schools, nation = sum of its regions (a missing row is 0)."""
    region_of = dict(zip(schools["school_id"].astype("str"), schools["region"].astype("str")))
    summed = cells[cells["kind"].isin(["proportion", "mean"]) & ~cells["indicator"].isin(NOT_SUMMED)]
    children = defaultdict(list)  # (parent level, parent area, year, indicator, group_type, group) -> cells
    for i, level, area, year, ind, gt, grp in zip(summed.index, *(summed[c] for c in KEYS)):
        if level == "school" and area in region_of:
            children[("region", region_of[area], year, ind, gt, grp)].append(i)
        elif level == "region":
            children[("national", "NZ", year, ind, gt, grp)].append(i)
    for key, kids in children.items():
        parent = index.get(key, -1)
        if parent < 0:
            continue
        for q in COUNTS:
            vp, vk = s.var(parent, q), [s.var(i, q) for i in kids]
            if vp >= 0 and min(vk) >= 0:
                s.relate("level_sum", [(vp, 1)] + [(v, -1) for v in vk], note=f"{key[0]} = sum of parts")


def _related_relations(s: System, cells: pd.DataFrame, col: dict, cell, regime: str,
                       value_relations: bool) -> None:
    """related_indicator: identities between indicators of one level, area and year."""
    precision = value_precision(cells, kinds=("proportion", "difference"))
    written = 1e-9 if precision is None else 0.5 * 10.0 ** -precision + 1e-12  # half a unit of a value

    def same(kind_note, pairs):
        """Equalities between (cell, q) pairs that exist."""
        for (c1, q1), (c2, q2) in pairs:
            v1, v2 = s.var(c1, q1), s.var(c2, q2)
            if c1 >= 0 and c2 >= 0 and v1 >= 0 and v2 >= 0:
                s.relate("related", [(v1, 1), (v2, -1)], note=kind_note)

    areas = cells[["level", "area_id", "year"]].drop_duplicates().itertuples(index=False)
    groups_of = cells.groupby(["level", "area_id", "year"], sort=False)
    for (level, area, year) in areas:
        rows = groups_of.get_group((level, area, year))
        at = {(ind, gt, g): i for i, ind, gt, g in zip(rows.index, rows["indicator"], rows["group_type"],
                                                        rows["group"])}
        group_keys = {(gt, g) for _, gt, g in at}
        # the same denominator population (families; target students) in one cell
        for shared in (FAMILY_DENOMINATOR, TARGET_DENOMINATOR):
            for gt, g in group_keys:
                present = [at[(ind, gt, g)] for ind in shared if (ind, gt, g) in at]
                for other in present[1:]:
                    same("same denominator population",
                         [((present[0], q), (other, q)) for q in ("denominator", "people")])
        # a school's survey counts all its families (a region's only those of surveyed schools)
        if level == "school":
            for gt, g in group_keys:
                srr, reach = at.get(("survey_response_rate", gt, g), -1), at.get(("reach", gt, g), -1)
                same("surveyed school: all families", [((srr, q), (reach, q)) for q in ("denominator", "people")])
            srr_all = at.get(("survey_response_rate", "all", "all"), -1)
            for (ind, gt, g), i in at.items():
                if ind == "survey_response_rate" and gt == "instrument" and srr_all >= 0:
                    same("instrument: all families", [((i, q), (srr_all, q)) for q in ("denominator", "people")])
        # reach_by_type: every type over all families
        reach_all = at.get(("reach", "all", "all"), -1)
        for (ind, gt, g), i in at.items():
            if ind == "reach_by_type" and reach_all >= 0:
                same("reach_by_type over all families", [((i, q), (reach_all, q)) for q in ("denominator", "people")])
        # contacts: all contacts, school-initiated contacts; all = family- + school-initiated
        for gt, g in group_keys:
            tw, lc = at.get(("two_way_share", gt, g), -1), at.get(("learning_contact_share", gt, g), -1)
            gn, de = at.get(("good_news_share", gt, g), -1), at.get(("deficit_share", gt, g), -1)
            same("all contacts", [((tw, q), (lc, q)) for q in ("denominator", "people")])
            same("school-initiated contacts", [((gn, q), (de, q)) for q in ("denominator", "people")])
            if tw >= 0 and gn >= 0 and min(s.var(tw, "numerator"), s.var(tw, "denominator"),
                                           s.var(gn, "denominator")) >= 0:
                s.relate("related", [(s.var(tw, "denominator"), 1), (s.var(tw, "numerator"), -1),
                                     (s.var(gn, "denominator"), -1)], note="contacts = family- + school-initiated")
            # portal: regular use is over the families that logged in
            pa, pr = at.get(("portal_adoption", gt, g), -1), at.get(("portal_regular_use", gt, g), -1)
            same("portal users", [((pr, "denominator"), (pa, "numerator")), ((pr, "people"), (pa, "numerator"))])
        # new families reached: the reach of the new_family:new group
        nfr, new = at.get(("new_family_reach", "all", "all"), -1), at.get(("reach", "new_family", "new"), -1)
        same("new families", [((nfr, q), (new, q)) for q in COUNTS])
        # accelerated_rate over measures = accelerated_by_codesign over its two groups
        acc = [i for (ind, gt, g), i in at.items() if ind == "accelerated_rate"]
        abc = [i for (ind, gt, g), i in at.items() if ind == "accelerated_by_codesign"
               and g in ("codesigned", "not_codesigned")]
        if acc and abc:
            for q in ("numerator", "denominator"):
                va, vb = [s.var(i, q) for i in acc], [s.var(i, q) for i in abc]
                if min(va + vb) >= 0:
                    s.relate("related", [(v, 1) for v in va] + [(v, -1) for v in vb],
                             note="accelerated: measures = codesign groups")
            va, vb = [s.var(i, "people") for i in acc], [s.var(i, "people") for i in abc]
            if va and min(va + vb) >= 0:  # a student with two measures is one person in a codesign group
                s.relate("related", [(v, 1) for v in vb] + [(v, -1) for v in va], eq=False,
                         note="accelerated: people")
            model = s.var(at.get(("accelerated_by_codesign", "codesign", "adjusted_odds_ratio"), -1), "denominator")
            vb = [s.var(i, "denominator") for i in abc]
            if model >= 0 and min(vb) >= 0:  # the model's rows: every progress row with a known outcome
                s.relate("related", [(v, 1) for v in vb] + [(model, -1)], note="model rows = codesign groups")
        # respondent_representation: the group's respondents over all respondents' families
        srr_all = at.get(("survey_response_rate", "all", "all"), -1)
        for (ind, gt, g), i in at.items():
            if ind != "respondent_representation":
                continue
            src = at.get(("survey_response_rate", gt, g), -1)
            same("representation numerator", [((i, "numerator"), (src, "numerator"))])
            same("representation denominator", [((i, "denominator"), (srr_all, "numerator"))])
            if value_relations and col["regime"][i] == "school" and src >= 0 and srr_all >= 0:
                n, d, v = (col[c][i] for c in ("numerator", "denominator", "value"))
                dg, da = s.var(src, "denominator"), s.var(srr_all, "denominator")
                if pd.notna(n) and pd.notna(d) and pd.notna(v) and d > 0 and dg >= 0 and da >= 0:
                    # the group's share of the surveyed families, to the precision the value is written
                    share, u = n / d - v, written
                    s.relate("related", [(dg, 1), (da, -(share + u))], eq=False, note="representation share")
                    s.relate("related", [(dg, -1), (da, share - u)], eq=False, note="representation share")
        # self_review_gap: its n is the whānau ratings'
        for (ind, gt, g), i in at.items():
            if ind == "self_review_gap":
                wh = at.get(("self_review_rating", gt, f"{g}:whanau"), -1)
                same("self-review gap n", [((i, "denominator"), (wh, "denominator"))])
            if ind == "perception_gap":  # its n is the smaller side's
                for role in ("staff", "whanau"):
                    side = at.get(("scale_favourable", "scale", f"{role}:{g}"), -1)
                    for q in ("denominator", "people"):
                        if side >= 0 and s.var(i, q) >= 0 and s.var(side, q) >= 0:
                            s.relate("related", [(s.var(i, q), 1), (s.var(side, q), -1)], eq=False,
                                     note="perception gap n <= side")


def _year_relations(s: System, cells: pd.DataFrame, col: dict, cell) -> None:
    """year: bounds between one year's rows and the year before (same level and area)."""
    for i in cells.index[(cells["indicator"] == "reach") & (cells["group"] == "returning")]:
        level, area, year = col["level"][i], col["area_id"][i], col["year"][i]
        before = cell(level, area, year - 1, "reach", "all", "all")
        for q in ("denominator", "people"):
            if before >= 0 and s.var(i, q) >= 0 and s.var(before, q) >= 0:
                s.relate("year", [(s.var(i, q), 1), (s.var(before, q), -1)], eq=False,
                         note="returning families <= last year's families")
    for i in cells.index[cells["indicator"] == "retention"]:
        level, area, year, gt, g = (col[c][i] for c in ("level", "area_id", "year", "group_type", "group"))
        now = cell(level, area, year, "reach", gt, g)
        if now >= 0:  # retained families are reached this year and enrolled this year
            for a, b in (("numerator", "numerator"), ("denominator", "denominator")):
                if s.var(i, a) >= 0 and s.var(now, b) >= 0:
                    s.relate("year", [(s.var(i, a), 1), (s.var(now, b), -1)], eq=False, note="retention <= reach")
        if (gt, g) == ("all", "all"):
            before = cell(level, area, year - 1, "reach", "all", "all")
            returning = cell(level, area, year, "reach", "new_family", "returning")
            for other, q in ((before, "numerator"), (returning, "denominator")):
                if other >= 0 and s.var(i, "denominator") >= 0 and s.var(other, q) >= 0:
                    s.relate("year", [(s.var(i, "denominator"), 1), (s.var(other, q), -1)], eq=False,
                             note="retention's families <= last year's reached, this year's returning")


# ---------------------------------------------------------------------------------------------
# back_out: the counts behind a rounded value


def value_precision(cells: pd.DataFrame, kinds=("proportion",)) -> int | None:
    """Decimals the shown values and intervals of rows of ``kinds`` are written to (None: not rounded).

    The smallest d <= 6 such that every one of them is a multiple of 10**-d; the spec writes
    proportions to 0.001 (d = 3) in publication.
    """
    p = cells[cells["kind"].isin(list(kinds)) & ~cells["suppressed"]]
    x = p[["value", "ci_low", "ci_high"]].to_numpy(dtype="float64").ravel()
    x = x[np.isfinite(x)]
    for d in range(0, 7):
        if np.all(np.abs(x * 10 ** d - np.round(x * 10 ** d)) < 1e-6):
            return d
    return None


def back_out(cells: pd.DataFrame, precision: int | None) -> pd.DataFrame:
    """Every (n, d) within +-2 of each shown proportion's published counts that gives its value
    and interval at the written precision.

    Returns one row per shown proportion row with published counts: ``cell``, ``published_ok``
    (the published counts themselves give the value: nothing to learn) and the candidates'
    ``n_lo``, ``n_hi``, ``d_lo``, ``d_hi`` and ``count`` (0 when none fits).
    """
    p = cells[(cells["kind"] == "proportion") & cells["numerator"].notna() & cells["denominator"].notna()
              & cells["value"].notna()]
    if p.empty:
        return pd.DataFrame(columns=["cell", "published_ok", "n_lo", "n_hi", "d_lo", "d_hi", "count"])
    num, den = p["numerator"].to_numpy(), p["denominator"].to_numpy()
    off = np.array([(dn, dd) for dn in range(-RR3_SLACK, RR3_SLACK + 1) for dd in range(-RR3_SLACK, RR3_SLACK + 1)])
    n = num[:, None] + off[None, :, 0]
    d = den[:, None] + off[None, :, 1]
    ok = (n >= 0) & (d >= 1) & (n <= d)
    half = 0.5 * 10.0 ** -precision + 1e-12 if precision is not None else None

    def matches(computed, shown):
        shown = shown[:, None]
        tol = half if half is not None else 1e-9 * np.maximum(1.0, np.abs(shown))
        return ~np.isfinite(shown) | (np.abs(computed - shown) <= tol)

    with np.errstate(divide="ignore", invalid="ignore"):
        fit = ok & matches(n / np.where(d > 0, d, 1), p["value"].to_numpy())
    # the interval is Wilson's on an effective sample size of at most the denominator (clustered
    # events count for less: docs/methods.md), so it is at least as wide as Wilson's on (n, d):
    # a candidate fits when Wilson's on it lies within the shown interval (to the written precision)
    lo, hi = stats.wilson(np.where(ok, n, 0).ravel(), np.where(ok, d, 1).ravel())
    lo, hi = lo.reshape(n.shape), hi.reshape(n.shape)
    tol = half if half is not None else 1e-9
    shown_lo, shown_hi = p["ci_low"].to_numpy()[:, None], p["ci_high"].to_numpy()[:, None]
    fit &= (~np.isfinite(shown_lo) | (lo >= shown_lo - tol)) & (~np.isfinite(shown_hi) | (hi <= shown_hi + tol))
    centre = int(np.flatnonzero((off[:, 0] == 0) & (off[:, 1] == 0))[0])
    big = np.iinfo(np.int64).max
    nf, df_ = np.where(fit, n, big), np.where(fit, d, big)
    return pd.DataFrame({
        "cell": p.index.to_numpy(), "published_ok": fit[:, centre], "count": fit.sum(axis=1),
        "n_lo": nf.min(axis=1), "n_hi": np.where(fit, n, -1).max(axis=1),
        "d_lo": df_.min(axis=1), "d_hi": np.where(fit, d, -1).max(axis=1)})


# ---------------------------------------------------------------------------------------------
# bounds by linear programming


class _LP:
    """Tightest bounds of counts over the relations of some kinds.

    Counts that a relation says are equal (a gap row and its group, one population in several
    indicators) are merged into one variable first; then every equality with one count not yet
    known gives that count (propagation: cheap, and in regime 1 it settles most withheld
    counts). The counts still open are split into components (counts linked by relations
    through counts that are not known); each question is then a linear programme over one
    component's relations, solved by HiGHS. Methods take and give the system's variables.

    Parameters
    ----------
    s : the system.
    kinds : the relation kinds used.
    lo, hi : each variable's bounds before any relation.
    """

    def __init__(self, s: System, kinds, lo: np.ndarray, hi: np.ndarray):
        self.s = s
        kind = np.array(s.rel_kind, dtype=object)
        self.rel_ok = np.isin(kind, list(kinds)) if s.n_rels else np.zeros(0, bool)
        self.eq = np.array(s.rel_eq, dtype=bool)
        self.rhs = np.array(s.rel_rhs, dtype="float64")
        self.conflicts = 0
        A = s.matrix().tocsr()
        # equal counts -> one variable (``rep``: each system variable's merged variable)
        nnz = np.diff(A.indptr)
        pair = self.rel_ok & self.eq & (self.rhs == 0) & (nnz == 2)
        rows = np.flatnonzero(pair)
        first, second = A.indptr[rows], A.indptr[rows] + 1
        alias = rows[(A.data[first] == -A.data[second]) & (np.abs(A.data[first]) == 1)]
        a, b = A.indices[A.indptr[alias]], A.indices[A.indptr[alias] + 1]
        graph = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(s.n_vars, s.n_vars))
        self.n, self.rep = connected_components(graph, directed=False)
        self.lo = np.full(self.n, -np.inf)
        self.hi = np.full(self.n, np.inf)
        np.maximum.at(self.lo, self.rep, lo.astype("float64"))
        np.minimum.at(self.hi, self.rep, hi.astype("float64"))
        self.conflicts += int((self.lo > self.hi + _TOL).sum())  # equal counts with bounds that do not meet
        P = sparse.csr_matrix((np.ones(s.n_vars), (np.arange(s.n_vars), self.rep)), shape=(s.n_vars, self.n))
        self.A = (A @ P).tocsr()
        self.A.eliminate_zeros()
        self.rel_ok[alias] = False  # said by the merge
        self._propagate()
        self.fixed = self.lo == self.hi
        self._split()
        self.solves = 0
        self.infeasible = 0

    def _propagate(self) -> None:
        """Fix every count that an equality with all its other counts known gives, until none is new."""
        use = self.rel_ok & self.eq
        A = self.A[use]
        rhs = self.rhs[use]
        for _ in range(100):
            fixed = self.lo == self.hi
            known = A @ np.where(fixed, self.lo, 0.0)
            open_part = A.multiply((~fixed).astype("float64")[None, :]).tocsr()
            open_part.eliminate_zeros()  # the known counts' entries, now zeros
            n_open = np.diff(open_part.indptr)
            rows = np.flatnonzero(n_open == 1)
            if not len(rows):
                return
            var = open_part.indices[open_part.indptr[rows]]
            coef = open_part.data[open_part.indptr[rows]]
            value = (rhs[rows] - known[rows]) / coef
            changed = False
            for v, x in zip(var, value):
                if self.lo[v] == self.hi[v]:  # fixed by an earlier relation of this round
                    if abs(self.lo[v] - x) > _TOL * max(1.0, abs(x)):
                        self.conflicts += 1
                    continue
                if x < self.lo[v] - _TOL * max(1.0, abs(x)) or x > self.hi[v] + _TOL * max(1.0, abs(x)):
                    self.conflicts += 1  # a relation that is not true of this table: leave it to the LP
                    continue
                x = float(np.round(x)) if abs(x - np.round(x)) < _TOL * max(1.0, abs(x)) else x
                self.lo[v] = self.hi[v] = x
                changed = True
            if not changed:
                return

    def _split(self) -> None:
        """Components of the open counts, and the relations of each (those with an open count)."""
        n_rels = self.s.n_rels
        A = self.A.tocoo()
        live = self.rel_ok[A.row] & ~self.fixed[A.col]
        r, v = A.row[live], A.col[live]
        n = self.n + n_rels
        graph = sparse.coo_matrix((np.ones(len(r)), (v, self.n + r)), shape=(n, n))
        _, label = connected_components(graph, directed=False)
        self.comp = label[: self.n]
        rel_comp = np.full(n_rels, -1, dtype=np.int64)
        rel_comp[r] = self.comp[v]
        self.rels_of = defaultdict(list)
        for rel in np.flatnonzero(rel_comp >= 0):
            self.rels_of[int(rel_comp[rel])].append(int(rel))
        # each open count's relations, for neighbourhoods in big components
        self.var_rels = sparse.csr_matrix((np.ones(len(r)), (v, r)), shape=(self.n, n_rels))

    # --- in the merged variables ---------------------------------------------------------------

    def neighbourhood(self, v: int, cap: int = NEIGHBOURHOOD) -> list[int]:
        """The relations nearest to merged variable ``v`` (breadth first through open counts), at
        most about ``cap`` of them."""
        rels, seen_rel, seen_var, frontier = [], set(), {v}, [v]
        vr, rv = self.var_rels, self.A
        while frontier and len(rels) < cap:
            nxt = []
            for u in frontier:
                for r in vr.indices[vr.indptr[u]:vr.indptr[u + 1]]:
                    if r in seen_rel:
                        continue
                    seen_rel.add(r)
                    rels.append(int(r))
                    for w in rv.indices[rv.indptr[r]:rv.indptr[r + 1]]:
                        if not self.fixed[w] and w not in seen_var:
                            seen_var.add(w)
                            nxt.append(int(w))
            frontier = nxt
        return rels

    def _relations(self, m: int) -> list[int]:
        """The relations of the component of merged variable ``m`` (none for a known count)."""
        return [] if self.fixed[m] else self.rels_of.get(int(self.comp[m]), [])

    def is_big(self, m: int) -> bool:
        return len(self._relations(m)) > BIG_COMPONENT

    def solve(self, objective: dict, rels) -> _Point | None:
        """Minimise sum(coef * var) subject to the relations ``rels`` and the bounds; the solution
        (over the variables of ``rels`` and of the objective) or None when the programme has no
        solution."""
        rels = np.array(sorted(rels), dtype=np.int64)
        sub = self.A[rels] if len(rels) else sparse.csr_matrix((0, self.n))
        wanted = np.fromiter(objective, dtype=np.int64, count=len(objective))
        eq = self.eq[rels] if len(rels) else np.zeros(0, bool)
        rhs = self.rhs[rels] if len(rels) else np.zeros(0)
        # known counts are constants: moved to the right-hand side, so the programme is small
        used = np.unique(sub.indices.astype(np.int64))
        known = used[self.fixed[used]]
        if len(known):
            rhs = rhs - sub[:, known] @ self.lo[known]
        cols = np.unique(np.concatenate([used[~self.fixed[used]], wanted]))
        sub = sub[:, cols]
        c = np.zeros(len(cols))
        c[np.searchsorted(cols, wanted)] = np.fromiter(objective.values(), dtype="float64", count=len(objective))
        bounds = np.column_stack([self.lo[cols], self.hi[cols]])
        self.solves += 1
        res = linprog(c, A_ub=sub[~eq] if (~eq).any() else None, b_ub=rhs[~eq] if (~eq).any() else None,
                      A_eq=sub[eq] if eq.any() else None, b_eq=rhs[eq] if eq.any() else None,
                      bounds=bounds, method="highs")
        if res.status != 0:
            self.infeasible += 1
            return None
        return _Point(cols, res.x)

    def _solve_by_component(self, objective: dict) -> _Point:
        """Minimise ``objective`` (variable -> coefficient, its variables in different components or
        not) over their components at once: components are independent, so one programme gives
        each component's optimum. A component without a solution is found by solving the
        components one by one, and left out of the answer."""
        comps = defaultdict(dict)
        for v, c in objective.items():
            comps[int(self.comp[v])][v] = c
        rels = [r for c in comps for r in self.rels_of.get(c, [])]
        point = self.solve(objective, rels)
        if point is not None:
            return point
        parts = [self.solve(obj, self.rels_of.get(c, [])) for c, obj in comps.items()]
        parts = [p for p in parts if p is not None]
        if not parts:
            return _Point(np.zeros(0, np.int64), np.zeros(0))
        cols = np.concatenate([p.cols for p in parts])
        order = np.argsort(cols, kind="stable")
        return _Point(cols[order], np.concatenate([p.x for p in parts])[order])

    def _exact(self, vs, keep=lambda v: True, see=lambda point: None) -> dict:
        """Integer [low, high] of each merged variable of ``vs`` (left out when its component has
        no solution, or when ``keep(v)`` turns false on the way: the caller no longer needs it).

        One programme per round minimises (then maximises) one variable of every component at
        once; ``see`` is given every solution (a feasible point of the components solved).
        """
        out = {}
        queue = defaultdict(list)
        for v in vs:
            if self.fixed[v]:
                out[v] = _int_bounds(self.lo[v], self.hi[v])
            elif self.is_big(v):
                if not keep(v):
                    continue
                rels = self.neighbourhood(v)  # a relaxation: its points are not shown to ``see``
                low = self.solve({v: 1.0}, rels)
                high = self.solve({v: -1.0}, rels) if low is not None else None
                if high is not None:
                    out[v] = _int_bounds(low[v], high[v])
            else:
                queue[int(self.comp[v])].append(v)
        while queue:
            pick = []
            for c in list(queue):
                while queue[c] and not keep(queue[c][0]):
                    queue[c].pop(0)
                if queue[c]:
                    pick.append(queue[c].pop(0))
                if not queue[c]:
                    del queue[c]
            if not pick:
                break
            low = self._solve_by_component({v: 1.0 for v in pick})
            see(low)
            pick = [v for v in pick if v in low and keep(v)]
            if not pick:
                continue
            high = self._solve_by_component({v: -1.0 for v in pick})
            see(high)
            for v in pick:
                if v in high:
                    out[v] = _int_bounds(low[v], high[v])
        return out

    # --- in the system's variables ------------------------------------------------------------

    def relations_of(self, v: int) -> list[int]:
        """The relations of the component of system variable ``v`` (none for a known count)."""
        return self._relations(int(self.rep[v]))

    def exact_bounds(self, vs) -> dict:
        """Integer [low, high] of each system variable of ``vs`` (left out when no solution)."""
        exact = self._exact(sorted({int(self.rep[v]) for v in vs}))
        return {v: exact[int(self.rep[v])] for v in vs if int(self.rep[v]) in exact}

    def recoveries(self, targets, is_recovery, may_recover, rng: np.random.Generator) -> list[tuple[int, int, int]]:
        """(variable, low, high) of every target (a system variable) whose proven integer bounds
        make it a recovery.

        ``is_recovery(v, low, high)`` judges integer bounds; ``may_recover(v, a, b)`` says whether
        bounds that contain the feasible values a <= b can still be a recovery (a count is ruled
        out by feasible values alone). Feasible points come cheaply: a few programmes over all
        open components at once (minimise the targets' sum, maximise it, then random signs push
        each up or down), and every programme solved for one target is a feasible point for the
        rest of its component.
        """
        members = defaultdict(list)  # merged variable -> the targets it stands for
        for v in targets:
            members[int(self.rep[v])].append(int(v))
        seen_lo = np.full(self.n, np.inf)
        seen_hi = np.full(self.n, -np.inf)

        def open_(m):
            return not np.isfinite(seen_lo[m]) or any(may_recover(v, seen_lo[m], seen_hi[m]) for v in members[m])

        def see(point):
            seen_lo[point.cols] = np.minimum(seen_lo[point.cols], point.x)
            seen_hi[point.cols] = np.maximum(seen_hi[point.cols], point.x)

        merged = sorted(members)
        todo = [m for m in merged if not self.fixed[m]]
        for k in range(6):
            todo = [m for m in todo if open_(m)]
            if not todo:
                break
            signs = np.full(len(todo), 1.0 if k == 0 else -1.0) if k < 2 else rng.choice([-1.0, 1.0], len(todo))
            see(self._solve_by_component(dict(zip(todo, signs.tolist()))))
        candidates = [m for m in merged if self.fixed[m]] + [m for m in todo if open_(m)]
        exact = self._exact(candidates, keep=open_, see=see)
        return [(v, *b) for m, b in exact.items() for v in members[m] if is_recovery(v, *b)]


@dataclass
class _Point:
    """A solution of a programme: values ``x`` of the variables ``cols`` (sorted)."""

    cols: np.ndarray
    x: np.ndarray

    def __contains__(self, v: int) -> bool:
        k = np.searchsorted(self.cols, v)
        return bool(k < len(self.cols) and self.cols[k] == v)

    def __getitem__(self, v: int) -> float:
        return float(self.x[np.searchsorted(self.cols, v)])


def _int_bounds(low: float, high: float) -> tuple[int, int]:
    """The integers within [low, high] (counts are whole), allowing for the solver's tolerance."""
    return (math.ceil(low - _TOL * max(1.0, abs(low))), math.floor(high + _TOL * max(1.0, abs(high))))


# ---------------------------------------------------------------------------------------------
# the attack


def _row_out(keys: list, i: int, relation: str, quantity: str, low, high, detail: str) -> dict:
    """One recovery: the keys of cell ``i`` (``keys``: every cell's), what was learnt and how."""
    return {"relation": relation, **dict(zip(KEYS, keys[i])), "quantity": quantity,
            "bounds_low": low, "bounds_high": high, "detail": detail}


def attack(table: pd.DataFrame, schools: pd.DataFrame, threshold: int, regime: str) -> pd.DataFrame:
    """Try every public relation on a published indicator table; one row per successful recovery.

    Parameters
    ----------
    table : the indicator table as published (columns level, area_id, year, indicator,
        group_type, group, numerator, denominator, [people], value, ci_low, ci_high,
        suppressed; a withheld row has blank counts, or in the old engine's tables a shown
        denominator).
    schools : public knowledge: at least school_id and region of every school.
    threshold : the smallest count of people a shown row may have (``min_n`` in regime 1,
        6 in regime 2).
    regime : ``"school"`` (exact counts) or ``"publication"`` (counts randomly rounded to
        base 3: a published count c stands for a true count in [c - 2, c + 2]; values and
        intervals written to 0.001 for proportions).

    Returns
    -------
    DataFrame with :data:`RESULT_COLUMNS`: the relation that recovered it, the cell's keys,
    the quantity (numerator, denominator, people, rest_<count> for the rest of an
    overlapping group, value for a mean), the proven integer bounds and a detail in words.
    ``attrs["tried"]`` counts what was tried per relation (rows checked, relations used,
    counts bounded), ``attrs["lp_solves"]`` the linear programmes solved and
    ``attrs["infeasible"]`` those that had no solution (a relation that is not true of the
    engine, or an inconsistent table).
    """
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {REGIMES}, not {regime!r}")
    if regime == "release" and "regime" not in table:
        raise ValueError("a release's table says each row's regime (column 'regime': school or publication)")
    cells, has_people = read_table(table)
    if regime != "release":
        cells["regime"] = regime
    # each row's threshold: the one given, or in a release its regime's
    row_threshold = (cells["regime"].map(THRESHOLDS).to_numpy(dtype=np.int64, copy=True) if regime == "release"
                     else np.full(len(cells), int(threshold)))
    keys = list(zip(*(cells[c].tolist() for c in KEYS)))  # every cell's keys, for the report
    out: list[dict] = []
    tried: dict[str, int] = defaultdict(int)
    rounded = (cells["regime"] == "publication").to_numpy()
    publication = bool(rounded.any())
    # a release's secrets are the school reports' withheld cells: regime 1's threshold and rules
    secret = cells["secret"].to_numpy(dtype=bool) if regime == "release" else np.zeros(len(cells), bool)
    row_threshold[secret] = THRESHOLDS["school"]

    # --- small_shown and unperturbed: what the table shows outright
    out += _small_shown(cells, keys, row_threshold, tried)

    s = build_system(cells, has_people, schools, regime)
    lo, hi = np.array(s.lo), np.array(s.hi)
    var_cell, var_q = np.array(s.var_cell, dtype=np.int64), np.array(s.var_q, dtype=object)
    for kind, name in (("group_sum", "group_sum"), ("overlap", "overlap_rest"), ("level_sum", "level_sum"),
                       ("related", "related_indicator"), ("year", "year")):
        tried[name] += sum(k == kind for k in s.rel_kind)

    # --- back_out (publication): a value computed from other counts than the published ones
    if publication:
        precision = value_precision(cells[rounded])
        b = back_out(cells[rounded], precision)
        tried["back_out"] += len(b)
        for row in b[~b["published_ok"] & (b["count"] > 0)].itertuples(index=False):
            vn, vd = s.var(row.cell, "numerator"), s.var(row.cell, "denominator")
            # the true counts are among the candidates: the programme starts from them
            lo[vn], hi[vn] = max(lo[vn], row.n_lo), min(hi[vn], row.n_hi)
            lo[vd], hi[vd] = max(lo[vd], row.d_lo), min(hi[vd], row.d_hi)
            if row.count == 1:
                for q, v in (("numerator", row.n_lo), ("denominator", row.d_lo)):
                    out.append(_row_out(keys, row.cell, "back_out", q, int(v), int(v),
                                        f"the only counts within +-2 of the published "
                                        f"{cells.at[row.cell, 'numerator']:g}/{cells.at[row.cell, 'denominator']:g} "
                                        f"that give value {cells.at[row.cell, 'value']:g}"
                                        + ("" if precision is None else f" at {precision} decimals")))

    # --- which counts could be recoveries
    suppressed = cells["suppressed"].to_numpy(dtype=bool)
    shown_var = np.array(s.shown, dtype=bool)
    is_rest = np.array([q.startswith("rest_") for q in var_q], dtype=bool)
    gap_of = _gap_cells(cells)

    def small_applies(v: int) -> bool:
        """Whether proving this count small reveals 1..threshold-1 people behind a cell."""
        q = var_q[v]
        return (q in ("denominator", "people", "rest_denominator", "rest_people")
                or (rounded[var_cell[v]] and not secret[var_cell[v]] and q == "numerator"))

    def rest_visible(v: int) -> bool:
        """A rest is learnt from its group's row or gap row being shown (with the all row)."""
        i = var_cell[v]
        return not suppressed[i] or (gap_of[i] >= 0 and not suppressed[gap_of[i]])

    # the blank counts of withheld rows, and the rest of each group whose row is shown; not the counts
    # of derived rows (they have none of their own: their sources are attacked), nor a count that is
    # the same records as a count shown in another row (it is public, and checked there by small_shown)
    derived = cells["kind"].isin(DERIVED_KINDS).to_numpy() | cells["indicator"].isin(DERIVED_IDS).to_numpy()
    public = _shown_elsewhere(s, shown_var)
    # in a release, the secrets are the cells the school reports withhold (column ``secret``), shown
    # rounded in publication or not; a cell publication alone withholds is attacked by publication's own test
    if regime == "release":
        exact = _shown_elsewhere(s, shown_var & ~rounded[var_cell])  # the same records shown exactly
        targets = [v for v in range(s.n_vars)
                   if not is_rest[v] and secret[var_cell[v]] and not derived[var_cell[v]] and not exact[v]]
    else:
        # a column ``public`` marks cells another output shows exactly (publication's school rows
        # that the school reports show): withheld here, they are no secret of the release
        elsewhere = cells["public"].to_numpy(dtype=bool) if "public" in cells else np.zeros(len(cells), bool)
        targets = [v for v in range(s.n_vars)
                   if (not is_rest[v] and not shown_var[v] and suppressed[var_cell[v]] and not derived[var_cell[v]]
                       and not public[v] and not elsewhere[var_cell[v]])
                   or (is_rest[v] and small_applies(v) and rest_visible(v))]

    def is_recovery(v: int, low: int, high: int) -> bool:
        """Proven bounds that give something away: a withheld count pinned at >= 1, or a count
        (of people) proven to be 1..threshold-1; the rest of a group only when small."""
        small = small_applies(v) and low >= 1 and high <= row_threshold[var_cell[v]] - 1
        return small or (not is_rest[v] and low == high and low >= 1)

    def may_recover(v: int, a: float, b: float) -> bool:
        """Whether bounds containing the feasible values a <= b can still be a recovery."""
        if a <= _TOL:  # zero is feasible: the low bound is 0
            return False
        small = small_applies(v) and b < row_threshold[var_cell[v]] - _TOL
        k = max(1, math.floor(b - 1 + _TOL) + 1)  # the smallest whole count a pin could be at
        pinned = not is_rest[v] and k < a + 1 - _TOL
        return small or pinned

    lp = _LP(s, STAGES[-1][1], lo, hi)
    rng = np.random.default_rng(0)
    tried["lp_targets"] += len(targets)
    found = lp.recoveries(targets, is_recovery, may_recover, rng)
    solves, infeasible, conflicts = lp.solves, lp.infeasible, lp.conflicts
    by_var = s.matrix().tocsc()  # each count's relations, for the report
    kinds_of = dict(STAGES) | {"overlap_rest": STAGES[-1][1]}
    # name each recovery after the first stage whose relations prove it
    relation_of = {v: ("overlap_rest" if is_rest[v] else STAGES[-1][0]) for v, _, _ in found}
    unnamed = [v for v, _, _ in found if not is_rest[v]]
    for name, kinds in STAGES[:-1]:
        if not unnamed:
            break
        stage = _LP(s, kinds, lo, hi)
        proven = stage.exact_bounds(unnamed)
        solves += stage.solves
        for v, b in proven.items():
            if is_recovery(v, *b):
                relation_of[v] = name
        unnamed = [v for v in unnamed if relation_of[v] == STAGES[-1][0]]
    for v, low, high in found:
        relation = relation_of[v]
        i = int(var_cell[v])
        why = "pinned exactly" if low == high else f"proven between 1 and {row_threshold[i] - 1}"
        own = by_var.indices[by_var.indptr[v]:by_var.indptr[v + 1]]  # the relations the count is in
        notes = sorted({s.rel_note[r] for r in own if s.rel_kind[r] in kinds_of[relation]})
        out.append(_row_out(keys, i, relation, var_q[v], low, high,
                            f"{why}, through {len(lp.relations_of(v))} open relations; its own: "
                            + "; ".join(notes[:6])))

    # --- values pinned by a difference of two means or shares
    out += _value_pins(cells, keys, tried)

    result = pd.DataFrame(out, columns=RESULT_COLUMNS)
    result.attrs["tried"] = dict(tried)
    result.attrs["lp_solves"] = solves
    result.attrs["infeasible"] = infeasible
    result.attrs["conflicts"] = conflicts
    result.attrs["cells"] = len(cells)
    result.attrs["withheld"] = int(suppressed.sum())
    return result


#: the relations that say two counts are the same records (not a sum or a bound)
IDENTITIES = frozenset({"same denominator population", "surveyed school: all families", "surveyed area: all families",
                        "instrument: all families",
                        "reach_by_type over all families", "all contacts", "school-initiated contacts",
                        "portal users", "new families", "representation numerator", "representation denominator",
                        "self-review gap n", "gap row = its group"})
#: rows computed from other rows: a gap, a difference, an odds ratio, alpha (their counts are their sources')
DERIVED_KINDS = frozenset({"gap", "difference", "model", "alpha"})
DERIVED_IDS = frozenset({"respondent_representation", "scale_alpha"})


def _surveyed_area_relations(s: System, cells: pd.DataFrame, schools: pd.DataFrame, cell) -> None:
    """A region (or the nation) whose every school ran the survey in a year: its survey response
    rate counts all its families, the same records as its reach denominators (the school identity
    "surveyed school: all families", summed). Which schools ran it is public: they have its rows."""
    region_of = dict(zip(schools["school_id"].astype("str"), schools["region"].astype("str")))
    members = {("national", "NZ"): set(region_of)}
    for sid, reg in region_of.items():
        members.setdefault(("region", reg), set()).add(sid)
    srr = cells[cells["indicator"] == "survey_response_rate"]
    surveyed = srr[srr["level"] == "school"].groupby("year")["area_id"].agg(lambda a: set(map(str, a))).to_dict()
    # each area's rows of the rate, read in one pass
    for (level, area, year), rows in srr[srr["level"] != "school"].groupby(["level", "area_id", "year"], sort=False,
                                                                           observed=True):
        if not members.get((level, area)) or not members[(level, area)] <= surveyed.get(year, set()):
            continue
        for gt, g in zip(rows["group_type"], rows["group"]):
            a, b = cell(level, area, year, "survey_response_rate", gt, g), cell(level, area, year, "reach", gt, g)
            for q in ("denominator", "people"):
                va, vb = s.var(a, q), s.var(b, q)
                if a >= 0 and b >= 0 and va >= 0 and vb >= 0:
                    s.relate("related", [(va, 1), (vb, -1)], note="surveyed area: all families")


def _shown_elsewhere(s: System, shown_var: np.ndarray) -> np.ndarray:
    """Per variable, whether an identity (:data:`IDENTITIES`) makes it the same count as a shown one."""
    rel = np.array(s.t_rel, dtype=np.int64)
    var = np.array(s.t_var, dtype=np.int64)
    ident = np.array([n in IDENTITIES and eq for n, eq in zip(s.rel_note, s.rel_eq)], dtype=bool)
    pick = ident[rel] if len(rel) else np.zeros(0, bool)
    r, v = rel[pick], var[pick]
    order = np.argsort(r, kind="stable")
    r, v = r[order], v[order]
    # identities have two terms: link their variables and take the connected classes
    first = np.r_[True, r[1:] != r[:-1]] if len(r) else np.zeros(0, bool)
    a, b = v[first], v[np.r_[first[1:], True]] if len(v) else v
    graph = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(s.n_vars, s.n_vars))
    _, label = connected_components(graph, directed=False)
    has_shown = np.zeros(label.max() + 1, dtype=bool)
    has_shown[label[shown_var]] = True
    return has_shown[label]


def _gap_cells(cells: pd.DataFrame) -> np.ndarray:
    """The gap row of each cell (same keys, indicator ``<id>_gap_vs_rest``), or -1."""
    index = {k: i for i, k in enumerate(zip(*(cells[c] for c in KEYS)))}
    gap_keys = zip(cells["level"], cells["area_id"], cells["year"], cells["indicator"] + GAP_SUFFIX,
                   cells["group_type"], cells["group"])
    return np.array([index.get(k, -1) for k in gap_keys], dtype=np.int64)


def _small_shown(cells: pd.DataFrame, keys: list, thresholds: np.ndarray, tried: dict) -> list[dict]:
    """Shown counts that are themselves small (and, in publication, shown 0% / 100% over few
    people, and counts that were not perturbed); ``thresholds``: each row's."""
    out = []
    for i, row, threshold in zip(cells.index, cells.itertuples(index=False), thresholds):
        tried["small_shown"] += 1
        regime = row.regime
        publication = regime == "publication"
        counts = {q: getattr(row, q) for q in COUNTS if pd.notna(getattr(row, q))}
        if row.kind == "model":
            counts.pop("numerator", None)
        bounds = {q: _published_bounds(c, regime) for q, c in counts.items()}
        checked = ("numerator", "denominator", "people") if publication else ("denominator", "people")
        for q in checked:
            if q not in bounds or (q == "numerator" and not _has_numerator(row.kind, row.indicator)):
                continue
            low, high = bounds[q]
            # a denominator of 1..t-1 has 1..t-1 people behind it (each has at least one)
            if low >= 1 and high <= threshold - 1:
                what = "withheld row shows its" if row.suppressed else "shown"
                out.append(_row_out(keys, i, "small_shown", q, low, high, f"{what} {q} {counts[q]:g}"))
        if publication:
            for q, c in counts.items():
                if c % 3 != 0:
                    tried["unperturbed"] += 1
                    out.append(_row_out(keys, i, "unperturbed", q, c, c, f"{q} {c:g} is not a multiple of 3"))
            # a shown 0% or 100% over fewer than 10 people: everyone in the group did, or none did
            v = row.value
            if row.kind == "proportion" and not row.suppressed and pd.notna(v) and v in (0.0, 1.0):
                people_high = min(bounds[q][1] for q in ("denominator", "people") if q in bounds) \
                    if ("denominator" in bounds or "people" in bounds) else math.inf
                if people_high < ALL_OR_NONE_MIN:
                    out.append(_row_out(keys, i, "small_shown", "value", v, v,
                                        f"{v:.0%} over at most {people_high:g} people"))
    return out


def _value_pins(cells: pd.DataFrame, keys: list, tried: dict) -> list[dict]:
    """A shown difference of two rows and one shown side give the other side's value.

    ``self_review_gap`` = leaders' mean - whānau mean (group ``<dim>``, sides
    ``<dim>:leaders`` and ``<dim>:whanau`` of ``self_review_rating``); ``perception_gap`` =
    staff - whānau favourable share (sides ``staff:<scale>`` and ``whanau:<scale>`` of
    ``scale_favourable``).
    """
    out = []
    shown = cells[~cells["suppressed"] & cells["value"].notna()]
    value = {tuple(k): v for k, v in zip(shown[KEYS].itertuples(index=False), shown["value"])}
    index = {tuple(k): i for i, k in zip(cells.index, cells[KEYS].itertuples(index=False))}
    for gap_id, side_id, first, second in (("self_review_gap", "self_review_rating", "{g}:leaders", "{g}:whanau"),
                                           ("perception_gap", "scale_favourable", "staff:{g}", "whanau:{g}")):
        gaps = shown[shown["indicator"] == gap_id]
        for row in gaps.itertuples(index=False):
            tried["related_indicator"] += 1
            key = (row.level, row.area_id, row.year, side_id, row.group_type if side_id == "self_review_rating"
                   else "scale")
            a, b = key + (first.format(g=row.group),), key + (second.format(g=row.group),)
            for known, hidden, sign in ((a, b, -1), (b, a, 1)):
                if known in value and hidden not in value and hidden in index:
                    v = value[known] + sign * row.value
                    out.append(_row_out(keys, index[hidden], "related_indicator", "value", v, v,
                                        f"{gap_id} {row.value:g} and the shown {known[-1]} give the withheld value"))
    return out


# ---------------------------------------------------------------------------------------------
# checking the attacker's knowledge


def check_relations(table: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    """Relations that do not hold on a table where every count is shown (regime 1, nothing withheld).

    The attacker's recoveries are proofs only if its relations are true of the engine; run on
    an engine's table computed with ``min_n=0`` this returns an empty frame. A relation with
    a blank count is not checked. Returns columns kind, note, residual and cells (the keys and
    count of the relation's first term); ``attrs["checked"]`` counts the relations checked per kind.
    """
    cells, has_people = read_table(table)
    s = build_system(cells, has_people, schools, "school", value_relations=False)
    A = s.matrix().tocsr()
    x = np.array(s.lo)
    is_rest = np.array([q.startswith("rest_") for q in s.var_q], dtype=bool)
    hidden = ~np.array(s.shown, dtype=bool) & ~is_rest
    # a rest is defined by its one relation (rest - all + group = 0): give it its value
    t_rel, t_var = np.array(s.t_rel, dtype=np.int64), np.array(s.t_var, dtype=np.int64)
    defining = t_rel[is_rest[t_var]]
    x[t_var[is_rest[t_var]]] = -(A @ np.where(is_rest, 0.0, x))[defining]
    lhs = A @ x
    rhs = np.array(s.rel_rhs)
    eq = np.array(s.rel_eq, dtype=bool)
    uses_hidden = (abs(A) @ hidden.astype("float64")) > 0
    bad = np.where(eq, np.abs(lhs - rhs) > 1e-6, lhs - rhs > 1e-6) & ~uses_hidden
    first_var = A.indices[A.indptr[:-1]] if A.nnz else np.zeros(0, np.int64)
    rows = []
    for r in np.flatnonzero(bad):
        v = int(first_var[r])
        i = s.var_cell[v]
        rows.append({"kind": s.rel_kind[r], "note": s.rel_note[r], "residual": float(lhs[r] - rhs[r]),
                     "cells": " ".join(str(cells.at[i, k]) for k in KEYS) + " " + s.var_q[v]})
    out = pd.DataFrame(rows, columns=["kind", "note", "residual", "cells"])
    out.attrs["checked"] = dict(pd.Series(s.rel_kind)[~uses_hidden].value_counts())  # relations per kind
    return out
