"""The ``linkage`` command line: audit, generate, evaluate.

Exit status (audit): 0 done, 2 unusable arguments or input (one line on
stderr, no traceback), 3 with ``--fail-on mislink`` when a mislink was found,
1 anything unexpected.  Logs never contain a full My Number or a name.
"""
from __future__ import annotations

import logging
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

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


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"linkage: {message}", err=True)
    raise typer.Exit(code)


def _progress_printer():
    """Stage names on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(stage: str) -> None:
        sys.stderr.write(f"\r\033[K  {stage}…")
        sys.stderr.flush()

    return show


@app.command()
def audit(
    residents: Annotated[Path, typer.Option(help="Card-holder register (csv, parquet, xlsx).")],
    out: Annotated[Path, typer.Option(help="Directory for findings and reports.")],
    bank: Annotated[Optional[Path], typer.Option(help="Public-benefit bank account registrations.")] = None,
    insurance: Annotated[Optional[Path], typer.Option(help="Health-insurance records.")] = None,
    unmask: Annotated[bool, typer.Option(help="Show full My Numbers in the outputs (files become owner-only).")] = False,
    fail_on: Annotated[Optional[FailOn], typer.Option(help="Exit 3 when a mislink is found.")] = None,
    lang: Annotated[Lang, typer.Option(help="Language of evidence and reports.")] = Lang.en,
    redact_names: Annotated[bool, typer.Option(help="Mask names in evidence and reports.")] = False,
) -> None:
    """Audit linked records against the register and write the findings."""
    import linkage
    from linkage.errors import InputError

    if bank is None and insurance is None:
        _fail("give --bank and/or --insurance")
    for p in (residents, bank, insurance):
        if p is not None and not p.exists():
            _fail(f"{p}: no such file or directory")
    progress = _progress_printer()
    try:
        result = linkage.audit(residents, bank=bank, insurance=insurance, unmask=unmask, lang=lang.value,
                               redact_names=redact_names, progress=progress)
        if progress:
            progress("write")
        result.write(out)
    except InputError as err:
        _fail(str(err))
    except OSError as err:
        _fail(f"{err.filename or out}: {err.strerror or err}")
    if progress:
        sys.stderr.write("\r\033[K")
    counts = result.counts()
    typer.echo(f"{len(result.findings):,} records audited: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
               + f" -> {out}")
    if fail_on is FailOn.mislink and counts.get("mislink", 0) > 0:
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
    logging.basicConfig(level=logging.WARNING, format="linkage: %(levelname)s %(message)s")
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
