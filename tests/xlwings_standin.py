"""A recording stand-in of exactly the xlwings surface kpitree uses, over a workbook file.

``Book(path)`` reads the file with openpyxl (formulas, and the same file ``data_only`` for
values) and records every write in ``book.log``. It has no ``.api`` (as Excel for Mac has
no COM object model); ``Book(path, com=True)`` records every COM property set and call made
through ``.api`` (as Excel on Windows). The surface is documented in
kpitree.addin.xlwings_writer and kpitree.workbook_templates.contract (XlwingsGrid).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import load_workbook

ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"}


# --- the recording stand-in -------------------------------------------------------------


class Com:
    """A COM object stand-in: every property set and call is recorded under its path.

    ``book.log`` gets ``("com", path, value)`` for ``obj.X = value`` and ``("call", path, args, kwargs)``
    for ``obj.M(...)``; a call returns a new object at ``path(args)#n`` (n counts earlier calls of that
    path with those arguments), so two ``NewSeries()`` results stay apart.
    """

    def __init__(self, log: list, path: str):
        object.__setattr__(self, "_log", log)
        object.__setattr__(self, "_path", path)

    def __getattr__(self, key: str) -> Com:
        if key.startswith("__"):
            raise AttributeError(key)
        return Com(self._log, f"{self._path}.{key}")

    def __setattr__(self, key: str, value: Any) -> None:
        self._log.append(("com", f"{self._path}.{key}", value))

    def __getitem__(self, index: int) -> Com:
        return Com(self._log, f"{self._path}[{index}]")

    def __call__(self, *args: Any, **kwargs: Any) -> Com:
        n = sum(1 for e in self._log if e[0] == "call" and e[1] == self._path and e[2] == args)
        self._log.append(("call", self._path, args, kwargs))
        return Com(self._log, f"{self._path}({', '.join(map(repr, args))})#{n}")


class Font:
    def __init__(self, rng: Range):
        object.__setattr__(self, "_rng", rng)

    def __setattr__(self, key: str, value: Any) -> None:
        self._rng.sheet.book.log.append(("font", self._rng.sheet.name, self._rng.ref, key, value))


class Range:
    def __init__(self, sheet: Sheet, ref: str):
        self.sheet, self.ref = sheet, ref

    def _record(self, *entry: Any) -> None:
        self.sheet.book.log.append(entry)

    @property
    def value(self) -> Any:
        """As xlwings reads it: a 2-D list for a block (1-D for one row), an error cell as None."""
        return self._read(errors_as_text=False)

    def _read(self, errors_as_text: bool) -> Any:
        ws = self.sheet.book.values[self.sheet.name]

        def shown(v: Any) -> Any:
            return None if not errors_as_text and isinstance(v, str) and v in ERRORS else v

        if ":" in self.ref:
            block = [[shown(c.value) for c in row] for row in ws[self.ref]]
            return block[0] if len(block) == 1 else block
        return shown(self.sheet.cells.get(self.ref, ws[self.ref].value))

    def options(self, err_to_str: bool = False) -> Options:
        return Options(self, err_to_str)

    @property
    def formula(self) -> Any:
        """The formula ("=...") of a formula cell, else the value as xlwings' Range.formula gives it."""
        stored = self.sheet.book.formulas[self.sheet.name][self.ref].value
        if hasattr(stored, "text"):  # an array formula
            return stored.text if stored.text.startswith("=") else "=" + stored.text
        return "" if stored is None else stored

    @value.setter
    def value(self, v: Any) -> None:
        self.sheet.cells[self.ref] = v
        self._record("value", self.sheet.name, self.ref, v)

    def __setattr__(self, key: str, value: Any) -> None:
        if key in ("sheet", "ref"):
            object.__setattr__(self, key, value)
        elif key in ("formula", "formula2", "number_format", "color", "wrap_text", "column_width", "row_height"):
            self._record(key, self.sheet.name, self.ref, value)
        elif key == "value":
            Range.value.fset(self, value)  # type: ignore[attr-defined]
        else:
            raise AttributeError(f"the writer set Range.{key}, which the stand-in does not offer")

    @property
    def font(self) -> Font:
        return Font(self)

    @property
    def left(self) -> float:
        from kpitree.workbook_templates.layout import col_index

        return 50.0 * col_index("".join(ch for ch in self.ref if ch.isalpha()))

    top = left

    def clear(self) -> None:
        self._record("clear", self.sheet.name, self.ref)

    def unmerge(self) -> None:
        self._record("unmerge", self.sheet.name, self.ref)

    @property
    def api(self) -> Com:
        # without com: no .api, as Excel for Mac has no COM object model; the writer must skip, not fail
        if not self.sheet.book.com:
            raise AttributeError("api")
        return Com(self.sheet.book.log, f"{self.sheet.name}!{self.ref}")


class Options:
    """``Range.options(err_to_str=...)``: the value with errors as their text (``"#N/A"``)."""

    def __init__(self, rng: Range, err_to_str: bool):
        self.rng, self.err_to_str = rng, err_to_str

    @property
    def value(self) -> Any:
        return self.rng._read(errors_as_text=self.err_to_str)


class Chart:
    def __init__(self, sheet: Sheet, left: float):
        object.__setattr__(self, "sheet", sheet)
        object.__setattr__(self, "left", left)
        object.__setattr__(self, "index", len(sheet.chart_list))

    @property
    def api(self) -> Com:  # xlwings: (ChartObject, Chart); the writer uses [1]
        if not self.sheet.book.com:
            raise AttributeError("api")
        return Com(self.sheet.book.log, f"chart{self.index}")

    def __setattr__(self, key: str, value: Any) -> None:
        assert key in ("name", "chart_type"), key
        self.sheet.book.log.append(("chart." + key, self.sheet.name, value))

    def delete(self) -> None:
        self.sheet.book.log.append(("chart.delete", self.sheet.name, self.left))
        self.sheet.chart_list.remove(self)


class Charts:
    def __init__(self, sheet: Sheet):
        self.sheet = sheet

    def __iter__(self):
        return iter(list(self.sheet.chart_list))

    def add(self, left: float, top: float, width: float, height: float) -> Chart:
        chart = Chart(self.sheet, left)
        self.sheet.chart_list.append(chart)
        self.sheet.book.log.append(("chart.add", self.sheet.name, left, top, width, height))
        return chart


class Sheet:
    def __init__(self, book: Book, name: str):
        self.book, self.name, self.cells, self.chart_list = book, name, {}, []
        self.charts = Charts(self)

    def range(self, ref: str) -> Range:
        return Range(self, ref)

    @property
    def used_range(self) -> Any:
        last = self.book.formulas[self.name].max_row
        return type("UsedRange", (), {"last_cell": type("Cell", (), {"row": last})()})()

    def activate(self) -> None:
        self.book.log.append(("activate", self.name))

    @property
    def api(self) -> Com:
        if not self.book.com:
            raise AttributeError("api")
        return Com(self.book.log, f"sheet:{self.name}")


class Sheets:
    def __init__(self, book: Book, names: list[str]):
        self.book, self.items = book, [Sheet(book, n) for n in names]

    def __iter__(self):
        return iter(self.items)

    def __getitem__(self, name: str) -> Sheet:
        return next(s for s in self.items if s.name == name)

    def add(self, name: str, after: Sheet) -> Sheet:
        sheet = Sheet(self.book, name)
        self.items.insert(self.items.index(after) + 1, sheet)
        self.book.log.append(("sheet.add", name, after.name))
        return sheet


class Name:
    def __init__(self, book: Book, name: str, refers_to: str):
        self.book, self.name, self.refers_to = book, name, refers_to

    def delete(self) -> None:
        self.book.log.append(("name.delete", self.name))
        self.book.names.items.remove(self)


class Names:
    def __init__(self, book: Book, items: list[Name]):
        self.book, self.items = book, items

    def __iter__(self):
        return iter(self.items)

    def add(self, name: str, refers_to: str) -> None:
        self.book.log.append(("name", name, refers_to))
        self.items = [n for n in self.items if n.name != name] + [Name(self.book, name, refers_to)]


class App:
    def __init__(self, book: Book):
        self.book = book
        self.books = self

    def alert(self, text: str, title: str = "") -> None:
        self.book.alerts.append(text)

    def open(self, path: str) -> None:
        self.book.opened.append(path)

    @property
    def api(self) -> Com:
        if not self.book.com:
            raise AttributeError("api")
        return Com(self.book.log, "app")


class Book:
    """xw.Book stand-in over a workbook file: reads from it, records every write."""

    def __init__(self, path: Path, com: bool = False):
        self.com = com
        wb = self.formulas = load_workbook(path)
        self.values = load_workbook(path, data_only=True)
        self.log: list[tuple] = []
        self.alerts: list[str] = []
        self.opened: list[str] = []
        self.sheets = Sheets(self, wb.sheetnames)
        self.names = Names(self, [Name(self, n, "=" + d.attr_text) for n, d in wb.defined_names.items()])
        self.app = App(self)

    def writes(self, kind: str) -> dict[tuple[str, str], Any]:
        return {(e[1], e[2]): e[3] for e in self.log if e[0] == kind}
