"""One module per topic of ``spec/indicators.md``; each turns the dataset into counted rows.

:mod:`~hsp_eval.indicators.topics.participation` (who takes part in what),
:mod:`~hsp_eval.indicators.topics.communication` (contacts: who starts them, good news, two-way),
:mod:`~hsp_eval.indicators.topics.voice` (the family survey),
:mod:`~hsp_eval.indicators.topics.inquiry` (target students' progress and the co-design model),
:mod:`~hsp_eval.indicators.topics.self_review` (the school's own ratings).
"""
