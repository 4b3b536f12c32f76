"""Figures of the forensic report: matplotlib object API, deterministic PNG bytes.

Every figure is a :class:`matplotlib.figure.Figure` drawn on an Agg canvas (never
pyplot's global state), rendered inside an ``rc_context`` that turns off
mathematics parsing (``text.parse_math = False``, ``text.usetex = False``), so text
from the evidence (an account, a workstation named ``cost $x^2$``) is drawn
literally. PNG bytes are stable: fixed size and dpi, no ``Software`` metadata,
fixed fonts, and every figure is cleared once saved.

Each function returns a :class:`matplotlib.figure.Figure`; :func:`png_bytes`
renders one and releases it; :func:`data_uri` gives the ``data:image/png;base64``
form embedded in ``report.html``.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from .._terminal import visible
from ..case import DEFAULT_TZ
from .numbers import fixed

__all__ = [
    "RC",
    "activity_timeline",
    "data_uri",
    "empty_figure",
    "lab_flagged_sessions",
    "leak_coverage",
    "linkage_thresholds",
    "log_coverage",
    "match_waterfall",
    "png_bytes",
    "probability_text",
    "score_distribution",
    "session_timeline",
]

#: rc settings of every report figure: literal text, fixed fonts, no hash salt.
RC: dict[str, Any] = {
    "text.parse_math": False,
    "text.usetex": False,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "labforensics",
    "path.simplify": True,
    "figure.dpi": 100,
}

#: Palette (colour-blind safe, Okabe-Ito).
BLUE, ORANGE, GREEN, RED, GREY, PURPLE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#7f7f7f",
    "#CC79A7",
)
_DPI = 110


@contextmanager
def _rc() -> Iterator[None]:
    with mpl.rc_context(RC):
        yield


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _literal(text: object) -> str:
    """Text from the evidence, as a plain string (math parsing is off in :data:`RC`), its
    control characters as escapes (an ESC has no glyph: ``\\x1b`` is drawn instead)."""
    return "" if text is None or text is pd.NA else visible(text, keep="\n")


def _plain_log_axis(axis: Any) -> None:
    """Log-axis tick labels as plain numbers (the default ones are mathtext, off here)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    axis.set_minor_formatter(NullFormatter())


def png_bytes(make: Callable[[], Figure] | Figure) -> bytes:
    """Render a figure (or a function making one) to deterministic PNG bytes.

    The figure is drawn inside the report's rc context, saved without the
    ``Software`` metadata (so bytes do not depend on the matplotlib version
    string) and cleared afterwards.
    """
    with _rc(), warnings.catch_warnings():
        # evidence spanning minutes (one FHIR bundle, one auth log burst): matplotlib's
        # date locator falls back to its finest interval and says so on stderr; the
        # ticks it then draws are right, so only that one message is silenced
        warnings.filterwarnings(
            "ignore", message="AutoDateLocator was unable to pick an appropriate interval"
        )
        fig = make() if callable(make) and not isinstance(make, Figure) else make
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
        fig.clear()
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for embedding in HTML."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def empty_figure(message: str, width: float = 8.0, height: float = 1.2) -> Figure:
    """A small figure that says there is nothing to draw (and why)."""
    with _rc():
        fig = _figure(width, height)
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, _literal(message), ha="center", va="center", color=GREY,
                parse_math=False)  # fmt: skip
    return fig


def _month_floor(ts: pd.Series, tz: str) -> pd.Series:
    local = ts.dt.tz_convert(tz).dt.tz_localize(None)
    return local.dt.to_period("M").dt.to_timestamp()


def activity_timeline(
    monthly: pd.DataFrame,
    *,
    flagged: pd.DataFrame | None = None,
    migrations: pd.DataFrame | None = None,
    windows: pd.DataFrame | None = None,
    title: str = "Records exported and extracted per lab and month",
    freq: str = "MS",
) -> Figure:
    """Lab x month heat map of outbound records, with incidents and migrations marked.

    Parameters
    ----------
    monthly : pandas.DataFrame
        ``lab`` (str), ``month`` (datetime64, first day of the month, local time),
        ``records`` (int, records exported + extracted that month).
    freq : {"MS", "W-MON"}
        Bins of ``monthly["month"]``: months, or weeks starting on Monday.
    flagged : pandas.DataFrame, optional
        ``lab``, ``start`` (datetime64, local, naive) of flagged sessions: red dots; one
        outside the months drawn is counted under the axis, not drawn.
    migrations : pandas.DataFrame, optional
        ``lab``, ``date`` (datetime64, local, naive) of the switch to the current
        dialect: black ticks.
    windows : pandas.DataFrame, optional
        ``start``, ``end`` (datetime64, local, naive) of exfiltration windows: shaded.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.dates as mdates

    if monthly.empty:
        return empty_figure("No export or extraction in the evidence.")
    labs = sorted(monthly["lab"].astype(str).unique())
    months = pd.date_range(monthly["month"].min(), monthly["month"].max(), freq=freq)
    grid = (
        monthly.assign(lab=monthly["lab"].astype(str))
        .pivot_table(index="lab", columns="month", values="records", aggfunc="sum")
        .reindex(index=labs, columns=months)
        .fillna(0)
    )
    step = pd.offsets.MonthBegin(1) if freq == "MS" else pd.Timedelta(days=7)
    edges = mdates.date2num(list(months) + [months[-1] + step])
    height = min(1.6 + 0.22 * len(labs), 9.0)
    with _rc():
        fig = _figure(10.5, height)
        ax = fig.add_subplot()
        vals = grid.to_numpy(dtype=float)
        masked = np.ma.masked_less_equal(vals, 0)
        vmax = max(float(vals.max()), 10.0)
        mesh = ax.pcolormesh(
            edges,
            np.arange(len(labs) + 1),
            masked,
            cmap="Blues",
            norm=LogNorm(vmin=1, vmax=vmax),
            shading="flat",
        )
        cb = fig.colorbar(mesh, ax=ax, pad=0.01, fraction=0.03)
        cb.set_label("records (log scale)")
        _plain_log_axis(cb.ax.yaxis)
        row = {lab: i + 0.5 for i, lab in enumerate(labs)}
        if windows is not None and not windows.empty:
            # a window lasts hours: drawn at least ~3 weeks wide so it shows at month scale
            span = max(edges[-1] - edges[0], 1.0)
            for w in windows.itertuples():
                x0 = mdates.date2num(w.start)
                width = max(mdates.date2num(w.end) - x0, span / 120)
                r = row.get(str(w.lab)) if "lab" in windows.columns else None
                y = (r - 0.5, 1.0) if r is not None else (0, len(labs))
                ax.broken_barh([(x0 - width / 2 + (mdates.date2num(w.end) - x0) / 2, width)], y,
                               facecolors="none", edgecolors=ORANGE, linewidth=1.6,
                               label="exfiltration window")  # fmt: skip
        if migrations is not None and not migrations.empty:
            m = migrations[migrations["lab"].astype(str).isin(row)]
            ax.scatter(mdates.date2num(m["date"]), m["lab"].astype(str).map(row), marker="|",
                       s=160, color="black", linewidths=2, label="migration to new LIS")  # fmt: skip
        outside = 0
        if flagged is not None and not flagged.empty:
            f = flagged[flagged["lab"].astype(str).isin(row)]
            # a session dated outside the period (a row dated 2099: left out of the period,
            # plausible_dates) would stretch the axis over decades: counted, not drawn
            x = mdates.date2num(f["start"])
            inside = (x >= edges[0]) & (x <= edges[-1])
            outside = int((~inside).sum())
            f = f[inside]
            ax.scatter(mdates.date2num(f["start"]), f["lab"].astype(str).map(row), marker="o",
                       s=28, facecolor=RED, edgecolor="white", linewidths=0.6, zorder=5,
                       label="flagged session")  # fmt: skip
        ax.set_yticks(np.arange(len(labs)) + 0.5, labels=labs)
        ax.set_ylim(len(labs), 0)
        ax.set_xlim(edges[0], edges[-1])
        if outside:
            ax.set_xlabel(f"{outside:,} flagged session(s) dated outside these months, not "
                          "drawn (see the session ranking)", fontsize=8)  # fmt: skip
        ax.xaxis.set_major_locator(mdates.YearLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        if edges[-1] - edges[0] <= 430:
            ax.xaxis.set_major_locator(mdates.MonthLocator())
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
        ax.tick_params(axis="y", labelsize=7 if len(labs) > 20 else 8)
        ax.set_title(_literal(title), loc="left", parse_math=False)
        handles, labels_ = ax.get_legend_handles_labels()
        uniq = dict(zip(labels_, handles, strict=False))
        if uniq:
            ax.legend(uniq.values(), uniq.keys(), loc="lower right", bbox_to_anchor=(1.0, 1.0),
                      ncol=3, frameon=False, fontsize=8, borderaxespad=0.2)  # fmt: skip
    return fig


#: Campaigns drawn on a row of their own in a lab's figure; the rest share one last row
#: (their sessions are still marked, every one).
LAB_FIGURE_ROWS = 20


def lab_flagged_sessions(points: pd.DataFrame, *, title: str, xlabel: str = "local time") -> Figure:
    """One lab's flagged sessions over time, one row per flagged campaign: every session marked.

    Parameters
    ----------
    points : pandas.DataFrame
        One row per flagged session of the lab: ``row`` (str, the campaign's label,
        e.g. ``"#3 · hotline.2"``), ``order`` (int, the campaign's rank: rows top-down),
        ``start`` (datetime64, local time, naive). Every row is drawn as one dot;
        beyond :data:`LAB_FIGURE_ROWS` campaigns, the rest share a last row
        ("N more campaigns").
    title : str
        Shown literally (it may hold an account name from the evidence).
    xlabel : str
        The x axis label (the case's zone).

    Returns
    -------
    matplotlib.figure.Figure
        Its first axes' first collection holds exactly ``len(points)`` dots.
    """
    import matplotlib.dates as mdates

    if points.empty:
        return empty_figure(f"{title}: no flagged session", width=8.0)
    order = points[["row", "order"]].drop_duplicates("row").sort_values(["order", "row"])
    labels = [_literal(r) for r in order["row"]]
    if len(labels) > LAB_FIGURE_ROWS:
        rest = len(labels) - (LAB_FIGURE_ROWS - 1)
        labels = labels[: LAB_FIGURE_ROWS - 1] + [f"{rest:,} more campaigns"]
    pos = {r: min(i, LAB_FIGURE_ROWS - 1) for i, r in enumerate(order["row"])}
    y = points["row"].map(pos).to_numpy(dtype=float)
    x = mdates.date2num(pd.to_datetime(points["start"]))
    with _rc():
        fig = _figure(8.0, 1.1 + 0.26 * len(labels))
        ax = fig.add_subplot()
        ax.scatter(x, y, marker="o", s=26, facecolor=RED, edgecolor="white", linewidths=0.6,
                   alpha=0.85, zorder=5)  # fmt: skip
        day = 1.0
        if x.max() - x.min() < 2 * day:  # one day or less still gets a readable axis
            ax.set_xlim(x.min() - day, x.max() + day)
        ax.set_yticks(range(len(labels)), labels=labels)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.tick_params(axis="y", labelsize=8)
        loc = mdates.AutoDateLocator(maxticks=8)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        ax.set_xlabel(_literal(xlabel))
        ax.set_title(_literal(title), loc="left", parse_math=False)
    return fig


def log_coverage(daily: pd.DataFrame, *, title: str = "Days with log events per lab") -> Figure:
    """Lab x month heat map of the share of days that have at least one event.

    Parameters
    ----------
    daily : pandas.DataFrame
        ``lab`` (str), ``month`` (datetime64, first day of month), ``days_with_events``
        (int) and ``days`` (int, days of that month within the evidence period).
    """
    import matplotlib.dates as mdates

    if daily.empty:
        return empty_figure("No events.")
    labs = sorted(daily["lab"].astype(str).unique())
    months = pd.date_range(daily["month"].min(), daily["month"].max(), freq="MS")
    share = (
        daily.assign(share=daily["days_with_events"] / daily["days"].clip(lower=1))
        .pivot_table(index="lab", columns="month", values="share", aggfunc="sum")
        .reindex(index=labs, columns=months)
        .fillna(0.0)
    )
    edges = mdates.date2num(list(months) + [months[-1] + pd.offsets.MonthBegin(1)])
    with _rc():
        fig = _figure(10.5, min(1.4 + 0.2 * len(labs), 8.0))
        ax = fig.add_subplot()
        mesh = ax.pcolormesh(edges, np.arange(len(labs) + 1), share.to_numpy(float),
                             cmap="RdYlGn", vmin=0, vmax=1, shading="flat")  # fmt: skip
        cb = fig.colorbar(mesh, ax=ax, pad=0.01, fraction=0.03)
        cb.set_label("share of days logged")
        ax.set_yticks(np.arange(len(labs)) + 0.5, labels=labs)
        ax.set_ylim(len(labs), 0)
        ax.xaxis.set_major_locator(mdates.YearLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        if len(months) <= 14:
            ax.xaxis.set_major_locator(mdates.MonthLocator())
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
        ax.tick_params(axis="y", labelsize=7 if len(labs) > 20 else 8)
        ax.set_title(_literal(title), loc="left", parse_math=False)
    return fig


_ACTION_ORDER = ("login", "query", "read", "print", "update", "validate", "transmit",
                 "export", "extract", "purge", "other", "logout")  # fmt: skip


def session_timeline(events: pd.DataFrame, *, title: str, tz: str = DEFAULT_TZ) -> Figure:
    """The events of one session: time (local) against action, size by records.

    Parameters
    ----------
    events : pandas.DataFrame
        ``ts`` (datetime64[ns, UTC]), ``action`` (str/category), ``records`` (Int64).
    title : str
        Shown literally (it may hold text from the evidence such as a host name).
    """
    import matplotlib.dates as mdates

    if events.empty:
        return empty_figure(f"{title}: no events", width=7.0)
    acts = [a for a in _ACTION_ORDER if a in set(events["action"].astype(str))]
    acts += sorted(set(events["action"].astype(str)) - set(acts))
    pos = {a: i for i, a in enumerate(acts)}
    local = events["ts"].dt.tz_convert(tz).dt.tz_localize(None)
    rec = pd.to_numeric(events["records"], errors="coerce").fillna(0).to_numpy(float)
    size = 14 + 60 * np.log10(1 + rec)
    colour = np.where(events["action"].astype(str).isin(["export", "extract"]), RED, BLUE)
    with _rc():
        fig = _figure(7.0, 1.2 + 0.28 * len(acts))
        ax = fig.add_subplot()
        x = mdates.date2num(local)
        ax.scatter(x, events["action"].astype(str).map(pos), s=size, c=colour, alpha=0.75,
                   edgecolors="none")  # fmt: skip
        minute = 1 / 1440
        if x.max() - x.min() < 2 * minute:  # a one-event session still gets a readable axis
            ax.set_xlim(x.min() - minute, x.max() + minute)
        ax.set_yticks(range(len(acts)), labels=acts)
        ax.set_ylim(len(acts) - 0.5, -0.5)
        loc = mdates.AutoDateLocator(maxticks=6)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
        ax.set_xlabel(f"local time ({tz}); dot size: records")
        ax.set_title(_literal(title), loc="left", parse_math=False)
    return fig


def leak_coverage(coverage: pd.DataFrame, *, title: str = "Leaked patients per lab") -> Figure:
    """Per lab: leaked patients found in the evidence, and those explained by the pathway.

    Parameters
    ----------
    coverage : pandas.DataFrame
        ``lab`` (str), ``leaked`` (int, patients of that lab in the leak),
        ``explained`` (int, of those, reached by an outbound event in the windows).
    """
    if coverage.empty:
        return empty_figure("No leak file was given.")
    cov = coverage.sort_values(["leaked", "lab"], ascending=[True, False])
    with _rc():
        fig = _figure(7.5, min(1.2 + 0.22 * len(cov), 8.0))
        ax = fig.add_subplot()
        y = np.arange(len(cov))
        ax.barh(y, cov["leaked"].to_numpy(float), color="#d9d9d9", label="leaked patients")
        ax.barh(y, cov["explained"].to_numpy(float), color=BLUE, height=0.55,
                label="explained by an outbound event in a window")  # fmt: skip
        ax.set_yticks(y, labels=cov["lab"].astype(str))
        ax.tick_params(axis="y", labelsize=7 if len(cov) > 20 else 8)
        ax.set_xlabel("patients")
        ax.legend(loc="lower right", frameon=False, fontsize=8)
        ax.set_title(_literal(title), loc="left", parse_math=False)
    return fig


def score_distribution(
    scores: Sequence[float] | pd.Series,
    flagged: Sequence[bool] | pd.Series,
    *,
    title: str = "Session anomaly scores",
) -> Figure:
    """Histogram of session scores (log count), flagged sessions in red."""
    s = pd.Series(scores, dtype="float64").reset_index(drop=True)
    f = pd.Series(flagged, dtype="bool").reset_index(drop=True)
    if s.dropna().empty:
        return empty_figure("No scored sessions.")
    bins = np.histogram_bin_edges(s.dropna().to_numpy(), bins=50)
    with _rc():
        fig = _figure(7.0, 2.4)
        ax = fig.add_subplot()
        ax.hist(s[~f].dropna(), bins=bins, color=BLUE, alpha=0.8, label="not flagged")
        if f.any():
            ax.hist(s[f].dropna(), bins=bins, color=RED, alpha=0.9, label="flagged")
        ax.set_yscale("log")
        _plain_log_axis(ax.yaxis)
        ax.set_xlabel("score (higher is more anomalous)")
        ax.set_ylabel("sessions")
        ax.legend(frameon=False, fontsize=8)
        ax.set_title(_literal(title), loc="left", parse_math=False)
    return fig


def probability_text(p: float) -> str:
    """A match probability with up to 6 decimals, trailing zeros dropped (``0.998``)."""
    return f"{float(p):.6f}".rstrip("0").rstrip(".")


def match_waterfall(steps: pd.DataFrame, *, title: str, probability: float | None = None) -> Figure:
    """Waterfall of one pair's match weight: prior, each comparison, final weight.

    Parameters
    ----------
    steps : pandas.DataFrame
        :func:`labforensics.report.tables.waterfall_steps`: ``label``, ``kind``,
        ``log2_bayes_factor``, ``start``, ``end`` (bits). Drawn top-down as
        horizontal bars from ``start`` to ``end`` (green: evidence for the match,
        red: against, grey: the prior, blue: the final weight from 0).
    title : str
        Shown literally (pseudonyms only: row id and patient pseudonym).
    probability : float, optional
        The pair's match probability, written beside the final bar.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if steps.empty:
        return empty_figure(f"{title}: no comparison levels", width=7.5)
    n = len(steps)
    colour = np.where(
        steps["kind"] == "final",
        BLUE,
        np.where(steps["kind"] == "prior", GREY,
                 np.where(steps["log2_bayes_factor"] >= 0, GREEN, RED)),
    )  # fmt: skip
    start = steps["start"].to_numpy(float)
    end = steps["end"].to_numpy(float)
    lo = float(min(0.0, start.min(), end.min()))
    hi = float(max(0.0, start.max(), end.max()))
    pad = 0.12 * max(hi - lo, 1.0)
    with _rc():
        fig = _figure(7.5, 1.0 + 0.3 * n)
        ax = fig.add_subplot()
        y = np.arange(n)
        ax.barh(y, end - start, left=start, color=colour, height=0.6)
        for i, (s, e, v, kind) in enumerate(zip(start, end, steps["log2_bayes_factor"],
                                                steps["kind"], strict=True)):  # fmt: skip
            text = fixed(v, 2, sign=kind != "final")
            if kind == "final" and probability is not None:
                text += f"  (probability {probability_text(probability)})"
            ax.text(max(s, e) + pad * 0.08, i, text, va="center", ha="left", fontsize=7.5,
                    parse_math=False)  # fmt: skip
        ax.axvline(0.0, color="black", linewidth=0.6)
        ax.set_yticks(y, labels=[_literal(t) for t in steps["label"]])
        ax.tick_params(axis="y", labelsize=7.5)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_xlim(lo - pad * 0.3, hi + pad * 3.5)
        ax.set_xlabel("match weight (log2 Bayes factor, bits; +1 doubles the odds)")
        ax.set_title(_literal(title), loc="left", parse_math=False)
    return fig


def linkage_thresholds(table: pd.DataFrame, *, threshold: float | None = None,
                       title: str = "Rows linked and estimated precision per threshold") -> Figure:  # fmt: skip
    """Rows linked (left axis) and estimated precision ``1 - FMR`` (right) per threshold.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`labforensics.report.tables.leak_threshold_table`: ``threshold``,
        ``links`` (rows), ``precision`` (share).
    threshold : float, optional
        The threshold used: a dashed vertical line.
    """
    from matplotlib.ticker import FuncFormatter

    if table.empty:
        return empty_figure("No false-match rate was measured per threshold.")
    x = table["threshold"].to_numpy(float)
    links = pd.to_numeric(table["links"], errors="coerce").astype("float64").to_numpy()
    prec = table["precision"].to_numpy(float)
    with _rc():
        fig = _figure(7.5, 3.0)
        ax = fig.add_subplot()
        ax.plot(x, links, color=BLUE, marker="o", markersize=3.5, label="rows linked")
        ax.set_xlabel("match probability threshold")
        ax.set_ylabel("rows linked", color=BLUE)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax2 = ax.twinx()
        ax2.spines["right"].set_visible(True)
        ax2.plot(x, prec, color=ORANGE, marker="s", markersize=3.5,
                 label="estimated precision (1 - false-match rate)")  # fmt: skip
        ax2.set_ylabel("estimated precision", color=ORANGE)
        finite = prec[np.isfinite(prec)]
        low = float(finite.min()) if finite.size else 0.0
        ax2.set_ylim(max(0.0, low - 0.05 * max(1.0 - low, 0.01)), 1.0 + 0.05 * max(1.0 - low, 0.01))
        ax2.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.1%}"))
        if threshold is not None:
            ax.axvline(float(threshold), color="black", linestyle="--", linewidth=1.0,
                       label=f"threshold used ({float(threshold):g})")  # fmt: skip
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3,
                  frameon=False, fontsize=7.5)  # fmt: skip
        ax.set_title(_literal(title), loc="left", parse_math=False)
    return fig
