"""`layerlab data list | verify [NAME] | fetch NAME`: see where datasets are, check, download."""

from __future__ import annotations

import argparse
import sys

from layerlab.data import locate, registry, toy2d
from layerlab.data.errors import DataError
from layerlab.data.fetch import fetch as fetch_dataset
from layerlab.data.verify import Survey, survey


def add_parser(subparsers) -> None:
    """Register `layerlab data ...` on an argparse sub-parsers object."""
    parser = subparsers.add_parser(
        "data", help="datasets: list, verify, fetch",
        description="Where each dataset was found, whether it matches the published "
        "checksums, and downloads from mirrors.",
    )
    parser.set_defaults(func=lambda args: _help(parser))
    actions = parser.add_subparsers(dest="data_action", metavar="ACTION")

    p = actions.add_parser("list", help="each dataset: where found, size, checksum state")
    p.add_argument("--root", help="a folder searched before all others")
    p.set_defaults(func=cmd_list)

    p = actions.add_parser("verify", help="check files against the published md5s")
    p.add_argument("name", nargs="?", help=f"one of {', '.join(registry.DATASETS)} (default all)")
    p.add_argument("--root", help="a folder searched before all others")
    p.set_defaults(func=cmd_verify)

    p = actions.add_parser("fetch", help="download a dataset from its mirrors")
    p.add_argument("name", help=", ".join(n for n, s in registry.DATASETS.items() if s.downloads))
    p.add_argument("--mirror", action="append", metavar="URL",
                   help="base URL to try instead of the built-in list (repeatable; env "
                   "LAYERLAB_MIRRORS_<NAME> does the same)")
    p.add_argument("--dest", help="folder to write to (default: the user cache)")
    p.add_argument("--retries", type=int, default=3, help="attempts per mirror (default 3)")
    p.add_argument("--backoff", type=float, default=1.0,
                   help="seconds before the first retry, doubled each time (default 1)")
    p.add_argument("--timeout", type=float, default=30.0, help="socket timeout in seconds")
    p.set_defaults(func=cmd_fetch)


def _help(parser: argparse.ArgumentParser) -> int:
    """Print the help of `layerlab data`; returns exit status 0."""
    parser.print_help()
    return 0


def _size(n: int) -> str:
    """Returns `n` bytes as a human size ("1.2 MB", "45.0 kB")."""
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def _where(s: Survey) -> str:
    """Returns where a found copy is: path, place and form."""
    return f"{s.found.path}  [{s.found.place.label}; {s.found.form}]"


def cmd_list(args) -> int:
    """Print one line per dataset: state, size, where found (or how to get it)."""
    print(f"{'NAME':<18} {'STATE':<11} {'SIZE':>9}  WHERE")
    for spec in registry.DATASETS.values():
        s = survey(spec, args.root)
        if s.found is None:
            print(f"{spec.name:<18} {'missing':<11} {'-':>9}  "
                  f"`layerlab data verify {spec.name}` lists the places searched")
        else:
            print(f"{spec.name:<18} {s.state:<11} {_size(s.size):>9}  {_where(s)}")
    print(f"{'toy2d:KIND':<18} {'generated':<11} {'-':>9}  made on demand; KIND is "
          f"{', '.join(toy2d.KINDS)}")
    return 0


def cmd_verify(args) -> int:
    """Check one dataset (or all found ones); exit 1 on a mismatch or a missing NAME."""
    names = [args.name] if args.name else list(registry.DATASETS)
    status = 0
    for name in names:
        try:
            spec = registry.get(name)
        except DataError as err:
            print(err, file=sys.stderr)
            return 2
        s = survey(spec, args.root)
        if s.found is None:
            if args.name:
                print(locate.not_found_message(spec, locate.places(args.root)), file=sys.stderr)
                return 1
            print(f"{name}: missing (run `layerlab data verify {name}` for the places searched)")
            continue
        print(f"{name}: {s.state.upper()}  {_where(s)}")
        for line in s.lines:
            print(f"    {line}")
        if s.state == "mismatch":
            print(f"    fix: delete the damaged file(s) and run `layerlab data fetch {name}`")
            status = 1
    return status


def cmd_fetch(args) -> int:
    """Download a dataset; exit 1 with every mirror's error when all fail."""
    try:
        folder = fetch_dataset(args.name, args.dest, args.mirror, retries=args.retries,
                             backoff=args.backoff, timeout=args.timeout)
    except DataError as err:
        print(f"layerlab data fetch: {err}", file=sys.stderr)
        return 1
    hint = ""
    if args.dest is not None:
        hint = f" (pass root={str(folder)!r} to load, or set LAYERLAB_DATA)"
    print(f"{args.name}: all files in {folder}, checksums ok{hint}")
    return 0
