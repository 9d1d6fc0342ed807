"""SSOCS 2019-20: how many US public schools involve parents, weighted, with replicate-weight errors.

The School Survey on Crime and Safety (NCES) asks principals of a national sample of regular
public schools about crime, discipline and the school's practices. The 2019-20 public-use file
(``data/external/ssocs-2019-20/pu_ssocs20.sav``, release 2024; provenance in ``SOURCE.txt``)
holds 2,370 schools, one row each, with the final school weight ``FINALWGT`` (the weights sum
to about 83,100 schools) and 50 replicate weights ``REPFWT1``..``REPFWT50``.

Coding
------
SPSS file read with pyreadstat (:func:`read`); the file stores variable labels but no value
labels (NCES ships them in a separate ``.sps`` format file, not copied). Columns used:

- ``SCHID``: school id (text, e.g. ``"0004"``), unique;
- ``FINALWGT`` (> 0) and ``REPFWT1``..``REPFWT50`` (>= 0): weights;
- ``FR_LVELX``: school level, stored as text ``"1"``..``"4"``: 1 primary, 2 middle, 3 high
  school, 4 combined (:data:`LEVELS`);
- ``FR_URBAN``: urban-centric locale of the school, 1 city, 2 suburb, 3 town, 4 rural
  (:data:`URBANICITY`);
- the parent items (:data:`ITEMS`), yes/no items coded 1 = yes, 2 = no, and "limits" items
  coded 1 = limits in a major way, 2 = in a minor way, 3 = does not limit. The labels of the
  codes follow the SSOCS questionnaire; they are not stored in the file (check against the
  user's manual, NCES 2024-054, before quoting them);
- ``I<item>``: imputation flag of each item (0 = reported, other = imputed by NCES): NCES
  imputed item non-response, so no item has missing values; the share imputed is reported.

A value outside its coding, a missing weight or a negative weight is an error naming the file,
the record (row 1 = first school), the column and the value. No record is dropped silently:
rows read = used + excluded, overall and per item (:func:`accounting`).

Parent items
------------
Practices (the school's parent-involvement programmes; question wording paraphrased):
``C0190`` formal process to obtain parental input on policies related to school crime and
discipline; ``C0192`` training or technical assistance for parents in dealing with students'
problem behaviour; ``C0204`` parent groups involved in the school's efforts to promote safe,
disciplined and drug-free schools. Also in the file and reported next to them:
``C0141`` an electronic system that notifies parents in a school-wide emergency (one-way
communication); and three limits the principal reports: ``C0288`` efforts to reduce or prevent
crime limited by lack of parent support, ``C0284`` limited by parental complaints, ``C0681``
mental-health efforts limited by concerns about parents' reactions (share "limits in a major or
minor way"). The SSOCS 1999-2000 to 2009-10 item "program that involves parents at school in
maintaining discipline" is not in the 2019-20 file.

Variance
--------
``REPFWT1``..``REPFWT50`` are labelled "Jackknife replicate" in the file, and their pattern is
that of a delete-a-group jackknife (JK1) with 50 groups: every school has weight 0 in exactly
one replicate and about 50/49 times ``FINALWGT`` in the other 49 (checked on the data by
:func:`hsp_eval.external.survey_weights.check_jk1`, see :func:`replication_check`). So the standard error
is ``sqrt(49/50 * sum_r (theta_r - theta)^2)`` (:mod:`hsp_eval.external.survey_weights`, method
``JK1``), the same factor as in SOURCE.txt and as R's ``svrepdesign(type = "JK1", mse = TRUE)``.
The user's manual (NCES 2024-054, chapter on weighting and variance estimation) was not
available here to confirm the method NCES names; the weights' own pattern is the evidence.
Intervals are estimate +- 1.96 SE.

The published comparison (:data:`PUBLISHED`) is NCES's series for earlier SSOCS years, as
recorded in SOURCE.txt; no published 2019-20 figure was found, so it is a plausibility check of
the level, not a replication. Differences between years may also reflect changes in the
questionnaire, the sample frame and collection mode.

Examples
--------
>>> schools = read()                                               # doctest: +SKIP
>>> prevalence_table(schools).query("group_type == 'all'")         # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hsp_eval.external import survey_weights as sw
from hsp_eval.reports.plots import GREY, PALETTE
from hsp_eval.external import DATASETS, rawfiles

NAME = "ssocs-2019-20"
FILE = "pu_ssocs20.sav"
WEIGHT = "FINALWGT"
REPLICATES = [f"REPFWT{i}" for i in range(1, 51)]
METHOD = "JK1"
YEAR = "2019-20"
LEVELS = {"1": "primary", "2": "middle", "3": "high school", "4": "combined"}
URBANICITY = {1: "city", 2: "suburb", 3: "town", 4: "rural"}
YES_NO = {1: "yes", 2: "no"}
LIMITS = {1: "limits in a major way", 2: "limits in a minor way", 3: "does not limit"}
#: item -> (short label, kind, the codes counted as "yes")
ITEMS = {
    "C0190": ("formal process to obtain parental input", "practice", (1,)),
    "C0192": ("training or assistance for parents", "practice", (1,)),
    "C0204": ("parent groups involved in school safety efforts", "practice", (1,)),
    "C0141": ("electronic emergency notification to parents", "communication", (1,)),
    "C0288": ("crime-prevention efforts limited by lack of parent support", "limit", (1, 2)),
    "C0284": ("crime-prevention efforts limited by parental complaints", "limit", (1, 2)),
    "C0681": ("mental-health efforts limited by concerns about parents' reactions", "limit", (1, 2)),
}
PRACTICES = [k for k, v in ITEMS.items() if v[1] == "practice"]
GROUPINGS = {"all": None, "school_level": "school_level", "urbanicity": "urbanicity"}
#: NCES's published percentages of public schools, earlier SSOCS years (from SOURCE.txt: NCES SSOCS tables
#: "Table 19"/"Table 24", all public schools); item -> {school year: percent}
PUBLISHED = {
    "C0190": {"1999-2000": 55, "2003-04": 59, "2005-06": 60, "2007-08": 55, "2009-10": 54.5},
    "C0192": {"1999-2000": 45, "2003-04": 50, "2005-06": 54, "2007-08": 52, "2009-10": 55.4},
    "program involving parents in discipline (not asked in 2019-20)":
        {"1999-2000": 21, "2003-04": 21, "2005-06": 24, "2007-08": 22, "2009-10": 20.4},
}
PUBLISHED_SOURCE = ("NCES, School Survey on Crime and Safety tables for 1999-2000 to 2009-10 (all public schools), "
                    "as recorded in data/external/ssocs-2019-20/SOURCE.txt")
NOTE = ("Weighted estimates for US regular public schools from principals' answers; 95% intervals from the 50 JK1 "
        "replicate weights. Having a practice is not the same as parents taking part in it, and these shares "
        "describe schools, not families.")


#: ``data_dir``, or the dataset's folder ``data/external/ssocs-2019-20``.
default_dir = DATASETS[NAME].resolve_dir


def files(data_dir=None) -> list[Path]:
    """The raw file read (for provenance)."""
    return [default_dir(data_dir) / FILE]


def _bad(row: int, schid, column: str, value, reason: str) -> ValueError:
    value = value.item() if hasattr(value, "item") else value
    return ValueError(f"{FILE}, record {row} (SCHID {schid!r}), column '{column}': value {value!r} {reason}")


def columns_used() -> list[str]:
    """Every column :func:`read` takes from the file."""
    return (["SCHID", "FR_LVELX", "FR_URBAN", WEIGHT, *REPLICATES, *ITEMS] + [f"I{c}" for c in ITEMS])


def read(data_dir=None) -> pd.DataFrame:
    """The schools, checked, with labelled ``school_level`` and ``urbanicity`` and a ``row`` number.

    Raises
    ------
    ValueError
        Naming file, record, column and value: a column missing, a code outside its coding,
        a weight missing or negative, or a repeated ``SCHID``.
    """
    import pyreadstat

    path = files(data_dir)[0]
    _, meta = pyreadstat.read_sav(str(path), metadataonly=True)
    missing = [c for c in columns_used() if c not in meta.column_names]
    if missing:
        raise ValueError(f"{path.name}: the file has no column {', '.join(missing)} (is it the SSOCS 2019-20 "
                         "public-use file pu_ssocs20.sav?)")
    df, meta = pyreadstat.read_sav(str(path), usecols=columns_used())
    df.insert(0, "row", np.arange(1, len(df) + 1))

    def first_bad(mask: pd.Series, col: str, reason: str) -> None:
        if mask.any():
            i = int(np.flatnonzero(mask.to_numpy())[0])
            raise _bad(i + 1, df["SCHID"].iat[i], col, df[col].iat[i], reason)

    first_bad(df["SCHID"].duplicated(), "SCHID", "repeats an earlier school's id")
    first_bad(~df["FR_LVELX"].isin(list(LEVELS)), "FR_LVELX", f"is not a school level code ({', '.join(LEVELS)})")
    first_bad(~df["FR_URBAN"].isin(list(URBANICITY)), "FR_URBAN",
              f"is not an urbanicity code ({', '.join(map(str, URBANICITY))})")
    first_bad(~(df[WEIGHT] > 0), WEIGHT, "is not a positive weight")
    for c in REPLICATES:
        first_bad(~(df[c] >= 0), c, "is not a replicate weight >= 0")
    for c, (_, kind, _) in ITEMS.items():
        allowed = list(LIMITS if kind == "limit" else YES_NO)
        first_bad(~df[c].isin(allowed), c, f"is not one of the item's codes {allowed}")
    df["school_level"] = pd.Categorical(df["FR_LVELX"].map(LEVELS), categories=list(LEVELS.values()), ordered=True)
    df["urbanicity"] = pd.Categorical(df["FR_URBAN"].map(URBANICITY), categories=list(URBANICITY.values()),
                                      ordered=True)
    df.attrs["rows_read"] = int(meta.number_rows)
    df.attrs["labels"] = {c: meta.column_names_to_labels.get(c, "") for c in ITEMS}
    return df


def accounting(schools: pd.DataFrame) -> pd.DataFrame:
    """Rows read = used + excluded: for the file, and for every item (none are missing; NCES imputed them).

    Returns columns file, outcome, rows (:func:`hsp_eval.external.rawfiles.tally_columns`) with
    one block for the file and one per item (``file`` is ``pu_ssocs20.sav`` or ``pu_ssocs20.sav: <item>``).
    """
    n = int(schools.attrs.get("rows_read", len(schools)))
    return rawfiles.tally_columns(FILE, n, schools[list(ITEMS)], "no answer")


def replication_check(schools: pd.DataFrame) -> pd.DataFrame:
    """The evidence that the replicate weights are JK1 (see the module notes), as a one-row frame."""
    info = sw.check_jk1(schools, WEIGHT, REPLICATES)
    return pd.DataFrame([{"replicates": len(REPLICATES),
                          "schools_with_weight_0_in_exactly_one_replicate_%": round(100 * info["zero_once"], 1),
                          "median_replicate_to_full_weight": round(info["median_ratio"], 4),
                          "JK1_expected_ratio_50/49": round(info["expected_ratio"], 4),
                          "method_used": METHOD,
                          "variance_multiplier": sw.multiplier(METHOD, len(REPLICATES))}])


def prevalence(schools: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Weighted share of public schools with each parent item, optionally by ``school_level`` or ``urbanicity``.

    Returns the :func:`hsp_eval.external.survey_weights.weighted_proportion` columns plus item, label,
    kind, group_type, group, unweighted (share of sampled schools) and imputed (share of
    sampled schools whose answer NCES imputed).
    """
    out = []
    for item, (label, kind, yes) in ITEMS.items():
        r = sw.weighted_proportion(schools, item, WEIGHT, REPLICATES, by=by, method=METHOD, yes=list(yes))
        r = r.rename(columns={by: "group"}) if by else r.assign(group="all")
        key = schools[by].astype("str") if by else pd.Series("all", index=schools.index)
        flags = pd.DataFrame({"yes": schools[item].isin(yes), "imp": schools[f"I{item}"] != 0, "group": key})
        means = flags.groupby("group")[["yes", "imp"]].mean()
        r["unweighted"] = r["group"].astype("str").map(means["yes"]).to_numpy()
        r["imputed"] = r["group"].astype("str").map(means["imp"]).to_numpy()
        out.append(r.assign(item=item, label=label, kind=kind, group_type=by or "all"))
    t = pd.concat(out, ignore_index=True)
    t["group"] = t["group"].astype("str")
    first = ["item", "label", "kind", "group_type", "group"]
    return t[first + [c for c in t.columns if c not in first and c != "variable"]]


def prevalence_table(schools: pd.DataFrame) -> pd.DataFrame:
    """:func:`prevalence` for all schools, by school level and by urbanicity, stacked."""
    return pd.concat([prevalence(schools, by) for by in GROUPINGS.values()], ignore_index=True)


def published_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """NCES's published series for earlier years next to this file's 2019-20 estimates (percent).

    Returns long rows item, label, year, percent, ci_low, ci_high, source ("published" or "this
    file"); published figures have no interval here (their SEs were not recorded).
    """
    pub = pd.DataFrame([(item, year, float(pct)) for item, series in PUBLISHED.items()
                        for year, pct in series.items()], columns=["item", "year", "percent"])
    pub.insert(1, "label", pub["item"].map(lambda i: ITEMS[i][0] if i in ITEMS else i))
    pub = pub.assign(ci_low=np.nan, ci_high=np.nan, source="published (NCES)")
    now = table[(table["group_type"] == "all") & table["item"].isin(PRACTICES)]
    cur = pd.DataFrame({"item": now["item"], "label": now["label"], "year": YEAR, "percent": 100 * now["estimate"],
                        "ci_low": 100 * now["ci_low"], "ci_high": 100 * now["ci_high"],
                        "source": "this file (weighted)"})
    return pd.concat([pub, cur], ignore_index=True)


def headline(table: pd.DataFrame) -> pd.DataFrame:
    """All-schools estimates, rounded, for a report's checked summary cell."""
    t = table[table["group_type"] == "all"]
    return pd.DataFrame({
        "item": t["item"].to_numpy(),
        "weighted_%": (100 * t["estimate"]).round(1).to_numpy(),
        "SE": (100 * t["se"]).round(2).to_numpy(),
        "95%_CI": [f"{100 * lo:.1f} to {100 * hi:.1f}" for lo, hi in zip(t["ci_low"], t["ci_high"])],
        "unweighted_%": (100 * t["unweighted"]).round(1).to_numpy(),
        "schools": t["n"].to_numpy(),
    })


def provenance(data_dir=None, read_at: str | None = None) -> dict:
    """Version, commit, SHA-256 of the raw file and the time it was read."""
    return rawfiles.provenance_record(files(data_dir), default_dir(data_dir), read_at=read_at,
                                      variance=f"{METHOD}, {len(REPLICATES)} replicates, multiplier 49/50")


# --- figures (drawing only; the numbers come from the functions above) ---------------------


def plot_prevalence(table: pd.DataFrame, group_type: str, items=None, ax=None):
    """Weighted share of schools with each parent practice per group (95% intervals), one colour per group."""
    import matplotlib.pyplot as plt

    items = list(items or PRACTICES)
    t = table[(table["group_type"] == group_type) & table["item"].isin(items)]
    groups = list(dict.fromkeys(t["group"]))
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 1.2 + 0.35 * len(items) * len(groups)))
    h = 0.8 / len(groups)
    for k, g in enumerate(groups):
        s = t[t["group"] == g].set_index("item").reindex(items)
        y = np.arange(len(items)) - 0.4 + h * (k + 0.5)
        v = 100 * s["estimate"].to_numpy()
        err = np.vstack([v - 100 * s["ci_low"].to_numpy(), 100 * s["ci_high"].to_numpy() - v])
        ax.barh(y, v, height=h * 0.9, color=PALETTE[k % len(PALETTE)], label=g)
        ax.errorbar(v, y, xerr=err, fmt="none", ecolor="0.2", capsize=3, lw=1)
    ax.set_yticks(np.arange(len(items)), [ITEMS[i][0] for i in items])
    ax.set_ylim(len(items) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel("public schools, % (weighted; 95% interval from 50 JK1 replicates)")
    ax.set_title(f"Parent-involvement practices by {group_type.replace('_', ' ')}, SSOCS {YEAR}")
    ax.legend(title=group_type.replace("_", " "), loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.figure.tight_layout()
    return ax


def plot_series(comparison: pd.DataFrame, ax=None):
    """NCES's published series and this file's 2019-20 estimate (with its 95% interval) per practice."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 5.5))
    years = list(dict.fromkeys(list(PUBLISHED["C0190"]) + [YEAR]))
    x = {y: int(y[:4]) for y in years}  # the school year's first calendar year, so gaps between waves show
    for k, (item, s) in enumerate(comparison.groupby("item", sort=False)):
        colour = PALETTE[k % len(PALETTE)]
        pub = s[s["source"].str.startswith("published")]
        if len(pub):
            ax.plot([x[y] for y in pub["year"]], pub["percent"], "-o", color=colour, label=f"{s['label'].iloc[0]}")
        cur = s[~s["source"].str.startswith("published")]
        if len(cur):
            v = cur["percent"].to_numpy()
            ax.errorbar([x[y] for y in cur["year"]], v, yerr=[v - cur["ci_low"].to_numpy(), cur["ci_high"].to_numpy() - v],
                        fmt="s", color=colour, mfc="white", capsize=4, ms=8,
                        label=None if len(pub) else f"{s['label'].iloc[0]} (2019-20 only)")
    ax.set_xticks([x[y] for y in years], years, rotation=30, ha="right")
    ax.set_ylim(0, 100)
    ax.set_xlabel("school year (dots: NCES published; open squares: this file, with 95% interval)")
    ax.set_ylabel("public schools, %")
    ax.set_title("Parent-involvement practices in US public schools over time")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.42), ncol=1, frameon=False)
    ax.figure.tight_layout()
    return ax
