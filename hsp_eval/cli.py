"""The ``hsp-eval`` command line.

Subcommands
-----------
``generate OUT_DIR``   write a synthetic New Zealand dataset in the data contract
``validate DATA_DIR``  check a dataset against the contract (exit 0 valid, 1 problems)
``indicators DATA_DIR --out FILE``  compute the indicator table (.csv or .parquet); with
    ``--indicators ID,...`` only those, reading only the tables they need
``trends INDICATORS --params DIR --out FILE``  change, trend class and target status per school
``templates OUT_DIR``  write an empty CSV with the header of every contract table
``report [--school ID] [--data DIR] [--params DIR]``  one school's report(s) into ``reports/<id>/``
    (data/demo and params/demo when no --data is given; the school may be left out when the data
    hold one; without a params file, the defaults: no targets)
``batch --data DIR [--params DIR]``  every school's reports and the national overview, in parallel
    (a school without a params file gets the defaults)
``params init ID`` / ``params init --all --data DIR``  write starter ``params/<id>.yaml`` files
``external list`` / ``external run NAME``  the analyses of real public data (notebooks/external/)

Examples
--------
>>> build_parser().parse_args(["generate", "out", "--years", "2021-2023"]).years
[2021, 2022, 2023]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hsp_eval._version import __version__


def parse_years(text: str) -> list[int]:
    """Parse ``2021-2025`` or ``2021,2023`` or ``2024`` into a list of years.

    Examples
    --------
    >>> parse_years("2021-2023"), parse_years("2022,2024")
    ([2021, 2022, 2023], [2022, 2024])
    """
    try:
        if "-" in text:
            lo, hi = (int(x) for x in text.split("-", 1))
            years = list(range(lo, hi + 1))
        else:
            years = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a year range such as 2021-2025") from None
    if not years or any(not 2000 <= y <= 2100 for y in years):
        raise argparse.ArgumentTypeError(f"'{text}' is not a year range within 2000-2100")
    return years


def _cmd_generate(args) -> int:
    from hsp_eval.synthetic import build as synthetic

    t0 = time.perf_counter()
    counts = synthetic.write_dataset(args.out_dir, n_schools=args.schools, years=args.years,
                                     seed=args.seed, fmt=args.format)
    print(f"Wrote a synthetic dataset of {args.schools} schools, {args.years[0]}-{args.years[-1]}, "
          f"seed {args.seed}, to {args.out_dir} ({time.perf_counter() - t0:.1f} s):")
    for table, n in counts.items():
        print(f"  {table:<24} {n:>12,} rows")
    return 0


def _cmd_validate(args) -> int:
    from hsp_eval.data.load import load_dataset
    from hsp_eval.data.problems import DataContractError

    try:
        ds = load_dataset(args.data_dir, quarantine=args.quarantine)
    except DataContractError as e:
        print(f"{args.data_dir} does not meet the data contract.", file=sys.stderr)
        print(e.report.format(cap=args.max_problems), file=sys.stderr)
        if not e.report.fatal and args.quarantine is None:
            print("\nTo load the good rows and set the bad ones aside, run again with "
                  "--quarantine FOLDER.", file=sys.stderr)
        return 1
    print(f"{args.data_dir}: {ds.describe()}")
    if ds.report.notices:
        print("\n".join(f"Note: {n}" for n in ds.report.notices))
    if ds.report.problems:
        print(ds.report.format(cap=args.max_problems), file=sys.stderr)
        print(f"\nThe bad rows were written to {args.quarantine}/<table>.csv with a 'reason' column; "
              f"the rest loaded.", file=sys.stderr)
        return 1
    print("Valid: the dataset meets the data contract.")
    return 0


def parse_names(choices):
    """An argparse type: a comma-separated list of names, each one of ``choices()``.

    Examples
    --------
    >>> parse_names(lambda: ["reach", "breadth"])("reach, breadth")
    ['reach', 'breadth']
    """
    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        allowed = choices()
        unknown = [n for n in names if n not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"unknown: {', '.join(unknown) or 'nothing given'} "
                                             f"(choose from: {', '.join(allowed)})")
        return names
    return parse


def _indicator_ids() -> list[str]:
    from hsp_eval.indicators.registry import all_ids
    return all_ids()


def _group_types() -> list[str]:
    from hsp_eval.indicators.registry import INDICATORS
    return list(dict.fromkeys(g for i in INDICATORS for g in i.groups))


def _cmd_indicators(args) -> int:
    from hsp_eval.indicators import disclosure, disclosure_key, engine as indicators
    from hsp_eval.reports import provenance
    from hsp_eval.data.load import load_dataset
    from hsp_eval.data.problems import DataContractError

    key = None
    if args.publication:  # no key, no publication: said before any work is done
        try:
            key = disclosure_key.find_key(args.key_file, args.data_dir)
        except disclosure_key.KeyProblem as e:
            print(f"hsp-eval: {e}", file=sys.stderr)
            return 2
    read_at = provenance.now()
    try:  # only the tables the requested indicators need (every table by default)
        ds = load_dataset(args.data_dir, tables=indicators.tables_needed(args.indicators))
    except DataContractError as e:
        print(f"{args.data_dir} does not meet the data contract; run 'hsp-eval validate' first.",
              file=sys.stderr)
        print(e.report.format(cap=20), file=sys.stderr)
        return 1
    fp = ds.fingerprint()  # of the data as read, before any params are applied
    if args.params is not None:
        from hsp_eval.indicators.topics.inquiry import with_margins
        from hsp_eval.indicators.params import ParamsError, load_params_dir, margins_frame

        try:
            ds = with_margins(ds, margins_frame(load_params_dir(args.params)))
        except ParamsError as e:
            print(f"hsp-eval: {e}", file=sys.stderr)
            return 1
    t0 = time.perf_counter()
    table = indicators.compute(ds, years=args.years, min_n=args.min_n, publication=args.publication,
                               ethnicity=args.ethnicity, indicators=args.indicators, group_types=args.group_types,
                               workers=args.workers, chunk_size=args.chunk_size, key=key, rules=True)
    if args.log is not None:
        log = disclosure.log_of(table, Path(args.out).stem,
                                max(disclosure.PUBLICATION_MIN, args.min_n) if args.publication else args.min_n)
        args.log.parent.mkdir(parents=True, exist_ok=True)
        log.to_csv(args.log, index=False, lineterminator="\n")
    table = table.drop(columns="withheld_rule")
    indicators.write_table(table, args.out)
    subset = {} if args.indicators is None and args.group_types is None else {
        "indicators": None if args.indicators is None else ",".join(args.indicators),
        "group_types": None if args.group_types is None else ",".join(args.group_types),
        "tables": ",".join(ds.tables)}  # the fingerprint covers these tables only
    if args.params is not None:
        subset["measurement_error_from"] = str(args.params)
    provenance.write_sidecar(args.out, provenance.record(
        fp, args.data_dir, read_at, min_n=args.min_n, publication=args.publication, ethnicity=args.ethnicity,
        years=None if args.years is None else f"{args.years[0]}-{args.years[-1]}", **subset))
    missing = indicators.not_available(ds, args.indicators)
    print(f"Wrote {len(table):,} indicator rows ({table['suppressed'].sum():,} withheld) to {args.out} "
          f"in {time.perf_counter() - t0:.1f} s (provenance beside it); data fingerprint {fp[:16]}.")
    if missing:
        print("Not available (a table they need is missing): " + ", ".join(missing))
    return 0


def _cmd_trends(args) -> int:
    from hsp_eval.indicators.engine import read_table, write_table
    from hsp_eval.indicators.params import ParamsError, load_params_dir
    from hsp_eval.indicators.trends import compute_trends, targets_frame

    try:
        params = load_params_dir(args.params) if args.params else {}
    except ParamsError as e:
        print(f"hsp-eval: {e}", file=sys.stderr)
        return 1
    table = read_table(args.indicators)
    trends = compute_trends(table, targets_frame(params))
    write_table(trends, args.out)
    counts = trends["trend"].value_counts().to_dict()
    print(f"Wrote {len(trends):,} series to {args.out}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    if params:
        status = trends["target_status"].value_counts().to_dict()
        print("Targets: " + ", ".join(f"{k} {v}" for k, v in sorted(status.items())))
    return 0


def _cmd_templates(args) -> int:
    from hsp_eval.data.templates import write_templates

    for p in write_templates(args.out_dir):
        print(p)
    return 0


def parse_schools(text: str):
    """``all`` or a comma-separated list of school ids (kept as text: leading zeros matter).

    Examples
    --------
    >>> parse_schools("all"), parse_schools("0113, 0827")
    ('all', ['0113', '0827'])
    """
    if text.strip().lower() == "all":
        return "all"
    ids = [x.strip() for x in text.split(",") if x.strip()]
    if not ids:
        raise argparse.ArgumentTypeError(f"'{text}' is not 'all' or a list of school ids such as 0113,0827")
    return ids


def _print_batch(result, reports, seconds: float) -> int:
    from hsp_eval.run.batch import format_duration

    counts = result.counts()
    print(f"Reports: {counts['ok']} made, {counts['skipped']} unchanged (skipped), {counts['failed']} failed, "
          f"in {format_duration(seconds)}.")
    print(f"Open {result.index} for every report (manifest: {Path(reports) / 'manifest.csv'}).")
    if counts["failed"]:
        print("Failed:", file=sys.stderr)
        for r in result.failed.itertuples():
            print(f"  {r.school} {r.notebook}: {r.error}", file=sys.stderr)
        return 1
    return 0


def _run_batch(args, schools, summary: bool, national: bool, workers: int, scheduler=None):
    """Run the batch for ``report`` or ``batch``; return the exit code and the result (None when it
    could not start), having printed what was made."""
    from hsp_eval.run.batch import BatchError, run_batch

    t0 = time.perf_counter()
    try:
        result = run_batch(args.data, args.params, args.out, schools=schools, years=args.years, workers=workers,
                           scheduler=scheduler, summary=summary, national=national, engine_name=args.engine,
                           notebooks_dir=args.notebooks, force=args.force, progress=not args.no_progress,
                           key_file=args.key_file)
    except BatchError as e:
        print(f"hsp-eval: {e}", file=sys.stderr)
        return 1, None
    return _print_batch(result, args.out, time.perf_counter() - t0), result


def _on_defaults(result) -> list[str]:
    """The schools of a run whose reports used the default params (no params file)."""
    from hsp_eval.run.batch import PARAMS_DEFAULTS

    m = result.manifest
    return sorted(set(m.loc[m["params"] == PARAMS_DEFAULTS, "school"]))


def _cmd_report(args) -> int:
    from hsp_eval.indicators.params import DEFAULTS_IN_WORDS
    from hsp_eval.run import demo

    if args.data is None:  # the demo, with its params files
        args.data = demo.DATA
        args.params = demo.PARAMS if args.params is None else args.params
    code, result = _run_batch(args, [args.school] if args.school else "only", summary=args.summary,
                              national=False, workers=1)
    if result is None:
        return code
    m = result.manifest
    for r in m[m["status"].isin(["ok", "skipped"])].itertuples():
        print(f"Report: {Path(args.out) / r.html}")
    for sid in _on_defaults(result):
        where = args.params if args.params is not None else Path("params")
        print(f"\nNo params file for school {sid}, so its reports use the default settings: "
              f"{DEFAULTS_IN_WORDS}. To set the school's targets:\n"
              f"  hsp-eval params init {sid} --data {args.data} --out {where}\n"
              f"  (then edit {Path(where) / (sid + '.yaml')}: its targets, focus groups and name)\n"
              f"  hsp-eval report --school {sid} --data {args.data} --params {where}")
    return code


def _cmd_batch(args) -> int:
    if args.workers < 1:
        print("hsp-eval: --workers must be 1 or more", file=sys.stderr)
        return 2
    code, result = _run_batch(args, args.schools, summary=args.summary, national=args.national,
                              workers=args.workers, scheduler=args.scheduler)
    on_defaults = [] if result is None else _on_defaults(result)
    if on_defaults:
        where = args.params if args.params is not None else Path("params")
        print(f"\n{len(on_defaults):,} school(s) had no params file and got the default settings (no targets). "
              f"To set targets, write a starter file for every school that has none, edit them, and run again:\n"
              f"  hsp-eval params init --all --data {args.data} --out {where}\n"
              f"  hsp-eval batch --data {args.data} --params {where} ...")
    return code


def _cmd_params_init(args) -> int:
    from hsp_eval.indicators.params import write_starter, write_starters

    if args.all and args.school_id:
        print("hsp-eval: give a school id or --all, not both", file=sys.stderr)
        return 2
    if (args.all or not args.school_id) and args.data is None:
        print("hsp-eval: --all (or leaving out the school id) needs --data DIR: the schools are read from it",
              file=sys.stderr)
        return 2
    schools = {}  # school id -> (name, years), from one reading of the data
    if args.data is not None:
        from hsp_eval.data.load import load_dataset
        from hsp_eval.data.problems import DataContractError

        try:  # the schools and enrolments tables only (the two every dataset has), once for every school
            ds = load_dataset(args.data, tables=["schools"])
        except DataContractError as e:
            print(f"hsp-eval: {args.data} does not meet the data contract; run 'hsp-eval validate' first.",
                  file=sys.stderr)
            print(e.report.format(cap=20), file=sys.stderr)
            return 1
        e = ds["enrolments"]
        years = {str(k): sorted(int(y) for y in v) for k, v in
                 e.groupby(e["school_id"].astype(str))["year"].unique().items()}
        s = ds["schools"]
        schools = {sid: (str(name), args.years or years.get(sid)) for sid, name in
                   zip(s["school_id"].astype(str), s["school_name"])}
    if args.all:
        written, kept = write_starters(args.out, [(sid, name, ys) for sid, (name, ys) in sorted(schools.items())],
                                       args.min_n)
        print(f"Params files in {args.out}: {len(written):,} written, {len(kept):,} kept as they were "
              f"(a file that exists is never overwritten).")
        print(f"Edit each school's targets, focus groups and name, then run "
              f"'hsp-eval batch --data {args.data} --params {args.out}'.")
        return 0
    sid = args.school_id
    if sid is None:
        if len(schools) != 1:
            print(f"hsp-eval: {args.data} holds {len(schools):,} schools; give a school id, or --all for every "
                  f"school", file=sys.stderr)
            return 2
        sid = next(iter(schools))
    if args.data is not None and sid not in schools:
        print(f"hsp-eval: school {sid} is not in {args.data}/schools", file=sys.stderr)
        return 1
    name, years = schools.get(sid, (None, args.years))
    try:
        path = write_starter(args.out, sid, name, years, args.min_n)
    except FileExistsError:
        print(f"hsp-eval: {Path(args.out) / (sid + '.yaml')} already exists; it was left as it is.",
              file=sys.stderr)
        return 1
    data = f" --data {args.data}" if args.data is not None else ""
    print(f"Wrote {path}: edit the display name, focus groups and targets, then run "
          f"'hsp-eval report --school {sid}{data} --params {args.out}'.")
    return 0


def _cmd_external(args) -> int:
    from hsp_eval import external
    from hsp_eval.run.execute import NotebookFailed, run_external

    if args.external_command == "list":
        for d in external.DATASETS.values():
            print(f"{d.name:<26} {d.title}\n{'':<26} data/external/{d.folder}/, notebooks/external/{d.notebook}")
        return 0
    names = sorted(external.DATASETS) if args.name == "all" else [args.name]
    unknown = [n for n in names if n not in external.DATASETS]
    if unknown:
        print(f"hsp-eval: '{unknown[0]}' is not an external dataset; known: "
              f"{', '.join(sorted(external.DATASETS))} (or all)", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        t0 = time.perf_counter()
        try:
            out = run_external(name, args.out)
        except NotebookFailed as e:
            failed.append(name)
            print(f"{name}: FAILED: {e}" + (f" (partly run notebook: {e.failed_path})" if e.failed_path else ""),
                  file=sys.stderr)
            continue
        print(f"{name}: {out['html']} ({time.perf_counter() - t0:.0f} s)")
    return 1 if failed else 0


def _cmd_audit(args) -> int:
    from hsp_eval.run.audit import audit, format_report
    from hsp_eval.data.problems import DataContractError

    try:
        result = audit(args.output_dir, args.data, publication=args.publication)
    except DataContractError as e:
        print(f"hsp-eval: {args.data} does not meet the data contract, so the audit cannot know which ids "
              f"to look for; run 'hsp-eval validate' first.", file=sys.stderr)
        print(e.report.format(cap=20), file=sys.stderr)
        return 2
    print(format_report(result))
    return 1 if len(result.findings) else 0


def _add_run_options(sp, demo_defaults: bool):
    sp.add_argument("--data", type=Path, required=not demo_defaults, default=None,
                    help="the dataset folder" + (" (default: the demo's data/demo)" if demo_defaults else ""))
    sp.add_argument("--params", type=Path, default=None,
                    help="folder of <school_id>.yaml params files; a school without one gets the default "
                         "settings (no targets)" + (" (default: params/demo with the demo's data, else none)"
                                                    if demo_defaults else " (default: none)"))
    sp.add_argument("--out", type=Path, default=Path("reports"), help="the reports folder (default reports)")
    sp.add_argument("--years", type=parse_years, default=None, help="years to report, e.g. 2022-2025 (default all)")
    sp.add_argument("--engine", default=None, help="papermill engine name (default: papermill's standard engine)")
    sp.add_argument("--notebooks", type=Path, default=None,
                    help="folder of the template notebooks (default: the project's notebooks/)")
    sp.add_argument("--force", action="store_true", help="recompute and rerun everything, changed or not")
    sp.add_argument("--no-progress", action="store_true",
                    help="say nothing while the reports run (by default: a progress bar on a terminal, "
                         "a plain line now and then elsewhere, on standard error)")
    sp.add_argument("--key-file", type=Path, default=None, help=KEY_HELP)


KEY_HELP = ("the secret key file of publication mode (default: the file named by HSP_EVAL_KEY_FILE, else "
            "disclosure.key in the data folder); make one with 'hsp-eval key new FILE'")


def _cmd_key_new(args) -> int:
    from hsp_eval.indicators.disclosure_key import new_key_file

    try:
        path = new_key_file(args.file)
    except FileExistsError as e:
        print(f"hsp-eval: {e}", file=sys.stderr)
        return 1
    print(f"Wrote a new publication key to {path}. Keep it secret (not in the data you share, not in git) "
          f"and keep it: the same key gives the same published counts. Use it with --key-file {path}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``hsp-eval``."""
    p = argparse.ArgumentParser(prog="hsp-eval", description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"hsp_eval {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write a synthetic NZ dataset in the data contract")
    g.add_argument("out_dir", type=Path)
    g.add_argument("--schools", type=int, default=10)
    g.add_argument("--years", type=parse_years, default=parse_years("2022-2025"))
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--format", choices=["csv", "parquet"], default="csv")
    g.set_defaults(func=_cmd_generate)

    v = sub.add_parser("validate", help="check a dataset folder against the data contract")
    v.add_argument("data_dir", type=Path)
    v.add_argument("--quarantine", type=Path, default=None,
                   help="write bad rows to QUARANTINE/<table>.csv and load the rest")
    v.add_argument("--max-problems", type=int, default=50, help="list at most this many problems")
    v.set_defaults(func=_cmd_validate)

    i = sub.add_parser("indicators", help="compute the indicator table of a dataset")
    i.add_argument("data_dir", type=Path)
    i.add_argument("--out", type=Path, required=True, help="indicators.parquet or indicators.csv")
    i.add_argument("--years", type=parse_years, default=None)
    i.add_argument("--min-n", type=int, default=5, help="withhold rows with fewer people than this")
    i.add_argument("--publication", action="store_true",
                   help="publication rules at every level: at least 6 people, counts rounded to base 3 by "
                        "keyed draws, values from the rounded counts (needs a key)")
    i.add_argument("--key-file", type=Path, default=None, help=KEY_HELP)
    i.add_argument("--log", type=Path, default=None,
                   help="write the disclosure log (every cell shown or withheld, and why) to this CSV file")
    i.add_argument("--ethnicity", choices=["total", "prioritised", "both"], default="both")
    i.add_argument("--params", type=Path, default=None,
                   help="folder of params/<school_id>.yaml files: each school's measurement_error "
                        "(accelerated progress must beat the expected gain by it)")
    i.add_argument("--indicators", type=parse_names(_indicator_ids), default=None, metavar="ID,ID,...",
                   help="only these indicators (default: all); only the tables they need are read")
    i.add_argument("--group-types", type=parse_names(_group_types), default=None, metavar="TYPE,...",
                   help="only these group types (for example 'all' for totals only)")
    i.add_argument("--workers", type=int, default=1,
                   help="processes to split the schools across (the table is the same whatever the number)")
    i.add_argument("--chunk-size", type=int, default=None,
                   help="compute at most this many schools at once, to lower peak memory")
    i.set_defaults(func=_cmd_indicators)

    tr = sub.add_parser("trends", help="multi-year change, trend class and target status per school")
    tr.add_argument("indicators", type=Path, help="an indicator table written by 'hsp-eval indicators'")
    tr.add_argument("--params", type=Path, default=None, help="folder of params/<school_id>.yaml files")
    tr.add_argument("--out", type=Path, required=True)
    tr.set_defaults(func=_cmd_trends)

    t = sub.add_parser("templates", help="write empty CSV templates of every table")
    t.add_argument("out_dir", type=Path)
    t.set_defaults(func=_cmd_templates)

    r = sub.add_parser("report", help="run one school's report(s) into REPORTS/<school_id>/")
    r.add_argument("--school", default=None,
                   help="the school id, e.g. 0113 (may be left out when the data hold one school)")
    r.add_argument("--summary", action="store_true", help="also the whānau and Board summary")
    _add_run_options(r, True)
    r.set_defaults(func=_cmd_report)

    b = sub.add_parser("batch", help="every school's reports and the national overview, in parallel")
    _add_run_options(b, False)
    b.add_argument("--schools", type=parse_schools, default="all", help="'all' (default) or ids: 0113,0827")
    b.add_argument("--workers", type=int, default=1, help="worker processes on this machine (default 1)")
    b.add_argument("--scheduler", default=None,
                   help="address of a dask.distributed scheduler (tcp://host:8786): run the reports there")
    b.add_argument("--summary", action=argparse.BooleanOptionalAction, default=True,
                   help="each school's whānau and Board summary too (default: yes)")
    b.add_argument("--national", action=argparse.BooleanOptionalAction, default=True,
                   help="the national overview too (default: yes)")
    b.set_defaults(func=_cmd_batch)

    pa = sub.add_parser("params", help="school params files")
    psub = pa.add_subparsers(dest="params_command", required=True)
    pi = psub.add_parser("init", help="write a starter params file for a school, or every school (never "
                                      "overwrites)")
    pi.add_argument("school_id", nargs="?", default=None,
                    help="the school id, e.g. 0042 (kept as text; may be left out when the data hold one school)")
    pi.add_argument("--all", action="store_true", help="a file for every school of --data that has none, "
                                                       "from one reading of the data")
    pi.add_argument("--out", type=Path, default=Path("params"), help="folder to write <school_id>.yaml in")
    pi.add_argument("--data", type=Path, default=None, help="dataset folder: the display name and years from it")
    pi.add_argument("--years", type=parse_years, default=None)
    pi.add_argument("--min-n", type=int, default=5)
    pi.set_defaults(func=_cmd_params_init)

    ky = sub.add_parser("key", help="the secret key publication mode needs")
    ksub = ky.add_subparsers(dest="key_command", required=True)
    kn = ksub.add_parser("new", help="write a new random key to FILE (never overwrites)")
    kn.add_argument("file", type=Path)
    kn.set_defaults(func=_cmd_key_new)

    ex = sub.add_parser("external", help="analyses of real public data (NHES, NYC School Survey, UCI, SSOCS)")
    esub = ex.add_subparsers(dest="external_command", required=True)
    esub.add_parser("list", help="the public datasets and their notebooks").set_defaults(func=_cmd_external)
    er = esub.add_parser("run", help="run a dataset's notebook into OUT/<notebook>.ipynb and .html")
    er.add_argument("name", help="a name from 'hsp-eval external list', or all")
    er.add_argument("--out", type=Path, default=Path("reports/external"))
    er.set_defaults(func=_cmd_external)

    au = sub.add_parser("audit", help="check a release folder for identifiers, other schools and "
                                      "disclosure faults before it is shared (exit 1 on any finding)")
    au.add_argument("output_dir", type=Path, help="the folder of reports and tables to check")
    au.add_argument("--data", type=Path, required=True,
                    help="the dataset the outputs were made from (its ids and schools are looked for)")
    au.add_argument("--publication", action="store_true",
                    help="apply the publication rules (counts rounded to base 3 and not under 6, values "
                         "rounded) to every table, not only to files named publication*")
    au.set_defaults(func=_cmd_audit)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run ``hsp-eval``; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except FileNotFoundError as e:
        print(f"hsp-eval: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
