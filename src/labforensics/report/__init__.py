"""The forensic report: figures (matplotlib object API), HTML (Jinja2, autoescaped).

:func:`render_report` / :func:`write_report` turn a :class:`ReportData` (findings
plus the pseudonymised tables) into a self-contained ``report.html``.
"""

from __future__ import annotations

from .html import ReportData, render_report, write_report

__all__ = ["ReportData", "render_report", "write_report"]
