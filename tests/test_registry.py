"""The registry defines each indicator once, and docs/indicators.md is generated from it."""

from pathlib import Path

from hsp_eval.indicators import registry

ROOT = Path(__file__).resolve().parents[1]
SPEC_IDS = """reach reach_learning reach_by_type conference_reach attendances_per_family breadth learning_share
invitation_uptake retention new_family_reach contact_reach two_way_share reply_rate good_news_share
deficit_share learning_contact_share portal_adoption portal_regular_use survey_response_rate
respondent_representation scale_score scale_favourable scale_alpha perception_gap barrier_prevalence
target_whanau_identified target_whanau_codesigned target_family_goal target_whanau_reviewed accelerated_rate
accelerated_by_codesign self_review_rating self_review_gap""".split()


def test_docs_are_generated_from_the_registry():
    assert (ROOT / "docs" / "indicators.md").read_text(encoding="utf-8") == registry.render_markdown(), \
        "docs/indicators.md is out of date: run 'python -m hsp_eval.indicators.registry > docs/indicators.md'"


def test_every_spec_indicator_is_registered_once():
    ids = [i.id for i in registry.INDICATORS]
    assert sorted(ids) == sorted(SPEC_IDS) and len(ids) == len(set(ids))


def test_every_indicator_is_well_formed():
    from hsp_eval.data.contract import TABLES

    for i in registry.INDICATORS:
        assert i.kind in {"proportion", "mean", "difference", "alpha"}, i.id
        assert set(i.tables) <= set(TABLES), i.id
        assert i.label and i.numerator and i.denominator and i.groups, i.id
        assert i.topic in {"participation", "communication", "voice", "inquiry", "self_review"}, i.id
