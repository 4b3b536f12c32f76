"""``report.pdf``: the HTML report printed by Debian's headless Chromium.

Why Chromium rather than WeasyPrint: it is the engine the browser test already
drives (``tests/test_browser.py``), so the page the expert reads on screen and
the page printed are laid out by one engine and checked by one test; it needs no
Python dependency (WeasyPrint brings Pango, cairo and a dozen wheels, and lays
out CSS its own way: flexbox and ``overflow-wrap: anywhere`` differ); and it is a
Debian package (``apt-get install chromium``) that CI installs already. The
print layout is the report's own ``@media print`` CSS (A4, tables of fixed
layout whose long cells wrap), so the PDF has no cut-off column.

When no Chromium is installed, :func:`write_pdf` returns why (one line) and the
caller records in ``manifest.json`` that the PDF was not produced: the HTML
report is the reference document, the PDF its printable copy.

Chromium is run with a fresh profile folder (removed afterwards), no network
(``--disable-background-networking``; the report loads no external resource),
no sandbox only when running as root (Chromium refuses to start otherwise), and
a time limit (:data:`PDF_TIMEOUT_S`).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PDF_TIMEOUT_S",
    "PdfResult",
    "break_points",
    "find_chromium",
    "open_details",
    "print_copy",
    "write_pdf",
]

#: Where a long name or logged line may break in print: after an underscore, slash, pipe
#: or semicolon between two non-spaces (``AUDIT_L15_20150104``, a raw line's fields), and
#: after a dot between a word character and a letter (``migration.editeur``,
#: ``report.csv``; never a decimal point).
_NAME_BREAK = re.compile(r"(?<=\S)([_/|;])(?=\S)|(?<=\w)(\.)(?=[^\W\d])")
#: A text node of the document (between two tags).
_TEXT_NODE = re.compile(r">([^<]+)<")

#: A ``<details`` start tag without an ``open`` attribute.
_CLOSED_DETAILS = re.compile(r"<details(?![^>]*\bopen\b)(?=[\s>])", re.IGNORECASE)


def open_details(html: str) -> str:
    """``html`` with every ``<details>`` element opened, for print.

    Chromium prints a closed ``<details>`` closed (CSS cannot open it), so a table the
    text says is "shown below" would be missing from the PDF; the print copy sets the
    ``open`` attribute on each. Only start tags are changed; the text of the report
    (escaped, so it holds no ``<details`` of its own) is left as it is.

    Parameters
    ----------
    html : str
        The report's HTML.

    Returns
    -------
    str
        The same document with ``<details open`` for each ``<details`` start tag.
    """
    return _CLOSED_DETAILS.sub("<details open", html)


def break_points(html: str) -> str:
    """``html`` with a line-break opportunity (``<wbr>``) after each dot, underscore,
    slash, pipe or semicolon inside a name or a logged line of its body's text, so that a
    narrow printed column breaks ``migration.editeur`` as "migration." / "editeur",
    never "migration.e" / "diteur".

    Only text nodes after ``<body`` are changed (never the style sheet, a tag or an
    attribute, so the figures' ``data:`` URIs stay whole); a decimal point is not a
    break. The print CSS breaks inside a word only when a word has no such point.

    Parameters
    ----------
    html : str
        The report's HTML.

    Returns
    -------
    str
        The document, its body's text with ``<wbr>`` after ``_``, ``/``, ``|`` and ``;``
        between two non-spaces, and after ``.`` between a word character and a letter.
    """
    at = html.find("<body")
    if at < 0:
        return html
    body = _TEXT_NODE.sub(
        lambda m: ">" + _NAME_BREAK.sub(lambda b: b.group(0) + "<wbr>", m.group(1)) + "<",
        html[at:],
    )
    return html[:at] + body


def print_copy(html: str) -> str:
    """The document Chromium prints: :func:`open_details` then :func:`break_points`."""
    return break_points(open_details(html))


#: Names of the Chromium binary tried in order (Debian: ``chromium``).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Longest time given to Chromium to print the report (seconds); the demo's report
#: (30 labs, ~40 figures) prints in well under a minute on two cores.
PDF_TIMEOUT_S = 300


@dataclass(frozen=True)
class PdfResult:
    """What :func:`write_pdf` did.

    Attributes
    ----------
    path : pathlib.Path or None
        The PDF written; None when it was not produced.
    note : str
        Empty when written; else one line saying why not (for the console and the
        manifest).
    """

    path: Path | None
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        """``{"produced": bool, "note": str}`` for ``manifest.json``."""
        return {"produced": self.path is not None, "note": self.note}


def find_chromium() -> str | None:
    """The Chromium binary: ``$LABFORENSICS_CHROMIUM``, else the first of
    :data:`CHROMIUM_NAMES` on ``PATH``, else ``/usr/bin/chromium``; None when absent."""
    env = os.environ.get("LABFORENSICS_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def write_pdf(html: str | os.PathLike[str], pdf: str | os.PathLike[str]) -> PdfResult:
    """Print ``html`` to ``pdf`` with headless Chromium (A4, the report's print CSS).

    Parameters
    ----------
    html : path
        The self-contained ``report.html``.
    pdf : path
        The PDF to write (replaced when it exists).

    Returns
    -------
    PdfResult
        Never raises for a missing or failing Chromium: the note says why no PDF
        was written (and a partial file is removed).
    """
    exe = find_chromium()
    src, dst = Path(html).resolve(), Path(pdf).resolve()
    if exe is None:
        return PdfResult(None, "report.pdf not produced: Chromium is not installed "
                               "(apt-get install chromium); report.html is complete")  # fmt: skip
    profile = tempfile.mkdtemp(prefix="lf-pdf-")
    # print a copy with every <details> open (beside the profile, removed with it)
    printed = Path(tempfile.mkdtemp(prefix="lf-print-")) / src.name
    printed.write_text(print_copy(src.read_text(encoding="utf-8")), encoding="utf-8")
    args = [exe, "--headless", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--no-first-run", "--disable-extensions",
            f"--user-data-dir={profile}", "--no-pdf-header-footer", "--print-to-pdf-no-header",
            f"--print-to-pdf={dst}", printed.as_uri()]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    dst.unlink(missing_ok=True)
    # Chromium's own temporary files (its singleton socket folder) in the folder removed
    # below, not in the system's: a Chromium killed (a timeout, a SIGTERM to the run)
    # cannot remove them itself (QA session 12 found org.chromium.Chromium.* left)
    env = {**os.environ, "TMPDIR": str(printed.parent)}
    try:
        r = _run_group(args, env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        dst.unlink(missing_ok=True)
        why = "timed out" if isinstance(exc, subprocess.TimeoutExpired) else str(exc)
        return PdfResult(None, f"report.pdf not produced: Chromium failed ({why})")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(printed.parent, ignore_errors=True)
    if not dst.is_file() or dst.stat().st_size == 0 or dst.read_bytes()[:5] != b"%PDF-":
        dst.unlink(missing_ok=True)
        tail = r.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        return PdfResult(None, f"report.pdf not produced: Chromium exit {r.returncode} "
                               f"({tail[0][:200]})")  # fmt: skip
    return PdfResult(dst)


def _run_group(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """``subprocess.run`` of Chromium in a process group of its own, the whole group
    killed on a timeout or any exception (a SIGTERM or Ctrl-C of the run): killing the
    browser process alone can leave its renderer and zygote processes writing to the
    folders about to be removed.

    Raises
    ------
    subprocess.TimeoutExpired
        After :data:`PDF_TIMEOUT_S` seconds (the group killed).
    OSError
        When Chromium cannot be started.
    """
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=PDF_TIMEOUT_S)
    except BaseException:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(args, proc.returncode, out, err)
