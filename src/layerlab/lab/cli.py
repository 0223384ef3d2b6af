"""`layerlab list | run | report | compare | sweep | publish | catalog`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from layerlab.lab import registry, runner, shared_store
from layerlab.lab.config import ConfigError
from layerlab.lab.rundir import Run
from layerlab.report.headline import summary_lines
from layerlab.runfiles import NotARunError


def usable_cores():
    """The cores this process may run on (its affinity where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def check_threads(n):
    """Refuse a negative thread count, or more threads than this machine has cores (BLAS
    threads beyond the cores only wait for each other). 0 leaves the libraries' choice."""
    cores = usable_cores()
    if n < 0 or n > cores:
        raise ConfigError(f"--threads {n}: give 1 to {cores} (the cores of this machine), or 0 "
                          "for the libraries' own choice")


def set_threads(n):
    """Use n BLAS/OpenMP threads here and in worker processes (and in PyTorch, if loaded)."""
    check_threads(n)
    if not n:
        return
    from threadpoolctl import threadpool_limits

    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    threadpool_limits(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def check_storage(url):
    """Reach a database server's storage now, so that a missing driver or a server that does
    not answer ends the command in one line before anything starts."""
    if shared_store.is_server(url):
        shared_store.open_storage(url)


def _list(args):
    from layerlab.lab import listing

    results = Path(args.results) if args.results else listing.default_results()
    if args.name:
        print("\n".join(listing.show_lines(registry.get(args.name), results)))
        return 0
    print("\n".join(listing.list_lines(registry.all_experiments(), results)))
    if registry.UNAVAILABLE:
        print(registry.unavailable_note())
    return 0


def _run(args):
    set_threads(args.threads)
    if args.resume:
        if args.name or args.set or args.seed is not None or args.quick or args.out:
            print("--resume takes only the run folder: its config is read from it",
                  file=sys.stderr)
            return 2
        if args.worker:  # the main process draws the progress; a worker's would fight it
            with open(os.devnull, "w") as quiet:
                runner.resume(args.resume, worker=True, storage=args.storage, stream=quiet,
                              heartbeat_interval=args.heartbeat)
            return 0
        runner.resume(args.resume, storage=args.storage, heartbeat_interval=args.heartbeat)
        print("\n".join(summary_lines(args.resume)))
        return 0
    if not args.name:
        print("name an experiment (`layerlab list` shows them) or --resume RUN_DIR",
              file=sys.stderr)
        return 2
    check_storage(args.storage)
    out = args.out
    if int(os.environ.get("RANK", "0")) > 0:  # under torchrun rank 0 alone writes the run
        from layerlab.pytorch.distributed import private_folder

        out = private_folder()
    try:
        run = runner.create(args.name, args.set, args.seed, args.quick, out,
                            storage=args.storage, heartbeat_interval=args.heartbeat)
    except ValueError as err:  # an unknown name or setting: the message says what to do
        print(f"layerlab run: {err}", file=sys.stderr)
        return 2
    print(f"run folder: {run.path}")
    runner.execute(run)
    print("\n".join(summary_lines(run.path)))
    return 0


def _report(args):
    if args.storage or args.run_id:
        if not (args.storage and args.run_id) or args.run_dir or args.rebuild:
            print("a run on a database server is gathered with --storage URL --run-id ID "
                  "[--out DIR] (no RUN_DIR: the folder is written from the database)",
                  file=sys.stderr)
            return 2
        args.run_dir = str(runner.gather(args.storage, args.run_id, args.out))
        print(f"run folder: {args.run_dir} (gathered from {shared_store.shown(args.storage)})")
        path = Path(args.run_dir) / "report.md"
    elif not args.run_dir:
        print("give a run folder, or --storage URL --run-id ID", file=sys.stderr)
        return 2
    elif args.out:
        print("--out goes with --storage URL --run-id ID", file=sys.stderr)
        return 2
    else:
        path = _report_folder(args)
    if args.html:
        print(path.with_suffix(".html"))
    elif args.full:
        print(path.read_text())
    else:
        print("\n".join(summary_lines(args.run_dir)))
        print(f"the whole report as text: layerlab report {args.run_dir} --full")
    return 0


def _report_folder(args):
    """Rebuild the report of the run folder args.run_dir; the path of its report.md."""
    if not Path(args.run_dir).exists():
        raise NotARunError(f"{args.run_dir}: no such folder (give a run folder, e.g. "
                           "runs/NAME-DATE-TIME or docs/results/NAME)")
    return runner.rebuild(args.run_dir) if args.rebuild else runner.report(args.run_dir)


def _compare(args):
    from layerlab.lab.compare import compare

    text, panels = compare(args.run_dirs, args.out)
    print(text)
    if panels:
        print(f"\ncurves of the runs overlaid ({panels} panel(s)): {args.out}")
    else:
        print("\nno curve plot is shared by two of these runs: no figure written")
    return 0


def _sweep(args):
    set_threads(args.threads)
    if args.workers < 1:
        print("--workers must be at least 1", file=sys.stderr)
        return 2
    if not args.resume and not args.name:
        print("name an experiment (`layerlab list` shows them) or --resume RUN_DIR",
              file=sys.stderr)
        return 2
    check_storage(args.storage)  # before any folder is made or worker started
    if args.resume:
        run = Run(args.resume, storage=args.storage, heartbeat_interval=args.heartbeat)
        run.requeue_stale = True  # nobody runs yet: cells left running were killed
    else:
        run = runner.create(args.name, args.set, args.seed, args.quick, args.out,
                            run_id=args.run_id, storage=args.storage,
                            heartbeat_interval=args.heartbeat)
    print(f"run folder: {run.path}; {args.workers} worker(s)")
    command = [sys.executable, "-m", "layerlab", "run", "--resume", str(run.path), "--worker",
               "--threads", str(args.threads)]
    if args.storage:
        command += ["--storage", args.storage]
    if args.heartbeat:
        command += ["--heartbeat", str(args.heartbeat)]
    workers = [subprocess.Popen(command, stdout=subprocess.DEVNULL)
               for _ in range(args.workers - 1)]
    try:
        runner.execute(run)
    finally:
        codes = [w.wait() for w in workers]
    if any(codes):
        print(f"worker exit codes: {codes}", file=sys.stderr)
        return 1
    print("\n".join(summary_lines(run.path)))
    return 0


def _publish(args):
    from layerlab.lab.publish import publish

    print(publish(args.run_dir, args.dest, allow_quick=args.allow_quick))
    return 0


def _catalog(args):
    from layerlab.lab.publish import catalog, write_catalog

    if args.write:
        print(write_catalog(args.write, args.results))
    else:
        print(catalog(args.results))
    return 0


def add_parser(subparsers):
    """Register list, run, report, compare, sweep, publish and catalog."""
    p = subparsers.add_parser(
        "list", help="every experiment with the time of a full run; `list NAME`: its settings",
        description="Every experiment, with the study it reproduces and the wall time of its "
        "last published full run (the registered estimate where none is published). With a "
        "NAME: that experiment's description and every setting with its default, its --quick "
        "value and the rule `--set` checks it against.")
    p.add_argument("name", nargs="?", help="show this experiment's description and settings")
    p.add_argument("--results", metavar="DIR",
                   help="published runs to take the times from (default: the checkout's "
                        "docs/results)")
    p.set_defaults(func=_list)

    def run_options(p):
        p.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="change a setting (repeatable); `layerlab list NAME` shows them")
        p.add_argument("--seed", type=int, help="seed (same config + seed = same numbers)")
        p.add_argument("--quick", action="store_true",
                       help="a reduced run on the built-in data (fewer samples and epochs), "
                            "seconds to a minute")
        p.add_argument("--out", metavar="DIR",
                       help="new run folder (default runs/NAME-DATE-TIME); one that holds a "
                            "run is refused")
        p.add_argument("--storage", metavar="URL",
                       help="Optuna storage URL shared by workers on several machines, e.g. "
                            "postgresql://USER@HOST/DB (default: SQLite in the run folder)")
        p.add_argument("--heartbeat", type=_seconds, metavar="SECONDS",
                       help="with a database server: seconds between a training worker's "
                            "heartbeats; a cell whose worker misses 4 in a row is handed to "
                            "another (default 15; the first machine's value holds for the run)")
        p.add_argument("--threads", type=int, default=1,
                       help="BLAS/OpenMP threads per process (default 1: the studies' matrices "
                       "are small, and on a small or busy machine more threads are often "
                       "many times slower; 0 leaves the libraries' own choice)")

    p = subparsers.add_parser("run", help="run an experiment and write its report",
                              description="Run an experiment into a run folder: config, "
                              "metrics, checkpoints, plots, report.md and report.html. It ends "
                              "with the verdicts and the report's paths.")
    p.add_argument("name", nargs="?", help="experiment name (see `layerlab list`)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    p.add_argument("--worker", action="store_true", help=argparse_hidden())
    run_options(p)
    p.set_defaults(func=_run)

    _add_folder_parsers(subparsers, run_options)


def _add_folder_parsers(subparsers, run_options):
    """Register the commands on run folders: report, compare, sweep, publish, catalog."""
    p = subparsers.add_parser("report", help="rebuild a run's report and show its verdicts",
                              description="Rebuild report.md and report.html of a run folder "
                              "from its results.json and print the verdicts and the paths. "
                              "With --storage URL --run-id ID: write the folder and report of "
                              "a run shared through a database server, from the database.")
    p.add_argument("run_dir", nargs="?",
                   help="a run folder (runs/NAME-..., or docs/results/NAME)")
    p.add_argument("--storage", metavar="URL",
                   help="the database server of a run made by workers on several machines")
    p.add_argument("--run-id", help="that run's id (the --run-id its workers were given)")
    p.add_argument("--out", metavar="DIR",
                   help="with --storage: the folder to write (default runs/RUN_ID)")
    p.add_argument("--full", action="store_true", help="print the whole report.md")
    p.add_argument("--html", action="store_true", help="print only the path of report.html")
    p.add_argument("--rebuild", action="store_true",
                   help="judge the run again from its stored cells (cells.json): the study's "
                        "analysis runs anew, nothing trains")
    p.set_defaults(func=_report)

    p = subparsers.add_parser("compare", help="the figures of several runs side by side, and "
                                              "their curves overlaid",
                              description="One table of every claim of the runs (ours and the "
                              "verdict per run) and every setting that differs; and one PNG "
                              "with the curves of every plot the runs share, overlaid.")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders to compare")
    p.add_argument("--out", metavar="FILE.png", default="compare.png",
                   help="where the overlaid curves go (default compare.png here)")
    p.set_defaults(func=_compare)

    p = subparsers.add_parser("sweep", help="run an experiment's grids with K worker processes",
                              description="Run an experiment with K worker processes sharing "
                              "its Optuna studies (SQLite in the run folder, or --storage URL "
                              "for workers on several machines: give each the same --run-id).")
    p.add_argument("name", nargs="?", help="experiment name (see `layerlab list`)")
    p.add_argument("--workers", type=int, default=2,
                   help="processes training cells at once, this one included (default 2)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a sweep")
    p.add_argument("--run-id", help="the run's id: the same on every machine sharing a "
                   "--storage server (default: the folder's name)")
    run_options(p)
    p.set_defaults(func=_sweep)

    p = subparsers.add_parser("publish", help="copy a finished run's report into docs/results",
                              description="Copy a finished full run's report, results and "
                              "cells into docs/results/NAME (what `layerlab list` and the "
                              "catalogue read).")
    p.add_argument("run_dir", help="a finished full run folder")
    p.add_argument("dest", nargs="?", help="default docs/results/NAME")
    p.add_argument("--allow-quick", action="store_true", help=argparse_hidden())
    p.set_defaults(func=_publish)

    p = subparsers.add_parser("catalog", help="the list of experiments with their published "
                                              "results, as Markdown")
    p.add_argument("--results", default="docs/results", help="published runs (docs/results)")
    p.add_argument("--write", metavar="PATH", help="write it there (docs/experiments.md)")
    p.set_defaults(func=_catalog)


def _seconds(text):
    """A whole number of seconds >= 1 (Optuna's heartbeat interval is whole seconds)."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole seconds, at least 1")
    return value


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS
