"""The latent process behind the city: creditworthiness, distress and outcomes.

Each subject has a creditworthiness ``z`` that evolves month to month: AR(1) with
heavy-tailed (jump) shocks, sector and county shocks and one economy-wide downturn.
A firm's ``z`` includes its legal representative's, so each carries signal about the other.
Low ``z`` raises the monthly hazard of *distress*; a distressed subject reaches the outcome
(serious dishonesty / default) after a lag unless it recovers first, and its records show
the trouble building up (arrears, enforcement) before the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chengxin.config import GeneratorSettings


@dataclass
class Macro:
    """Economy-wide, sector and county shocks, shared by every chunk."""

    economy: np.ndarray  # (months,)
    sector: np.ndarray  # (industries, months)
    county: np.ndarray  # (counties, months)


def make_macro(rng: np.random.Generator, s: GeneratorSettings, months: int, n_industries: int, n_counties: int) -> Macro:
    def ar(n: int, sd: float) -> np.ndarray:
        x = np.zeros((n, months))
        e = rng.normal(0, sd, (n, months))
        for t in range(months):
            x[:, t] = (x[:, t - 1] * 0.8 if t else 0) + e[:, t]
        return x

    start = int(s.downturn.start_fraction * months)
    economy = np.zeros(months)
    for t in range(months):
        k = t - start
        if 0 <= k < s.downturn.months:
            # a smooth dip: down, trough, recovery
            economy[t] = -s.downturn.depth * np.sin(np.pi * (k + 1) / (s.downturn.months + 1))
    return Macro(economy, ar(n_industries, s.sector_shock_sd), ar(n_counties, s.county_shock_sd))


@dataclass
class Paths:
    """Monthly latent state of a set of subjects (arrays are subjects x months)."""

    z: np.ndarray
    exists: np.ndarray  # subject exists (founded) in that month
    distress: np.ndarray  # 0..1 build-up while distressed, 1 once in default
    defaulted: np.ndarray  # outcome has happened (in default)
    outcome_month: np.ndarray  # month index of the outcome, -1 for none
    true_pd: np.ndarray  # probability of an outcome within the 12 months after the month


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def simulate(rng: np.random.Generator, s: GeneratorSettings, months: int, base: np.ndarray, exists: np.ndarray,
             shared: np.ndarray | None, macro_loading: np.ndarray, base_logit: float) -> Paths:
    """Simulate latent paths.

    base: (n,) long-run mean of z; exists: (n, months) bool;
    shared: (n, months) component added from a linked subject (or None);
    macro_loading: (n, months) macro shocks already combined for each subject.
    """
    # kept whole (65 lines): the order of its random draws is what a seed reproduces, and it reads
    # as the process does, the latent path, then distress and outcomes month by month
    n = len(base)
    rho = s.persistence

    def jumps(shape):
        return (rng.random(shape) < s.jump_probability) * s.jump_size * (0.5 + rng.random(shape))

    def step(x, innovation, jump):
        return rho * x + (1 - rho) * base + innovation + jump

    def z_of(own, macro, linked):
        z = own + macro
        if linked is not None:
            z = np.sqrt(1 - s.representative_link**2) * z + s.representative_link * linked
        return z

    innov = rng.normal(0, s.innovation_sd, (n, months))
    window_jumps = jumps((n, months))
    own = np.empty((n, months))
    x = base + rng.normal(0, s.innovation_sd / np.sqrt(1 - rho**2), n)
    # the months before the window: the jumps' share of z and the distress already under way,
    # under the first month's macro shocks and representative
    before = np.empty((n, s.burn_in_months))
    for b in range(s.burn_in_months):
        jump = jumps(n)
        x = step(x, rng.normal(0, s.innovation_sd, n), jump)
        before[:, b] = x
    for t in range(months):
        x = step(x, innov[:, t], window_jumps[:, t])
        own[:, t] = x
    z = z_of(own, macro_loading, shared)
    z_before = z_of(before, macro_loading[:, :1], None if shared is None else shared[:, :1])
    hazard, hazard_before = (_sigmoid(base_logit + s.distress_slope * -v) for v in (z, z_before))

    lo, hi = s.outcome_lag_months.min, s.outcome_lag_months.max
    onset_draw = rng.random((n, months))
    leads_to_outcome = rng.random(n) < s.outcome_given_distress
    lag = rng.integers(lo, hi + 1, n)
    distress = np.zeros((n, months))
    defaulted = np.zeros((n, months), dtype=bool)
    outcome_month = np.full(n, -1)
    onset, active = _distress_at_start(rng, hazard_before, exists[:, 0], lag)
    for t in range(months):
        fresh = ~active & exists[:, t] & (onset_draw[:, t] < hazard[:, t]) & (outcome_month < 0)
        onset[fresh] = t
        active |= fresh
        k = t - onset
        build = active & (k < lag)
        distress[build, t] = (k[build] + 1) / lag[build]
        ending = active & (k == lag)
        hit = ending & leads_to_outcome
        outcome_month[hit] = t
        active &= ~ending  # reached the outcome, or recovered (and may fall again later)
        defaulted[:, t] = (outcome_month >= 0) & (outcome_month <= t)
    distress[defaulted] = 1.0

    true_pd = _true_pd(s, hazard, distress, defaulted, lag_lo=lo, lag_hi=hi)
    return Paths(z, exists, distress, defaulted, outcome_month, true_pd)


def _distress_at_start(rng: np.random.Generator, hazard: np.ndarray, exists: np.ndarray,
                       lag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Onset month (negative: before the window) and whether each subject is in distress when
    the window opens. A city does not start healthy: the distress process runs through the
    burn-in months before the window (`hazard`: subjects x those months), so firms and people
    already in trouble enter the window part-way through their build-up. Subjects whose distress
    would have ended before the window (an outcome there, or a recovery) enter it healthy: the
    generated population is the one not yet in default when the window opens. Firms founded
    inside the window (`exists` false) start healthy."""
    n, burn_in = hazard.shape
    onset, active = np.full(n, -1), np.zeros(n, dtype=bool)
    for b in range(burn_in):
        fresh = ~active & exists & (rng.random(n) < hazard[:, b])
        onset[fresh] = b - burn_in
        active |= fresh
        active &= (b - burn_in - onset) < lag
    return onset, active


def _true_pd(s: GeneratorSettings, hazard, distress, defaulted, lag_lo: int, lag_hi: int) -> np.ndarray:
    """P(outcome within the 12 months after month t | state at t), holding the hazard at its
    current level: a distressed subject reaches the outcome with the configured probability
    (its lag is shorter than the horizon); a healthy one must first fall into distress early
    enough for the lag to end inside the horizon."""
    lags = np.arange(lag_lo, lag_hi + 1)
    p = s.outcome_given_distress
    healthy = np.zeros_like(hazard)
    survive = np.ones_like(hazard)
    for k in range(1, 13):
        within = np.mean(lags <= 12 - k)  # onset in month t+k, lag ends by t+12
        healthy += survive * hazard * p * within
        survive *= 1 - hazard
    # A distressed subject's lag is at most 12 months (checked by the settings), so it
    # reaches the outcome inside the horizon exactly when its distress leads to one.
    in_distress = (distress > 0) & ~defaulted
    pd12 = np.where(in_distress, p, healthy)
    return np.where(defaulted, 1.0, np.clip(pd12, 1e-6, 1.0))
