"""The ``kpitree`` command line: one entry point, commands contributed by each part.

Each part registers its commands through a ``register(subparsers)`` function in a
module listed in :data:`COMMAND_MODULES`; registration must stay cheap (no pandas or
formulas imports), because ``--help`` loads every part.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import warnings
from collections.abc import Sequence
from typing import Literal, NoReturn

from .cli_support import printable
from .errors import KpitreeError, UserError

NEWLINE = "\n"  # messages keep their own line breaks; every other control character is escaped

COMMAND_MODULES = (
    "kpitree.udfs.commands",
    "kpitree.workbook_templates.commands",
    "kpitree.addin.commands",
    "kpitree.recalculation.commands",
    "kpitree.team.commands",
    "kpitree.portable.commands",
    "kpitree.demo",
)


class _Version(argparse.Action):
    """``--version``: the installed version, looked up only when asked (importlib.metadata is slow to import)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0,
                         help="show the program's version number and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: object, values: object, option_string: str | None = None) -> None:
        from . import __version__

        print(f"kpitree {__version__}")
        parser.exit()


class OneLineErrorParser(argparse.ArgumentParser):
    """Usage errors in one line that points at --help, instead of a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="kpitree",
        description="Sales-KPI design in Excel, powered by Python: KPI catalogue, back-calculation "
        "from the annual goal (KGI), stage recommendations, template workbooks, batch recalculation.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # numpy's floating-point notes (1e308 + 1e308 …): the engine turns such results into Excel's errors,
    # so they are no news for the user; every other warning still shows
    warnings.filterwarnings("ignore", message=r"(overflow|invalid value|divide by zero) encountered", category=RuntimeWarning)
    try:
        from kpitree.recalculation.workers import signals_raise

        with signals_raise():  # SIGTERM/SIGHUP end a command like Ctrl-C: temporary files removed, workers stopped
            return int(args.run(args) or 0)
    except UserError as exc:  # in the language the command speaks: its --lang (ja by default), else English
        from kpitree.udfs.texts import text

        # --lang's value where the command has one set (ja by default); new without --lang and commands
        # without the option speak English
        lang: Literal["ja", "en"] = getattr(args, "lang", None) or "en"
        label = text("cli.error", lang)
        print(f"kpitree {args.command}: {label}: {printable(exc.text(lang), keep=NEWLINE)}", file=sys.stderr)
        return 2
    except KpitreeError as exc:
        print(f"kpitree {args.command}: error: {printable(exc, keep=NEWLINE)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        signum = int(getattr(exc, "signum", signal.SIGINT))
        print(f"kpitree: interrupted ({signal.Signals(signum).name}); no partial output was left", file=sys.stderr)
        return 128 + signum
    except BrokenPipeError:  # `kpitree … | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a missing folder, no permission, a full disk: the user's to fix
        where = f": {exc.filename}" if exc.filename else ""
        print(f"kpitree {args.command}: error: {printable(f'{exc.strerror or exc}{where}')}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line for the user, the traceback only on request
        if os.environ.get("KPITREE_DEBUG"):
            raise
        print(f"kpitree {args.command}: internal error: {type(exc).__name__}: {printable(exc, keep=NEWLINE)} "
              "(this is a bug in kpitree; run again with KPITREE_DEBUG=1 to see where, and please report it)",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
