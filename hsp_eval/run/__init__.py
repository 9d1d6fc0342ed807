"""Layer 5, running: notebooks executed by papermill, the batch over every school, the index page.

Uses every layer below. :mod:`~hsp_eval.run.batch` prepares the tables once (the data step) and
runs each school's notebooks; :mod:`~hsp_eval.run.execute` runs one notebook and writes its HTML;
:mod:`~hsp_eval.run.warm` is a papermill engine that reuses a warm kernel;
:mod:`~hsp_eval.run.index_page` writes ``index.html``; :mod:`~hsp_eval.run.audit` checks what a
run wrote; :mod:`~hsp_eval.run.demo` gives notebooks the bundled demo's tables.
"""
