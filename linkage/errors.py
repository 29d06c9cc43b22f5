"""Errors a user can act on: bad input files, named by file, row and column."""
from __future__ import annotations

import re

_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


def _one_line(text: object) -> str:
    """``text`` as a single line (line breaks become spaces)."""
    return _BREAKS.sub(" ", str(text)).strip()


class InputError(ValueError):
    """An input table cannot be used as it is.

    ``str(err)`` is one line naming the file and, where known, the row (the
    1-based line or sheet row a person would count, header = 1) and the column,
    e.g. ``bank.csv, row 7: 4 fields, but the header has 3``.  Messages never
    contain cell values: those are personal data.
    """

    def __init__(
        self,
        path: object,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.row = None if row is None else int(row)
        self.column = None if column is None else str(column)
        self.message = _one_line(message)
        super().__init__(self._format())

    def _format(self) -> str:
        where = _one_line(self.path) if self.path else "input"
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            quoted = f'"{_one_line(self.column)}"'
            if quoted not in self.message:
                where += f", column {quoted}"
        return f"{where}: {self.message}"

    def __str__(self) -> str:
        return self._format()

    def __reduce__(self):  # keep keyword-only attributes through pickling
        return (_rebuild, (self.path, self.message, self.row, self.column))


def _rebuild(path, message, row, column) -> InputError:
    return InputError(path, message, row=row, column=column)
