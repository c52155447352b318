"""The battery LP as arrays: many operating days stacked block-diagonally, solved by HiGHS.

Pure numpy + highspy (no modelling layer): the constraint matrix is built in COO form with
vectorised index arithmetic (no Python loop per interval), sorted into CSC, and passed as a
`HighsLp`. One call solves any number of independent blocks (operating days); the caller
chooses how many days go into one LP. Formulation and units: docs/BESS.md.

Variables, for n intervals and m reserve products (column order):
    charge_mw[n], discharge_mw[n], soc_mwh[n] (end of interval), reserve_mw[m][n]
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import highspy
import numpy as np
import polars as pl

UP, DOWN, BOTH = "up", "down", "both"
# Measured on this machine (docs/BESS.md, "Speed"): presolve costs more than it saves on these
# small, already tight block LPs (a year x 15 locations at 15 minutes: ~14 s with presolve,
# ~6 s without); dual simplex beats primal simplex and IPM. One HiGHS thread per LP: the
# parallelism is across LPs (SOLVER_WORKERS threads; HiGHS releases the GIL while it solves).
ZERO_MW = 1e-9
SOLVER_WORKERS = max(1, min(4, os.cpu_count() or 1))  # threads solving LPs side by side
SOLVER_OPTIONS = {"output_flag": False, "threads": 1, "presolve": "off"}


def _construct_first_solver_quietly() -> None:
    """HiGHS prints its banner to the process's stdout when the first `Highs` is built,
    before any option can turn output off; built here once with stdout pointed at /dev/null,
    so `power-market report` prints only its own lines."""
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


_construct_first_solver_quietly()


@dataclass(frozen=True)
class Limits:
    """The battery in the LP's own terms (all MW, MWh, fractions already applied)."""

    power_mw: float
    soc_min_mwh: float
    soc_max_mwh: float
    soc_start_mwh: float
    charge_efficiency: float  # sqrt(round trip): MWh stored per MWh drawn
    discharge_efficiency: float  # sqrt(round trip): MWh delivered per MWh released
    max_discharge_mwh_per_block: float | None  # cycles_per_day x usable energy
    degradation_usd_per_mwh: float


@dataclass(frozen=True)
class Reserves:
    """Capacity products co-optimised with energy: prices[m, n] in $/MW per hour."""

    prices: np.ndarray  # shape (m, n)
    directions: tuple[str, ...]  # UP, DOWN or BOTH per product
    sustain_hours: np.ndarray  # shape (m,): hours the capacity must be deliverable


@dataclass(frozen=True)
class Solution:
    charge_mw: np.ndarray
    discharge_mw: np.ndarray
    soc_mwh: np.ndarray
    reserve_mw: np.ndarray  # shape (m, n); (0, n) without reserves
    variables: int
    rows: int


class LpFailed(RuntimeError):
    """HiGHS did not reach an optimum (the message carries its status)."""


def block_starts(block: np.ndarray) -> np.ndarray:
    """True at the first interval of each block (blocks are contiguous runs of one id)."""
    first = np.ones(len(block), dtype=bool)
    first[1:] = block[1:] != block[:-1]
    return first


def block_ends(block: np.ndarray) -> np.ndarray:
    last = np.ones(len(block), dtype=bool)
    last[:-1] = block[1:] != block[:-1]
    return last


def solve_pieces(
    price: np.ndarray,
    hours: np.ndarray,
    block: np.ndarray,
    pieces: Sequence[tuple[int, int]],
    limits: Limits,
    reserves: Reserves | None = None,
    workers: int | None = None,
) -> list[Solution]:
    """One LP per (lo, hi) row range, solved on `workers` threads (HiGHS releases the GIL
    while it solves); solutions in the order of `pieces`."""

    def one(piece: tuple[int, int]) -> Solution:
        lo, hi = piece
        part = None
        if reserves is not None:
            part = Reserves(reserves.prices[:, lo:hi], reserves.directions, reserves.sustain_hours)
        return solve(price[lo:hi], hours[lo:hi], block[lo:hi], limits, part)

    workers = workers or SOLVER_WORKERS
    if workers == 1 or len(pieces) < 2:
        return [one(piece) for piece in pieces]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, pieces))


def solve(
    price: np.ndarray,
    hours: np.ndarray,
    block: np.ndarray,
    limits: Limits,
    reserves: Reserves | None = None,
) -> Solution:
    """Maximise sum(price * (discharge - charge) * hours) - degradation (+ reserve payments)
    over contiguous blocks, each starting and ending at `soc_start_mwh`."""
    lp = build(price, hours, block, limits, reserves)
    h = highspy.Highs()
    for option, value in SOLVER_OPTIONS.items():
        h.setOptionValue(option, value)
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise LpFailed(f"HiGHS status {h.modelStatusToString(status)} on {lp.num_col_} columns")
    x = np.asarray(h.getSolution().col_value)
    x[np.abs(x) < ZERO_MW] = 0.0  # solver noise, so a product never bid shows 0, not 1e-14
    n = len(price)
    m = 0 if reserves is None else len(reserves.directions)
    return Solution(
        charge_mw=x[:n],
        discharge_mw=x[n : 2 * n],
        soc_mwh=x[2 * n : 3 * n],
        reserve_mw=x[3 * n :].reshape(m, n),
        variables=lp.num_col_,
        rows=lp.num_row_,
    )


def build(
    price: np.ndarray,
    hours: np.ndarray,
    block: np.ndarray,
    limits: Limits,
    reserves: Reserves | None = None,
) -> highspy.HighsLp:
    """The LP (minimisation of minus revenue) with its matrix in CSC form."""
    n = len(price)
    m = 0 if reserves is None else len(reserves.directions)
    c, d, s = np.arange(n), np.arange(n, 2 * n), np.arange(2 * n, 3 * n)
    first, last = block_starts(block), block_ends(block)
    blocks = np.cumsum(first) - 1  # 0..k-1
    k = int(blocks[-1]) + 1 if n else 0
    p = limits.power_mw
    rows = _Rows()

    # SOC dynamics: s_i - s_{i-1} - eta_c h c_i + h / eta_d d_i = (s0 at a block's first interval)
    rhs = np.where(first, limits.soc_start_mwh, 0.0)
    r = rows.add(n, rhs, rhs)
    rows.coef(r, s, 1.0)
    inner = ~first
    rows.coef(r[inner], s[inner] - 1, -1.0)
    rows.coef(r, c, -limits.charge_efficiency * hours)
    rows.coef(r, d, hours / limits.discharge_efficiency)
    # charge + discharge <= P: any solution is realisable by splitting the interval in time
    r = rows.add(n, -math.inf, p)
    rows.coef(r, c, 1.0)
    rows.coef(r, d, 1.0)
    # discharged MWh per block <= cycles x usable energy
    if limits.max_discharge_mwh_per_block is not None:
        r = rows.add(k, -math.inf, limits.max_discharge_mwh_per_block)
        rows.coef(r[blocks], d, hours)

    col_lower = np.concatenate([np.zeros(2 * n), np.full(n, limits.soc_min_mwh), np.zeros(m * n)])
    col_upper = np.concatenate(
        [np.full(2 * n, p), np.full(n, limits.soc_max_mwh), np.full(m * n, p)]
    )
    col_lower[s[last]] = col_upper[s[last]] = limits.soc_start_mwh
    revenue = np.concatenate(
        [-price * hours, price * hours - limits.degradation_usd_per_mwh * hours, np.zeros(n)]
    )
    if reserves is not None and m:
        _reserve_rows(rows, reserves, limits, n, first)
        revenue = np.concatenate([revenue, (reserves.prices * hours).ravel()])
    return rows.lp(-revenue, col_lower, col_upper)


def _reserve_rows(
    rows: _Rows, reserves: Reserves, limits: Limits, n: int, first: np.ndarray
) -> None:
    """Headroom for each direction: power (discharge + up <= P, charge + down <= P) and energy
    at the start and end of each interval (SOC is linear in between, so it holds throughout)."""
    c, d, s = np.arange(n), np.arange(n, 2 * n), np.arange(2 * n, 3 * n)
    inner = ~first
    p = limits.power_mw
    for direction, power_col, sign in ((UP, d, 1.0), (DOWN, c, -1.0)):
        members = [i for i, dr in enumerate(reserves.directions) if dr in (direction, BOTH)]
        if not members:
            continue
        r = rows.add(n, -math.inf, p)
        rows.coef(r, power_col, 1.0)
        for j in members:
            rows.coef(r, 3 * n + j * n + c, 1.0)
        # up: sum(r_j * H_j / eta_d) <= s - soc_min; down: sum(r_j * H_j * eta_c) <= soc_max - s
        if direction == UP:
            per_mw = reserves.sustain_hours / limits.discharge_efficiency
            bound = -limits.soc_min_mwh
        else:
            per_mw = reserves.sustain_hours * limits.charge_efficiency
            bound = limits.soc_max_mwh
        for at_start in (False, True):
            upper = np.full(n, bound)
            if at_start:
                upper[first] = bound + sign * limits.soc_start_mwh
            r = rows.add(n, -math.inf, upper)
            if at_start:
                rows.coef(r[inner], s[inner] - 1, -sign)
            else:
                rows.coef(r, s, -sign)
            for j in members:
                rows.coef(r, 3 * n + j * n + c, per_mw[j])


class _Rows:
    """COO triplets and row bounds, appended a family of rows at a time."""

    def __init__(self) -> None:
        self.count = 0
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.i: list[np.ndarray] = []
        self.j: list[np.ndarray] = []
        self.v: list[np.ndarray] = []

    def add(self, count: int, lower: float | np.ndarray, upper: float | np.ndarray) -> np.ndarray:
        ids = np.arange(self.count, self.count + count)
        self.count += count
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (count,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (count,)))
        return ids

    def coef(self, rows: np.ndarray, cols: np.ndarray, values: float | np.ndarray) -> None:
        self.i.append(rows)
        self.j.append(cols)
        self.v.append(np.broadcast_to(np.asarray(values, dtype=float), rows.shape))

    def lp(self, cost: np.ndarray, col_lower: np.ndarray, col_upper: np.ndarray) -> highspy.HighsLp:
        num_col = len(cost)
        i = np.concatenate(self.i)
        j = np.concatenate(self.j)
        v = np.concatenate(self.v)
        order = np.lexsort((i, j))
        lp = highspy.HighsLp()
        lp.num_col_ = num_col
        lp.num_row_ = self.count
        lp.col_cost_ = cost
        lp.col_lower_ = col_lower
        lp.col_upper_ = col_upper
        lp.row_lower_ = np.concatenate(self.lower)
        lp.row_upper_ = np.concatenate(self.upper)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = num_col
        lp.a_matrix_.num_row_ = self.count
        lp.a_matrix_.start_ = np.concatenate(
            [[0], np.cumsum(np.bincount(j, minlength=num_col))]
        ).astype(np.int32)
        lp.a_matrix_.index_ = i[order].astype(np.int32)
        lp.a_matrix_.value_ = v[order]
        return lp


def lp_blocks(
    prices: pl.DataFrame, days_per_lp: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Arrays for the LP (price, hours, block id per (location, day)) and the row ranges of
    each LP: up to `days_per_lp` consecutive operating days of one location."""
    if days_per_lp < 1:
        raise ValueError(f"days_per_lp must be >= 1, got {days_per_lp}")
    keys = prices.select(
        pl.col("location").rank("dense").alias("loc"),
        pl.col("operating_day").rank("dense").over("location").alias("day"),
    )
    loc = keys["loc"].to_numpy().astype(np.int64)
    day = keys["day"].to_numpy().astype(np.int64)
    block = loc * 1_000_000 + day
    lp = loc * 1_000_000 + (day - 1) // days_per_lp
    edges = np.flatnonzero(np.diff(lp)) + 1
    bounds = np.concatenate([[0], edges, [len(lp)]])
    pieces = list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))
    price = prices["price_usd_per_mwh"].to_numpy().astype(float)
    hours = prices["interval_minutes"].to_numpy() / 60.0
    return price, hours, block, pieces
