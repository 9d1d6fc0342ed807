"""Words for the synthetic generator: survey item bank, school names, activity titles.

Everything here is written for hsp_eval (not copied from any published instrument).
No text names a person: school names are built from landscape and plant words, and
activity titles describe the event ("Term 1 learning conferences").

Examples
--------
>>> from hsp_eval.synthetic.text import survey_items_rows
>>> rows = survey_items_rows()
>>> sorted({r["instrument"] for r in rows})
['staff_partnership', 'whanau_partnership']
>>> any(r["reverse"] for r in rows if r["scale"] == "two_way_communication")
True
"""

from __future__ import annotations

#: The partnership scales, shared by the whānau and the staff instrument (perception gap).
SCALES = ("true_partnership", "inclusive_culture", "two_way_communication", "learning_at_home")
LIKERT_MIN, LIKERT_MAX, FAVOURABLE_MIN = 1, 5, 4

# (item_id, scale, text, reverse)
WHANAU_ITEMS = (
    ("W_TP1", "true_partnership", "Staff at this school listen to what I know about my child.", False),
    ("W_TP2", "true_partnership",
     "The school and our whānau decide together on the next steps in my child's learning.", False),
    ("W_TP3", "true_partnership", "Teachers ask about our family's hopes and goals for our child.", False),
    ("W_TP4", "true_partnership", "Decisions about my child's learning are made without asking us.", True),
    ("W_TP5", "true_partnership",
     "What I know about my child is treated as being as important as what the teacher knows.", False),
    ("W_IC1", "inclusive_culture", "I feel welcome when I come into the school.", False),
    ("W_IC2", "inclusive_culture", "The school values our family's culture, language and identity.", False),
    ("W_IC3", "inclusive_culture", "People at the school treat our family with respect.", False),
    ("W_IC4", "inclusive_culture", "I sometimes feel judged by staff at this school.", True),
    ("W_TW1", "two_way_communication",
     "I hear from the school when my child is doing well, not only when there is a problem.", False),
    ("W_TW2", "two_way_communication", "It is easy to raise a question or a worry with my child's teacher.", False),
    ("W_TW3", "two_way_communication", "When I contact the school, someone gets back to me.", False),
    ("W_TW4", "two_way_communication",
     "Messages from the school mostly tell us things; there is little chance to reply.", True),
    ("W_LH1", "learning_at_home", "I know what my child is learning at school this term.", False),
    ("W_LH2", "learning_at_home",
     "The school has shown me practical ways to support my child's learning at home.", False),
    ("W_LH3", "learning_at_home", "The school asks what we already do at home that helps our child learn.", False),
    ("W_LH4", "learning_at_home", "I feel confident supporting my child with the learning goals we agreed on.", False),
    # barriers inventory: no scale; agreeing (4 or 5) means the barrier applies
    ("W_B1", None, "Meeting times clash with my work or other commitments.", False),
    ("W_B2", None, "Getting to the school is hard (transport or distance).", False),
    ("W_B3", None, "I do not always feel welcome at school events.", False),
    ("W_B4", None, "Information is not available in the language we speak at home.", False),
    ("W_B5", None, "Finding care for younger children makes it hard to come.", False),
    ("W_B6", None, "I am not sure how to help with my child's school work.", False),
    ("W_B7", None, "School events do not feel relevant to our family.", False),
)

STAFF_ITEMS = (
    ("S_TP1", "true_partnership", "I listen to what whānau know about their child.", False),
    ("S_TP2", "true_partnership", "I decide the next steps in a student's learning together with their whānau.", False),
    ("S_TP3", "true_partnership", "I ask whānau about their hopes and goals for their child.", False),
    ("S_TP4", "true_partnership", "Decisions about students' learning are mostly made by staff alone.", True),
    ("S_IC1", "inclusive_culture", "Whānau are made welcome when they come into the school.", False),
    ("S_IC2", "inclusive_culture", "Our school values each family's culture, language and identity.", False),
    ("S_IC3", "inclusive_culture", "Some families may feel judged by staff here.", True),
    ("S_TW1", "two_way_communication",
     "I contact whānau when their child is doing well, not only about problems.", False),
    ("S_TW2", "two_way_communication", "Whānau find it easy to raise a question or a worry with me.", False),
    ("S_TW3", "two_way_communication",
     "Most of our communication with families goes one way, from school to home.", True),
    ("S_LH1", "learning_at_home", "I tell whānau what their child is learning each term.", False),
    ("S_LH2", "learning_at_home", "I show whānau practical ways to support learning at home.", False),
    ("S_LH3", "learning_at_home", "I ask whānau what they already do at home that helps their child learn.", False),
)

INSTRUMENTS = {"whanau_partnership": WHANAU_ITEMS, "staff_partnership": STAFF_ITEMS}

#: barrier item -> base probability that a whānau respondent reports it
BARRIER_BASE = {"W_B1": 0.40, "W_B2": 0.12, "W_B3": 0.10, "W_B4": 0.05, "W_B5": 0.22, "W_B6": 0.28,
                "W_B7": 0.14}


def survey_items_rows() -> list[dict]:
    """The ``survey_items`` table as a list of row dicts (both instruments)."""
    rows = []
    for instrument, items in INSTRUMENTS.items():
        for item_id, scale, text, reverse in items:
            rows.append({"instrument": instrument, "item_id": item_id, "scale": scale, "text": text,
                         "response_min": LIKERT_MIN, "response_max": LIKERT_MAX,
                         "favourable_min": FAVOURABLE_MIN, "reverse": reverse})
    return rows


# ---------------------------------------------------------------------------
# school names: landscape and plant words, never people

NAME_WORDS = (
    "Kōwhai", "Tōtara", "Rimu", "Mataī", "Kahikatea", "Pūriri", "Harakeke", "Karaka", "Miro", "Tawa",
    "Kauri", "Rātā", "Pōhutukawa", "Mānuka", "Horoeka", "Kawakawa", "Ngaio", "Awatea", "Te Awa",
    "Awanui", "Maunga", "Moana", "Roto", "Puke", "Waiora", "Tūī", "Kererū", "Pīwakawaka", "Kōtuku",
    "Riverside", "Hillcrest", "Bayview", "Seaview", "Parkside", "Lakeview", "Greenhill", "Stonefield",
    "Ridgeway", "Fernhill", "Brookvale", "Oakridge", "Flaxmere Road", "Sandhurst", "Clearwater",
    "Redcliffs", "Shingle Creek", "Tussock", "Pinegrove", "Willowbank", "Cabbage Tree", "Rocky Point",
    "Harbourside", "Eastgate", "Westfield", "Northbrook", "Southmead", "Windy Ridge", "Limestone",
    "Gorge Road", "Totara Flat", "Manuka Downs", "Kiwi Flat", "Raupō", "Pingao", "Tarata",
)
NAME_PLACES = ("", "Valley", "Park", "Heights", "Bay", "Downs", "Plains", "Hills", "Creek", "North",
               "South", "East", "West", "Central", "Beach", "Grove")
NAME_SUFFIX = {
    "Full Primary": ("School", "Primary School"),
    "Contributing": ("School", "Primary School"),
    "Intermediate": ("Intermediate", "Intermediate School"),
    "Secondary (Year 9-15)": ("College", "High School"),
    "Secondary (Year 7-15)": ("College", "High School"),
    "Composite": ("Area School", "School"),
    "Special": ("Specialist School", "Learning Centre"),
}

# ---------------------------------------------------------------------------
# activity titles (no commas, no names); {t} is the term number

TITLES = {
    "learning_conference": ("Term {t} learning conferences", "Term {t} three-way conferences",
                            "Student-led conferences Term {t}"),
    "learning_conference_secondary": ("Term {t} parent-teacher-student interviews",
                                      "Term {t} learning conversations"),
    "goal_setting": ("Goal-setting hui with whānau", "Learning goals meetings", "Start-of-year goal setting"),
    "iep_meeting": ("Term {t} IEP meetings", "Term {t} individual plan reviews"),
    "home_visit": ("Term {t} home visits", "Term {t} visits to whānau at home"),
    "learning_workshop": ("Maths at home evening", "Reading together workshop", "Supporting writing at home",
                          "Digital learning evening", "Te reo Māori at home workshop", "Play-based learning morning"),
    "learning_workshop_secondary": ("NCEA explained for whānau", "Study skills evening",
                                    "Careers and pathways evening", "Supporting learning at home evening"),
    "consultation": ("Health curriculum consultation", "Strategic plan consultation", "Community consultation evening",
                     "Parent forum"),
    "consultation_hui": ("Whānau hui", "Term {t} whānau hui", "Hui on te reo and tikanga in our school"),
    "consultation_fono": ("Pacific fono", "Term {t} Pasifika fono"),
    "governance": ("School board meeting",),
    "governance_pta": ("Parent Teacher Association meeting", "Home and school committee meeting"),
    "information_evening": ("Open day", "Camp information evening", "Curriculum information evening",
                            "New entrants information session"),
    "information_evening_secondary": ("Year 9 information evening", "Subject choice evening", "Open evening",
                                      "Camp information evening"),
    "celebration": ("Matariki celebration", "Prize-giving", "Cultural festival", "Athletics day",
                    "End-of-year concert", "Kapa haka performance", "Pasifika celebration", "School production"),
    "volunteering": ("Working bee", "Reading helpers", "Trip helpers", "Garden day helpers",
                     "Sports coaching volunteers"),
    "fundraising": ("School gala", "Sausage sizzle", "Quiz night", "Disco night", "Market day"),
    "community_event": ("Marae visit with whānau", "Community breakfast at the church hall",
                        "Community sports day", "Community garden planting", "Library family day",
                        "Neighbourhood clean-up"),
}
