"""Print a project's agreement report (coefficients, labelers, split pairs, policy ranking) as a table or JSON."""

import json

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.table import Table

from common.errors import DomainError
from labeling.models import Project
from labeling.services.agreement_report import DEFAULT_RESAMPLES, AgreementReport, agreement_report_build


def _fmt(x, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def render_tables(report: AgreementReport, console: Console) -> None:
    console.print(
        f"[bold]{report.project}[/bold]: {report.n_judgments} judgments on {report.n_pairs} pairs by "
        f"{report.n_labelers} labelers ({report.n_both_bad} both-bad); review threshold {report.review_threshold:.2f}; "
        f"{report.n_resamples} bootstrap resamples, seed {report.seed}"
    )
    table = Table("coefficient", "variable", "value", "95% interval", "units", "judgments", title="Agreement")
    for c in report.coefficients:
        iv = c.interval
        table.add_row(
            c.name,
            c.variable,
            _fmt(iv.estimate),
            f"[{_fmt(iv.low)}, {_fmt(iv.high)}]",
            str(c.n_units),
            str(c.n_judgments),
        )
    console.print(table)
    console.print("Consensus: " + ", ".join(f"{k} {v}" for k, v in report.consensus_levels.items()))
    table = Table(
        "labeler",
        "judgments",
        "scored",
        "agreement",
        "Wilson 95%",
        "kappa",
        "gold",
        "median s",
        "skip",
        "flag",
        "status",
        title="Labelers (ranked by the lower agreement bound)",
    )
    for r in report.labelers:
        status = "excluded" if r.excluded else ("REVIEW" if r.needs_review else "")
        table.add_row(
            r.username,
            str(r.n_judgments),
            str(r.n_scored),
            _pct(r.agreement),
            f"[{_pct(r.agreement_low)}, {_pct(r.agreement_high)}]",
            _fmt(r.kappa),
            f"{_pct(r.gold_accuracy)} of {r.n_gold}" if r.n_gold else "–",
            _fmt(None if r.median_time_ms is None else r.median_time_ms / 1000, 1),
            _pct(r.skip_rate),
            _pct(r.flag_rate),
            status,
        )
    console.print(table)
    table = Table("policy", "rating", "95% interval", "comparisons", "win rate", title="Policy ranking (Bradley–Terry)")
    for p in report.ranking:
        table.add_row(
            p.name,
            f"{p.rating:.0f}",
            f"[{_fmt(p.rating_low, 0)}, {_fmt(p.rating_high, 0)}]",
            str(p.n_comparisons),
            _pct(p.win_rate),
        )
    console.print(table)
    console.print(
        f"Split pairs: {report.n_split_pairs}"
        + (
            " (first: " + ", ".join(f"#{s.pair_id} {s.votes}" for s in report.split_pairs[:10]) + ")"
            if report.split_pairs
            else ""
        )
    )
    for note in report.notes:
        console.print(f"note: {note}")


class Command(BaseCommand):
    help = "Print the agreement report of a project: coefficients with bootstrap intervals, labelers, ranking."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="Project slug.")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES, help="Bootstrap resamples (0 = none).")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--split-limit", type=int, default=50, help="How many split pairs to list.")

    def handle(self, *args, project, format, resamples, seed, split_limit, **options):
        target = Project.objects.filter(slug=project).first()
        if target is None:
            raise CommandError(f"No project {project!r}.")
        try:
            # The spinner goes to stderr so `--format json` output stays clean.
            with Console(stderr=True).status(f"Computing the agreement report of {project} ({resamples} resamples)…"):
                report = agreement_report_build(
                    project=target, n_resamples=resamples, seed=seed, split_limit=split_limit
                )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if format == "json":
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            render_tables(report, Console(file=self.stdout, width=160))
