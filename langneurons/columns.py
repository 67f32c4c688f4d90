"""Plain-text tables: aligned columns for the terminal (task summaries, set comparisons)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Render rows under a header, columns right-aligned except the first."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        return "  ".join(
            [str(first).ljust(widths[0])]
            + [str(c).rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
        )

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def matrix(
    corner: str,
    rows: Sequence[str],
    columns: Sequence[str],
    value: Callable[[str, str], float | None],
    extra: Sequence[tuple[str, Callable[[str], str]]] = (),
) -> str:
    """Render ``value(row, column)`` as a matrix, with extra per-row columns."""
    header = [corner, *columns, *(name for name, _ in extra)]
    body = []
    for r in rows:
        cells = [_fmt(value(r, c)) for c in columns]
        body.append([r, *cells, *(fn(r) for _, fn in extra)])
    return table(header, body)


def estimate(metrics: Mapping[str, float], name: str, digits: int = 2) -> str:
    """``name`` with its 95 % interval where ``metrics`` hold one: ``4.21 [3.62, 4.95]``."""
    point = f"{metrics[name]:.{digits}f}"
    if f"{name}_lo" not in metrics or f"{name}_hi" not in metrics:
        return point
    return f"{point} [{metrics[f'{name}_lo']:.{digits}f}, {metrics[f'{name}_hi']:.{digits}f}]"


def _fmt(number: float | None) -> str:
    return "-" if number is None else f"{number:.2f}"
