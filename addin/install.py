"""Install, uninstall and check the add-in: a plan of file effects, then apply.

The planner takes the platform (``"win32"`` or ``"darwin"``) and the home folder
explicitly, so tests can check the Windows and macOS effects on any OS in a temp
folder; the command line passes the real ones.

Where things go:

- the add-in: Excel's user start-up folder, whose .xlam files Excel opens as add-ins
  at start: ``%APPDATA%\\Microsoft\\Excel\\XLSTART`` on Windows,
  ``~/Library/Group Containers/UBF8T346G9.Office/User Content.localized/Startup.localized/Excel``
  on macOS (Excel 2016 and later);
- the settings: where xlwings' custom add-in module reads them for a project named
  ``kpitree`` (``GetConfigFilePath`` in xlwings_custom_addin.bas):
  ``%USERPROFILE%\\.kpitree\\kpitree.conf`` on Windows and, because Excel for Mac is
  sandboxed, ``~/Library/Containers/com.microsoft.Excel/Data/kpitree.conf`` on macOS.
  The file has xlwings' format, one ``"KEY","value"`` per line. Install sets only
  the interpreter and ``UDF MODULES`` and keeps any other line; xlwings' own
  ``~/.xlwings/xlwings.conf`` is never touched;
- on macOS, xlwings' RunPython needs its AppleScript in
  ``~/Library/Application Scripts/com.microsoft.Excel`` (what ``xlwings runpython
  install`` copies); install copies it too.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from .build import ADDIN_FILE_NAME, PROJECT_NAME, UDF_MODULES

SUPPORTED = ("win32", "darwin")
UNSUPPORTED_MESSAGE = (
    "Excel add-ins need Windows or macOS; `kpitree addin build --out FILE` works here and "
    "writes the .xlam to copy to such a machine."
)
_CONF_LINE = re.compile(r'^\s*"([^"]*)"\s*,\s*"([^"]*)"\s*$')


def interpreter_key(platform: str) -> str:
    return "INTERPRETER_MAC" if platform == "darwin" else "INTERPRETER_WIN"


@dataclass(frozen=True)
class Locations:
    platform: str
    addin: Path
    config: Path
    log: Path
    applescript_dir: Path | None  # macOS only

    @property
    def config_dir_is_ours(self) -> bool:
        """True where the config has its own folder (Windows: %USERPROFILE%\\.kpitree)."""
        return self.platform == "win32"


def locations(platform: str, home: Path, appdata: Path | None = None) -> Locations:
    """Where the add-in, its settings and its log live for ``platform`` and ``home``.

    ``appdata`` is Windows' %APPDATA% (default: ``home/AppData/Roaming``).
    """
    if platform not in SUPPORTED:
        raise ValueError(f"platform must be one of {SUPPORTED}, not {platform!r}")
    home = Path(home)
    if platform == "win32":
        appdata = Path(appdata) if appdata else home / "AppData" / "Roaming"
        return Locations(
            platform,
            appdata / "Microsoft" / "Excel" / "XLSTART" / ADDIN_FILE_NAME,
            home / f".{PROJECT_NAME}" / f"{PROJECT_NAME}.conf",
            home / f".{PROJECT_NAME}" / "addin.log",
            None,
        )
    office = home / "Library" / "Group Containers" / "UBF8T346G9.Office"
    return Locations(
        platform,
        office / "User Content.localized" / "Startup.localized" / "Excel" / ADDIN_FILE_NAME,
        home / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / f"{PROJECT_NAME}.conf",
        home / f".{PROJECT_NAME}" / "addin.log",
        home / "Library" / "Application Scripts" / "com.microsoft.Excel",
    )


# --- the config file ---------------------------------------------------------------


def parse_config(text: str) -> list[tuple[str, str] | str]:
    """Lines of a config file: (key, value) for setting lines, the raw text otherwise."""
    out: list[tuple[str, str] | str] = []
    for line in text.splitlines():
        match = _CONF_LINE.match(line)
        out.append((match.group(1), match.group(2)) if match else line)
    return out


def config_values(text: str) -> dict[str, str]:
    """Settings by upper-case key (VBA's GetConfigFromFile compares case-insensitively; first wins)."""
    values: dict[str, str] = {}
    for item in parse_config(text):
        if isinstance(item, tuple):
            values.setdefault(item[0].upper(), item[1])
    return values


def merge_config(existing: str, settings: dict[str, str], newline: str) -> str:
    """``existing`` with ``settings`` set (in place where present) and everything else kept."""
    wanted = {key.upper(): (key, value) for key, value in settings.items()}
    lines: list[str] = []
    done: set[str] = set()
    for item in parse_config(existing):
        if isinstance(item, tuple) and item[0].upper() in wanted:
            key = item[0].upper()
            if key not in done:  # drop duplicates: the VBA reader would only see the first
                lines.append(_conf_line(*wanted[key]))
                done.add(key)
            continue
        lines.append(item if isinstance(item, str) else _conf_line(*item))
    lines += [_conf_line(*wanted[key]) for key in wanted if key not in done]
    return "".join(line + newline for line in lines)


def remove_config_keys(existing: str, keys: list[str], newline: str) -> str:
    drop = {k.upper() for k in keys}
    lines = [
        item if isinstance(item, str) else _conf_line(*item)
        for item in parse_config(existing)
        if not (isinstance(item, tuple) and item[0].upper() in drop)
    ]
    return "".join(line + newline for line in lines)


def _conf_line(key: str, value: str) -> str:
    if '"' in value or '"' in key:
        raise ValueError(f"a config value cannot contain a double quote: {value!r}")
    return f'"{key}","{value}"'


def addin_settings(platform: str, python: str) -> dict[str, str]:
    return {interpreter_key(platform): python, "UDF MODULES": ";".join(UDF_MODULES)}


# --- plans ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One file effect: write ``content`` to ``path``, or remove ``path`` (content None)."""

    action: str  # "write" | "remove"
    path: Path
    content: bytes | None
    why: str

    def describe(self) -> str:
        verb = "write" if self.action == "write" else "remove"
        return f"{verb} {self.path}  ({self.why})"


@dataclass(frozen=True)
class Plan:
    platform: str
    locations: Locations
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = field(default=())


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _newline(platform: str) -> str:
    return "\r\n" if platform == "win32" else "\n"


def plan_install(
    platform: str,
    home: Path,
    *,
    python: str,
    xlam: bytes,
    appdata: Path | None = None,
    applescript: Path | None = None,
    encoding: str = "utf-8",
) -> Plan:
    """What ``kpitree addin install`` does: the add-in file, the settings, (macOS) the AppleScript.

    ``python`` is the interpreter the add-in will run; ``xlam`` the built add-in;
    ``applescript`` xlwings' ``xlwings-<version>.applescript`` (macOS); ``encoding``
    the config file's (VBA reads it in the system's ANSI code page on Windows).
    """
    where = locations(platform, home, appdata)
    existing = _read(where.config)
    text = existing.decode(encoding, errors="replace") if existing is not None else ""
    config = merge_config(text, addin_settings(platform, python), _newline(platform)).encode(encoding)
    steps = [
        Step("write", where.addin, xlam, "the add-in, opened by Excel at start"),
        Step("write", where.config, config, f"settings: {interpreter_key(platform)} and UDF MODULES"),
    ]
    notes = ["Restart Excel to load the add-in."]
    if platform == "darwin":
        if applescript is not None and where.applescript_dir is not None:
            steps.append(
                Step("write", where.applescript_dir / applescript.name, applescript.read_bytes(),
                     "xlwings' AppleScript that RunPython needs on macOS")
            )
        notes.append("On macOS the ribbon works; the KPI_* worksheet functions need Excel on Windows.")
    return Plan(platform, where, tuple(steps), tuple(notes))


def plan_uninstall(platform: str, home: Path, *, appdata: Path | None = None, encoding: str = "utf-8") -> Plan:
    """Remove the add-in file and the settings install wrote; other settings lines stay."""
    where = locations(platform, home, appdata)
    steps = []
    if where.addin.exists():
        steps.append(Step("remove", where.addin, None, "the add-in"))
    existing = _read(where.config)
    if existing is not None:
        keys = [interpreter_key(platform), "UDF MODULES"]
        rest = remove_config_keys(existing.decode(encoding, errors="replace"), keys, _newline(platform))
        if rest.strip():
            steps.append(Step("write", where.config, rest.encode(encoding), "settings without kpitree's lines"))
        else:
            steps.append(Step("remove", where.config, None, "the settings file, now empty"))
    return Plan(platform, where, tuple(steps), ("Restart Excel to unload the add-in.",))


def apply(plan: Plan) -> list[str]:
    """Carry out the plan's steps; returns one line per step done."""
    done = []
    for step in plan.steps:
        if step.action == "write":
            assert step.content is not None
            step.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = step.path.with_name(step.path.name + ".kpitree-tmp")
            tmp.write_bytes(step.content)
            os.replace(tmp, step.path)
        elif step.action == "remove":
            step.path.unlink(missing_ok=True)
            parent = step.path.parent
            if plan.locations.config_dir_is_ours and parent == plan.locations.config.parent:
                try:
                    parent.rmdir()  # only when empty (the log may still be there)
                except OSError:
                    pass
        else:
            raise ValueError(f"unknown step {step.action!r}")
        done.append(step.describe())
    return done


# --- status --------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Status:
    platform: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def _dll_names() -> tuple[str, ...]:
    import xlwings

    return (f"xlwings64-{xlwings.__version__}.dll", f"xlwings32-{xlwings.__version__}.dll")


def status(
    platform: str,
    home: Path,
    *,
    python: str,
    xlam: bytes,
    appdata: Path | None = None,
    encoding: str = "utf-8",
    path_exists=os.path.exists,
) -> Status:
    """Whether the add-in file, the settings and the interpreter agree with this environment.

    ``xlam`` is the add-in this environment would build now: an installed file with
    other bytes was built from another kpitree or xlwings version (xlwings needs its
    VBA and Python halves at the same version). ``path_exists`` checks paths named
    in the settings (an injectable for tests of Windows paths on other OSes).
    """
    where = locations(platform, home, appdata)
    checks: list[Check] = []
    installed = _read(where.addin)
    if installed is None:
        checks.append(Check("add-in", False, f"{where.addin} is missing: run `kpitree addin install`"))
    elif installed != xlam:
        digest = hashlib.sha256(installed).hexdigest()[:12]
        checks.append(Check("add-in", False, f"{where.addin} (sha256 {digest}…) differs from the add-in this "
                            "environment builds (other kpitree or xlwings version): run `kpitree addin install`"))
    else:
        checks.append(Check("add-in", True, f"{where.addin} is up to date"))

    existing = _read(where.config)
    values = config_values(existing.decode(encoding, errors="replace")) if existing is not None else {}
    key = interpreter_key(platform)
    if existing is None:
        checks.append(Check("settings", False, f"{where.config} is missing: run `kpitree addin install`"))
    else:
        udf = [m.strip() for m in values.get("UDF MODULES", "").split(";") if m.strip()]
        missing = [m for m in UDF_MODULES if m not in udf]
        checks.append(Check("settings", not missing, f"{where.config}: UDF MODULES = {';'.join(udf) or '(none)'}"
                            + (f" (missing {', '.join(missing)})" if missing else "")))
        configured = values.get(key, "")
        pure: type[PurePath] = PureWindowsPath if platform == "win32" else PurePosixPath
        if not configured:
            checks.append(Check("interpreter", False, f"{key} is not set: run `kpitree addin install`"))
        elif not path_exists(configured):
            checks.append(Check("interpreter", False, f"{key} = {configured} does not exist"))
        elif _same_path(configured, python, pure):
            checks.append(Check("interpreter", True, f"{key} = {configured} (this environment)"))
        else:
            checks.append(Check("interpreter", False, f"{key} = {configured}, but this environment's Python is "
                                f"{python}: run `kpitree addin install` from the environment the add-in should use"))
        if platform == "win32" and configured:
            folder = pure(configured).parent
            candidates = [folder / n for n in _dll_names()] + [folder.parent / n for n in _dll_names()]
            found = [str(c) for c in candidates if path_exists(str(c))]
            checks.append(Check("xlwings DLL", bool(found), found[0] if found else
                                f"none of {', '.join(_dll_names())} next to {configured} or in its parent folder "
                                "(reinstall xlwings in that environment)"))
    return Status(platform, tuple(checks))


def _same_path(a: str, b: str, pure: type[PurePath]) -> bool:
    if pure is PureWindowsPath:
        return str(pure(a)).lower() == str(pure(b)).lower()
    return os.path.normpath(a) == os.path.normpath(b)


def current_platform() -> str:
    return "win32" if sys.platform.startswith("win") else "darwin" if sys.platform == "darwin" else sys.platform


def applescript_path() -> Path:
    import xlwings

    from .build import xlwings_dir

    return xlwings_dir() / f"xlwings-{xlwings.__version__}.applescript"
