"""The ``kpitree`` command line: one entry point, commands contributed by each part.

Each part registers its commands through a ``register(subparsers)`` function in a
module listed in :data:`COMMAND_MODULES`; registration must stay cheap (no pandas or
formulas imports), because ``--help`` loads every part.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from . import __version__

COMMAND_MODULES = (
    "kpitree.udfs.commands",
    "kpitree.workbook_templates.commands",
    "kpitree.addin.commands",
    "kpitree.udfs.recalc_commands",
    "kpitree.demo",
)


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kpitree",
        description="Sales-KPI design in Excel, powered by Python: KPI catalogue, back-calculation "
        "from the annual goal (KGI), stage recommendations, template workbooks, batch recalculation.",
    )
    parser.add_argument("--version", action="version", version=f"kpitree {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except CliError as exc:
        print(f"kpitree {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kpitree: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `kpitree … | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
