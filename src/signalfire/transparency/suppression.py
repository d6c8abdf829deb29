"""Small-count suppression of published figures.

Primary: a count below the threshold k, zero included, is published as "< k". Zero is withheld too: were it
shown, "< k" would mean "1 to k - 1" and, with k = 2, exactly 1. A total is treated the same way.

Secondary: when a breakdown publishes its total and exactly one cell is suppressed, that cell would be the
total minus the others; the smallest other cell is then withheld too, published as ">= k" (which
it is), so the two are known only by their sum.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shown:
    """A figure as published: the value (None when suppressed), its text and why it is withheld."""

    value: int | None
    display: str
    suppressed: str | None  # None, "primary" or "secondary"

    def as_dict(self) -> dict[str, object]:
        return {"value": self.value, "display": self.display, "suppressed": self.suppressed}


def primary(n: int, k: int) -> Shown:
    if n < k:
        return Shown(None, f"< {k}", "primary")
    return Shown(n, str(n), None)


def suppress(values: list[int], k: int, *, with_total: bool) -> tuple[list[Shown], Shown | None]:
    """The published form of a breakdown's cells (in order) and of its total (when it has one)."""
    cells = [primary(n, k) for n in values]
    total = primary(sum(values), k) if with_total else None
    hidden = [i for i, c in enumerate(cells) if c.suppressed]
    if total is not None and total.suppressed is None and len(hidden) == 1:
        others = [i for i, n in enumerate(values) if i not in hidden]
        # The total is at least k and the hidden cell below k, so another cell (itself at least k) exists.
        smallest = min(others, key=lambda i: (values[i], i))
        cells[smallest] = Shown(None, f">= {k}", "secondary")
    return cells, total
