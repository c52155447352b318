"""Figures of `power-market bench`: per-phase summaries, the table, the issue-12 targets and
the JSON file. Pure Python over the phases' measurements (no Polars, no Dagster).

Ratios are paired: each repeat runs every phase once, in turn, so a phase's "x floor-sum" is
the median over repeats of its time divided by the floor-sum's time in the same repeat. That
cancels most of the drift of a shared, noisy machine.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

FLOOR, PANDAS, PIPELINE, CHECKS, DAGSTER = (
    "floor-sum",
    "pandas",
    "pipeline",
    "pipeline+checks",
    "dagster run",
)
YEAR_DAYS = 365
PROJECT_FROM_DAYS = 28  # a year's time is projected from windows of a month or more
TARGET_X_FLOOR = 1.5  # the Dagster run of a month at most 1.5x floor-sum (wall and CPU)
TARGET_X_PANDAS = 4.0  # ... and at least 4x faster than pandas (wall and CPU)
TARGET_YEAR_S = 30.0
TARGET_YEAR_MIB = 1024.0
TARGET_CHECKS_SHARE = 0.15
TARGET_SAME_RATE = 0.9  # rt_lmp's Dagster rows/s at least this share of rt_prices'
COLUMNS = (
    "phase",
    "wall s",
    "CPU s",
    "rows/s",
    "x floor-sum wall",
    "x floor-sum CPU",
    "x pandas wall",
    "peak MiB",
    "runs",
)


@dataclass
class DatasetRun:
    """One dataset's generated files and every phase's measurements (one dict per repeat:
    wall_s, cpu_s, rows, peak_mib, process_s)."""

    dataset: str
    window: str
    days: int
    nodes: int
    zips: int
    rows: int
    csv_mb: float
    zip_mb: float
    generate_s: float
    compresslevel: int
    repeats: int
    runs: dict[str, list[dict]] = field(default_factory=dict)


Result = tuple[DatasetRun, dict[str, dict], dict[str, dict]]  # run, summary, targets


def _paired(runs: dict[str, list[dict]], phase: str, base: str, key: str) -> float | None:
    """Median over repeats of phase/base, pairing the two runs of each repeat."""
    pairs = [
        (run, ref)
        for run, ref in zip(runs.get(phase, []), runs.get(base, []), strict=False)
        if "error" not in run and "error" not in ref
    ]
    return statistics.median(run[key] / ref[key] for run, ref in pairs) if pairs else None


def _failed(runs: list[dict]) -> dict:
    """A phase none of whose runs finished: its error instead of figures."""
    empty = dict.fromkeys(("wall_s", "cpu_s", "process_s", "rows_per_s", "peak_mib"))
    ratios = dict.fromkeys(("x_floor_wall", "x_floor_cpu", "x_pandas_wall", "x_pandas_cpu"))
    error = runs[0]["error"]
    return {
        **empty,
        **ratios,
        "runs": 0,
        "failed": len(runs),
        "rows": [],
        "rows_ok": False,
        "error": error,
    }


def _phase_summary(run: DatasetRun, phase: str) -> dict:
    done = [r for r in run.runs[phase] if "error" not in r]
    if not done:
        return _failed(run.runs[phase])
    wall = statistics.median(r["wall_s"] for r in done)
    failed = len(run.runs[phase]) - len(done)
    return {
        "wall_s": wall,
        "cpu_s": statistics.median(r["cpu_s"] for r in done),
        "process_s": statistics.median(r["process_s"] for r in done),
        "rows_per_s": run.rows / wall if wall else None,
        "x_floor_wall": _paired(run.runs, phase, FLOOR, "wall_s"),
        "x_floor_cpu": _paired(run.runs, phase, FLOOR, "cpu_s"),
        "x_pandas_wall": _paired(run.runs, phase, PANDAS, "wall_s"),
        "x_pandas_cpu": _paired(run.runs, phase, PANDAS, "cpu_s"),
        "peak_mib": max(r["peak_mib"] for r in done),
        "runs": len(done),
        "failed": failed,
        "rows": sorted({r["rows"] for r in done}),
        "rows_ok": not failed and all(r["rows"] == run.rows for r in done),
    }


def summarize(run: DatasetRun) -> dict[str, dict]:
    """Phase -> medians, paired ratios, peak memory and whether its row count matched."""
    return {phase: _phase_summary(run, phase) for phase in run.runs}


def _cell(value: float | int | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def table_lines(run: DatasetRun, summary: dict[str, dict]) -> list[str]:
    """A Markdown table (aligned, so it reads in a terminal and pastes into the README)."""
    rows = [list(COLUMNS)]
    for phase, s in summary.items():
        rows.append(
            [
                phase,
                _cell(s["wall_s"], ".2f"),
                _cell(s["cpu_s"], ".2f"),
                _cell(s["rows_per_s"], ",.0f"),
                _cell(s["x_floor_wall"], ".2f"),
                _cell(s["x_floor_cpu"], ".2f"),
                _cell(s["x_pandas_wall"], ".2f"),
                _cell(s["peak_mib"], ".0f"),
                str(s["runs"]) + (f" ({s['failed']} failed)" if s["failed"] else ""),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return [line(rows[0]), rule, *(line(r) for r in rows[1:])]


def rows_line(run: DatasetRun, summary: dict[str, dict]) -> str:
    wrong = {p: s for p, s in summary.items() if not s["rows_ok"]}
    if not wrong:
        return f"rows: every phase wrote the {run.rows:,} generated rows"
    problems = [
        f"{p} failed: {s['error'].splitlines()[-1]}" if "error" in s else f"{p} {s['rows']}"
        for p, s in wrong.items()
    ]
    return f"!! rows: expected {run.rows:,}; " + ", ".join(problems)


def _verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("yes" if met else "NO")


def _target_vs_floor(dag: dict) -> dict:
    wall, cpu = dag["x_floor_wall"], dag["x_floor_cpu"]
    met = None if wall is None else wall <= TARGET_X_FLOOR and cpu <= TARGET_X_FLOOR
    text = f"wall {_cell(wall, '.2f')}x, CPU {_cell(cpu, '.2f')}x"
    return {"wall": wall, "cpu": cpu, "limit": TARGET_X_FLOOR, "met": met, "text": text}


def _target_vs_pandas(dag: dict) -> dict:
    wall = 1 / dag["x_pandas_wall"] if dag["x_pandas_wall"] else None
    cpu = 1 / dag["x_pandas_cpu"] if dag["x_pandas_cpu"] else None
    met = None if wall is None else wall >= TARGET_X_PANDAS and cpu >= TARGET_X_PANDAS
    text = f"wall {_cell(wall, '.1f')}x, CPU {_cell(cpu, '.1f')}x faster"
    return {"wall": wall, "cpu": cpu, "limit": TARGET_X_PANDAS, "met": met, "text": text}


def _target_year(run: DatasetRun, dag: dict) -> dict:
    wall, peak = dag["wall_s"], dag["peak_mib"]
    if run.days >= YEAR_DAYS:
        met = wall < TARGET_YEAR_S and peak < TARGET_YEAR_MIB
        return {"wall": wall, "peak_mib": peak, "met": met, "text": f"{wall:.1f} s, {peak:.0f} MiB"}
    if run.days < PROJECT_FROM_DAYS:  # fixed costs dominate a short window: no projection
        return {"wall": None, "met": None, "text": f"needs --days {YEAR_DAYS}"}
    projected = wall * YEAR_DAYS / run.days
    text = f"needs --days {YEAR_DAYS} (~{projected:.0f} s a year at this window's rate)"
    return {"wall": None, "projected_wall": projected, "met": None, "text": text}


def _target_checks(summary: dict[str, dict]) -> dict:
    if any(summary.get(p, {}).get("wall_s") is None for p in (PIPELINE, CHECKS, DAGSTER)):
        return {"share": None, "met": None, "text": "needs pipeline, +checks and dagster run"}
    extra = summary[CHECKS]["wall_s"] - summary[PIPELINE]["wall_s"]
    share = extra / summary[DAGSTER]["wall_s"]
    return {"share": share, "met": share < TARGET_CHECKS_SHARE, "text": f"{share:.0%}"}


def _target_rate(run: DatasetRun, dag: dict, rt_prices_rate: float | None) -> dict:
    if rt_prices_rate is None:
        return {"ratio": None, "met": None, "text": "needs rt_prices in the same command"}
    ratio = dag["rows_per_s"] / rt_prices_rate
    return {"ratio": ratio, "met": ratio >= TARGET_SAME_RATE, "text": f"{ratio:.2f}x rt_prices"}


def targets(
    run: DatasetRun, summary: dict[str, dict], rt_prices_rate: float | None
) -> dict[str, dict]:
    """Issue 12's targets measured on this run (met: True, False, or None when not measured)."""
    dag = summary.get(DAGSTER)
    if dag is None or dag["wall_s"] is None:
        text = "the dagster run phase " + ("was skipped" if dag is None else "failed")
        return {"dagster run": {"met": None, "text": text}}
    found = {
        f"dagster run <= {TARGET_X_FLOOR}x floor-sum": _target_vs_floor(dag),
        f">= {TARGET_X_PANDAS:.0f}x faster than pandas": _target_vs_pandas(dag),
        f"a year < {TARGET_YEAR_S:.0f} s and 1 GiB": _target_year(run, dag),
        f"checks < {TARGET_CHECKS_SHARE:.0%} of the run": _target_checks(summary),
    }
    if run.dataset == "rt_lmp":
        found[f"rows/s >= {TARGET_SAME_RATE}x rt_prices'"] = _target_rate(run, dag, rt_prices_rate)
    return found


def targets_line(run: DatasetRun, found: dict[str, dict]) -> str:
    parts = [f"{name}: {t['text']} -> {_verdict(t['met'])}" for name, t in found.items()]
    return f"targets {run.dataset} ({run.window}, {run.days} days): " + " | ".join(parts)


def write_json(path: Path, command: list[str], results: list[Result]) -> None:
    """Every figure: each repeat's raw measurements, the summaries and the targets."""
    payload = {
        "command": command,
        "datasets": {
            run.dataset: {**asdict(run), "summary": summary, "targets": found}
            for run, summary, found in results
        },
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
