"""Layer 1, the data: the data contract, reading and checking a school's files, the dataset.

Files in, a validated :class:`~hsp_eval.data.dataset.Dataset` out. Nothing here knows about
indicators, reports or runs.

- :mod:`~hsp_eval.data.contract`, :mod:`~hsp_eval.data.vocab`: the tables, columns and allowed values
  (``spec/data-contract.md`` as code);
- :mod:`~hsp_eval.data.read`, :mod:`~hsp_eval.data.parse`, :mod:`~hsp_eval.data.schemas`: reading a file
  and checking each value (pandera schemas);
- :mod:`~hsp_eval.data.checks`: the checks across tables (rule objects);
- :mod:`~hsp_eval.data.load`: :func:`~hsp_eval.data.load.load_dataset`, which runs all of them;
- :mod:`~hsp_eval.data.problems`: the plain-words problems a school administrator reads;
- :mod:`~hsp_eval.data.dataset`, :mod:`~hsp_eval.data.keys`: the loaded tables and their integer codes
  (``docs/architecture.md``, "The counting layer");
- :mod:`~hsp_eval.data.fingerprint`, :mod:`~hsp_eval.data.templates`, :mod:`~hsp_eval.data.memory`.
"""
