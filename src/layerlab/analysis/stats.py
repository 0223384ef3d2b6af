"""Statistics over repeats (seeds) and over test images, with NumPy and the standard library only.

- `mean_std`: mean and sample standard deviation (ddof=1) of repeats.
- `paired_difference`: mean and standard error of a[i] - b[i] (repeats paired by seed).
- `t_interval`: mean and the half-width of a Student t interval over repeats.
- `welch`: difference of two independent means, its standard error, Welch-Satterthwaite
  degrees of freedom and t interval.
- `wilson`: the Wilson score interval of an accuracy measured on n examples.
- `spearman`: rank correlation, ties sharing their average rank.
- `t_quantile`: Student's t quantile for any df > 0 (scipy is not a runtime dependency).

Results are plain floats, several of them as a NamedTuple: `m, s = mean_std(x)` and
`mean_std(x).std` both work, and `[*mean_std(x)]` puts the two numbers in a table row.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import NamedTuple

import numpy as np

# The 97.5% quantile of the standard normal, the bits layerlab has always used (scipy's
# ndtri). NormalDist().inv_cdf(0.975) is one unit in the last place lower: Wilson intervals at
# 95% use this constant so that they keep their published values bit for bit.
Z95 = 1.959963984540054

# Above this many degrees of freedom the t quantile is the Cornish-Fisher series in 1/df (error
# below 1e-13 there); below it, the CDF is inverted, and its log-gamma terms lose about
# 1e-15 * df relative (2e-12 at 2000), so the series takes over.
_SERIES_DF = 2000


class MeanStd(NamedTuple):
    mean: float
    std: float


class Difference(NamedTuple):
    mean: float
    se: float


class TInterval(NamedTuple):
    """mean ± half_width; df = n - 1 (half_width is NaN for one value)."""

    mean: float
    half_width: float
    df: float

    @property
    def low(self):
        return self.mean - self.half_width

    @property
    def high(self):
        return self.mean + self.half_width


class Welch(NamedTuple):
    """diff = mean(a) - mean(b), its standard error, Welch-Satterthwaite df, and the t interval
    diff ± half_width."""

    diff: float
    se: float
    df: float
    half_width: float

    @property
    def low(self):
        return self.diff - self.half_width

    @property
    def high(self):
        return self.diff + self.half_width


class Interval(NamedTuple):
    low: float
    high: float


def _sample(values, name="values"):
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, got shape "
                         f"{v.shape}")
    return v


def _check_level(level):
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), e.g. 0.95, got {level}")


def mean_std(values):
    """Mean and sample standard deviation (ddof=1) of n repeats.

    Args:
        values: (n,) numbers, n >= 1.
    Returns:
        MeanStd(mean, std); std is 0.0 for a single value.
    """
    v = _sample(values)
    return MeanStd(float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0)


def paired_difference(a, b):
    """Mean and standard error of d = a[i] - b[i] over paired repeats (e.g. the same seeds).

    Args:
        a, b: (n,) numbers each, n >= 1.
    Returns:
        Difference(mean, se) with se = std(d, ddof=1) / sqrt(n); se is 0.0 for n = 1.
    """
    a, b = _sample(a, "a"), _sample(b, "b")
    if len(a) != len(b):
        raise ValueError(f"paired samples must be equally long, got {len(a)} and {len(b)}")
    d = a - b
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0
    return Difference(float(d.mean()), se)


def t_interval(values, level=0.95):
    """Student t interval of the mean of n repeats: mean ± t(df = n - 1) * std / sqrt(n).

    Args:
        values: (n,) numbers, n >= 1.
        level: two-sided confidence level.
    Returns:
        TInterval(mean, half_width, df); half_width is NaN for one value (no spread to measure)
        or when a value is NaN or infinite, and 0.0 when every value is equal. The standard
        error is computed exactly as `paired_difference`'s, so t_interval(a - b).half_width is
        t times its se.
    """
    _check_level(level)
    v = _sample(values)
    n = len(v)
    if n < 2:
        return TInterval(float(v.mean()), math.nan, 0.0)
    se = float(v.std(ddof=1) / np.sqrt(n))
    return TInterval(float(v.mean()), t_quantile((1 + level) / 2, n - 1) * se, float(n - 1))


def welch(a, b, level=0.95):
    """Difference of the means of two independent samples, with Welch's t interval.

    se = sqrt(var_a / n_a + var_b / n_b) (sample variances, ddof=1); df by
    Welch-Satterthwaite.

    Args:
        a: (n_a,) numbers; b: (n_b,) numbers; n_a, n_b >= 1.
        level: two-sided confidence level.
    Returns:
        Welch(diff, se, df, half_width). A sample of one value adds 0 to se (as compare_pair
        does) but leaves df and half_width NaN; when both samples have no spread (se = 0), df
        is NaN and half_width 0.0; NaN or infinite values give NaN.
    """
    _check_level(level)
    a, b = _sample(a, "a"), _sample(b, "b")
    diff = float(a.mean() - b.mean())
    va = a.var(ddof=1) / len(a) if len(a) > 1 else 0.0
    vb = b.var(ddof=1) / len(b) if len(b) > 1 else 0.0
    se = float(math.sqrt(va + vb))
    if min(len(a), len(b)) < 2:
        return Welch(diff, se, math.nan, math.nan)
    if se == 0:
        return Welch(diff, se, math.nan, 0.0)
    df = float((va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)))
    if not df > 0:  # NaN or infinite values in a sample
        return Welch(diff, se, df, math.nan)
    return Welch(diff, se, df, t_quantile((1 + level) / 2, df) * se)


def wilson(correct, n, level=0.95):
    """Wilson score interval of a proportion correct / n.

    It stays inside [0, 1] and keeps close to its nominal coverage for proportions near 1 and
    small n (178 Gurmukhi test images at 97%), where p ± z sqrt(p(1-p)/n) does not.

    Args:
        correct: examples right, 0 <= correct <= n.
        n: examples, n > 0.
        level: two-sided confidence level.
    Returns:
        Interval(low, high) as fractions.
    """
    _check_level(level)
    if n <= 0:
        raise ValueError(f"wilson needs n > 0 examples, got {n}")
    if not 0 <= correct <= n:
        raise ValueError(f"correct must be in [0, n={n}], got {correct}")
    z = _normal_quantile((1 + level) / 2)
    p = correct / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if correct == 0 else max(0.0, centre - half)  # exact at the edges (round-off)
    high = 1.0 if correct == n else min(1.0, centre + half)
    return Interval(low, high)


def spearman(x, y):
    """Spearman rank correlation: the Pearson correlation of the ranks, ties sharing their
    average rank.

    Args:
        x, y: (n,) numbers each.
    Returns:
        float in [-1, 1]; 0.0 (not NaN, unlike scipy) when x or y is constant.
    """
    x, y = _sample(x, "x"), _sample(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y must be equally long, got {len(x)} and {len(y)}")
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / denom) if denom else 0.0


def _ranks(v):
    """0-based ranks of v, ties averaged."""
    order = v.argsort(kind="stable")
    r = np.empty(len(v))
    r[order] = np.arange(len(v), dtype=float)
    for value in np.unique(v):
        tie = v == value
        r[tie] = r[tie].mean()
    return r


# --- quantiles -------------------------------------------------------------------------------


def _normal_quantile(p):
    """Standard normal quantile; 0.975 gives Z95 exactly (see Z95), 0.025 gives -Z95."""
    if p in (0.025, 0.975):
        return Z95 if p > 0.5 else -Z95
    return NormalDist().inv_cdf(p)


def t_quantile(p, df):
    """Quantile of Student's t distribution: the x with P(T <= x) = p.

    Accurate to about 1e-12 relative for any df > 0: up to 2000 degrees of freedom the
    regularised incomplete beta (continued fraction) inverted by safeguarded Newton steps,
    above that the Cornish-Fisher series in 1/df, whose limit df = inf is the normal quantile.

    Args:
        p: probability in (0, 1); 0.975 gives the two-sided 95% multiplier.
        df: degrees of freedom > 0, float (Welch) or math.inf.
    Returns:
        float.
    """
    if not 0 < p < 1:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if not df > 0:
        raise ValueError(f"df must be > 0, got {df}")
    if p == 0.5:
        return 0.0
    q = min(p, 1 - p)  # the tail beyond |x| (1 - p is exact for p >= 0.5)
    x = _cornish_fisher(abs(_normal_quantile(p)), df)
    if df <= _SERIES_DF:
        x = _solve_upper_tail(q, df, x)
    return x if p > 0.5 else -x


def _cornish_fisher(z, df):
    """t quantile from the normal quantile z: Abramowitz & Stegun 26.7.5, terms to 1/df**4."""
    g1 = (z ** 3 + z) / 4
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384
    g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160
    return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4


def _solve_upper_tail(q, df, start):
    """The x > 0 with P(T > x) = q: Newton steps kept inside a bracket that bisection narrows
    when a step leaves it (the series start can be far off for df near 1)."""
    lo, hi = 0.0, max(start, 1.0)
    while _upper_tail(hi, df) > q:
        lo, hi = hi, 2 * hi
    x = min(max(start, lo), hi)
    for _ in range(200):
        f = _upper_tail(x, df) - q  # decreasing in x
        if f > 0:
            lo = x
        else:
            hi = x
        step = f / _t_pdf(x, df)
        new = x + step
        if not lo < new < hi:
            new = (lo + hi) / 2
        if abs(new - x) <= 1e-15 * new:
            return new
        x = new
    return x


def _upper_tail(x, df):
    """P(T > x) for x >= 0: I_{df/(df+x^2)}(df/2, 1/2) / 2, the complement x^2/(df+x^2)
    computed directly (no cancellation for large df)."""
    s = df + x * x
    return 0.5 * _betainc(df / 2, 0.5, df / s, x * x / s)


def _t_pdf(x, df):
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1) / 2 * math.log1p(x * x / df))


def _betainc(a, b, x, xc):
    """Regularised incomplete beta I_x(a, b), xc = 1 - x given separately for precision
    (Numerical Recipes 6.4: continued fraction on the side where it converges fast)."""
    if x <= 0:
        return 0.0
    if xc <= 0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log(xc))
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, xc) / b


def _beta_fraction(a, b, x):
    """The continued fraction of I_x(a, b), modified Lentz's method."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        for aa in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                   -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h
