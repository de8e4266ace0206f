"""Numbers in words for findings: one way to write a share, a count, a value with its unit."""

from __future__ import annotations

import math

# Units whose values are shares of something already (0-100): written with a % sign.
PERCENT_UNITS = ("percent",)


def pct(share: float | None, digits: int = 1) -> str:
    """0.0521 -> '5.2%', 0.00042 -> '0.04%' (small shares keep a significant digit);
    None -> 'n/a'."""
    if share is None or math.isnan(share):
        return "n/a"
    if 0 < abs(share) < 0.01 and digits >= 1:
        digits = max(digits, 1 - math.floor(math.log10(abs(share) * 100)))
    return f"{share * 100:.{digits}f}%"


def count(n: int) -> str:
    """12345 -> '12,345'."""
    return f"{n:,}"


def num(x: float | None, sig: int = 3) -> str:
    """A value to `sig` significant digits, thousands separated, no scientific notation."""
    if x is None or math.isnan(x):
        return "n/a"
    if x == 0:
        return "0"
    digits = max(sig - 1 - math.floor(math.log10(abs(x))), 0)
    return f"{x:,.{digits}f}"


def value(x: float | None, unit: str | None, sig: int = 3) -> str:
    """A value with its unit: '35%' for percent, '22.7 s', '3.15 normalized_0_100'."""
    text = num(x, sig)
    if x is None or not unit or text == "n/a":
        return text
    return f"{text}%" if unit in PERCENT_UNITS else f"{text} {unit}"


def listing(names: list[str] | tuple[str, ...], total: int | None = None) -> str:
    """'a, b and c'; with `total` larger than the names, '... and 3 more'."""
    items = list(names)
    extra = (total or len(items)) - len(items)
    if extra > 0:
        items.append(f"{extra:,} more")
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
