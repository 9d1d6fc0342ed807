"""Controlled vocabularies of the data contract, with their documented aliases.

Every category column of the contract takes its allowed values from here, so the
loader, the synthetic generator, the templates and the docs agree by construction.

Aliases are matched after NFC normalisation, stripping and case folding; the value
stored is always the canonical spelling.

Examples
--------
>>> from hsp_eval.data import vocab
>>> vocab.ACTIVITY_FOCUS["learning_conference"]
'learning'
>>> vocab.canonical("region", "manawatu-wanganui")
'Manawatū-Whanganui'
"""

from __future__ import annotations

import re
import unicodedata

REGIONS = (
    "Northland",
    "Auckland",
    "Waikato",
    "Bay of Plenty",
    "Gisborne",
    "Hawke's Bay",
    "Taranaki",
    "Manawatū-Whanganui",
    "Wellington",
    "Tasman",
    "Nelson",
    "Marlborough",
    "West Coast",
    "Canterbury",
    "Otago",
    "Southland",
)

SCHOOL_TYPES = (
    "Full Primary",
    "Contributing",
    "Intermediate",
    "Secondary (Year 7-15)",
    "Secondary (Year 9-15)",
    "Secondary (Year 7-10)",
    "Composite",
    "Restricted Composite",
    "Special",
    "Teen Parent Unit",
    "Correspondence",
)

#: Stats NZ level-1 ethnic groups in the contract's spelling, in code order 1..6.
ETHNIC_GROUPS = ("European", "Māori", "Pacific", "Asian", "MELAA", "Other")
NOT_STATED = "Not stated"
#: Every group an ethnicity cell can hold: the level-1 groups, then Not stated.
ETHNIC_ALL = ETHNIC_GROUPS + (NOT_STATED,)
#: The Ministry's prioritisation order (first match wins).
PRIORITY_ORDER = ("Māori", "Pacific", "Asian", "MELAA", "Other", "European")


def prioritised(groups) -> str:
    """The prioritised ethnic group of a person's (or a family's) groups: the first of
    :data:`PRIORITY_ORDER` among them, else ``Not stated``.

    The one rule behind every prioritised ethnicity of hsp_eval: the indicator table's
    ``ethnicity_prioritised`` groups (:mod:`hsp_eval.indicators.units`, through
    :data:`PRIORITISED_BY_MASK`), the synthetic data's and the inquiry study's.

    Parameters
    ----------
    groups : a ``;``-joined ethnicity cell, or an iterable of group names; None or "" for none.

    Examples
    --------
    >>> prioritised("European;Māori"), prioritised(["Asian", "Not stated"]), prioritised(None)
    ('Māori', 'Asian', 'Not stated')
    """
    if not groups:
        return NOT_STATED
    present = set(groups.split(";") if isinstance(groups, str) else groups)
    return next((g for g in PRIORITY_ORDER if g in present), NOT_STATED)


#: a set of groups as a bit mask over :data:`ETHNIC_ALL` (bit i: ``ETHNIC_ALL[i]``) -> the index in
#: ETHNIC_ALL of its :func:`prioritised` group: a lookup table for arrays of many people or families
PRIORITISED_BY_MASK = tuple(ETHNIC_ALL.index(prioritised([g for b, g in enumerate(ETHNIC_ALL) if m >> b & 1]))
                            for m in range(1 << len(ETHNIC_ALL)))

#: activity_type -> (focus, Epstein type)
ACTIVITY_TYPES = {
    "learning_conference": ("learning", "communicating"),
    "goal_setting": ("learning", "learning at home"),
    "iep_meeting": ("learning", "communicating"),
    "learning_workshop": ("learning", "parenting"),
    "home_visit": ("learning", "parenting"),
    "consultation": ("voice", "decision making"),
    "governance": ("voice", "decision making"),
    "information_evening": ("school", "communicating"),
    "celebration": ("school", "communicating"),
    "volunteering": ("school", "volunteering"),
    "fundraising": ("school", "volunteering"),
    "community_event": ("community", "collaborating with community"),
}
ACTIVITY_FOCUS = {k: v[0] for k, v in ACTIVITY_TYPES.items()}
EPSTEIN_TYPE = {k: v[1] for k, v in ACTIVITY_TYPES.items()}
FOCI = ("learning", "voice", "school", "community")
#: reported_participation also allows involvement no register sees.
REPORTED_ACTIVITY_TYPES = tuple(ACTIVITY_TYPES) + ("learning_at_home",)

MODES = ("in_person", "online", "home", "community_venue")
INITIATED_BY = ("school", "family")
CHANNELS = (
    "face_to_face",
    "phone",
    "email",
    "text",
    "portal_message",
    "app_message",
    "letter",
    "video_call",
    "home_visit",
)
PURPOSES = ("learning", "wellbeing", "good_news", "behaviour", "attendance", "administration")
DEFICIT_PURPOSES = ("behaviour", "attendance")
ROLES = ("whanau", "staff", "student")
RATER_GROUPS = ("leaders", "staff", "whanau")

#: Year bands of the indicator spec: label -> (lowest, highest) year level.
YEAR_BANDS = {"0-3": (0, 3), "4-6": (4, 6), "7-8": (7, 8), "9-10": (9, 10), "11-13": (11, 13)}

BOOL_TRUE = ("true", "yes", "y", "1", "t")
BOOL_FALSE = ("false", "no", "n", "0", "f")


def fold(text: str) -> str:
    """Normalise a value for alias matching: NFC, stripped, case-folded.

    Examples
    --------
    >>> fold("  MA\u0304ori ") == fold("māori")
    True
    """
    return unicodedata.normalize("NFC", str(text)).strip().casefold()


def _strip_macrons(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if c != "\u0304"))


def _aliases(canonical: tuple[str, ...], extra: dict[str, str]) -> dict[str, str]:
    """Map folded spellings (with and without macrons) to canonical values."""
    out: dict[str, str] = {}
    for value in canonical:
        out[fold(value)] = value
        out[fold(_strip_macrons(value))] = value
    for alias, value in extra.items():
        out[fold(alias)] = value
        out[fold(_strip_macrons(alias))] = value
    return out


ETHNICITY_ALIASES = _aliases(
    ETHNIC_ALL,
    {
        "1": "European",
        "2": "Māori",
        "3": "Pacific",
        "4": "Asian",
        "5": "MELAA",
        "6": "Other",
        "NZ European": "European",
        "New Zealand European": "European",
        "Pākehā": "European",
        "Pacific Peoples": "Pacific",
        "Pasifika": "Pacific",
        "Middle Eastern/Latin American/African": "MELAA",
        "Other ethnicity": "Other",
        "Not Stated": NOT_STATED,
    },
)

#: column vocabulary name -> (allowed canonical values, alias map)
VOCABULARIES: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "region": (REGIONS, _aliases(REGIONS, {"Manawatu-Wanganui": "Manawatū-Whanganui",
                                           "Manawatū-Wanganui": "Manawatū-Whanganui",
                                           "Hawkes Bay": "Hawke's Bay",
                                           "Hawke’s Bay": "Hawke's Bay"})),
    "school_type": (SCHOOL_TYPES, _aliases(SCHOOL_TYPES, {
        "Special School": "Special",
        "Composite (Year 1-15)": "Composite",
        "Composite (Year 1-10)": "Restricted Composite",
        "Secondary (Year 11-15)": "Secondary (Year 9-15)",
    })),
    "activity_type": (tuple(ACTIVITY_TYPES), _aliases(tuple(ACTIVITY_TYPES), {})),
    "reported_activity_type": (REPORTED_ACTIVITY_TYPES, _aliases(REPORTED_ACTIVITY_TYPES, {})),
    "mode": (MODES, _aliases(MODES, {"in person": "in_person", "community venue": "community_venue"})),
    "initiated_by": (INITIATED_BY, _aliases(INITIATED_BY, {"parent": "family", "whanau": "family",
                                                           "whānau": "family"})),
    "channel": (CHANNELS, _aliases(CHANNELS, {"face to face": "face_to_face", "in person": "face_to_face",
                                              "txt": "text", "sms": "text", "video": "video_call",
                                              "home visit": "home_visit"})),
    "purpose": (PURPOSES, _aliases(PURPOSES, {"good news": "good_news", "admin": "administration"})),
    "role": (ROLES, _aliases(ROLES, {"whānau": "whanau", "parent": "whanau", "family": "whanau",
                                     "teacher": "staff"})),
    "rater_group": (RATER_GROUPS, _aliases(RATER_GROUPS, {"whānau": "whanau", "leader": "leaders",
                                                          "senior leaders": "leaders"})),
}


def canonical(vocabulary: str, value: str) -> str | None:
    """Return the canonical spelling of ``value`` in ``vocabulary``, or None if unknown.

    Examples
    --------
    >>> canonical("channel", "TXT")
    'text'
    >>> canonical("channel", "pigeon") is None
    True
    """
    return VOCABULARIES[vocabulary][1].get(fold(value))


def parse_ethnicity(value: str) -> tuple[str | None, str | None]:
    """Parse one ``ethnicity`` cell into the canonical ``;``-joined form.

    Returns ``(canonical, None)`` or ``(None, reason)``. Groups are separated by ``;`` or, as
    spreadsheets and people often write lists, by ``,`` (no group's name holds either). They
    are de-duplicated and put in code order (European, Māori, Pacific, Asian, MELAA, Other).

    Examples
    --------
    >>> parse_ethnicity("Maori; NZ European")
    ('European;Māori', None)
    >>> parse_ethnicity("2;3"), parse_ethnicity("Pacific, Māori")
    (('Māori;Pacific', None), ('Māori;Pacific', None))
    >>> parse_ethnicity("Martian")[1]
    'is not an ethnic group of the contract (allowed: European, Māori, Pacific, Asian, MELAA, Other, Not stated, or Stats NZ codes 1-6)'
    >>> parse_ethnicity("Māori;Martian")[1][:20]
    "contains 'Martian', "
    """
    written = [x.strip() for x in re.split(r"[;,]", str(value)) if x.strip()]  # a comma as a ';'
    parts = [fold(x) for x in written]
    if not parts:
        return None, "is empty; write 'Not stated' when the ethnicity is not known"
    groups = []
    allowed = "(allowed: " + ", ".join(ETHNIC_GROUPS) + f", {NOT_STATED}, or Stats NZ codes 1-6)"
    for raw, part in zip(written, parts):
        group = ETHNICITY_ALIASES.get(part)
        if group is None:
            if len(parts) == 1:
                return None, f"is not an ethnic group of the contract {allowed}"
            return None, f"contains '{raw}', which is not an ethnic group of the contract {allowed}"
        if group not in groups:
            groups.append(group)
    if NOT_STATED in groups and len(groups) > 1:
        return None, "combines 'Not stated' with other groups; write 'Not stated' alone or only the groups"
    if len(groups) > 3:
        return None, f"has {len(groups)} groups; at most 3 are allowed"
    groups.sort(key=ETHNIC_ALL.index)
    return ";".join(groups), None
