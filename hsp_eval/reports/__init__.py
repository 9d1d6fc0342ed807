"""Layer 3, reports: what the notebooks show, computed from prepared tables, and how it is drawn.

Uses the indicator and data layers, and reads only the tables the run's data step prepared.

- :mod:`~hsp_eval.reports.labels`: words and number formats, derived from the registry;
- :mod:`~hsp_eval.reports.school`, :mod:`~hsp_eval.reports.summary`: a school's evaluation and its
  whānau/Board summary;
- :mod:`~hsp_eval.reports.national`, :mod:`~hsp_eval.reports.funnel`, :mod:`~hsp_eval.reports.multilevel`,
  :mod:`~hsp_eval.reports.inquiry_impact`: the national overview and the inquiry study;
- :mod:`~hsp_eval.reports.plots`, :mod:`~hsp_eval.reports.plots_national`: the charts (computation
  stays in the modules above);
- :mod:`~hsp_eval.reports.sections`: what a section shows when its data are thin (a sentence instead
  of an empty chart or table), and tables without an index of row numbers;
- :mod:`~hsp_eval.reports.prepared`: the tables the data step prepares beside the indicator table;
- :mod:`~hsp_eval.reports.provenance`: what each page was made from.
"""
