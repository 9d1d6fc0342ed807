"""Layer 2, the indicator engine: the long indicator table from a dataset, controlled for disclosure.

Uses only the data layer.

- :mod:`~hsp_eval.indicators.registry`: the one registry holding everything about each indicator;
- :mod:`~hsp_eval.indicators.engine`: :func:`compute`, which runs the topics and rolls schools up
  to regions and the nation;
- :mod:`~hsp_eval.indicators.topics`: one module per topic of ``spec/indicators.md``;
- :mod:`~hsp_eval.indicators.units`, :mod:`~hsp_eval.indicators.aggregate`: the counting layer
  (``docs/architecture.md``);
- :mod:`~hsp_eval.indicators.stats`, :mod:`~hsp_eval.indicators.trends`: intervals and trends
  (``spec/uncertainty.md``);
- :mod:`~hsp_eval.indicators.disclosure`, :mod:`~hsp_eval.indicators.disclosure_key`: what may be shown
  (``spec/disclosure.md``);
- :mod:`~hsp_eval.indicators.params`: a school's params file (years, ``min_n``, targets).

The engine's public functions are available here too: ``indicators.compute(dataset)``.
"""

from hsp_eval.indicators.engine import (COLUMNS, compute, gap_interval, not_available, read_table, select,
                                        tables_needed, write_table)

__all__ = ["COLUMNS", "compute", "gap_interval", "not_available", "read_table", "select", "tables_needed",
           "write_table"]
