"""The ``linkage`` command line: audit, generate, evaluate.

Exit status (audit): 0 done, 2 unusable arguments or input (one line on
stderr, no traceback), 3 with ``--fail-on mislink`` when a mislink was found,
1 anything unexpected.  Logs never contain a full My Number or a name: they
carry counts, stage names, timings and file names, and a filter masks any
12-digit run that slips in.  Options can be kept in a TOML file
(``--config linkage.toml``); the command line overrides it.  A progress bar
goes to stderr only when stderr is a terminal.
"""
from __future__ import annotations

import logging
import re
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Find My Number links that point at the wrong person.")
log = logging.getLogger("linkage")


class FailOn(str, Enum):
    mislink = "mislink"


class Lang(str, Enum):
    en = "en"
    ja = "ja"


class Format(str, Enum):
    csv = "csv"
    parquet = "parquet"


class Engine(str, Enum):
    pandas = "pandas"
    dask = "dask"


class LogLevel(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


#: Options ``--config`` may set (the audit command's parameters); paths are
#: resolved against the config file's directory.
CONFIG_KEYS = ("residents", "bank", "insurance", "out", "unmask", "fail_on", "lang", "redact_names", "log_level",
               "engine", "scheduler")
CONFIG_PATHS = ("residents", "bank", "insurance", "out")
#: Stages of an audit, in order, for the progress bar.
STAGES = ("read", "normalise", "validate", "readings", "join", "compare", "score", "search", "explain", "write")
_DIGITS = re.compile(r"(?<![0-9０-９])(?:[0-9０-９][ \-‐－]?){11,}[0-9０-９](?![0-9０-９])")


class MaskNumbers(logging.Filter):
    """Mask every run of 12 or more digits (a possible My Number) in a log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _DIGITS.sub(lambda m: "********" + re.sub(r"\D", "", m.group(0))[-4:], message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


class _Stderr(logging.StreamHandler):
    """A handler that writes to whatever ``sys.stderr`` is at the time."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def setup_logging(level: str = "warning") -> None:
    """Log ``linkage`` messages to stderr as ``linkage: LEVEL message``, numbers masked."""
    logger = logging.getLogger("linkage")
    logger.setLevel(getattr(logging, level.upper(), logging.WARNING))
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("linkage: %(levelname)s %(message)s"))
        handler.addFilter(MaskNumbers())
        logger.addHandler(handler)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"linkage: {message}", err=True)
    raise typer.Exit(code)


class Progress:
    """A one-line progress bar on stderr (stage i of n, elapsed time); silent
    unless stderr is a terminal, so cron mail and journald stay clean."""

    def __init__(self, stream: Any = None, width: int = 24) -> None:
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width
        self.start = time.perf_counter()
        self.done = 0

    def __call__(self, stage: str) -> None:
        log.debug("stage %s", stage)
        if stage in STAGES:
            self.done = max(self.done, STAGES.index(stage))
        if not self.enabled:
            return
        filled = int(self.width * self.done / len(STAGES))
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r\033[K  [{bar}] {self.done + 1}/{len(STAGES)} {stage} "
                          f"{time.perf_counter() - self.start:.1f}s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _is_glob(path: Path) -> bool:
    import glob

    return glob.has_magic(str(path)) and bool(glob.glob(str(path)))


def _load_config(ctx: typer.Context, param: Any, value: Optional[Path]) -> Optional[Path]:
    """``--config``: read options from a TOML file (top level or an ``[audit]``
    table) as defaults that the command line overrides."""
    if value is None:
        return value
    import tomllib

    try:
        with open(value, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        _fail(f"{value}: no such file or directory")
    except OSError as err:
        _fail(f"{value}: {err.strerror or err}")
    except tomllib.TOMLDecodeError as err:
        _fail(f"{value}: not valid TOML ({err})")
    table = data.get("audit", data) if isinstance(data.get("audit"), dict) else data
    base = Path(value).resolve().parent
    defaults: dict[str, Any] = {}
    for key, v in table.items():
        name = str(key).replace("-", "_")
        if name not in CONFIG_KEYS:
            _fail(f"{value}: unknown option {key!r} (known: {', '.join(k.replace('_', '-') for k in CONFIG_KEYS)})")
        if name in CONFIG_PATHS:
            if not isinstance(v, str):
                _fail(f"{value}: {key} must be a path in quotes")
            v = str(base / Path(v).expanduser())
        defaults[name] = v
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return value


@app.command()
def audit(
    residents: Annotated[Path, typer.Option(help="Card-holder register (csv, parquet, xlsx; with --engine dask also "
                                                 "a directory or glob of Parquet parts).")],
    out: Annotated[Path, typer.Option(help="Directory for findings and reports.")],
    bank: Annotated[Optional[Path], typer.Option(help="Public-benefit bank account registrations.")] = None,
    insurance: Annotated[Optional[Path], typer.Option(help="Health-insurance records.")] = None,
    unmask: Annotated[bool, typer.Option(help="Show full My Numbers in the outputs (files become owner-only).")] = False,
    fail_on: Annotated[Optional[FailOn], typer.Option(help="Exit 3 when a mislink is found.")] = None,
    lang: Annotated[Lang, typer.Option(help="Language of evidence and reports.")] = Lang.en,
    redact_names: Annotated[bool, typer.Option(help="Mask names in evidence and reports.")] = False,
    log_level: Annotated[LogLevel, typer.Option(help="Log detail on stderr: counts, stages and timings at info; "
                                                      "never numbers or names.")] = LogLevel.warning,
    engine: Annotated[Engine, typer.Option(
        help="pandas: in this process. dask: the same audit on a dask cluster, partition by partition, for "
             "registers beyond one machine's memory (same findings; a local cluster of 2 workers unless "
             "--scheduler is given).")] = Engine.pandas,
    scheduler: Annotated[Optional[str], typer.Option(
        help="Address of a running dask scheduler (tcp://host:8786) for --engine dask; the input paths must be "
             "readable by its workers.")] = None,
    config: Annotated[Optional[Path], typer.Option(
        help="TOML file with any of these options (e.g. linkage.toml); the command line overrides it.",
        is_eager=True, callback=_load_config)] = None,
) -> None:
    """Audit linked records against the register and write the findings."""
    import linkage
    from linkage.errors import InputError

    setup_logging(log_level.value)
    if bank is None and insurance is None:
        _fail("give --bank and/or --insurance")
    if scheduler is not None and engine is not Engine.dask:
        _fail("--scheduler needs --engine dask")
    for p in (residents, bank, insurance):
        if p is not None and not p.exists() and not (engine is Engine.dask and _is_glob(p)):
            _fail(f"{p}: no such file or directory")
    from linkage.report import check_output_dir

    try:  # refuse a wrong --out now, not after a long audit
        check_output_dir(out)
    except OSError as err:
        _fail(f"{err.filename or out}: {err.strerror or err}")
    log.info("audit: residents %s, bank %s, insurance %s -> %s%s, engine %s", residents.name,
             bank.name if bank else "-", insurance.name if insurance else "-", out,
             f" (config {config.name})" if config else "", engine.value)
    progress = Progress()
    progress("read")
    started = time.perf_counter()
    try:
        result = linkage.audit(residents, bank=bank, insurance=insurance, unmask=unmask, lang=lang.value,
                               redact_names=redact_names, progress=progress, engine=engine.value,
                               scheduler=scheduler)
        progress("write")
        write_start = time.perf_counter()
        result.write(out)
        write_time = time.perf_counter() - write_start
    except InputError as err:
        _fail(str(err))
    except OSError as err:
        _fail(f"{err.filename or out}: {err.strerror or err}")
    except RuntimeError as err:  # the dask engine cannot reach or use its cluster: say so in one line
        if type(err).__name__ != "ClusterError":
            raise
        _fail(str(err))
    finally:
        progress.close()
    counts = result.counts()
    for stage, seconds in result.timings.items():
        log.info("stage %s %.2fs", stage, seconds)
    log.info("write %.2fs, total %.2fs", write_time, time.perf_counter() - started)
    for row in result.summary.itertuples():
        log.info("%s %s %s: %d", row.source, row.status, row.reason, row.count)
    typer.echo(f"{len(result.findings):,} records audited: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
               + f" -> {out}")
    if fail_on is FailOn.mislink and counts.get("mislink", 0) > 0:
        log.warning("%d mislink(s) found: exit 3 (--fail-on mislink)", counts["mislink"])
        raise typer.Exit(3)


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Directory for residents, bank, insurance and truth files.")],
    households: Annotated[int, typer.Option(min=1, help="Number of households.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives identical files.")] = 0,
    format: Annotated[Format, typer.Option("--format", help="csv (insurance in CP932) or parquet.")] = Format.csv,
    rate_scale: Annotated[float, typer.Option(min=0.0, help="Multiply every error rate.")] = 1.0,
    rate: Annotated[Optional[list[str]], typer.Option(
        help="Override one error rate: KIND=VALUE, KIND as source.kind (bank.former_surname) or a bare kind "
             "for every source (repeatable).")] = None,
) -> None:
    """Generate a synthetic world with injected mislinks and its truth."""
    from linkage.synth import generate_world, resolve_rates, write_world

    rates = {}
    for item in rate or []:
        kind, _, value = item.partition("=")
        try:
            rates[kind] = float(value)
        except ValueError:
            _fail(f"--rate {kind}: {value!r} is not a number")
    try:
        resolve_rates(rates, rate_scale)
    except ValueError as err:
        _fail(f"--rate: {err}")
    world = generate_world(households, seed, rates=rates or None, rate_scale=rate_scale)
    paths = write_world(world, out, fmt=format.value)
    typer.echo(f"{len(world.residents):,} residents, {len(world.bank):,} bank and {len(world.insurance):,} "
               f"insurance records -> {out} ({', '.join(sorted(Path(p).name for p in paths.values()))})")


@app.command()
def evaluate(
    truth: Annotated[Path, typer.Option(help="truth.csv from `linkage generate`.")],
    findings: Annotated[Path, typer.Option(help="findings.csv or findings.parquet from `linkage audit`.")],
    min_recall: Annotated[Optional[float], typer.Option(help="Minimum mislink recall.")] = None,
    max_false_alarm: Annotated[Optional[float], typer.Option(help="Maximum share of clean records flagged mislink.")] = None,
    max_review_load: Annotated[Optional[float], typer.Option(help="Maximum share of clean records sent to review.")] = None,
    min_reason_accuracy: Annotated[Optional[float], typer.Option(help="Minimum share of flagged mislinks with the right reason.")] = None,
    min_owner_accuracy: Annotated[Optional[float], typer.Option(help="Minimum share of mislinks with the right suggested owner.")] = None,
) -> None:
    """Score findings against the truth of a generated world."""
    from linkage.evaluation import evaluate_command

    code = evaluate_command(truth, findings, min_recall=min_recall, max_false_alarm=max_false_alarm,
                            max_review_load=max_review_load, min_reason_accuracy=min_reason_accuracy,
                            min_owner_accuracy=min_owner_accuracy)
    raise typer.Exit(code)


def main() -> None:
    """Console entry point: unexpected errors exit 1 with one line, no traceback."""
    setup_logging("warning")
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        typer.echo("linkage: interrupted", err=True)
        sys.exit(130)
    except Exception as err:  # noqa: BLE001 - the contract: one line, exit 1
        typer.echo(f"linkage: unexpected error ({type(err).__name__}); rerun with LINKAGE_DEBUG=1 for details",
                   err=True)
        import os

        if os.environ.get("LINKAGE_DEBUG"):
            raise
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
