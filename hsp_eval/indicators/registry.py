"""The indicator registry: every indicator defined once.

Each :class:`Indicator` says what it measures in plain English, its unit, whether it
is a proportion, a mean or a difference, its numerator and denominator, which tables
it needs, the group types it is broken down by, whether equity-gap rows are made for
it, and which topic module computes it. ``docs/indicators.md`` is generated from this
registry (:func:`render_markdown`); a test fails when the two differ.

Examples
--------
>>> REGISTRY["reach"].unit, REGISTRY["reach"].kind
('families', 'proportion')
>>> "reach_gap_vs_rest" in all_ids()
True
"""

from __future__ import annotations

from dataclasses import dataclass, replace

FAMILY_GROUPS = ("all", "ethnicity", "ethnicity_prioritised", "year_band", "target", "new_family")
ALL_ONLY = ("all",)


@dataclass(frozen=True)
class Indicator:
    """One indicator of the spec."""

    id: str
    label: str
    topic: str  #: the module of hsp_eval that computes it
    unit: str
    kind: str  #: proportion | mean | difference | alpha
    numerator: str
    denominator: str
    tables: tuple[str, ...]
    groups: tuple[str, ...] = FAMILY_GROUPS
    gap: bool = False  #: equity-gap rows ``<id>_gap_vs_rest`` for ethnicity, year_band, target
    focus: str = ""  #: learning, school, voice, community or "" (what the indicator is about)
    note: str = ""
    better: str = "higher"  #: which direction is an improvement: higher, lower, or "" (neither)
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


_P = "participation"
_C = "communication"
_V = "voice"
_I = "inquiry"
_S = "self_review"

INDICATORS: tuple[Indicator, ...] = (
    # --- participation ---------------------------------------------------------------------
    Indicator("reach", "Families who took part in at least one activity", _P, "families", "proportion",
              "families with at least one attended activity of the school in the year",
              "families with a child enrolled at the school that year", ("activities", "attendance"),
              gap=True),
    Indicator("reach_learning", "Families who took part in a learning-focused activity", _P, "families",
              "proportion", "families with at least one attended activity whose focus is learning",
              "families", ("activities", "attendance"), gap=True, focus="learning",
              note="Learning-focused types: learning_conference, goal_setting, iep_meeting, "
                   "learning_workshop, home_visit."),
    Indicator("reach_by_type", "Families who took part, by type of activity", _P, "families", "proportion",
              "families that attended at least one activity of the type", "families",
              ("activities", "attendance"), groups=("activity_type",)),
    Indicator("conference_reach", "Students whose family came to a learning conference", _P, "students",
              "proportion", "students whose family attended at least one learning_conference",
              "enrolled students", ("activities", "attendance"), gap=True, focus="learning",
              note="The NHES unit: counted per student, not per family."),
    Indicator("attendances_per_family", "Activities attended per family", _P, "families", "mean",
              "mean number of attended activities per family (families with none count as 0)",
              "families", ("activities", "attendance")),
    Indicator("breadth", "Kinds of activity per family", _P, "families", "mean",
              "mean number of distinct activity types a family attended (0 counted)", "families",
              ("activities", "attendance")),
    Indicator("learning_share", "Share of attendances that were learning-focused", _P, "attendances",
              "proportion", "attended rows whose activity focus is learning", "all attended rows",
              ("activities", "attendance"), focus="learning",
              note="The check that engagement with the school is not mistaken for engagement with learning."),
    Indicator("invitation_uptake", "Personal invitations taken up", _P, "invitations", "proportion",
              "rows with invited = true and attended = true", "rows with invited = true",
              ("activities", "attendance")),
    Indicator("retention", "Families reached again the next year", _P, "families", "proportion",
              "families reached in year y-1 and enrolled in y that are reached in y",
              "families reached in y-1 and enrolled in y", ("activities", "attendance"),
              note="Not available for the first year in the data."),
    Indicator("new_family_reach", "New families reached in their first year", _P, "families", "proportion",
              "families new to the school in y (no child there in y-1) that are reached in y",
              "families new to the school in y", ("activities", "attendance"),
              groups=tuple(g for g in FAMILY_GROUPS if g != "new_family"),
              note="Not available for the first year in the data."),
    # --- communication ---------------------------------------------------------------------
    Indicator("contact_reach", "Families with at least one personal contact", _C, "families", "proportion",
              "families with at least one contact", "families", ("contacts",), gap=True),
    Indicator("two_way_share", "Contacts started by the family", _C, "contacts", "proportion",
              "contacts initiated by the family", "all contacts", ("contacts",)),
    Indicator("reply_rate", "School contacts the family replied to", _C, "contacts", "proportion",
              "school-initiated contacts with response_received = true",
              "school-initiated contacts where response_received is known", ("contacts",)),
    Indicator("good_news_share", "School contacts that shared good news", _C, "contacts", "proportion",
              "school-initiated contacts with purpose good_news", "school-initiated contacts",
              ("contacts",)),
    Indicator("deficit_share", "School contacts about behaviour or attendance", _C, "contacts",
              "proportion", "school-initiated contacts with purpose behaviour or attendance",
              "school-initiated contacts", ("contacts",), better="lower"),
    Indicator("learning_contact_share", "Contacts about learning", _C, "contacts", "proportion",
              "contacts with purpose learning", "all contacts", ("contacts",), focus="learning"),
    Indicator("portal_adoption", "Families using the parent portal", _C, "families", "proportion",
              "families with at least one portal login in the year", "families", ("portal_usage",),
              gap=True),
    Indicator("portal_regular_use", "Portal users who log in regularly", _C, "families", "proportion",
              "families with logins in 6 or more distinct months of the year",
              "families with at least one login in the year", ("portal_usage",)),
    # --- family voice -----------------------------------------------------------------------
    Indicator("survey_response_rate", "Families who answered the whānau survey", _V, "families",
              "proportion", "families with a linked whānau respondent who answered at least one item",
              "families", ("survey_items", "survey_respondents", "survey_responses"),
              groups=FAMILY_GROUPS + ("instrument",), gap=True),
    Indicator("respondent_representation", "Over- or under-representation of groups among respondents",
              _V, "respondents", "difference",
              "share of linked whānau respondents' families in the group",
              "minus the group's share of all families", ("survey_items", "survey_respondents",
                                                           "survey_responses"),
              groups=("ethnicity",), note="A difference of shares; no interval.", better=""),
    Indicator("scale_score", "Mean scale score", _V, "respondents", "mean",
              "each respondent's mean over the scale's answered items (after reverse scoring), kept "
              "when at least half the scale's items are answered", "respondents kept",
              ("survey_items", "survey_respondents", "survey_responses"), groups=("scale",)),
    Indicator("scale_favourable", "Favourable answers on a scale", _V, "responses", "proportion",
              "answered responses at or above favourable_min (after reverse scoring)",
              "answered responses", ("survey_items", "survey_respondents", "survey_responses"),
              groups=("scale",)),
    Indicator("scale_alpha", "Internal consistency of a scale (Cronbach's alpha)", _V, "respondents",
              "alpha", "Cronbach's alpha over respondents answering every item of the scale",
              "respondents answering every item (blank under 10)",
              ("survey_items", "survey_respondents", "survey_responses"), groups=("scale",)),
    Indicator("perception_gap", "Staff minus whānau favourable share", _V, "responses", "difference",
              "staff scale_favourable", "minus whānau scale_favourable, with a Newcombe interval",
              ("survey_items", "survey_respondents", "survey_responses"), groups=("scale",), better=""),
    Indicator("barrier_prevalence", "Respondents naming a barrier", _V, "respondents", "proportion",
              "respondents answering favourable (agreeing the barrier applies)", "respondents answering",
              ("survey_items", "survey_respondents", "survey_responses"), groups=("item",), better="lower"),
    # --- inquiry ------------------------------------------------------------------------------
    Indicator("target_whanau_identified", "Target students whose whānau helped identify strengths and needs",
              _I, "students", "proportion", "target students with whanau_identified", "target students",
              ("inquiry_steps",), groups=("all", "ethnicity", "ethnicity_prioritised", "year_band"),
              gap=True),
    Indicator("target_whanau_codesigned", "Target students whose whānau helped design the response",
              _I, "students", "proportion", "target students with whanau_codesigned", "target students",
              ("inquiry_steps",), groups=("all", "ethnicity", "ethnicity_prioritised", "year_band"),
              gap=True),
    Indicator("target_family_goal", "Target students with a goal the family brought", _I, "students",
              "proportion", "target students with family_goal_included", "target students",
              ("inquiry_steps",), groups=("all", "ethnicity", "ethnicity_prioritised", "year_band"),
              gap=True),
    Indicator("target_whanau_reviewed", "Target students whose whānau helped review how the response went", _I,
              "students", "proportion", "target students with whanau_reviewed", "target students",
              ("inquiry_steps",), groups=("all", "ethnicity", "ethnicity_prioritised", "year_band"),
              gap=True),
    Indicator("accelerated_rate", "Target students who made accelerated progress", _I, "students",
              "proportion", "target students with end_score - start_score > expected_gain",
              "target students with progress for the measure", ("progress",), groups=("measure",)),
    Indicator("accelerated_by_codesign", "Accelerated progress with and without co-designed goals", _I,
              "students", "proportion",
              "target students with accelerated progress, split by whanau_codesigned",
              "target students with progress", ("progress", "inquiry_steps"), groups=("codesign",),
              note="The odds ratio adjusted for start_score and year level comes from a logistic model "
                   "(hsp_eval.indicators.topics.inquiry.codesign_model). An association, not proof of cause."),
    # --- self-review --------------------------------------------------------------------------
    Indicator("self_review_rating", "Mean self-review rating", _S, "ratings", "mean",
              "mean rating (1 not occurring .. 4 embedded)", "ratings", ("self_review",),
              groups=("dimension",), note="One row per dimension and rater group (group 'dimension:rater')."),
    Indicator("self_review_gap", "Leaders' rating minus whānau rating", _S, "ratings", "difference",
              "leaders' mean rating", "minus whānau mean rating, per dimension", ("self_review",),
              groups=("dimension",), better=""),
)

# --- who is behind each row (disclosure spec v2) ----------------------------------------------------
_PEOPLE = {
    "students": ("conference_reach", "target_whanau_identified", "target_whanau_codesigned", "target_family_goal",
                 "target_whanau_reviewed", "accelerated_rate", "accelerated_by_codesign"),
    "respondents": ("respondent_representation", "scale_score", "scale_favourable", "scale_alpha",
                    "perception_gap", "barrier_prevalence"),
    "raters": ("self_review_rating", "self_review_gap"),
}
_POPULATION = {
    "families": ("reach", "reach_learning", "reach_by_type", "attendances_per_family", "breadth", "contact_reach",
                 "portal_adoption", "survey_response_rate", "new_family_reach"),
    "students": ("conference_reach",),
    "target_students": ("target_whanau_identified", "target_whanau_codesigned", "target_family_goal",
                        "target_whanau_reviewed"),
}
#: counts shown in more than one indicator (disclosure v2, related indicators): the contacts of a group
#: (two-way: all and family-started; learning: all; good news and deficit: school-started = all minus
#: family-started); the portal users (adoption's numerator is regular use's denominator)
_LINKED = {
    "contacts": ("two_way_share", "learning_contact_share", "good_news_share", "deficit_share"),
    "portal_users": ("portal_adoption", "portal_regular_use"),
}
#: the cluster each indicator's units are nested in at school level (uncertainty spec v2)
_CLUSTER = {
    "family": ("two_way_share", "reply_rate", "good_news_share", "deficit_share", "learning_contact_share",
               "learning_share", "invitation_uptake", "conference_reach"),
    "respondent": ("scale_favourable", "perception_gap"),
    "student": ("accelerated_by_codesign",),
}
_WITHIN = {"new_family_reach": ("new_family", "new")}
_BOUNDED_BY = {"retention": ("families", "new_family", "returning")}
_DERIVED = {"respondent_representation": ("survey_response_rate",), "perception_gap": ("scale_favourable",),
            "self_review_gap": ("self_review_rating",)}


def _with_disclosure_facts(i: Indicator) -> Indicator:
    people = next((p for p, ids in _PEOPLE.items() if i.id in ids), "families")
    population = next((p for p, ids in _POPULATION.items() if i.id in ids), "")
    linked = next((k for k, ids in _LINKED.items() if i.id in ids), "")
    cluster = next((k for k, ids in _CLUSTER.items() if i.id in ids), "")
    return replace(i, people=people, population=population, derived_from=_DERIVED.get(i.id, ()), cluster=cluster,
                   within=_WITHIN.get(i.id, ()), bounded_by=_BOUNDED_BY.get(i.id, ()), linked=linked)


INDICATORS = tuple(_with_disclosure_facts(i) for i in INDICATORS)
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
        notes = [(i.id, i.note) for i in INDICATORS if i.topic == topic and i.note]
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
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(render_markdown(), end="")
