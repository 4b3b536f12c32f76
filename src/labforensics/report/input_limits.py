"""Limits due to the companion inputs (the authorisation register, the transfer log): one
sentence each, for findings' ``limits``, the report's Limits section and the warnings."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

__all__ = ["input_limits"]


def input_limits(
    *,
    evidence_labs: Iterable[str],
    register: pd.DataFrame | None = None,
    register_name: str | None = None,
    transfer_quarantine: pd.DataFrame | None = None,
    transfers_name: str | None = None,
    transfer_encoding: str = "",
) -> list[str]:
    """Limits due to the companion inputs, one sentence each (for findings' ``limits``,
    the report's Limits section and one stderr warning line each).

    Parameters
    ----------
    evidence_labs : iterable of str
        The lab codes of the evidence's events.
    register : pandas.DataFrame, optional
        :func:`labforensics.authorisation.read_authorisations`'s table (``lab``: a code,
        alias resolved, or ``*``).
    register_name, transfers_name : str, optional
        The files' names, as said in the sentences.
    transfer_quarantine : pandas.DataFrame, optional
        The transfer log's refused lines (``source_line``, ``reason``), as returned by
        :func:`labforensics.preflight.check_companions`.
    transfer_encoding : str, optional
        The transfer log's undecodable bytes, counted and named by line
        (``check_companions``' ``transfer_encoding``); ``""`` when none.

    Returns
    -------
    list of str
        Empty when there is nothing to say. A register with no row (a header only, or
        every line set aside) judges every export unregistered: said. A register row
        naming a lab that is not in
        the evidence authorises nothing that can be checked here: a typo in a lab code,
        or evidence that lacks a lab the register covers (QA, session 4: accepted
        silently). A register time in the repeated fall-back hour or the skipped
        spring-forward hour is named with the reading taken (``attrs["warnings"]``). A
        transfer-log line that is no xferlog transfer is quarantined
        (``quarantine.csv``): its transfer, if it was one, is not in the analysis.
        Bytes of the transfer log that are not UTF-8 were read as U+FFFD: the file
        names, addresses and users of those lines may be wrong.
    """
    out: list[str] = []
    labs = {str(x) for x in evidence_labs}
    if register is not None and not len(register):
        # a header only (QA session 18: accepted silently, every routine export then
        # counted as undeclared work)
        n_bad = int(((getattr(register, "attrs", {}) or {}).get("lines") or {}).get("bad", 0))
        out.append(
            f"the authorisation register {register_name or ''} holds no row"
            + (f" it could read ({n_bad} line(s) set aside)" if n_bad else " (a header only)")
            + ": every export and extraction is judged unregistered, routine ones included; "
            "if the labs' authorised work is declared elsewhere, give that register"
        )
    if register is not None and "lab" in register.columns and len(register):
        reg = register["lab"].astype(str)
        missing = sorted(set(reg) - labs - {"*"})
        if missing:
            n = int(reg.isin(missing).sum())
            shown = ", ".join(missing[:10]) + (
                f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            )
            out.append(
                f"the authorisation register {register_name or ''} names {len(missing)} lab(s) "
                f"that are not in the evidence ({shown}; {n} register row(s)): those rows "
                "authorise nothing checked here (a mistyped lab code, or evidence missing a lab)"
            )
    warns = getattr(register, "attrs", {}).get("warnings") if register is not None else None
    if warns is not None and len(warns):  # clock-change times read so as not to widen
        for w in warns.itertuples(index=False):
            out.append(
                f"the authorisation register {register_name or w.source_file}, line "
                f"{int(w.source_line)}, {w.column}: {w.warning}"
            )
    if transfer_quarantine is not None and len(transfer_quarantine):
        lines = transfer_quarantine.get("source_line")
        first = ", ".join(str(int(v)) for v in lines.dropna().head(5)) if lines is not None else ""
        more = ", …" if len(transfer_quarantine) > 5 else ""
        out.append(
            f"{len(transfer_quarantine):,} line(s) of the transfer log {transfers_name or ''} "
            f"are not xferlog transfers (line(s) {first}{more}): quarantined, their "
            "transfers (if any) are not in the analysis (quarantine.csv lists each with its "
            "line and reason)"
        )
    if transfer_encoding:
        out.append(
            f"the transfer log {transfers_name or ''} holds bytes that are not text of its "
            f"encoding: {transfer_encoding}; the file names, addresses and users of those "
            "lines may be wrong (a file name that differs is not linked to its extraction)"
        )
    return [" ".join(t.split()) for t in out]
