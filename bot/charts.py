"""Report charts as PNG bytes, drawn on matplotlib's Agg canvas (no pyplot, no display, no global
figure state, so two reports can be drawn at once in worker threads)."""

from __future__ import annotations

import io
from datetime import date

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.domain import CURRENCY_EXPONENT
from bot.overview import Report

VOLUME = "#1f3a5f"
REFUNDS = "#c0504d"
DISPUTES = "#e08a00"


def report_chart(report: Report) -> bytes:
    """Daily volume as bars; refunds as bars below zero; days with disputes marked and counted."""
    scale = 10 ** CURRENCY_EXPONENT.get(report.currency.upper(), 2)
    days = [float(totals.day.toordinal()) for totals in report.days]  # a bar a day
    volume = [totals.payments_minor / scale for totals in report.days]
    refunds = [-totals.refunds_minor / scale for totals in report.days]
    disputed = [
        (x, t.payments_minor / scale, t.disputes)
        for x, t in zip(days, report.days, strict=True)
        if t.disputes
    ]

    figure = Figure(figsize=(10, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.bar(days, volume, color=VOLUME, label="Volume")
    axes.bar(days, refunds, color=REFUNDS, label="Refunds")
    if disputed:
        axes.scatter(
            [day for day, _, _ in disputed],
            [height for _, height, _ in disputed],
            marker="v",
            s=60,
            color=DISPUTES,
            zorder=3,
            label="Disputes opened",
        )
        for day, height, count in disputed:
            axes.annotate(
                str(count), (day, height), textcoords="offset points", xytext=(0, 6), ha="center"
            )
    axes.xaxis.set_major_locator(MaxNLocator(nbins=12, integer=True))
    axes.xaxis.set_major_formatter(
        FuncFormatter(lambda value, _: date.fromordinal(int(value)).strftime("%b %d"))
    )
    axes.axhline(0, color="#888888", linewidth=0.8)
    axes.set_title(f"Daily volume, {report.period.label}")
    axes.set_ylabel(report.currency)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.set_xlim(days[0] - 0.6, days[-1] + 0.6)
    figure.legend(loc="outside lower center", ncols=3, frameon=False)
    axes.grid(axis="y", alpha=0.3)
    figure.autofmt_xdate()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
