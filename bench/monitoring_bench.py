"""Measure the built-in anomaly detector on labelled series.

    python bench/monitoring_bench.py                # print the figures
    python bench/monitoring_bench.py --write        # and record them in docs/monitoring.md
    python bench/monitoring_bench.py --set tuning   # only the tuning set (what tuning may look at)
    python bench/monitoring_bench.py --csv-dir DIR  # also save each series as timestamp,value
    python bench/monitoring_bench.py --callers [--write]  # per-caller detection (its own block)

Each series is written as CSV and read back through the same code as
`manage.py detect_anomalies` (monitoring.csvseries), so the figures are what
that command gives. The series come from tests/labelled_traffic.py (seeded,
written before the detector was tuned); the held-out set is reported apart.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitoring import csvseries, detector  # noqa: E402
from tests import labelled_traffic as lt  # noqa: E402

DOC = ROOT / "docs" / "monitoring.md"
START, END = "<!-- detector-figures:start -->", "<!-- detector-figures:end -->"
TARGET = 0.3  # false alarms a day, at most, on every series


def csv_text(series: lt.Series) -> str:
    return "timestamp,value\n" + "\n".join(lt.as_csv_rows(series)) + "\n"


def flags(series: lt.Series, params: detector.Params = detector.DEFAULT) -> list[bool]:
    rows = csvseries.read(io.StringIO(csv_text(series)))
    return [bool(result["anomaly"]) for result in csvseries.band_rows(rows, params=params)]


def measure(all_series: list[lt.Series], params: detector.Params = detector.DEFAULT) -> list[lt.Score]:
    return [lt.score(series, flags(series, params)) for series in all_series]


def _delays(values: list[int]) -> str:
    if not values:
        return "—"
    return f"{statistics.median(values):g} / {max(values)}"


def kind_table(scores: list[lt.Score]) -> str:
    """One row per series kind and length."""
    lines = [
        "| Kind | Length | Series | Required windows found | Smaller attacks found "
        "| Minutes to detect (median / worst) | False alarms / day (mean / worst) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    groups: dict[tuple[str, int], list[lt.Score]] = defaultdict(list)
    for s in scores:
        groups[(s.kind, round(s.days))].append(s)
    for (kind, days), group in sorted(groups.items()):
        lines.append(_row(f"{kind}", f"{days // 7} week{'s' if days > 7 else ''}", group))
    lines.append(_row("**all**", "", scores))
    return "\n".join(lines)


def _row(kind: str, length: str, group: list[lt.Score]) -> str:
    required = sum(s.required for s in group)
    found = sum(s.found for s in group)
    optional = sum(s.optional for s in group)
    optional_found = sum(s.optional_found for s in group)
    delays = [d for s in group for d in s.delays]
    days = sum(s.counted_days for s in group)
    mean = sum(s.false_alarms for s in group) / days if days else 0.0
    worst = max(s.per_day for s in group)
    return (
        f"| {kind} | {length} | {len(group)} | {found} of {required} | {optional_found} of {optional} "
        f"| {_delays(delays)} | {mean:.2f} / {worst:.2f} |"
    )


def window_table(all_series: list[lt.Series], scores: list[lt.Score], flagged: list[list[bool]]) -> str:
    """Per attack kind: how many found, and minutes to detect."""
    found: dict[tuple[str, bool], list[int]] = defaultdict(list)
    total: dict[tuple[str, bool], int] = defaultdict(int)
    for series, flags_ in zip(all_series, flagged, strict=True):
        for w in series.windows:
            total[(w.kind, w.required)] += 1
            hits = [i for i in range(w.start, w.end) if flags_[i]]
            if hits:
                found[(w.kind, w.required)].append(hits[0] - w.start)
    lines = ["| Attack | Required | Found | Minutes to detect (median / worst) |", "|---|---|---:|---:|"]
    for key in sorted(total):
        kind, required = key
        lines.append(
            f"| {kind} | {'yes' if required else 'no'} | {len(found[key])} of {total[key]} "
            f"| {_delays(found[key])} |"
        )
    return "\n".join(lines)


def section(title: str, all_series: list[lt.Series]) -> tuple[str, list[lt.Score]]:
    flagged = [flags(s) for s in all_series]
    scores = [lt.score(s, f) for s, f in zip(all_series, flagged, strict=True)]
    worst = max(scores, key=lambda s: s.per_day)
    missed = [(s.name, s.required - s.found) for s in scores if s.found < s.required]
    verdict = (
        f"Worst series: {worst.name}, {worst.per_day:.2f} false alarms a day "
        f"(target at most {TARGET}). Required windows missed: "
        + (", ".join(f"{name} ({n})" for name, n in missed) if missed else "none")
        + "."
    )
    text = "\n\n".join(
        [
            f"**{title}** ({len(all_series)} series, {sum(s.days for s in all_series):.0f} days)",
            kind_table(scores),
            window_table(all_series, scores, flagged),
            verdict,
        ]
    )
    return text, scores


def render(sets: list[str]) -> str:
    parts = [START, "Generated by `python bench/monitoring_bench.py --write`; do not edit by hand."]
    if "tuning" in sets:
        parts.append(section("Tuning set", lt.tuning())[0])
    if "held-out" in sets:
        parts.append(section("Held-out set (never looked at while tuning)", lt.held_out())[0])
    parts.append(END)
    return "\n\n".join(parts)


def write(block: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{DOC} has no {START} ... {END} block to replace")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    DOC.write_text(before + block + after, encoding="utf-8")


# --- per caller ----------------------------------------------------------------------------

CALLER_START, CALLER_END = "<!-- caller-figures:start -->", "<!-- caller-figures:end -->"
JUDGED_DAYS = 3  # the last days of each population are judged (the attacks are on the last)


def _django() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vaultsite.settings")
    for name in ("SECRET_KEY", "API_KEY_PEPPER", "AUDIT_HMAC_KEY"):
        os.environ.setdefault(name, "bench")
    import django

    django.setup()


def judge_population(pop: Any) -> tuple[list[Any], int, int]:
    """Scores of every caller's two series over the last days, and how many attack
    windows the totals flagged (of how many)."""
    from monitoring import callers
    from tests import labelled_callers as lc

    first = (pop.days - JUDGED_DAYS) * lc.PER_DAY
    scores = []
    for trace in pop.traces:
        for metric in ("reads", "not_found"):
            verdicts = callers.assess(
                trace.values(metric), pop.start_ts, 60, metric, trace.operator, first=first, drawn=False
            )
            scores.append(lc.score(pop, trace, metric, [v.band.anomaly for v in verdicts], first))
    windows = [w for t in pop.traces for w in t.windows]
    flagged_totals = 0
    for metric, values in (("reads", pop.total_reads), ("not_found", pop.total_not_found)):
        flags = [b.anomaly for b in detector.bands(values, 60, start=first)]
        flagged_totals += sum(
            any(flags[i - first] for i in range(w.start, w.end)) for w in windows if w.metric == metric
        )
    return scores, flagged_totals, len(windows)


def caller_table(title: str, pops: list[Any]) -> str:
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    in_totals = windows = 0
    for pop in pops:
        scores, flagged, n = judge_population(pop)
        in_totals += flagged
        windows += n
        for sc in scores:
            groups[(sc.role, sc.metric)].append(sc)
    caller_days = sum(s.days for (_, metric), group in groups.items() if metric == "reads" for s in group)
    lines = [
        f"**{title}** ({len(pops)} populations of {len(pops[0].traces)} callers, the last "
        f"{JUDGED_DAYS} days of each judged: {caller_days:.0f} caller-days)",
        "",
        "| Caller | Metric | Series | Attacks found | Minutes to detect (median / worst) "
        "| False alarms / day (mean / worst) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    everything: list[Any] = []
    for (role, metric), group in sorted(groups.items()):
        everything += group
        lines.append(_caller_row(role, metric.replace("_", " "), group))
    lines.append(_caller_row("**all**", "", everything))
    lines.append("")
    lines.append(f"Attack windows the totals' own detector flagged: {in_totals} of {windows}.")
    return "\n".join(lines)


def _caller_row(role: str, metric: str, group: list[Any]) -> str:
    windows = sum(s.windows for s in group)
    found = sum(s.found for s in group)
    delays = [d for s in group for d in s.delays]
    days = sum(s.days for s in group)
    mean = sum(s.false_alarms for s in group) / days if days else 0.0
    worst = max(s.false_alarms / s.days for s in group if s.days)
    return (
        f"| {role} | {metric} | {len(group)} | {found} of {windows} | {_delays(delays)} "
        f"| {mean:.2f} / {worst:.2f} |"
    )


def render_callers() -> str:
    _django()
    from tests import labelled_callers as lc

    parts = [
        CALLER_START,
        "Generated by `python bench/monitoring_bench.py --callers --write`; do not edit by hand.",
        caller_table("Tuning populations", lc.tuning()),
        caller_table("Held-out populations (never looked at while choosing the defaults)", lc.held_out()),
        CALLER_END,
    ]
    return "\n\n".join(parts)


def write_block(block: str, start: str, end: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise SystemExit(f"{DOC} has no {start} ... {end} block to replace")
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    DOC.write_text(before + block + after, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"update {DOC.relative_to(ROOT)}")
    parser.add_argument("--set", choices=("tuning", "held-out", "both"), default="both")
    parser.add_argument("--csv-dir", type=Path, help="also save each series as CSV here")
    parser.add_argument("--callers", action="store_true", help="per-caller detection instead")
    args = parser.parse_args()
    if args.callers:
        block = render_callers()
        print(block)
        if args.write:
            write_block(block, CALLER_START, CALLER_END)
            print(f"\nwrote {DOC.relative_to(ROOT)}")
        return
    sets = ["tuning", "held-out"] if args.set == "both" else [args.set]
    if args.write and args.set != "both":
        raise SystemExit("--write records both sets")
    if args.csv_dir:
        args.csv_dir.mkdir(parents=True, exist_ok=True)
        for series in [*lt.tuning(), *lt.held_out()]:
            (args.csv_dir / f"{series.name}.csv").write_text(csv_text(series), encoding="utf-8")
    block = render(sets)
    print(block)
    if args.write:
        write(block)
        print(f"\nwrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
