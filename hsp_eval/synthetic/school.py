"""Synthetic generator, part 2: everything one school records, year by year.

Given a school's roll (:mod:`hsp_eval.synthetic.roll`), this draws, from the school's own
stream ``default_rng([seed, 2, school_index])``: its activity calendar and who was invited
and came, its contacts with families, parent-portal logins, the whānau and staff surveys,
the inquiry steps and progress of its target students, its rubric self-review and what
surveyed families report doing. The known effects of :data:`hsp_eval.synthetic.build.KNOWN_EFFECTS`
are written in here; their parameters are the constants below.

Tables come back as columns of numbers (codes, not yet strings): identifiers are the
numbers :mod:`hsp_eval.synthetic.build` turns into pseudonymous id strings, categories are
indexes of their vocabulary, dates are days since 1970-01-01, scores are integers in tenths.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import numpy as np
from scipy.special import expit, ndtr, ndtri

from hsp_eval.data import vocab
from hsp_eval.synthetic.roll import CAP3, MAORI, NOT_STATED_MASK, PACIFIC, PRIO, World
from hsp_eval.synthetic.text import BARRIER_BASE, INSTRUMENTS, SCALES, TITLES

ACTIVITY_TYPES = tuple(vocab.ACTIVITY_TYPES)
A = {t: k for k, t in enumerate(ACTIVITY_TYPES)}

# --- effect 1: who comes to what (log-odds, for families reached that year) -------------------
#: intercept of attending one open activity, for a European family with average engagement
OPEN_LOGODDS = {"celebration": -0.4, "fundraising": -1.4, "information_evening": -1.3,
                "volunteering": -2.3, "community_event": -1.9, "consultation": -2.0,
                "learning_workshop": -1.8, "governance": -5.0}
#: offset of a family's prioritised group vs European: (Māori, Pacific, Asian/MELAA/Other)
ETHNIC_OFFSETS = {"information_evening": (-0.8, -0.8, -0.3), "fundraising": (-0.8, -0.7, -0.4),
                  "volunteering": (-0.6, -0.6, -0.4), "governance": (-0.6, -0.6, -0.4),
                  "celebration": (-0.2, 0.0, -0.2), "consultation": (0.5, 0.5, 0.0),
                  "community_event": (0.6, 0.6, 0.1)}
ENGAGEMENT_SD = 0.8          # family engagement latent on the log-odds of each open activity
BOARD_ATTENDANCE = 0.8       # a board/PTA family attends each governance meeting
# --- effect 6: invitations and new families --------------------------------------------------
#: invited families that were reached that year attend with this probability
INVITED_UPTAKE = {"learning_conference": 0.92, "goal_setting": 0.88, "iep_meeting": 0.92,
                  "home_visit": 0.90, "learning_workshop": 0.70}
SECONDARY_CONFERENCE_UPTAKE = 0.85
NEW_FAMILY_SHIFT = -0.55     # probit shift of P(reached) for a family new to the school
ENGAGEMENT_SHARE = 0.5       # share of the yearly reach latent that persists (family effect)
# --- effect 2: school 0 ------------------------------------------------------------------------
SCHOOL0_MAORI_REACH = (0.30, 0.65)
SCHOOL0_OTHER_REACH = 0.75
# --- effect 4: co-design and accelerated progress -----------------------------------------------
ACCEL_INTERCEPT = -1.3
ACCEL_CODESIGN = float(np.log(2.5))
ACCEL_START = -0.35          # per 25 points of start score above the expected score for the year level
ACCEL_LEVEL = -0.05          # per year level above 6
SCALE_BASE, SCALE_GAIN = 300, 50   # expected score = 300 + 50 * year level; one year's gain = 50
# --- effect 5: perception gaps ------------------------------------------------------------------
STAFF_FAVOURABLE_GAP = 0.15
SCALE_OFFSET = {"true_partnership": -0.1, "inclusive_culture": 0.3, "two_way_communication": 0.0,
                "learning_at_home": -0.05}
CUTS = np.array([-1.5, -0.8, 0.0, 1.1])   # latent -> 1..5; favourable (>= 4) when latent > 0
REVIEW_DIMENSIONS = ("vision_and_culture", "collaborative_practice", "two_way_communication",
                     "resources_and_review", "time")
REVIEW_SHIFT = {"leaders": 0.7, "staff": 0.35, "whanau": 0.0}
# --- families' own propensities (persistent over years; docs/synthetic.md, "Clustering") ---------
#: sd of each family trait: contact rate (log scale), starting contacts, replying, hearing about
#: behaviour or attendance, hearing good news (log-odds or log-multiplier), taking up an invitation
TRAIT_SD = {"contact": 0.6, "start": 1.0, "reply": 1.0, "deficit": 1.2, "good_news": 0.8, "uptake": 0.8}
TRAITS = tuple(TRAIT_SD)
#: sd of a school's year-to-year shock to reach (probit) and to its contact mix (log-odds)
YEAR_SHOCK_REACH, YEAR_SHOCK_CONTACT = 0.08, 0.15
# --- effect 3: contact purposes ------------------------------------------------------------------
PURPOSES = vocab.PURPOSES       # learning, wellbeing, good_news, behaviour, attendance, administration
FAMILY_PURPOSE_P = np.array([0.30, 0.20, 0.03, 0.05, 0.12, 0.30])
CHANNELS = vocab.CHANNELS
# face_to_face, phone, email, text, portal_message, app_message, letter, video_call, home_visit
CHANNEL_P = {"school": np.array([0.08, 0.15, 0.35, 0.15, 0.10, 0.12, 0.02, 0.02, 0.01]),
             "school_deficit": np.array([0.07, 0.45, 0.20, 0.20, 0.0, 0.03, 0.05, 0.0, 0.0]),
             "family": np.array([0.12, 0.20, 0.35, 0.13, 0.08, 0.10, 0.0, 0.02, 0.0])}
CHANNEL_REPLY = np.array([0.95, 0.9, 0.55, 0.5, 0.45, 0.5, 0.25, 0.9, 0.95])
# --- learning at home, reported ------------------------------------------------------------------
REPORTED_TYPES = ("learning_conference", "learning_workshop", "information_evening", "celebration",
                  "volunteering", "fundraising", "consultation", "governance", "community_event",
                  "learning_at_home")
LEARNING_AT_HOME = (0.80, 0.86, 0.88)    # European/other, Māori, Pacific (prioritised)

MODES = vocab.MODES  # in_person, online, home, community_venue
MODE_P = {"learning_conference": (0.85, 0.15, 0, 0), "goal_setting": (0.85, 0.15, 0, 0),
          "iep_meeting": (0.9, 0.1, 0, 0), "home_visit": (0, 0, 1, 0),
          "learning_workshop": (0.75, 0.2, 0, 0.05), "consultation": (0.45, 0.1, 0, 0.45),
          "governance": (0.9, 0.1, 0, 0), "information_evening": (0.8, 0.2, 0, 0),
          "celebration": (0.85, 0, 0, 0.15), "volunteering": (0.9, 0, 0, 0.1),
          "fundraising": (0.9, 0, 0, 0.1), "community_event": (0.15, 0, 0, 0.85)}

# invitation kinds
OPEN, ALL, TARGET, IEP, HOME, INVITED = range(6)
TERMS = (((2, 3), (4, 11)), ((5, 1), (7, 4)), ((7, 21), (9, 26)), ((10, 13), (12, 12)))
MONTH_FACTOR = np.array([1.3, 1.1, 0.8, 1.0, 1.0, 1.2, 1.0, 1.0, 0.8, 0.9, 1.3])  # Feb..Dec

ITEMS = [(inst, item_id, scale, rev) for inst, items in INSTRUMENTS.items()
         for item_id, scale, _, rev in items]
INSTRUMENT_NAMES = tuple(INSTRUMENTS)


@lru_cache(maxsize=256)
def term_days(year: int) -> tuple:
    """Per term: (weekdays, Saturdays) as days since 1970-01-01."""
    out = []
    for (m0, d0), (m1, d1) in TERMS:
        days = np.arange(np.datetime64(f"{year}-{m0:02d}-{d0:02d}"),
                         np.datetime64(f"{year}-{m1:02d}-{d1:02d}") + 1).astype(np.int64)
        dow = (days + 3) % 7  # 0 = Monday
        out.append((days[dow < 5], days[dow == 5]))
    return tuple(out)


class Tables:
    """Collects columns per table (lists of arrays) and concatenates them."""

    def __init__(self):
        self.cols = defaultdict(lambda: defaultdict(list))

    def add(self, table: str, n: int, **cols) -> None:
        for k, v in cols.items():
            arr = np.asarray(v)
            self.cols[table][k].append(np.full(n, arr) if arr.ndim == 0 else arr)

    def result(self) -> dict[str, dict[str, np.ndarray]]:
        return {t: {k: np.concatenate(v) for k, v in c.items()} for t, c in self.cols.items()}


def _group3(prio: np.ndarray) -> np.ndarray:
    """Prioritised group -> 0 European/Not stated, 1 Māori, 2 Pacific, 3 Asian/MELAA/Other."""
    return np.array([0, 1, 2, 3, 3, 3, 0])[prio]


def _offsets(prio: np.ndarray, t: str) -> np.ndarray:
    off = ETHNIC_OFFSETS.get(t)
    if off is None:
        return np.zeros(len(prio))
    return np.array([0.0, *off])[_group3(prio)]


def _first_per_group(groups: np.ndarray, key: np.ndarray, n_groups: int) -> np.ndarray:
    """For each group 0..n-1 the position of its row with the smallest key (-1 if none)."""
    order = np.lexsort((key, groups))
    g = groups[order]
    first = np.ones(len(g), dtype=bool)
    first[1:] = g[1:] != g[:-1]
    out = np.full(n_groups, -1, dtype=np.int64)
    out[g[first]] = order[first]
    return out


def _pick_child(rng, finv, student, rows, F) -> np.ndarray:
    """Per family, one of its children among ``rows`` (a boolean mask), or -1."""
    pos = _first_per_group(finv[rows], rng.random(int(rows.sum())), F)
    if not rows.any():
        return np.full(F, -1, dtype=np.int64)
    return np.where(pos >= 0, student[rows][np.maximum(pos, 0)], -1)


def school_tables(world: World, i: int, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """All tables except schools/enrolments/survey_items for school ``i``, as code columns."""
    rng = np.random.default_rng([seed, 2, i])
    traits = family_traits(len(world.rolls[i].fam_u), seed, i)
    out = Tables()
    for k, y in enumerate(world.years):
        _school_year(rng, world, i, y, k, out, traits)
    return out.result()


def family_traits(n_families: int, seed: int, i: int) -> dict[str, np.ndarray]:
    """Each family's own propensities, N(0, sd) per trait of :data:`TRAIT_SD`, the same every year.

    Drawn from their own stream ``default_rng([seed, 4, i])``, so the rest of a school's data
    does not depend on them. They make a family's contacts, replies and attendances hang
    together, as in real schools, where a few families make most contacts.

    Examples
    --------
    >>> t = family_traits(1000, 7, 0)
    >>> sorted(t) == sorted(TRAITS), round(float(t["start"].std()), 1)
    (True, 1.0)
    """
    rng = np.random.default_rng([seed, 4, i])
    z = rng.normal(0, 1, (len(TRAITS), n_families))
    return {name: TRAIT_SD[name] * z[k] for k, name in enumerate(TRAITS)}


def _school_year(rng, world: World, i: int, y: int, k: int, out: Tables, traits: dict) -> None:
    s, r = world.schools, world.rolls[i]
    p = {name: v[i] for name, v in s.params.items()}
    years = world.years
    secondary = s.is_secondary(i)
    # ---------------- families enrolled this year ----------------
    sel = np.flatnonzero(r.row_year == y)
    if sel.size == 0:
        return
    rc, lvl, tgt = r.row_child[sel], r.row_level[sel], r.row_target[sel]
    fams, finv = np.unique(r.child_fam[rc], return_inverse=True)
    F = len(fams)
    mask = np.zeros(F, dtype=np.int64)
    cm = r.child_mask[rc].astype(np.int64)
    np.bitwise_or.at(mask, finv, np.where(cm == NOT_STATED_MASK, 0, cm))
    mask[mask == 0] = NOT_STATED_MASK   # 'Not stated' only when no child has a group
    prio = PRIO[mask]
    prev = np.unique(r.child_fam[r.row_child[r.row_year == y - 1]])
    new = ~np.isin(fams, prev)
    u = r.fam_u[fams]
    student = r.child_global[rc]
    rep = student[_first_per_group(finv, rng.random(sel.size), F)]          # a child per family
    target_child = _pick_child(rng, finv, student, tgt, F)
    iep_child = _pick_child(rng, finv, student, r.child_iep[rc], F)
    # ---------------- reached this year (effects 2 and 6) ----------------
    frac = (y - years[0]) / (years[-1] - years[0]) if len(years) > 1 else 0.0
    if i == 0:
        lo_p, hi_p = SCHOOL0_MAORI_REACH
        base = np.where(mask & (1 << MAORI) > 0, ndtri(lo_p + (hi_p - lo_p) * frac), ndtri(SCHOOL0_OTHER_REACH))
    else:
        shock = YEAR_SHOCK_REACH * rng.normal()  # a school's year: staff, events, weather, cohorts
        base = np.full(F, ndtri(p["reach"]) + p["reach_slope"] * (y - years[0]) + shock)
    latent = np.sqrt(ENGAGEMENT_SHARE) * u + np.sqrt(1 - ENGAGEMENT_SHARE) * rng.normal(0, 1, F)
    reached = latent < base + NEW_FAMILY_SHIFT * new
    # ---------------- the activity calendar ----------------
    acts = _calendar(rng, s, i, y, secondary, has_target=bool((target_child >= 0).any()),
                     has_iep=bool((iep_child >= 0).any()), maori=float(np.mean(mask & (1 << MAORI) > 0)),
                     pacific=float(np.mean(mask & (1 << PACIFIC) > 0)))
    n_act = len(acts["type"])
    # ---------------- attendance ----------------
    att_fam, att_act, att_student, att_inv, att_att = [], [], [], [], []
    attended_any = np.zeros(F, dtype=bool)
    att_type = np.zeros((F, len(ACTIVITY_TYPES)), dtype=bool)

    def record(a, fam_idx, stud, invited, attended):
        att_fam.append(fam_idx)
        att_act.append(np.full(len(fam_idx), a))
        att_student.append(stud)
        att_inv.append(np.full(len(fam_idx), invited, dtype=np.int8) if np.ndim(invited) == 0 else invited)
        att_att.append(attended)
        attended_any[fam_idx[attended]] = True
        att_type[fam_idx[attended], acts["type"][a]] = True

    goal_attended = np.zeros(F, dtype=bool)
    board = _board_families(rng, reached, u, prio, int(p["board_families"]))
    open_acts = [a for a in range(n_act) if acts["kind"][a] == OPEN]
    for a in range(n_act):
        kind, t = acts["kind"][a], ACTIVITY_TYPES[acts["type"][a]]
        if kind == OPEN:
            continue
        if kind == ALL:
            inv, stud = np.arange(F), rep
        elif kind == TARGET:
            extra = rng.random(F) < 0.05
            inv = np.flatnonzero((target_child >= 0) | extra)
            stud = np.where(target_child[inv] >= 0, target_child[inv], rep[inv])
        elif kind == IEP:
            inv = np.flatnonzero(iep_child >= 0)
            stud = iep_child[inv]
        elif kind == HOME:
            inv = np.flatnonzero((target_child >= 0) & (rng.random(F) < 0.3))
            stud = np.full(len(inv), -1)
        else:  # INVITED workshop
            inv = np.flatnonzero((target_child >= 0) | (rng.random(F) < 0.10))
            stud = np.full(len(inv), -1)
        q = SECONDARY_CONFERENCE_UPTAKE if (secondary and t == "learning_conference") else INVITED_UPTAKE[t]
        came = reached[inv] & (rng.random(len(inv)) < expit(_centred(q, TRAIT_SD["uptake"]) + traits["uptake"][fams[inv]]))
        if t == "goal_setting":
            goal_attended[inv[came]] = True
        record(a, inv, stud, 1, came)
        if kind in (TARGET, INVITED):  # a few walk-ins who were not on the list
            pool = np.flatnonzero(reached & ~np.isin(np.arange(F), inv))
            walk = rng.choice(pool, min(len(pool), int(rng.poisson(1.0))), replace=False)
            walk.sort()
            wstud = rep[walk] if t == "goal_setting" else np.full(len(walk), -1)
            record(a, walk, wstud, 0, np.ones(len(walk), dtype=bool))
    R = np.flatnonzero(reached)
    if open_acts and R.size:
        logits = np.empty((R.size, len(open_acts)))
        for j, a in enumerate(open_acts):
            t = ACTIVITY_TYPES[acts["type"][a]]
            logits[:, j] = OPEN_LOGODDS[t] + p["open_shift"] + _offsets(prio[R], t) + ENGAGEMENT_SD * u[R]
        prob = expit(logits)
        for j, a in enumerate(open_acts):
            if ACTIVITY_TYPES[acts["type"][a]] == "governance":
                prob[board[R], j] = BOARD_ATTENDANCE
        came = rng.random(prob.shape) < prob
        # a reached family came to at least one activity
        none = ~came.any(axis=1) & ~attended_any[R]
        if none.any():
            cdf = np.cumsum(prob[none], axis=1)
            pick = np.minimum((rng.random(int(none.sum()))[:, None] * cdf[:, -1:] > cdf).sum(axis=1),
                              len(open_acts) - 1)
            came[np.flatnonzero(none), pick] = True
        for j, a in enumerate(open_acts):
            who = R[came[:, j]]
            record(a, who, np.full(len(who), -1), -1, np.ones(len(who), dtype=bool))
    if att_fam:
        fam_col = np.concatenate(att_fam)
        act_col = np.concatenate(att_act)
        order = np.lexsort((r.fam_global[fams[fam_col]], act_col))
        n = len(order)
        out.add("attendance", n, _school=i, _year=y, _aseq=acts["seq"][act_col[order]],
                family_id=r.fam_global[fams[fam_col[order]]], student_id=np.concatenate(att_student)[order],
                invited=np.concatenate(att_inv)[order], attended=np.concatenate(att_att)[order])
    order = np.argsort(acts["seq"])
    out.add("activities", n_act, _school=i, _year=y, _aseq=acts["seq"][order], school_id=i,
            date=acts["date"][order], activity_type=acts["type"][order], mode=acts["mode"][order],
            title=acts["title"][order])
    # ---------------- contacts ----------------
    _contacts(rng, out, i, y, p, r.fam_global[fams], finv, student, target_child, u,
              {name: v[fams] for name, v in traits.items()})
    # ---------------- portal ----------------
    share = min(0.95, p["portal"] + 0.03 * (y - years[0]))
    has = np.flatnonzero(r.fam_w[fams] < share)
    if has.size:
        dormant = np.where(rng.random(has.size) < 0.15, 0.2, 1.0)
        mu = (r.fam_mu[fams[has]] * dormant)[:, None] * MONTH_FACTOR[None, :]
        logins = rng.poisson(mu)
        out.add("portal_usage", logins.size, school_id=i, family_id=np.repeat(r.fam_global[fams[has]], 11),
                _year=y, _month=np.tile(np.arange(2, 13), has.size), logins=logins.ravel())
    # ---------------- surveys and reported participation ----------------
    if p["survey_skip"] != k:
        _surveys(rng, out, world, i, y, k, p, r.fam_global[fams], mask, prio, reached, att_type, u)
    # ---------------- inquiry and progress of target students ----------------
    _inquiry(rng, out, i, y, p, student[tgt], lvl[tgt], goal_attended[finv[tgt]])
    # ---------------- self-review ----------------
    _self_review(rng, out, i, y, k, p, s.roll[i])


def _board_families(rng, reached, u, prio, n_board) -> np.ndarray:
    """Families on the board or PTA this year: reached families, favouring governance propensity."""
    board = np.zeros(len(reached), dtype=bool)
    cand = np.flatnonzero(reached)
    if cand.size:
        w = OPEN_LOGODDS["governance"] + _offsets(prio[cand], "governance") + ENGAGEMENT_SD * u[cand]
        key = w + rng.gumbel(size=cand.size)
        board[cand[np.argsort(-key)[:n_board]]] = True
    return board


def _calendar(rng, s, i, y, secondary, has_target, has_iep, maori, pacific) -> dict[str, np.ndarray]:
    """This year's activities: type, kind of invitation, date, mode, title, sequence number."""
    items = [("learning_conference", 0, ALL), ("learning_conference", 2, ALL)]
    if has_target:
        items.append(("goal_setting", 0, TARGET))
    if has_iep:
        items += [("iep_meeting", 0, IEP), ("iep_meeting", 2, IEP)]
    if has_target and s.params["home_visits"][i]:
        items.append(("home_visit", 1, HOME))
    for _ in range(rng.poisson(1.5)):
        items.append(("learning_workshop", int(rng.integers(4)), INVITED if rng.random() < 0.3 else OPEN))
    consult = []
    if maori >= 0.10:
        consult.append("hui")
    if pacific >= 0.10:
        consult.append("fono")
    if y % 2 == 0 or not consult:
        consult.append("general")
    for c in consult:
        items.append((("consultation", c), int(rng.integers(4)), OPEN))
    meetings = 2 if s.roll[i] >= 150 else 1
    for term in range(4):
        items += [(("governance", "board"), term, OPEN)] * meetings
        if s.params["pta"][i]:
            items.append((("governance", "pta"), term, OPEN))
    for t, base in (("information_evening", 1), ("celebration", 2), ("volunteering", 1), ("fundraising", 1),
                    ("community_event", 1)):
        extra = {"information_evening": 1.0, "celebration": 1.5, "volunteering": 0.8, "fundraising": 1.0,
                 "community_event": 0.8}[t]
        for _ in range(base + rng.poisson(extra)):
            items.append((t, int(rng.integers(4)), OPEN))
    n = len(items)
    types = np.empty(n, dtype=np.int64)
    kinds = np.empty(n, dtype=np.int64)
    dates = np.empty(n, dtype=np.int64)
    modes = np.empty(n, dtype=np.int64)
    titles = np.empty(n, dtype=object)
    days = term_days(y)
    u = rng.random((n, 4))
    for j, (t, term, kind) in enumerate(items):
        sub = None
        if isinstance(t, tuple):
            t, sub = t
        types[j], kinds[j] = A[t], kind
        weekdays, saturdays = days[term]
        weekend = t in ("fundraising", "community_event", "celebration") and u[j, 0] < 0.3
        pool = saturdays if weekend else weekdays
        dates[j] = pool[int(u[j, 1] * len(pool))]
        mp = np.array(MODE_P[t], dtype=float)
        if sub in ("hui", "fono"):
            mp = np.array([0.35, 0.05, 0.0, 0.6])
        modes[j] = -1 if u[j, 2] < 0.03 else int(np.searchsorted(np.cumsum(mp), u[j, 3] * mp.sum(), side="right"))
        key = t
        if sub == "hui":
            key = "consultation_hui"
        elif sub == "fono":
            key = "consultation_fono"
        elif sub == "pta":
            key = "governance_pta"
        elif secondary and t + "_secondary" in TITLES:
            key = t + "_secondary"
        options = TITLES[key]
        titles[j] = options[int(rng.integers(len(options)))].format(t=term + 1)
    order = np.lexsort((types, dates))
    seq = np.empty(n, dtype=np.int64)
    seq[order] = np.arange(1, n + 1)
    return {"type": types, "kind": kinds, "date": dates, "mode": modes, "title": titles, "seq": seq}


def _logit(q):
    return np.log(q / (1 - q))


def _centred(q, sd):
    """The log-odds that gives an average share ``q`` over families whose own log-odds vary with ``sd``
    (the logistic-normal approximation of Zeger, Liang and Albert 1988: logit(q) * sqrt(1 + 0.346 sd^2)).

    Examples
    --------
    >>> z = np.random.default_rng(0).normal(0, 1.2, 200_000)
    >>> round(float(expit(_centred(0.1, 1.2) + z).mean()), 2)
    0.1
    """
    return _logit(q) * np.sqrt(1 + 0.346 * sd * sd)


def _contacts(rng, out, i, y, p, fam_ids, finv, student, target_child, u, tr) -> None:
    """A year's contacts: how many, who started them, what about, by which channel, replied or not.

    ``tr`` holds the families' own propensities (:func:`family_traits`); each has mean 1 (rates)
    or is centred (log-odds), so the school's parameters keep their meaning on average.
    """
    F = len(fam_ids)
    has_target = target_child >= 0
    sd = TRAIT_SD
    rate = (p["contact_rate"] * (1 + 0.8 * has_target) * np.exp(0.4 * u - 0.08) * rng.gamma(2.0, 0.5, F)
            * np.exp(tr["contact"] - sd["contact"] ** 2 / 2))
    n_per = rng.poisson(rate)
    fam = np.repeat(np.arange(F), n_per)
    n = fam.size
    if n == 0:
        return
    shock = YEAR_SHOCK_CONTACT * rng.normal(size=2)  # this year's mix at this school
    by_family = rng.random(n) < expit(_centred(p["two_way"], sd["start"]) + shock[0] + tr["start"][fam])
    # a school-started contact: about behaviour or attendance by the family's own deficit propensity,
    # else good news by its good-news propensity, else learning, wellbeing or administration
    gn, d = p["good_news"], p["deficit"]
    mix = np.array([0.25, 0.10, gn, 0.55 * d, 0.45 * d, 0.0])
    mix[5] = max(0.02, 1 - mix.sum())
    mix /= mix.sum()
    deficit_share, rest = mix[3] + mix[4], mix[[0, 1, 5]] / mix[[0, 1, 5]].sum()
    is_def = rng.random(n) < expit(_centred(deficit_share, sd["deficit"]) + shock[1] + tr["deficit"][fam])
    is_good = rng.random(n) < expit(_centred(mix[2] / (1 - deficit_share), sd["good_news"]) + tr["good_news"][fam])
    other = np.array([0, 1, 5])[rng.choice(3, n, p=rest)]
    school_purpose = np.where(is_def, np.where(rng.random(n) < mix[3] / deficit_share, 3, 4),
                              np.where(is_good, 2, other))
    purpose = np.where(by_family, rng.choice(6, n, p=FAMILY_PURPOSE_P), school_purpose)
    # target students' families hear more about learning
    relearn = ~by_family & has_target[fam] & (purpose == 5) & (rng.random(n) < 0.5)
    purpose = np.where(relearn, 0, purpose)
    deficit = (purpose == 3) | (purpose == 4)
    ch_school = rng.choice(9, n, p=CHANNEL_P["school"])
    ch_def = rng.choice(9, n, p=CHANNEL_P["school_deficit"])
    ch_fam = rng.choice(9, n, p=CHANNEL_P["family"])
    channel = np.where(by_family, ch_fam, np.where(deficit, ch_def, ch_school))
    known = rng.random(n) < 0.9
    q = np.clip(CHANNEL_REPLY[channel] * p["reply"] / 0.575, 0.02, 0.98)
    replied = rng.random(n) < expit(_centred(q, sd["reply"]) + tr["reply"][fam])
    response = np.where(by_family | ~known, -1, replied.astype(np.int8))
    allday = np.concatenate([wd for wd, _ in term_days(y)])
    date = allday[rng.integers(0, len(allday), n)]
    # the child the contact was about: a random enrolled child of the family
    counts = np.bincount(finv, minlength=F)
    starts = np.cumsum(counts) - counts
    by_fam_rows = np.argsort(finv, kind="stable")
    pick = by_fam_rows[starts[fam] + (rng.random(n) * counts[fam]).astype(np.int64)]
    with_student = rng.random(n) < np.where(purpose == 5, 0.6, 0.95)
    stud = np.where(with_student, student[pick], -1)
    order = np.lexsort((fam_ids[fam], date))
    out.add("contacts", n, _school=i, _year=y, _cseq=np.arange(1, n + 1), school_id=i, date=date[order],
            family_id=fam_ids[fam][order], student_id=stud[order], initiated_by=by_family[order].astype(np.int64),
            channel=channel[order], purpose=purpose[order], response_received=response[order])


def _likert(latent: np.ndarray) -> np.ndarray:
    return 1 + (latent[..., None] > CUTS).sum(axis=-1)


def _surveys(rng, out, world, i, y, k, p, fam_ids, mask, prio, reached, att_type, u) -> None:
    s = world.schools
    F = len(fam_ids)
    g3 = _group3(prio)
    logit = np.log(p["survey_rate"] / (1 - p["survey_rate"])) + 0.6 * (reached - 0.75) - 0.3 * np.isin(g3, (1, 2))
    resp = np.flatnonzero(rng.random(F) < expit(logit))
    resp = resp[rng.permutation(resp.size)]
    nR = resp.size
    # school-level means per scale (whānau), school 1 is one-way
    mu_w = np.array([p["survey_mu"] + SCALE_OFFSET[sc] + 0.05 * k for sc in SCALES])
    if i == 1:
        mu_w[SCALES.index("two_way_communication")] -= 0.7
        mu_w[SCALES.index("true_partnership")] -= 0.3
    mu_s = ndtri(np.minimum(ndtr(mu_w) + STAFF_FAVOURABLE_GAP, 0.97))
    items = {inst: [(j, it) for j, it in enumerate(ITEMS) if it[0] == inst] for inst in INSTRUMENT_NAMES}
    if nR:
        linked = rng.random(nR) < 0.9
        fam = np.where(linked, fam_ids[resp], -1)
        eth = np.where(linked | (rng.random(nR) < 0.7), CAP3[mask[resp]], -1)
        # post-stratification weights for linked respondents by prioritised group
        fam_share = np.bincount(prio, minlength=7) / F
        lp = prio[resp][linked]
        resp_share = np.bincount(lp, minlength=7) / max(lp.size, 1)
        wg = np.where(resp_share > 0, fam_share / np.where(resp_share > 0, resp_share, 1), 1.0)
        weight = np.where(linked, np.round(wg[prio[resp]] * 1000), 1000).astype(np.int64)
        out.add("survey_respondents", nR, _inst=0, year=y, _school=i, _rseq=np.arange(1, nR + 1), _rkind=0,
                role=0, family_id=fam, ethnicity=eth, weight=weight)
        answers = _answer(rng, items["whanau_partnership"], mu_w, nR, prio[resp])
        _add_responses(out, 0, y, i, 0, items["whanau_partnership"], answers)
        # what linked families report doing (including learning at home, which no register sees)
        li = np.flatnonzero(linked)
        if li.size:
            fr = resp[li]
            rows = []
            for t in REPORTED_TYPES:
                if t == "learning_at_home":
                    pr = np.array([LEARNING_AT_HOME[0], LEARNING_AT_HOME[1], LEARNING_AT_HOME[2],
                                   LEARNING_AT_HOME[0]])[g3[fr]]
                else:
                    pr = np.where(att_type[fr, A[t]], 0.9, 0.08)
                rows.append(rng.random(li.size) < pr)
            did = np.column_stack(rows)
            nT = len(REPORTED_TYPES)
            out.add("reported_participation", did.size, year=y, school_id=i, _school=i,
                    _rseq=np.repeat(li + 1, nT), _rkind=0,
                    activity_type=np.tile([vocab.REPORTED_ACTIVITY_TYPES.index(t) for t in REPORTED_TYPES], li.size),
                    participated=did.ravel(), weight=np.repeat(weight[li], nT))
    n_staff = int(np.clip(round(s.roll[i] * rng.uniform(0.035, 0.05)), 5, 60))
    staff_eth = np.array([1, 2, 4, 8, 16, 32])[rng.choice(6, n_staff, p=[0.70, 0.13, 0.05, 0.09, 0.02, 0.01])]
    out.add("survey_respondents", n_staff, _inst=1, year=y, _school=i, _rseq=np.arange(1, n_staff + 1), _rkind=1,
            role=1, family_id=-1, ethnicity=np.where(rng.random(n_staff) < 0.9, staff_eth, -1), weight=1000)
    answers = _answer(rng, items["staff_partnership"], mu_s, n_staff, None)
    _add_responses(out, 1, y, i, 1, items["staff_partnership"], answers)


def _answer(rng, items, mu, n, prio) -> np.ndarray:
    """Responses (n x items, -1 = not answered) for one instrument."""
    a = rng.normal(0, 0.6, n)
    b = rng.normal(0, 0.4, (n, len(SCALES)))
    resp = np.empty((n, len(items)), dtype=np.int64)
    scale_of = np.array([SCALES.index(it[2]) if it[2] else -1 for _, it in items])
    for c, (_, (inst, item_id, scale, rev)) in enumerate(items):
        if scale is None:
            base = BARRIER_BASE[item_id]
            g3 = _group3(prio)
            if item_id == "W_B4":      # language: families whose home language may not be English
                pr = np.where(g3 == 3, 0.20, np.where(g3 == 2, 0.12, base))
            elif item_id == "W_B3":    # not feeling welcome
                pr = np.where(np.isin(g3, (1, 2)), 0.17, base)
            else:
                pr = np.full(n, base)
            present = rng.random(n) < pr
            resp[:, c] = np.where(present, rng.choice([4, 5], n, p=[0.6, 0.4]),
                                  rng.choice([1, 2, 3], n, p=[0.35, 0.4, 0.25]))
        else:
            sc = SCALES.index(scale)
            latent = mu[sc] + a + b[:, sc] + rng.normal(0, np.sqrt(0.48), n)
            scored = _likert(latent)
            resp[:, c] = 6 - scored if rev else scored
    # item non-response; a few answer under half of one scale; a few answer nothing
    resp[rng.random(resp.shape) < np.where(scale_of < 0, 0.06, 0.03)] = -1
    partial = np.flatnonzero(rng.random(n) < 0.04)
    for j, sc in zip(partial, rng.integers(0, len(SCALES), partial.size)):
        cols = np.flatnonzero(scale_of == sc)
        keep = cols[rng.integers(len(cols))]
        resp[j, cols[cols != keep]] = -1
    resp[rng.random(n) < 0.01] = -1
    return resp


def _add_responses(out, inst, y, i, kind, items, answers) -> None:
    n, m = answers.shape
    out.add("survey_responses", n * m, _inst=inst, year=y, _school=i, _rseq=np.repeat(np.arange(1, n + 1), m),
            _rkind=kind, _item=np.tile([j for j, _ in items], n), response=answers.ravel())


def _inquiry(rng, out, i, y, p, students, levels, goal) -> None:
    n = students.size
    if n == 0:
        return
    lg = _logit
    codesigned = rng.random(n) < expit(lg(p["codesigned"]) + 1.2 * goal)
    identified = (rng.random(n) < expit(lg(p["identified"]) + 1.0 * goal)) | (codesigned & (rng.random(n) < 0.9))
    goal_incl = rng.random(n) < np.where(codesigned, 0.7, 0.05)
    reviewed = rng.random(n) < np.where(codesigned, 0.65, 0.3)
    order = np.argsort(students)
    out.add("inquiry_steps", n, year=y, school_id=i, student_id=students[order],
            whanau_identified=identified[order], whanau_codesigned=codesigned[order],
            family_goal_included=goal_incl[order], whanau_reviewed=reviewed[order])
    # progress on 1-2 measures (effect 4)
    n_meas = 1 + (rng.random(n) < 0.4)
    first = rng.integers(0, 3, n)
    second = (first + rng.integers(1, 3, n)) % 3
    stu = np.repeat(np.arange(n), n_meas)
    meas = np.where(np.arange(stu.size) - np.repeat(np.cumsum(n_meas) - n_meas, n_meas) == 0, first[stu], second[stu])
    lv = levels[stu]
    expected = SCALE_BASE + SCALE_GAIN * lv
    start10 = np.round((expected - 45 + rng.normal(0, 25, stu.size)) * 10).astype(np.int64)
    z = (start10 / 10 - expected) / 25
    accel = rng.random(stu.size) < expit(ACCEL_INTERCEPT + ACCEL_CODESIGN * codesigned[stu] + ACCEL_START * z
                                         + ACCEL_LEVEL * (lv - 6))
    gain10 = np.where(accel, SCALE_GAIN * 10 + 5 + np.round(rng.exponential(150, stu.size)),
                      np.round(SCALE_GAIN * 10 * rng.uniform(0.1, 0.99, stu.size)) - 5).astype(np.int64)
    order = np.lexsort((meas, students[stu]))
    out.add("progress", stu.size, year=y, school_id=i, student_id=students[stu][order], _measure=meas[order],
            start_score=start10[order], end_score=(start10 + gain10)[order],
            expected_gain=np.full(stu.size, SCALE_GAIN * 10))


def _self_review(rng, out, i, y, k, p, roll) -> None:
    base = p["review_mu"] + 0.05 * k + rng.normal(0, 0.3, len(REVIEW_DIMENSIONS))
    groups = {"leaders": int(rng.integers(2, 5)), "staff": int(np.clip(roll // 60, 3, 10)),
              "whanau": int(rng.integers(3, 9))}
    for g, n_raters in groups.items():
        m = base + REVIEW_SHIFT[g]
        if i == 1 and g == "whanau":
            m = m - 0.5 * (np.array(REVIEW_DIMENSIONS) == "two_way_communication")
        ratings = np.clip(np.round(m[None, :] + rng.normal(0, 0.6, (n_raters, len(REVIEW_DIMENSIONS)))), 1, 4)
        out.add("self_review", ratings.size, year=y, school_id=i, _dimension=np.tile(np.arange(5), n_raters),
                rater_group=vocab.RATER_GROUPS.index(g), rating=ratings.ravel().astype(np.int64))
