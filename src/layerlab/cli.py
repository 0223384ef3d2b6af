"""The `layerlab` command line: one sub-command per job.

Each sub-command lives beside the code it drives and exposes `add_parser(subparsers)`, which
registers its arguments and sets `func(args) -> int` (the exit status). This module only wires
them together, so adding a command never means editing a long if/else here.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

import layerlab
from layerlab.data.errors import DataError
from layerlab.lab.config import ConfigError
from layerlab.lab.registry import UnknownExperiment
from layerlab.runfiles import RunError

# (module, attribute) of every sub-command's `add_parser`; imported lazily so that
# `layerlab --help` stays fast and a missing optional dependency only breaks its own command.
COMMANDS = [
    "layerlab.lab.cli",
    "layerlab.scratch.checks",
    "layerlab.grade.cli",
    "layerlab.data.cli",
    "layerlab.theory.cli",
    "layerlab.lab.eval_cli",
    "layerlab.lab.audit",
    "layerlab.lab.export",
    "layerlab.lab.watch",
    "layerlab.playground.cli",
]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="layerlab",
        description="A lab for learning and studying how neural networks train.",
    )
    parser.add_argument("--version", action="version", version=f"layerlab {layerlab.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except DataError as err:  # a dataset missing or damaged: the message names the fix
        print(f"layerlab: {err}", file=sys.stderr)
        return 1
    except UnknownExperiment as err:  # the message names close names, or the package to add
        print(f"layerlab: {err}", file=sys.stderr)
        return 2
    except ConfigError as err:  # a setting refused by its check: the message names the fix
        print(f"layerlab: {err}", file=sys.stderr)
        return 2
    except RunError as err:  # a run folder in use, taken, or not a run: the message says why
        print(f"layerlab: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader stopped reading (`layerlab data list | head`)
        # stdout's buffer can no longer be flushed at exit: point it at /dev/null instead
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
