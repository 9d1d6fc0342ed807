"""The indicator registry: everything about an indicator, said once.

Each :class:`Indicator` says what it measures in plain English, its unit, whether it
is a proportion, a mean or a difference, its numerator and denominator, which tables
it needs, the group types it is broken down by, whether equity-gap rows are made for
it and which topic module computes it; who is behind a row and how its rows are
withheld (disclosure spec v2) and what its units are nested in (uncertainty spec v2);
and how reports show it: its short label, value axis, percentages or not, its phrase in
sentences, what left and right of zero mean for a difference, and which reports count it
as a key indicator. Reports read all of these from here (:mod:`hsp_eval.reports.labels`);
``docs/indicators.md`` is generated from this registry (:func:`render_markdown`) and a
test fails when the two differ. ``docs/adding-an-indicator.md`` walks through adding one.

Examples
--------
>>> REGISTRY["reach"].unit, REGISTRY["reach"].kind, REGISTRY["reach"].axis
('families', 'proportion', 'share of families, %')
>>> "reach_gap_vs_rest" in all_ids()
True
>>> key_indicators("national")[:3]
('reach', 'reach_learning', 'learning_share')
"""

from __future__ import annotations

from dataclasses import dataclass

FAMILY_GROUPS = ("all", "ethnicity", "ethnicity_prioritised", "year_band", "target", "new_family")
TARGET_GROUPS = ("all", "ethnicity", "ethnicity_prioritised", "year_band")
ALL_ONLY = ("all",)
KINDS = ("proportion", "mean", "difference", "alpha")
#: the reports that pick key indicators (:func:`key_indicators`): the school summary's sentences on
#: clear changes and the school evaluation's "schools like ours", the national overview's spread across
#: schools and national trends, the shares of families the national overview draws as funnel plots
#: (each school against the national rate), and the headline indicators the whānau and Board summary
#: compares with schools like ours (:mod:`hsp_eval.reports.reference`)
KEY_REPORTS = ("school", "national", "funnel", "summary")
#: a counted unit as a share's axis says it ("share of answers, %")
UNIT_WORDS = {"responses": "answers"}


@dataclass(frozen=True)
class Indicator:
    """One indicator: its definition, its disclosure and uncertainty facts, and how reports show it.

    The first eight fields are the definition (positional); the rest are keywords with defaults.
    ``short``, ``axis``, ``percent`` and ``phrase`` are filled from the others when not given.

    Examples
    --------
    >>> i = Indicator("x_share", "Contacts that were about x", "communication", "contacts", "proportion",
    ...               "contacts about x", "all contacts", ("contacts",), cluster="family")
    >>> i.short, i.axis, i.percent, i.phrase
    ('Contacts that were about x', 'share of contacts, %', True, 'contacts that were about x')
    """

    id: str
    label: str  #: what it measures, as a chart title or a table row says it
    topic: str  #: the module of hsp_eval.indicators.topics that computes it
    unit: str  #: the counted unit (families, students, contacts, responses, ...)
    kind: str  #: proportion | mean | difference | alpha
    numerator: str
    denominator: str
    tables: tuple[str, ...]
    groups: tuple[str, ...] = FAMILY_GROUPS
    gap: bool = False  #: equity-gap rows ``<id>_gap_vs_rest`` for ethnicity, year_band, target
    focus: str = ""  #: learning, school, voice, community or "" (what the indicator is about)
    note: str = ""
    better: str = "higher"  #: which direction is an improvement: higher, lower, or "" (neither)
    #: False for an indicator hsp_eval adds beyond the indicator spec (docs say so)
    in_spec: bool = True
    # --- disclosure (spec v2) and uncertainty ---------------------------------------------------
    #: the people behind a row (families, students, respondents, raters): disclosure thresholds count them
    people: str = "families"
    #: what the counted units are nested in within a school ("" none: the units are independent people):
    #: the interval clusters on it (uncertainty spec v2); region and national rows cluster on schools
    cluster: str = ""
    #: rows of indicators naming the same population have the same denominator people in a cell: they
    #: are withheld together and get the same published count ("" for a population of the indicator's own)
    population: str = ""
    #: the indicators a derived row is computed from: it is withheld whenever one of its sources is
    derived_from: tuple[str, ...] = ()
    #: a group of the population the indicator is over, (group_type, group): its ``all`` row is that
    #: group's cell of the population (new families: the ``new_family:new`` families)
    within: tuple[str, ...] = ()
    #: a cell of a population, (population, group_type, group), that bounds the ``all`` row's
    #: denominator (retention: families counted again this year are among the returning families):
    #: the ``all`` row is withheld whenever that cell is
    bounded_by: tuple[str, ...] = ()
    #: rows of indicators naming the same link in a cell show a count of one another (a numerator as a
    #: denominator, or a sum of them): they are shown together or withheld together
    linked: str = ""
    # --- how reports show it (hsp_eval.reports.labels) ------------------------------------------------
    #: a few words for a legend beside indicators of the same unit (default: the label)
    short: str = ""
    #: the value axis with its unit (default from kind and unit: "share of families, %")
    axis: str = ""
    #: shown as a percentage (a difference in percentage points); default: proportions only
    percent: bool | None = None
    #: the indicator in the middle of a sentence ("families using the parent portal"; default: the label)
    phrase: str = ""
    #: for a difference: what left and right of zero mean
    hint: str = ""
    #: the reports (of :data:`KEY_REPORTS`) that count it as a key indicator
    key_for: tuple[str, ...] = ()

    def __post_init__(self):
        percent = self.kind == "proportion" if self.percent is None else self.percent
        fill = {"short": self.short or self.label, "percent": percent, "phrase": self.phrase or lower_first(self.label),
                "axis": self.axis or _axis(self.kind, self.unit, percent)}
        for name, value in fill.items():
            object.__setattr__(self, name, value)


def lower_first(text: str) -> str:
    """``text`` to go inside a sentence: its first letter lower case, unless it starts an acronym.

    Examples
    --------
    >>> lower_first("Internal consistency (Cronbach's alpha)"), lower_first("IEP meetings held")
    ("internal consistency (Cronbach's alpha)", 'IEP meetings held')
    """
    if text[1:2].isupper():
        return text
    return text[:1].lower() + text[1:]


def _axis(kind: str, unit: str, percent: bool) -> str:
    """The value axis a kind of indicator gets unless its entry names one."""
    if kind == "proportion":
        return f"share of {UNIT_WORDS.get(unit, unit)}, %"
    if kind == "difference":
        return "difference, percentage points" if percent else "difference, rating points"
    if kind == "alpha":
        return "Cronbach's alpha (0 to 1)"
    return f"mean per {unit.rstrip('s')}"


_P = "participation"
_C = "communication"
_V = "voice"
_I = "inquiry"
_S = "self_review"
_SURVEY = ("survey_items", "survey_respondents", "survey_responses")
BOTH = ("school", "national")
FUNNEL = BOTH + ("funnel",)
HEADLINE = BOTH + ("summary",)
BEYOND_SPEC = "Added by hsp_eval; not in the indicator spec."

INDICATORS: tuple[Indicator, ...] = (
    # --- participation ---------------------------------------------------------------------
    Indicator("reach", "Families who took part in at least one activity", _P, "families", "proportion",
              "families with at least one attended activity of the school in the year",
              "families with a child enrolled at the school that year", ("activities", "attendance"),
              gap=True, population="families", short="any activity",
              phrase="families taking part in at least one activity", key_for=BOTH + ("funnel", "summary")),
    Indicator("reach_learning", "Families who took part in a learning-focused activity", _P, "families",
              "proportion", "families with at least one attended activity whose focus is learning",
              "families", ("activities", "attendance"), gap=True, focus="learning",
              note="Learning-focused types: learning_conference, goal_setting, iep_meeting, "
                   "learning_workshop, home_visit.",
              population="families", short="a learning-focused activity",
              phrase="families taking part in a learning-focused activity", key_for=FUNNEL),
    Indicator("reach_by_type", "Families who took part, by type of activity", _P, "families", "proportion",
              "families that attended at least one activity of the type", "families",
              ("activities", "attendance"), groups=("activity_type",), population="families"),
    Indicator("conference_reach", "Students whose family came to a learning conference", _P, "students",
              "proportion", "students whose family attended at least one learning_conference",
              "enrolled students", ("activities", "attendance"), gap=True, focus="learning",
              note="The NHES unit: counted per student, not per family.",
              people="students", cluster="family", population="students"),
    Indicator("attendances_per_family", "Activities attended per family", _P, "families", "mean",
              "mean number of attended activities per family (families with none count as 0)",
              "families", ("activities", "attendance"), population="families",
              axis="activities attended per family"),
    Indicator("breadth", "Kinds of activity per family", _P, "families", "mean",
              "mean number of distinct activity types a family attended (0 counted)", "families",
              ("activities", "attendance"), population="families", axis="kinds of activity per family"),
    Indicator("learning_share", "Share of attendances that were learning-focused", _P, "attendances",
              "proportion", "attended rows whose activity focus is learning", "all attended rows",
              ("activities", "attendance"), focus="learning",
              note="The check that engagement with the school is not mistaken for engagement with learning.",
              cluster="family", key_for=("national",)),
    Indicator("invitation_uptake", "Personal invitations taken up", _P, "invitations", "proportion",
              "rows with invited = true and attended = true", "rows with invited = true",
              ("activities", "attendance"), cluster="family"),
    Indicator("retention", "Families reached again the next year", _P, "families", "proportion",
              "families reached in year y-1 and enrolled in y that are reached in y",
              "families reached in y-1 and enrolled in y", ("activities", "attendance"),
              note="Not available for the first year in the data.",
              bounded_by=("families", "new_family", "returning")),
    Indicator("new_family_reach", "New families reached in their first year", _P, "families", "proportion",
              "families new to the school in y (no child there in y-1) that are reached in y",
              "families new to the school in y", ("activities", "attendance"),
              groups=tuple(g for g in FAMILY_GROUPS if g != "new_family"),
              note="Not available for the first year in the data.",
              population="families", within=("new_family", "new")),
    # --- communication ---------------------------------------------------------------------
    Indicator("contact_reach", "Families with at least one personal contact", _C, "families", "proportion",
              "families with at least one contact", "families", ("contacts",), gap=True,
              population="families", short="had a personal contact",
              phrase="families with a personal contact from or with the school", key_for=FUNNEL),
    Indicator("two_way_share", "Contacts started by the family", _C, "contacts", "proportion",
              "contacts initiated by the family", "all contacts", ("contacts",),
              cluster="family", linked="contacts", short="started by the family",
              phrase="contacts started by families", key_for=HEADLINE),
    Indicator("reply_rate", "School contacts the family replied to", _C, "contacts", "proportion",
              "school-initiated contacts with response_received = true",
              "school-initiated contacts where response_received is known", ("contacts",),
              cluster="family", short="school contacts the family replied to"),
    Indicator("good_news_share", "School contacts that shared good news", _C, "contacts", "proportion",
              "school-initiated contacts with purpose good_news", "school-initiated contacts",
              ("contacts",), cluster="family", linked="contacts", short="good news",
              phrase="school contacts sharing good news", key_for=BOTH),
    Indicator("deficit_share", "School contacts about behaviour or attendance", _C, "contacts",
              "proportion", "school-initiated contacts with purpose behaviour or attendance",
              "school-initiated contacts", ("contacts",), better="lower",
              cluster="family", linked="contacts", short="behaviour or attendance",
              phrase="school contacts about behaviour or attendance", key_for=("school",)),
    Indicator("learning_contact_share", "Contacts about learning", _C, "contacts", "proportion",
              "contacts with purpose learning", "all contacts", ("contacts",), focus="learning",
              cluster="family", linked="contacts", short="about learning"),
    Indicator("portal_adoption", "Families using the parent portal", _C, "families", "proportion",
              "families with at least one portal login in the year", "families", ("portal_usage",),
              gap=True, population="families", linked="portal_users", short="used the parent portal",
              phrase="families using the parent portal", key_for=FUNNEL),
    Indicator("portal_regular_use", "Portal users who log in regularly", _C, "families", "proportion",
              "families with logins in 6 or more distinct months of the year",
              "families with at least one login in the year", ("portal_usage",), linked="portal_users"),
    # --- family voice -----------------------------------------------------------------------
    Indicator("survey_response_rate", "Families who answered the whānau survey", _V, "families",
              "proportion", "families with a linked whānau respondent who answered at least one item",
              "families", _SURVEY, groups=FAMILY_GROUPS + ("instrument",), gap=True,
              population="families", phrase="families answering the whānau survey", key_for=HEADLINE),
    Indicator("respondent_representation", "Over- or under-representation of groups among respondents",
              _V, "respondents", "difference",
              "share of linked whānau respondents' families in the group",
              "minus the group's share of all families", _SURVEY,
              groups=("ethnicity",), note="A difference of shares; no interval.", better="",
              people="respondents", derived_from=("survey_response_rate",), percent=True,
              hint="right of 0: more of the answers than their share of families"),
    Indicator("scale_score", "Mean scale score", _V, "respondents", "mean",
              "each respondent's mean over the scale's answered items (after reverse scoring), kept "
              "when at least half the scale's items are answered", "respondents kept",
              _SURVEY, groups=("scale",), people="respondents",
              axis="mean score, 1 to 5 (5 = strongly agree)"),
    Indicator("scale_favourable", "Favourable answers on a scale", _V, "responses", "proportion",
              "answered responses at or above favourable_min (after reverse scoring)",
              "answered responses", _SURVEY, groups=("scale",), people="respondents", cluster="respondent"),
    Indicator("scale_alpha", "Internal consistency of a scale (Cronbach's alpha)", _V, "respondents",
              "alpha", "Cronbach's alpha over respondents answering every item of the scale",
              "respondents answering every item (blank under 10)", _SURVEY, groups=("scale",),
              people="respondents"),
    Indicator("perception_gap", "Staff minus whānau favourable share", _V, "responses", "difference",
              "staff scale_favourable", "minus whānau scale_favourable, with a Newcombe interval",
              _SURVEY, groups=("scale",), better="", people="respondents", cluster="respondent",
              derived_from=("scale_favourable",), percent=True,
              hint="right of 0: staff more favourable than whānau; left: less"),
    Indicator("barrier_prevalence", "Respondents naming a barrier", _V, "respondents", "proportion",
              "respondents answering favourable (agreeing the barrier applies)", "respondents answering",
              _SURVEY, groups=("item",), better="lower", people="respondents"),
    # --- inquiry ------------------------------------------------------------------------------
    Indicator("target_whanau_identified", "Target students whose whānau helped identify strengths and needs",
              _I, "students", "proportion", "target students with whanau_identified", "target students",
              ("inquiry_steps",), groups=TARGET_GROUPS, gap=True, people="students",
              population="target_students", short="helped identify strengths and needs"),
    Indicator("target_whanau_codesigned", "Target students whose whānau helped design the response",
              _I, "students", "proportion", "target students with whanau_codesigned", "target students",
              ("inquiry_steps",), groups=TARGET_GROUPS, gap=True, people="students",
              population="target_students", short="helped design the response",
              phrase="target students whose whānau helped design their learning response", key_for=BOTH),
    Indicator("target_family_goal", "Target students with a goal the family brought", _I, "students",
              "proportion", "target students with family_goal_included", "target students",
              ("inquiry_steps",), groups=TARGET_GROUPS, gap=True, people="students",
              population="target_students", short="brought a goal of their own"),
    Indicator("target_whanau_reviewed", "Target students whose whānau helped review how the response went", _I,
              "students", "proportion", "target students with whanau_reviewed", "target students",
              ("inquiry_steps",), groups=TARGET_GROUPS, gap=True, people="students",
              population="target_students", short="helped review how the response went"),
    Indicator("accelerated_rate", "Target students who made accelerated progress", _I, "students",
              "proportion", "target students with end_score - start_score > expected_gain",
              "target students with progress for the measure", ("progress",), groups=("measure",),
              people="students"),
    Indicator("accelerated_by_codesign", "Accelerated progress with and without co-designed goals", _I,
              "students", "proportion",
              "target students with accelerated progress, split by whanau_codesigned",
              "target students with progress", ("progress", "inquiry_steps"), groups=("codesign",),
              note="The odds ratio adjusted for start_score and year level comes from a logistic model "
                   "(hsp_eval.indicators.topics.inquiry.codesign_model). An association, not proof of cause.",
              people="students", cluster="student"),
    # --- self-review --------------------------------------------------------------------------
    Indicator("self_review_rating", "Mean self-review rating", _S, "ratings", "mean",
              "mean rating (1 not occurring .. 4 embedded)", "ratings", ("self_review",),
              groups=("dimension",), note="One row per dimension and rater group (group 'dimension:rater').",
              people="raters", axis="mean rating (1 not occurring .. 4 embedded)"),
    Indicator("self_review_gap", "Leaders' rating minus whānau rating", _S, "ratings", "difference",
              "leaders' mean rating", "minus whānau mean rating, per dimension", ("self_review",),
              groups=("dimension",), better="", people="raters", derived_from=("self_review_rating",),
              hint="right of 0: leaders rate higher than whānau; left: lower"),
)
REGISTRY: dict[str, Indicator] = {i.id: i for i in INDICATORS}
GAP_SUFFIX = "_gap_vs_rest"


def all_ids() -> list[str]:
    """Every indicator id that can appear in the indicator table, gap rows included."""
    out = []
    for i in INDICATORS:
        out.append(i.id)
        if i.gap:
            out.append(i.id + GAP_SUFFIX)
    return out


def base_id(indicator_id: str) -> str:
    """The registry id behind an indicator id (``reach_gap_vs_rest`` -> ``reach``)."""
    return indicator_id.removesuffix(GAP_SUFFIX)


def key_indicators(report: str) -> tuple[str, ...]:
    """The key indicators of ``report`` (one of :data:`KEY_REPORTS`), in registry order.

    Examples
    --------
    >>> [i for i in key_indicators("school") if i not in key_indicators("national")]
    ['deficit_share']
    """
    if report not in KEY_REPORTS:
        raise ValueError(f"report must be one of {', '.join(KEY_REPORTS)}, not {report!r}")
    return tuple(i.id for i in INDICATORS if report in i.key_for)


def render_markdown() -> str:
    """The text of ``docs/indicators.md``."""
    out = ["# Indicators", "",
           "Generated from `hsp_eval/indicators/registry.py` by `python -m hsp_eval.indicators.registry > docs/indicators.md`;",
           "a test fails when this file and the registry differ. Definitions follow",
           "the project's indicator spec (v1) and disclosure spec (v2); see `docs/decisions.md` for choices the spec leaves open.",
           ""]
    for topic in dict.fromkeys(i.topic for i in INDICATORS):
        out += [f"## {topic.replace('_', ' ').capitalize()}", "",
                "| id | what it measures | unit | nested in | people | kind | numerator | denominator | tables | groups "
                "| better |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for i in (i for i in INDICATORS if i.topic == topic):
            groups = ", ".join(i.groups) + (" (+ equity gap rows)" if i.gap else "")
            out.append(f"| `{i.id}` | {i.label} | {i.unit} | {i.cluster or '-'} | {i.people} | {i.kind} | {i.numerator} "
                       f"| {i.denominator} | {', '.join(i.tables)} | {groups} | {i.better or 'neither'} |")
        notes = [(i.id, " ".join(filter(None, (i.note, "" if i.in_spec else BEYOND_SPEC))))
                 for i in INDICATORS if i.topic == topic and (i.note or not i.in_spec)]
        if notes:
            out.append("")
            out += [f"- `{k}`: {v}" for k, v in notes]
        out.append("")
    out += ["## Equity gaps", "",
            "For an indicator marked *equity gap rows* and every group g of `ethnicity`, `year_band` and",
            "`target` (and `ethnicity_prioritised` when present), the row `<id>_gap_vs_rest` holds the value",
            "in g minus the value in the units not in g, with a Newcombe interval; its numerator and",
            "denominator are those of group g.", "",
            "*better* says which direction counts as improving in trends and targets. *people* is who is",
            "behind a row: disclosure control counts them, never contacts, answers or attendances",
            "(`docs/disclosure.md`). *nested in* is the cluster the counted units belong to within a school",
            "(contacts come in families, answers in respondents): the interval allows for it; region and",
            "national rows cluster on schools (`docs/methods.md`).", ""]
    out += ["## How reports show each indicator", "",
            "Charts, tables and sentences take these from the registry (`hsp_eval/reports/labels.py`).",
            "*short label*: a chart's legend beside indicators of the same unit; *value axis*: the axis",
            "with its unit (percentages for shares, percentage points for their differences and for",
            "equity gaps); *in sentences*: the phrase the summaries use; *key indicator of*: `school`, the",
            "school summary's clear changes and the evaluation's comparison with schools like ours, `national`,",
            "the national overview's spread and trends, `summary`, the headline indicators the whānau and",
            "Board summary compares with schools like ours (`docs/reference-groups.md`);",
            "*reading a difference*: what left and right of zero mean.", "",
            "| id | short label | value axis | in sentences | key indicator of | reading a difference |",
            "|---|---|---|---|---|---|"]
    out += [f"| `{i.id}` | {i.short} | {i.axis} | {i.phrase} | {', '.join(i.key_for) or '-'} | {i.hint or '-'} |"
            for i in INDICATORS]
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(render_markdown(), end="")
