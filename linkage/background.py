"""Work for a second core: pure calls run in a helper process while this one goes on.

The audit is mostly single-threaded Python and Arrow; on a machine with more
than one core, :class:`Background` hands a batch of independent calls (say the
address keys and the My Number check digits) to a fresh interpreter
(``python -m linkage.background``) and collects the results later.  Arguments
and results travel as pickles through pipes; nothing is written to disk and
nothing leaves the machine.  A fresh interpreter, not ``fork``: the parent's
threads (Arrow's pool) cannot deadlock it, and a user's script is never
re-imported.  Whatever goes wrong in the helper (it cannot start, it crashes,
it is killed), the calls run here instead, so the result never depends on it.
"""
from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: Below this many values a helper process costs more than it saves.
MIN_VALUES = 200_000

Call = tuple[Callable[..., Any], tuple[Any, ...]]


def worth_it(values: int) -> bool:
    """True when a helper process pays off: big inputs on a machine with a spare core."""
    return values >= MIN_VALUES and (os.cpu_count() or 1) > 1


def _name(func: Callable[..., Any]) -> tuple[str, str]:
    return func.__module__, func.__qualname__


class Background:
    """Run ``calls`` (module-level functions and picklable arguments) in a
    helper process, or here when ``enabled`` is false; :meth:`results` gives
    their results in order."""

    def __init__(self, calls: Sequence[Call], enabled: bool = True) -> None:
        self.calls = list(calls)
        self._proc: subprocess.Popen[bytes] | None = None
        self._out: list[bytes] = []
        if enabled and self.calls:
            self._start()

    def _start(self) -> None:
        try:
            payload = pickle.dumps([(_name(f), args) for f, args in self.calls], protocol=5)
            env = dict(os.environ)
            root = str(Path(__file__).resolve().parent.parent)  # this copy of linkage, not another one
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
            self._proc = subprocess.Popen([sys.executable, "-m", "linkage.background"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        except (OSError, pickle.PicklingError, AttributeError, TypeError):
            self._proc = None
            return
        # Threads feed and drain the pipes, so the helper never blocks on a full pipe while we work.
        self._writer = threading.Thread(target=self._write, args=(payload,), daemon=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._writer.start()
        self._reader.start()

    def _write(self, payload: bytes) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(payload)
            self._proc.stdin.close()
        except OSError:  # the helper died: results() notices
            pass

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        self._out.append(self._proc.stdout.read())

    def results(self) -> list[Any]:
        """The calls' results, in order (computed here if the helper failed)."""
        if self._proc is not None:
            self._writer.join()
            self._reader.join()
            code = self._proc.wait()
            self._proc = None
            if code == 0:
                try:
                    out = pickle.loads(b"".join(self._out))
                except (pickle.UnpicklingError, EOFError, AttributeError, ImportError):
                    out = None
                if isinstance(out, list) and len(out) == len(self.calls):
                    return out
        return [func(*args) for func, args in self.calls]

    def close(self) -> None:
        """Stop the helper (when the caller gives up before :meth:`results`)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def __enter__(self) -> "Background":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _resolve(module: str, qualname: str) -> Callable[..., Any]:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def main() -> None:
    """The helper: read the calls from stdin, write their results to stdout."""
    calls = pickle.loads(sys.stdin.buffer.read())
    results = [_resolve(*name)(*args) for name, args in calls]
    sys.stdout.buffer.write(pickle.dumps(results, protocol=5))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
