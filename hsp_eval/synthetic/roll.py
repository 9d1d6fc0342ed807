"""Synthetic generator, part 1: the schools and their rolls (who is enrolled where, each year).

Everything here is drawn before any school's activities, from streams that do not depend
on how schools are later grouped into chunks:

* the school list and every school-level parameter: ``default_rng([seed, 0])``;
* school ``i``'s families and children: ``default_rng([seed, 1, i])``;
* the links between schools (siblings at a primary and a secondary school of a region,
  students changing school mid-year): ``default_rng([seed, 3])``.

The roll is simulated as **families**: a family arrives at a school with an "anchor" child
(most often a new entrant at the school's lowest year level), has 1-4 children spaced
0-4 years apart, and leaves after a geometric number of years. A child is enrolled while its
family is at the school and its year level (calendar year minus its year-0 cohort) lies in the
school's range, so children move up one level a year, leave at the top level, younger siblings
arrive as new entrants, and whole families arrive and leave at other levels. The simulation
starts a burn-in period before the first year so the first roll is in a steady state, and is
thinned to the school's target roll.

Examples
--------
>>> from hsp_eval.synthetic.roll import make_schools, simulate_rolls
>>> s = make_schools(seed=1, n_schools=3, years=[2024])
>>> len(s.school_id), s.school_id == sorted(s.school_id)
(3, True)
>>> world = simulate_rolls(1, s, [2024])
>>> int(world.rolls[0].row_year.min()), int(world.rolls[0].row_year.max())
(2023, 2024)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr, ndtri

from hsp_eval.data import vocab
from hsp_eval.synthetic.text import NAME_PLACES, NAME_SUFFIX, NAME_WORDS

# ---------------------------------------------------------------------------
# ethnicity as a bit mask: European 1, Māori 2, Pacific 4, Asian 8, MELAA 16, Other 32;
# 64 = Not stated (alone)

EUROPEAN, MAORI, PACIFIC, ASIAN, MELAA, OTHER = range(6)
NOT_STATED_MASK = 64
ETH_STRINGS = np.array(
    [";".join(g for b, g in enumerate(vocab.ETHNIC_GROUPS) if m >> b & 1) for m in range(64)]
    + [vocab.NOT_STATED], dtype=object)
#: mask -> prioritised group as an index of vocab.ETHNIC_GROUPS (6 = Not stated): the masks are those
#: of vocab.PRIORITISED_BY_MASK (bit 6, 64, is Not stated there too)
PRIO = np.array(vocab.PRIORITISED_BY_MASK[:NOT_STATED_MASK + 1], dtype=np.int8)
#: mask -> the same mask with at most 3 groups (the first 3 in priority order): a respondent
#: reports at most 3 groups even when a family's children together have more
CAP3 = np.arange(65, dtype=np.int64)
for _m in range(1, 64):
    _groups = [vocab.ETHNIC_GROUPS.index(g) for g in vocab.PRIORITY_ORDER if _m >> vocab.ETHNIC_GROUPS.index(g) & 1]
    CAP3[_m] = sum(1 << b for b in _groups[:3])
del _m, _groups

#: probability of each second group given the first (rows: first group, ETHNIC_GROUPS order)
SECOND_GROUP = np.array([
    [0.00, 0.55, 0.15, 0.20, 0.05, 0.05],
    [0.70, 0.00, 0.26, 0.02, 0.01, 0.01],
    [0.35, 0.50, 0.00, 0.12, 0.02, 0.01],
    [0.70, 0.05, 0.15, 0.00, 0.05, 0.05],
    [0.60, 0.05, 0.05, 0.20, 0.00, 0.10],
    [0.60, 0.10, 0.10, 0.15, 0.05, 0.00],
])
GENDERS = np.array(["Female", "Male", "Another gender"], dtype=object)

# ---------------------------------------------------------------------------
# regions, school types, rolls

#: approximate share of schools by region (Auckland most), 16 regions in vocab order
REGION_WEIGHTS = np.array([0.05, 0.27, 0.10, 0.07, 0.012, 0.04, 0.03, 0.06, 0.09, 0.015, 0.01,
                           0.012, 0.012, 0.13, 0.06, 0.03])
#: first-group ethnic mix of each region (European, Māori, Pacific, Asian, MELAA, Other)
REGION_ETHNICITY = np.array([
    [0.45, 0.47, 0.03, 0.04, 0.005, 0.005],   # Northland
    [0.33, 0.12, 0.18, 0.32, 0.03, 0.02],     # Auckland
    [0.50, 0.32, 0.05, 0.11, 0.01, 0.01],     # Waikato
    [0.48, 0.38, 0.03, 0.09, 0.01, 0.01],     # Bay of Plenty
    [0.30, 0.64, 0.03, 0.02, 0.005, 0.005],   # Gisborne
    [0.48, 0.38, 0.07, 0.05, 0.01, 0.01],     # Hawke's Bay
    [0.62, 0.28, 0.02, 0.06, 0.01, 0.01],     # Taranaki
    [0.56, 0.30, 0.05, 0.07, 0.01, 0.01],     # Manawatū-Whanganui
    [0.52, 0.17, 0.10, 0.16, 0.03, 0.02],     # Wellington
    [0.80, 0.10, 0.02, 0.05, 0.02, 0.01],     # Tasman
    [0.74, 0.12, 0.03, 0.08, 0.02, 0.01],     # Nelson
    [0.72, 0.17, 0.04, 0.05, 0.01, 0.01],     # Marlborough
    [0.80, 0.15, 0.01, 0.02, 0.01, 0.01],     # West Coast
    [0.66, 0.12, 0.04, 0.14, 0.02, 0.02],     # Canterbury
    [0.72, 0.12, 0.03, 0.10, 0.02, 0.01],     # Otago
    [0.68, 0.21, 0.04, 0.05, 0.01, 0.01],     # Southland
])
#: mean of the school's socio-economic-barrier score z by region (EQI = 440 + 42 z)
REGION_Z = np.array([0.8, 0.1, 0.2, 0.4, 1.0, 0.5, 0.2, 0.4, -0.1, -0.3, -0.1, -0.1, 0.3, -0.3,
                     -0.3, 0.1])
#: how z shifts the ethnic mix (log scale)
Z_ETHNICITY = np.array([-0.4, 0.5, 0.6, -0.3, 0.0, 0.0])

TYPES = ("Full Primary", "Contributing", "Intermediate", "Secondary (Year 9-15)",
         "Secondary (Year 7-15)", "Composite", "Special")
TYPE_P = np.array([0.40, 0.30, 0.05, 0.10, 0.04, 0.06, 0.015])
TYPE_P = TYPE_P / TYPE_P.sum()
LEVELS = {"Full Primary": (0, 8), "Contributing": (0, 6), "Intermediate": (7, 8),
          "Secondary (Year 9-15)": (9, 13), "Secondary (Year 7-15)": (7, 13), "Composite": (0, 13),
          "Special": (0, 13)}
#: roll: (median, log-sd, lowest, highest)
ROLL = {"Full Primary": (110, 0.8, 8, 750), "Contributing": (300, 0.55, 30, 900),
        "Intermediate": (450, 0.45, 100, 1100), "Secondary (Year 9-15)": (850, 0.55, 100, 2200),
        "Secondary (Year 7-15)": (420, 0.6, 60, 1600), "Composite": (180, 0.9, 15, 1500),
        "Special": (60, 0.5, 10, 250)}
SECONDARY_TYPES = ("Secondary (Year 9-15)", "Secondary (Year 7-15)")
PRIMARY_SIDE = ("Full Primary", "Contributing")          # siblings' younger school
SECONDARY_SIDE = ("Intermediate",) + SECONDARY_TYPES     # siblings' older school

FAMILY_SIZE_P = np.array([0.40, 0.37, 0.17, 0.06])       # 1..4 children
GAP_P = np.array([0.03, 0.22, 0.35, 0.25, 0.15])         # 0..4 years between siblings
MIDYEAR_MOVE_RATE = 0.0065   # picks that find no school or family slot are dropped: ~0.5% move
SIBLING_LINK_RATE = 0.25   # share of secondary-side families linked to a primary-side family


# ---------------------------------------------------------------------------
# the schools


@dataclass
class Schools:
    """The school list and every school-level parameter (arrays of length n, sorted by id)."""

    school_id: list[str]
    school_name: list[str]
    region: np.ndarray          # index into vocab.REGIONS
    type: np.ndarray            # index into TYPES
    eqi: np.ndarray
    roll: np.ndarray            # target roll in the first year
    eth_p: np.ndarray           # (n, 6) first-group probabilities
    params: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.school_id)

    def type_name(self, i: int) -> str:
        return TYPES[self.type[i]]

    def levels(self, i: int) -> tuple[int, int]:
        return LEVELS[TYPES[self.type[i]]]

    def is_secondary(self, i: int) -> bool:
        return TYPES[self.type[i]] in SECONDARY_TYPES


def _school_names(rng, types) -> list[str]:
    pool = [f"{w} {p}".strip() for w in NAME_WORDS for p in NAME_PLACES]
    order = rng.permutation(len(pool))
    suffix_pick = rng.integers(0, 2, len(types))
    names = []
    for i, t in enumerate(types):
        base = pool[order[i % len(pool)]]
        if i >= len(pool):
            base = f"{base} {i // len(pool) + 1}"
        names.append(f"{base} {NAME_SUFFIX[TYPES[t]][suffix_pick[i]]}")
    return names


def make_schools(seed: int, n_schools: int, years) -> Schools:
    """Draw the school list (sorted by school_id) and the school-level parameters."""
    if n_schools < 1:
        raise ValueError("n_schools must be at least 1")
    rng = np.random.default_rng([seed, 0])
    n = n_schools
    width = max(4, len(str(2 * n)))
    codes = np.sort(rng.choice(10 ** width - 1, n, replace=False) + 1)
    school_id = [str(c).zfill(width) for c in codes]
    region = rng.choice(len(vocab.REGIONS), n, p=REGION_WEIGHTS / REGION_WEIGHTS.sum())
    stype = rng.choice(len(TYPES), n, p=TYPE_P)
    z = REGION_Z[region] + rng.normal(0, 0.9, n)
    roll_draw = rng.normal(0, 1, n)
    eth_noise = rng.normal(0, 0.9, (n, 6))
    # the two schools with written-in effects (see KNOWN_EFFECTS): school 0 a Full Primary
    # with many Māori whānau, school 1 an Auckland secondary school
    if n > 0:
        region[0] = vocab.REGIONS.index(("Northland", "Waikato", "Bay of Plenty")[rng.integers(3)])
        stype[0], z[0], roll_draw[0] = TYPES.index("Full Primary"), 1.2, 0.0
    if n > 1:
        region[1], stype[1], z[1], roll_draw[1] = vocab.REGIONS.index("Auckland"), TYPES.index(
            "Secondary (Year 9-15)"), 0.6, 0.0
    eqi = np.clip(np.round(440 + 42 * z), 344, 569).astype(np.int64)
    roll = np.empty(n, dtype=np.int64)
    for t, name in enumerate(TYPES):
        med, sd, lo, hi = ROLL[name]
        sel = stype == t
        roll[sel] = np.clip(np.round(med * np.exp(sd * roll_draw[sel])), lo, hi)
    logits = np.log(REGION_ETHNICITY[region]) + z[:, None] * Z_ETHNICITY + eth_noise
    eth_p = np.exp(logits)
    eth_p /= eth_p.sum(axis=1, keepdims=True)
    if n > 0:
        roll[0] = 520
        eth_p[0] = [0.36, 0.55, 0.05, 0.03, 0.005, 0.005]
    if n > 1:
        roll[1] = 900
    names = _school_names(rng, stype)
    secondary = np.isin(stype, [TYPES.index(t) for t in SECONDARY_TYPES])
    years = sorted(years)
    p = {}
    p["hazard"] = 0.05 + 0.04 * ndtr(z + rng.normal(0, 0.5, n))          # families leaving per year
    p["growth"] = rng.normal(0, 0.015, n)                                 # roll trend per year
    p["target_rate"] = rng.uniform(0.05, 0.10, n)
    p["iep_rate"] = np.where(stype == TYPES.index("Special"), 1.0, 0.03)
    p["reach"] = ndtr(rng.normal(np.where(secondary, ndtri(0.72), ndtri(0.85)), 0.3))
    p["reach_slope"] = rng.normal(0, 0.04, n)                             # probit units per year
    p["open_shift"] = np.where(secondary, -0.6, 0.0) + rng.normal(0, 0.25, n)
    p["two_way"] = rng.uniform(0.35, 0.45, n)
    p["good_news"] = rng.uniform(0.15, 0.25, n)
    p["deficit"] = rng.uniform(0.20, 0.30, n)
    p["contact_rate"] = rng.uniform(1.2, 2.4, n) * np.where(secondary, 1.2, 1.0)
    p["reply"] = rng.uniform(0.45, 0.7, n)
    p["portal"] = np.clip(rng.uniform(0.25, 0.75, n) + np.where(secondary, 0.15, 0.0), 0, 0.95)
    p["survey_rate"] = rng.uniform(0.22, 0.52, n)
    skip = (rng.random(n) < 0.35) & (len(years) >= 2)   # a school never skips its only year
    p["survey_skip"] = np.where(skip, rng.integers(0, max(len(years), 1), n), -1)
    p["home_visits"] = rng.random(n) < 0.5
    p["pta"] = rng.random(n) < 0.5
    p["identified"] = rng.uniform(0.45, 0.80, n)
    p["codesigned"] = rng.uniform(0.15, 0.45, n)
    p["survey_mu"] = rng.normal(0.3, 0.25, n)
    p["review_mu"] = rng.normal(2.3, 0.25, n)
    p["board_families"] = rng.integers(3, 9, n)
    if n > 0:
        p["reach"][0], p["reach_slope"][0] = 0.75, 0.0
    if n > 1:
        p["two_way"][1], p["good_news"][1], p["deficit"][1] = 0.10, 0.03, 0.60
    if len(years) >= 2:  # a year without a whānau survey always occurs
        p["survey_skip"][min(2, n - 1)] = 1
    return Schools(school_id, names, region, stype, eqi, roll, eth_p, p)


# ---------------------------------------------------------------------------
# one school's roll


@dataclass
class Roll:
    """One school's families, children and enrolment rows (years first-1 .. last)."""

    fam_global: np.ndarray      # int64 family number (before scrambling into an id)
    fam_u: np.ndarray           # engagement latent, N(0, 1), constant over years
    fam_w: np.ndarray           # uniform: holds a portal account when below the school's share
    fam_mu: np.ndarray          # mean portal logins a month when it has an account
    fam_v: np.ndarray           # uniform: survey response propensity
    child_global: np.ndarray    # int64 student number
    child_fam: np.ndarray       # local family index
    child_mask: np.ndarray      # ethnicity mask
    child_gender: np.ndarray
    child_iep: np.ndarray
    row_child: np.ndarray       # enrolment rows: local child index
    row_year: np.ndarray
    row_level: np.ndarray
    row_target: np.ndarray


def _pick_rows(rng, probs: np.ndarray) -> np.ndarray:
    """One category per row of ``probs`` (rows sum to 1)."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cdf[:, -1:]
    return np.minimum((u > cdf).sum(axis=1), probs.shape[1] - 1)


def family_ethnicity(rng, n: int, eth_p: np.ndarray) -> np.ndarray:
    """Draw n family ethnicity masks: a first group, then 12% a second and 2% also a third."""
    first = rng.choice(6, n, p=eth_p)
    r = rng.random(n)
    second = _pick_rows(rng, SECOND_GROUP[first])
    w = np.tile(eth_p + 0.02, (n, 1))
    w[np.arange(n), first] = 0
    w[np.arange(n), second] = 0
    third = _pick_rows(rng, w / w.sum(axis=1, keepdims=True))
    mask = (1 << first) | np.where(r < 0.14, 1 << second, 0) | np.where(r < 0.02, 1 << third, 0)
    return np.where(rng.random(n) < 0.006, NOT_STATED_MASK, mask).astype(np.int16)


def child_ethnicity(rng, fam_mask: np.ndarray) -> np.ndarray:
    """Children share their family's groups, except ~8% who differ by one group."""
    n = len(fam_mask)
    vary = (rng.random(n) < 0.08) & (fam_mask != NOT_STATED_MASK)
    bits = (fam_mask[:, None] >> np.arange(6)) & 1
    ngroups = bits.sum(axis=1)
    # with 2+ groups, keep one of them; with one group, add a second
    keep = _pick_rows(rng, np.maximum(bits, 1e-12) / np.maximum(bits.sum(axis=1, keepdims=True), 1))
    first = np.argmax(bits, axis=1)
    add = _pick_rows(rng, SECOND_GROUP[first])
    varied = np.where(ngroups >= 2, 1 << keep, fam_mask | (1 << add))
    out = np.where(vary, varied, fam_mask)
    return np.where(rng.random(n) < 0.003, NOT_STATED_MASK, out).astype(np.int16)


def simulate_school(rng, lo: int, hi: int, roll: int, hazard: float, growth: float,
                    iep_rate: float, target_rate: float, eth_p: np.ndarray, first: int, last: int,
                    out_years) -> Roll:
    """Simulate one school's families and roll for years first-1 .. last."""
    sim0 = first - 1
    nlev = hi - lo + 1
    years = np.arange(sim0 - nlev - 4, last + 1)
    lam = 1.6 * roll / (1.2 * nlev + 1.5)
    nf = rng.poisson(lam * (1 + growth) ** np.clip(years - first, 0, None))
    a = np.repeat(years, nf)
    F = a.size
    K = rng.choice(4, F, p=FAMILY_SIZE_P) + 1
    p_lo = 0.65 if lo == 0 else 0.85
    lvl = np.where(rng.random(F) < p_lo, lo, rng.integers(lo, hi + 1, F))
    anchor = np.minimum((rng.random(F) * K).astype(np.int64), K - 1)
    depart = a + rng.geometric(hazard, F) - 1
    keep_u = rng.random(F)
    fam = np.repeat(np.arange(F), K)
    starts = np.cumsum(K) - K
    gaps = rng.choice(5, fam.size, p=GAP_P)
    gaps[starts] = 0
    cum = np.cumsum(gaps)
    cum = cum - cum[starts][fam]
    c0 = (a - lvl)[fam] + cum - cum[starts + anchor][fam]
    s = np.maximum(np.maximum(a[fam], c0 + lo), sim0)
    e = np.minimum(np.minimum(depart[fam], c0 + hi), last)
    ok = s <= e
    n_first = int((ok & (s <= first) & (e >= first)).sum())
    ok &= (keep_u < min(1.0, roll / max(n_first, 1)))[fam]
    # keep the children (and families) that are ever enrolled
    kept_fam, child_fam = np.unique(fam[ok], return_inverse=True)
    c0, s, e = c0[ok], s[ok], e[ok]
    nF, nC = len(kept_fam), len(c0)
    fam_mask = family_ethnicity(rng, nF, eth_p)
    child_mask = child_ethnicity(rng, fam_mask[child_fam])
    gender = rng.choice(3, nC, p=[0.492, 0.503, 0.005]).astype(np.int8)
    ach = rng.normal(0, 1, nC)
    iep = rng.random(nC) < iep_rate
    u = rng.normal(0, 1, nF)
    w = rng.random(nF)
    mu = np.exp(rng.normal(np.log(2.5), 0.8, nF))
    v = rng.random(nF)
    # enrolment rows, one per child and year
    length = e - s + 1
    row_child = np.repeat(np.arange(nC), length)
    row_year = s[row_child] + (np.arange(row_child.size) - np.repeat(np.cumsum(length) - length, length))
    row_level = row_year - c0[row_child]
    thr = np.sqrt(1.25) * ndtri(target_rate)
    row_target = (ach[row_child] + 0.5 * rng.normal(0, 1, row_child.size) < thr) & np.isin(row_year, out_years)
    order = np.lexsort((row_child, row_year))
    return Roll(fam_global=np.arange(nF, dtype=np.int64), fam_u=u, fam_w=w, fam_mu=mu, fam_v=v,
                child_global=np.arange(nC, dtype=np.int64), child_fam=child_fam, child_mask=child_mask,
                child_gender=gender, child_iep=iep, row_child=row_child[order],
                row_year=row_year[order].astype(np.int64), row_level=row_level[order].astype(np.int64),
                row_target=row_target[order])


# ---------------------------------------------------------------------------
# all rolls, with the links between schools


@dataclass
class World:
    """All schools' rolls and how their numbers become identifier strings."""

    schools: Schools
    rolls: list[Roll]
    years: list[int]            # output years
    id_width: int
    links: dict = field(default_factory=dict)

    def student_ids(self, numbers: np.ndarray) -> np.ndarray:
        return _scramble(numbers, self.id_width, 3917397, 1234577)

    def family_ids(self, numbers: np.ndarray) -> np.ndarray:
        return _scramble(numbers, self.id_width, 7219283, 4455661)


def _scramble(x: np.ndarray, width: int, a: int, c: int) -> np.ndarray:
    """A bijection of 0 .. 10**width - 1 (a is coprime with 10), so ids stay unique."""
    m = 10 ** width
    return (x.astype(np.int64) % m * a + c) % m


def simulate_rolls(seed: int, schools: Schools, years) -> World:
    """Every school's roll, then siblings linked across schools and mid-year school changes."""
    years = sorted(int(y) for y in years)
    first, last = years[0], years[-1]
    rolls = []
    for i in range(len(schools)):
        lo, hi = schools.levels(i)
        p = schools.params
        rng = np.random.default_rng([seed, 1, i])
        rolls.append(simulate_school(rng, lo, hi, int(schools.roll[i]), float(p["hazard"][i]),
                                     float(p["growth"][i]), float(p["iep_rate"][i]),
                                     float(p["target_rate"][i]), schools.eth_p[i], first, last, years))
    n = len(schools)
    cblock = 10 ** len(str(max(max(len(r.child_global) for r in rolls), 1)))
    fblock = 10 ** len(str(max(max(len(r.fam_global) for r in rolls), 1)))
    width = max(8, len(str(n * max(cblock, fblock) - 1)))
    for i, r in enumerate(rolls):
        r.child_global = r.child_global + i * cblock
        r.fam_global = r.fam_global + i * fblock
    world = World(schools, rolls, years, width)
    rng = np.random.default_rng([seed, 3])
    world.links["sibling_links"] = _link_siblings(rng, world)
    world.links["midyear_moves"] = _midyear_moves(rng, world)
    return world


def _family_span(r: Roll, years) -> tuple[np.ndarray, np.ndarray]:
    """First and last output year each local family has a child enrolled (-1 if none)."""
    inside = np.isin(r.row_year, years)
    fam = r.child_fam[r.row_child[inside]]
    yr = r.row_year[inside]
    lo = np.full(len(r.fam_global), 10 ** 6)
    hi = np.full(len(r.fam_global), -1)
    np.minimum.at(lo, fam, yr)
    np.maximum.at(hi, fam, yr)
    return lo, hi


def _link_siblings(rng, world: World) -> int:
    """Give some secondary-side families the family_id of a primary-side family of the same region.

    Families are paired within a region and prioritised ethnic group, and linked only when they
    have children at both schools in a common year and at most four children in all.
    """
    s = world.schools
    linked = 0
    for reg in range(len(vocab.REGIONS)):
        sides = []
        for side in (PRIMARY_SIDE, SECONDARY_SIDE):
            rows = []
            for i in np.flatnonzero(s.region == reg):
                if TYPES[s.type[i]] not in side:
                    continue
                r = world.rolls[i]
                lo, hi = _family_span(r, world.years)
                fam_prio = np.zeros(len(r.fam_global), dtype=np.int8)
                fam_prio[r.child_fam] = PRIO[r.child_mask]
                kids = np.bincount(r.child_fam[np.unique(r.row_child[np.isin(r.row_year, world.years)])],
                                   minlength=len(r.fam_global))
                idx = np.flatnonzero(hi >= 0)
                rows.append(np.column_stack([np.full(idx.size, i), idx, fam_prio[idx], lo[idx], hi[idx],
                                             kids[idx]]))
            sides.append(np.concatenate(rows) if rows else np.empty((0, 6), dtype=np.int64))
        prim, sec = sides
        if not len(prim) or not len(sec):
            continue
        sec = sec[rng.random(len(sec)) < SIBLING_LINK_RATE]
        prim = prim[rng.permutation(len(prim))]
        sec = sec[rng.permutation(len(sec))]
        for g in range(7):
            pg, sg = prim[prim[:, 2] == g], sec[sec[:, 2] == g]
            k = min(len(pg), len(sg))
            pg, sg = pg[:k], sg[:k]
            # siblings at the two schools at the same time, and at most 4 children in all
            overlap = ((np.maximum(pg[:, 3], sg[:, 3]) <= np.minimum(pg[:, 4], sg[:, 4]))
                       & (pg[:, 5] + sg[:, 5] <= 4))
            for (pi, pf, *_), (si, sf, *_) in zip(pg[overlap], sg[overlap]):
                world.rolls[si].fam_global[sf] = world.rolls[pi].fam_global[pf]
            linked += int(overlap.sum())
    return linked


def _midyear_moves(rng, world: World) -> int:
    """~0.5% of students a year change school mid-year within their region (a row at both).

    The student leaves the first school at the end of that year and stays at the second for a
    geometric number of years (while its year level is in the school's range). A family never
    gets a second, separate entry at a school where it already has children.
    """
    s = world.schools
    years = world.years
    last = years[-1]
    by_region_level: dict = {}
    for i in range(len(s)):
        lo, hi = s.levels(i)
        if TYPES[s.type[i]] == "Special":
            continue
        for lvl in range(lo, hi + 1):
            by_region_level.setdefault((int(s.region[i]), lvl), []).append(i)
    moves = []  # (from school, local child, year, level, to school, stay)
    for i, r in enumerate(world.rolls):
        idx = np.flatnonzero(np.isin(r.row_year, years))
        pick = idx[rng.random(idx.size) < MIDYEAR_MOVE_RATE]
        for j in pick:
            level = int(r.row_level[j])
            cands = [k for k in by_region_level.get((int(s.region[i]), level), []) if k != i]
            if cands:
                moves.append((i, int(r.row_child[j]), int(r.row_year[j]), level,
                              cands[rng.integers(len(cands))], int(rng.geometric(0.15))))
    m = 10 ** world.id_width
    present = set(np.concatenate([i * m + np.unique(r.fam_global) for i, r in enumerate(world.rolls)]).tolist())
    cut: dict[int, dict[int, int]] = {}
    arrivals: dict[int, list] = {}
    for i, c, y, level, k, stay in moves:
        if c in cut.get(i, {}):
            continue
        r = world.rolls[i]
        f = int(r.child_fam[c])
        key = k * m + int(r.fam_global[f])
        if key in present:
            continue
        present.add(key)
        cut.setdefault(i, {})[c] = y
        lo_k, hi_k = s.levels(k)
        yrs = np.arange(y, min(last, y + stay - 1, y + hi_k - level) + 1)
        arrivals.setdefault(k, []).append((i, c, f, yrs, level - y))
    for i, cuts in cut.items():
        r = world.rolls[i]
        until = np.full(len(r.child_global), 10 ** 6)
        until[list(cuts)] = list(cuts.values())
        keep = r.row_year <= until[r.row_child]
        for name in ("row_child", "row_year", "row_level", "row_target"):
            setattr(r, name, getattr(r, name)[keep])
    for k, items in arrivals.items():
        rk = world.rolls[k]
        nf, nc = len(rk.fam_global), len(rk.child_global)
        src = [world.rolls[i] for i, *_ in items]
        fams = [f for _, _, f, _, _ in items]
        kids = [c for _, c, _, _, _ in items]
        for name in ("fam_global", "fam_u", "fam_w", "fam_mu", "fam_v"):
            extra = np.array([getattr(r, name)[f] for r, f in zip(src, fams)])
            setattr(rk, name, np.concatenate([getattr(rk, name), extra.astype(getattr(rk, name).dtype)]))
        for name in ("child_global", "child_mask", "child_gender", "child_iep"):
            extra = np.array([getattr(r, name)[c] for r, c in zip(src, kids)])
            setattr(rk, name, np.concatenate([getattr(rk, name), extra.astype(getattr(rk, name).dtype)]))
        rk.child_fam = np.concatenate([rk.child_fam, nf + np.arange(len(items))])
        lens = [len(it[3]) for it in items]
        rk.row_child = np.concatenate([rk.row_child, np.repeat(nc + np.arange(len(items)), lens)])
        yrs = np.concatenate([it[3] for it in items]).astype(np.int64)
        rk.row_year = np.concatenate([rk.row_year, yrs])
        rk.row_level = np.concatenate([rk.row_level, yrs + np.repeat([it[4] for it in items], lens)])
        rk.row_target = np.concatenate([rk.row_target, np.zeros(len(yrs), dtype=bool)])
        order = np.lexsort((rk.row_child, rk.row_year))
        for name in ("row_child", "row_year", "row_level", "row_target"):
            setattr(rk, name, getattr(rk, name)[order])
    return sum(len(v) for v in cut.values())
