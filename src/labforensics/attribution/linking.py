"""FTP transfers linked to the extractions whose output files they move (step 5 of
:mod:`labforensics.attribution`)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..networks import NetworkMap
from ..schema import check_table
from ..transfers import read_transfers
from .params import AttributionParams

#: Extensions of output files (exports, extractions, archives, dumps) named in free text.
_FILE_EXT = r"(?:csv|txt|zip|gz|7z|xml|json|xlsx?|dat|hpr|hl7|sql|dmp|dump|tar|tgz|bak)"
#: A run of characters that can be part of a file name or URL (none of the separators
#: ``\s " ' ; | < > ,``): what a file named in text is cut from (nothing follows the
#: run in the pattern, so it never backtracks).
_TOKEN_RE = re.compile(r"[^\s\"';|<>,]+")
#: An extension ending a name (not followed by a word character), searched in a token.
_EXT_RE = re.compile(r"\." + _FILE_EXT + r"(?!\w)", re.IGNORECASE)


def _names_in(text: str) -> list[str]:
    r"""Base names of the files named in ``text``, sorted and unique.

    A name is a token (a run of non-separator characters) up to the last known
    extension in it that no word character follows (``L07_export.csv``,
    ``sftp://host/out/L07.csv.gz``, ``C:\out\a.csv``); its base name is the part
    after the last ``/`` or ``\``. Linear in the text's length: each token is scanned
    once (the former single pattern, an unanchored ``[^...]+\.(csv|...)``, backtracked
    over every start of a long run without a dot: a 200,000-character detail took
    minutes, QA session 13).
    """
    out = set()
    for tok in _TOKEN_RE.finditer(text):
        t = tok.group()
        if "." not in t:
            continue
        last = None
        for m in _EXT_RE.finditer(t):
            last = m
        if last is not None and last.start() > 0:  # a name before the extension
            out.add(re.split(r"[/\\]", t[: last.end()])[-1])
    return sorted(out)


def _files_in(detail: pd.Series) -> pd.Series:
    """Base names of output files named in free text: a sorted list per row (None when
    the text names none; object dtype, an internal column)."""
    d = detail.fillna("").astype(str)
    codes, uniq = pd.factorize(d)
    res = np.empty(len(uniq), dtype=object)
    for i, text in enumerate(uniq):  # one pass per distinct text
        res[i] = _names_in(text) or None
    return pd.Series(res[codes] if len(d) else [], index=d.index, dtype=object)


#: Transfer columns the linking reads; ``file_base`` (else from ``file_name``),
#: ``bytes``, ``completion``, ``source_file`` and ``source_line`` are optional (missing).
TRANSFER_NEED: tuple[str, ...] = (
    "ts",
    "remote_host",
    "file_name",
    "direction",
    "access_mode",
    "user",
)


def _read_transfers_arg(transfers: Any, tz: str) -> pd.DataFrame | None:
    """The transfers table given (a table, an object with ``.transfers``, or an xferlog
    path read in the case's time zone ``tz``), checked; None when not given."""
    if transfers is None:
        return None
    if isinstance(transfers, pd.DataFrame):
        df = transfers
    elif hasattr(transfers, "transfers"):
        df = transfers.transfers
    else:
        df = read_transfers(transfers, tz=tz).transfers
    check_table(df, TRANSFER_NEED, "attribute: transfers")
    df = df.copy()
    if "file_base" not in df.columns:
        df["file_base"] = df["file_name"].astype(str).str.split(r"[/\\]").str[-1]
    for c in ("bytes", "completion", "source_file", "source_line"):
        if c not in df.columns:
            df[c] = pd.NA
    df["ts"] = pd.to_datetime(df["ts"], utc=True).astype("datetime64[ns, UTC]")
    return df


def _link_transfers(
    outb: pd.DataFrame, tr: pd.DataFrame | None, nets: NetworkMap, params: AttributionParams
) -> pd.DataFrame:
    cols = [
        "session_id",
        "lab",
        "account",
        "extraction_ts",
        "extraction_source",
        "file_base",
        "transfer_ts",
        "delay_h",
        "direction",
        "remote_host",
        "network",
        "access_mode",
        "user",
        "bytes",
        "completion",
        "anonymous",
        "outside",
        "external_fetch",
        "credited",
        "source_file",
        "source_line",
    ]
    if tr is None or tr.empty or outb.empty:
        return pd.DataFrame({c: [] for c in cols})
    ex = outb[outb["files"].notna()][["session_id", "lab", "account", "ts", "files", "src"]]
    if ex.empty:
        return pd.DataFrame({c: [] for c in cols})
    ex = ex.assign(file_base=ex["files"]).explode("file_base")
    ex["fb"] = ex["file_base"].str.lower()
    t = tr.assign(fb=tr["file_base"].astype(str).str.lower())
    m = ex.merge(t, on="fb", how="inner", suffixes=("", "_t"))
    skew = pd.Timedelta(hours=params.transfer_skew_h)
    m = m[m["ts_t"] >= m["ts"] - skew]
    if m.empty:
        return pd.DataFrame({c: [] for c in cols})
    direction = m["direction"].astype(str).str.lower()
    anon = (m["access_mode"].astype(str).str.lower() == "a") | m["user"].astype(
        str
    ).str.lower().isin(["anonymous", "ftp"])
    network = nets.classify_many(m["remote_host"])
    # a host name cannot be placed: outside when the networks are given, else unknown
    # like every address (no network is configured, so nothing is called outside)
    outside = (network == "other") | ((network == "unknown") & nets.configured)
    out = pd.DataFrame(
        {
            "session_id": m["session_id"].astype("string"),
            "lab": m["lab"].astype("string"),
            "account": m["account"].astype("string"),
            "extraction_ts": m["ts"],
            "extraction_source": m["src"].astype("string"),
            "file_base": m["file_base_t"].astype("string"),
            "transfer_ts": m["ts_t"],
            "delay_h": (m["ts_t"] - m["ts"]).dt.total_seconds() / 3600.0,
            "direction": direction.astype("string"),
            "remote_host": m["remote_host"].astype("string"),
            "network": network,
            "access_mode": m["access_mode"].astype("string"),
            "user": m["user"].astype("string"),
            "bytes": pd.to_numeric(m["bytes"], errors="coerce").astype("Int64"),
            "completion": m["completion"].astype("string"),
            "anonymous": anon.to_numpy(),
            "outside": outside.to_numpy(dtype=bool),
            "source_file": m["source_file"].astype("string"),
            "source_line": pd.to_numeric(m["source_line"], errors="coerce").astype("Int64"),
        }
    )
    # uploads: only at or after the extraction (within skew); downloads: every later one
    out["external_fetch"] = (out["direction"] == "download") & (out["anonymous"] | out["outside"])
    out = out.sort_values(
        ["extraction_ts", "session_id", "file_base", "transfer_ts", "remote_host"], kind="stable"
    ).reset_index(drop=True)
    out.insert(out.columns.get_loc("source_file"), "credited", credit_transfers(out))
    return out


def credit_transfers(links: pd.DataFrame) -> np.ndarray:
    """Which export each transfer is credited to: one link row per transfer.

    The links join by base name, so one transfer line is linked to every export that
    wrote a file of its name (a nightly job rewriting ``patients_L02.csv`` every night
    is linked to a download of it, and so is a staff export of that name 8 days older).
    A transfer moved one file, written last by one of them. An upload is credited to
    the latest export of its name (every linked one was written before it); a download
    to the latest of the exports whose credited upload came at or before it, else of
    all its exports (a later write of the same name replaced the file); ties by session
    id (QA session 19: the first retrieval status credited a fetch to every export of
    the name, and called an export "on the server" for a later job's upload).

    Parameters
    ----------
    links : pandas.DataFrame
        :func:`_link_transfers`' rows (``session_id``, ``extraction_ts``,
        ``file_base``, ``transfer_ts``, ``direction``, ``remote_host``,
        ``source_file``, ``source_line``), any order.

    Returns
    -------
    numpy.ndarray of bool, shape (len(links),)
        True on the one row of each transfer (same ``source_file``, ``source_line``,
        ``transfer_ts``, ``remote_host``, ``file_base``) that credits it.

    Examples
    --------
    >>> t = pd.Timestamp("2020-06-01", tz="UTC")
    >>> h = pd.Timedelta(hours=1)
    >>> links = pd.DataFrame({
    ...     "session_id": ["staff", "backup", "staff", "backup"],
    ...     "extraction_ts": [t, t + 8 * 24 * h, t, t + 8 * 24 * h],
    ...     "file_base": ["p.csv"] * 4,
    ...     "transfer_ts": [t + h, t + 8 * 24 * h + h, t + 9 * 24 * h, t + 9 * 24 * h],
    ...     "direction": ["upload", "upload", "download", "download"],
    ...     "remote_host": ["10.0.0.2", "10.0.0.3", "203.0.113.9", "203.0.113.9"],
    ...     "source_file": ["xferlog"] * 4, "source_line": [1, 2, 3, 3]})
    >>> credit_transfers(links).tolist()  # the download: the backup's, the later write
    [True, True, False, True]
    """
    if links.empty:
        return np.zeros(0, dtype=bool)
    fb = links["file_base"].astype(str).str.lower()
    key = (links["transfer_ts"].astype(str) + "\x1f" + links["remote_host"].astype(str)
           + "\x1f" + fb + "\x1f" + links["source_file"].astype(str) + "\x1f"
           + links["source_line"].astype(str))  # fmt: skip
    df = pd.DataFrame({
        "sid": links["session_id"].astype(str).to_numpy(), "fb": fb.to_numpy(),
        "t": links["transfer_ts"].to_numpy(), "ts": links["extraction_ts"].to_numpy(),
        "up": (links["direction"].astype(str) == "upload").to_numpy(),
        "k": key.to_numpy(), "i": np.arange(len(links)),
    })  # fmt: skip
    out = np.zeros(len(links), dtype=bool)
    # an upload: the latest export of its name written before it (all linked ones were)
    up = df[df["up"]].sort_values(["k", "ts", "sid"], kind="stable")
    up = up.drop_duplicates("k", keep="last")
    out[up["i"].to_numpy()] = True
    # a download: the latest of those whose own upload came before it, else of all
    first_up = up.groupby(["sid", "fb"], as_index=False)["t"].min()
    down = df[~df["up"]].merge(first_up.rename(columns={"t": "t_up"}), on=["sid", "fb"],
                               how="left")  # fmt: skip
    down["uploaded"] = (down["t_up"] <= down["t"]).to_numpy(dtype=bool)  # none: False
    down = down.sort_values(["k", "uploaded", "ts", "sid"], kind="stable")
    out[down.drop_duplicates("k", keep="last")["i"].to_numpy()] = True
    return out


def fetched_outside(links: pd.DataFrame) -> np.ndarray:
    """The link rows of the files fetched from outside: credited (one export a
    transfer, :func:`credit_transfers`), ``external_fetch`` (a download, anonymous or
    from outside the lab and vendor networks) and complete (xferlog completion not
    ``i``: a fetch cut short did not take the file).

    Parameters
    ----------
    links : pandas.DataFrame
        :func:`_link_transfers`' rows.

    Returns
    -------
    numpy.ndarray of bool, shape (len(links),)
    """
    if links.empty:
        return np.zeros(0, dtype=bool)
    credited = (links["credited"].to_numpy(dtype=bool) if "credited" in links.columns
                else credit_transfers(links))  # fmt: skip
    done = links["completion"].astype("string").str.lower().fillna("c") != "i"
    return credited & links["external_fetch"].to_numpy(dtype=bool) & done.to_numpy()
