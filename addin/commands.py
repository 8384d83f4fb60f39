"""``kpitree addin build|install|uninstall|status``.

Registration imports nothing heavy; each command imports what it needs when run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kpitree.cli_support import add_json, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "addin",
        help="build, install or check the kpitree Excel add-in (kpitree.xlam)",
        description="The kpitree Excel add-in: the KPI_* functions without 'Import Functions' and a ribbon "
        "tab 「KPI設計」. `build` works on any OS; install, uninstall and status need Windows or macOS "
        "(UDFs run on Windows only; the ribbon also on macOS).",
    )
    addin = p.add_subparsers(dest="addin_command", metavar="ACTION", required=True)

    b = addin.add_parser("build", help="write kpitree.xlam (any OS)",
                         description="Build kpitree.xlam from the add-in sources and the installed xlwings.")
    b.add_argument("--out", type=Path, required=True, help="where to write the .xlam")
    add_json(b)
    b.set_defaults(run=run_build)

    i = addin.add_parser("install", help="build the add-in, put it in Excel's start-up folder, write its settings")
    i.add_argument("--dry-run", action="store_true", help="only print what would be done")
    i.set_defaults(run=run_install)

    u = addin.add_parser("uninstall", help="remove the add-in and the settings install wrote")
    u.add_argument("--dry-run", action="store_true", help="only print what would be done")
    u.set_defaults(run=run_uninstall)

    s = addin.add_parser("status", help="whether the add-in file, its settings and the interpreter agree")
    add_json(s)
    s.set_defaults(run=run_status)


def run_build(args: argparse.Namespace) -> int:
    from kpitree.errors import UserError

    from .build import BuildError, write_addin

    if args.out.is_dir():
        raise UserError(f"--out {args.out} is a folder; give a file name such as {args.out / 'kpitree.xlam'}")
    if args.out.suffix.lower() != ".xlam":
        raise UserError(f"--out {args.out}: Excel loads add-ins only from .xlam files; name it e.g. kpitree.xlam")
    try:
        out = write_addin(args.out)
    except BuildError as exc:
        raise UserError(str(exc)) from None
    if args.json:
        print_json({"written": str(out)})
    else:
        print(f"wrote {out}")
    return 0


def _unsupported(command: str) -> int | None:
    from .install import UNSUPPORTED_MESSAGE, current_platform

    if current_platform() in ("win32", "darwin"):
        return None
    print(f"kpitree addin {command}: {UNSUPPORTED_MESSAGE}", file=sys.stderr)
    return 2


def _encoding() -> str:
    import locale

    return locale.getpreferredencoding(False)


def run_install(args: argparse.Namespace) -> int:
    if (code := _unsupported("install")) is not None:
        return code
    from .build import build_addin
    from .install import applescript_path, current_platform, plan_install

    platform = current_platform()
    plan = plan_install(platform, Path.home(), python=sys.executable, xlam=build_addin(),
                        applescript=applescript_path() if platform == "darwin" else None, encoding=_encoding())
    return _run_plan(plan, args.dry_run)


def run_uninstall(args: argparse.Namespace) -> int:
    if (code := _unsupported("uninstall")) is not None:
        return code
    from .install import current_platform, plan_uninstall

    return _run_plan(plan_uninstall(current_platform(), Path.home(), encoding=_encoding()), args.dry_run)


def _run_plan(plan, dry_run: bool) -> int:
    from .install import apply

    if dry_run:
        for step in plan.steps:
            print(f"would {step.describe()}")
        return 0
    try:
        for line in apply(plan):
            print(line)
    except PermissionError as exc:
        from kpitree.errors import UserError

        raise UserError(f"{exc.filename}: permission denied (is Excel running? quit it and try again)") from None
    for note in plan.notes:
        print(note)
    return 0


def run_status(args: argparse.Namespace) -> int:
    from .install import UNSUPPORTED_MESSAGE, current_platform

    if args.json and current_platform() not in ("win32", "darwin"):
        print_json({"platform": current_platform(), "supported": False, "ok": False, "message": UNSUPPORTED_MESSAGE,
                    "checks": []})
        return 2
    if (code := _unsupported("status")) is not None:
        return code
    from .build import build_addin
    from .install import status

    result = status(current_platform(), Path.home(), python=sys.executable, xlam=build_addin(), encoding=_encoding())
    if args.json:
        print_json({"platform": current_platform(), "supported": True, "ok": result.ok, "message": None,
                    "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in result.checks]})
        return 0 if result.ok else 1
    for check in result.checks:
        print(f"{'ok ' if check.ok else 'BAD'} {check.name}: {check.detail}")
    return 0 if result.ok else 1
