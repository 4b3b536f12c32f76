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


def _read_transfers_arg(transfers: Any, tz: str, case_key: Any = None) -> pd.DataFrame | None:
    """The transfers table given (a table, an object with ``.transfers``, or an xferlog
    path read in the case's time zone ``tz`` with the case key), checked; None when not
    given."""
    if transfers is None:
        return None
    if isinstance(transfers, pd.DataFrame):
        df = transfers
    elif hasattr(transfers, "transfers"):
        df = transfers.transfers
    else:
        df = read_transfers(transfers, tz=tz, case_key=case_key).transfers
    check_table(df, TRANSFER_NEED, "attribute: transfers")
    df = df.copy()
    if "file_base" not in df.columns:
        df["file_base"] = df["file_name"].astype(str).str.split(r"[/\\]").str[-1]
    for c in ("bytes", "completion", "source_file", "source_line"):
        if c not in df.columns:
            df[c] = pd.NA
    df["ts"] = pd.to_datetime(df["ts"], utc=True).astype("datetime64[ns, UTC]")
    return df


#: The order of the transfer links (an extraction's transfers together, in time).
_LINK_ORDER = ["extraction_ts", "session_id", "file_base", "transfer_ts", "remote_host"]


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
    m = m.reset_index(drop=True)  # positions: the output's order indexes it
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
    out = out.sort_values(_LINK_ORDER, kind="stable")
    order = out.index.to_numpy()
    out = out.reset_index(drop=True)
    # the server path and the name's letter case decide which export a transfer is
    # credited to (credit_transfers); they are not output (the path may name people)
    side = out.assign(file_name=m["file_name"].astype("string").to_numpy()[order],
                      name_exact=(m["file_base"].astype(str) == m["file_base_t"].astype(str))
                      .to_numpy()[order])  # fmt: skip
    out.insert(out.columns.get_loc("source_file"), "credited", credit_transfers(side))
    return out


def credit_transfers(links: pd.DataFrame) -> np.ndarray:
    """Which export each transfer is credited to: at most one link row per transfer.

    The links join by base name, so one transfer line is linked to every export that
    wrote a file of its name (a nightly job rewriting ``patients_L02.csv`` every night
    is linked to a download of it, and so is a staff export of that name 8 days older).
    A transfer moved one file, which one export wrote:

    - an upload by an account (not anonymous: an anonymous upload is nobody's export,
      and is credited to none) goes to the latest export of its name written before it,
      one naming it in the same letter case first (an FTP server's names are
      case-sensitive; a LIS's free text may not be);
    - a download takes what the server held at that path: the latest upload of the
      same server path (``file_name``, exact) at or before it, and goes to that
      upload's export (to none when that upload was credited to none: an outsider's
      file of the same name). When the log shows no upload of the path, it goes to the
      latest of its exports whose credited upload came at or before it, else of all
      its exports, the same letter case first;

    ties by session id (QA sessions 19 and 20: the first retrieval status credited a
    fetch to every export of the name; then a download of the vendor's 167,036-byte
    file in ``/pub/transfert/`` to a staff export of the same name uploaded to
    ``/pub/perso/``, and an outsider's anonymous upload to the vendor).

    Parameters
    ----------
    links : pandas.DataFrame
        :func:`_link_transfers`' rows (``session_id``, ``extraction_ts``,
        ``file_base``, ``transfer_ts``, ``direction``, ``remote_host``,
        ``source_file``, ``source_line``; optional: ``file_name`` the server path,
        ``anonymous``, ``name_exact`` whether the export wrote the name in the
        transfer's case), any order.

    Returns
    -------
    numpy.ndarray of bool, shape (len(links),)
        True on the row of each transfer (same ``source_file``, ``source_line``,
        ``transfer_ts``, ``remote_host``, ``file_base``) that credits it; a transfer
        credited to no export has none.

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
    n = len(links)
    fb = links["file_base"].astype(str).str.lower()
    key = (links["transfer_ts"].astype(str) + "\x1f" + links["remote_host"].astype(str)
           + "\x1f" + fb + "\x1f" + links["source_file"].astype(str) + "\x1f"
           + links["source_line"].astype(str))  # fmt: skip

    def opt(col: str, default: Any) -> np.ndarray:
        return (links[col].to_numpy() if col in links.columns
                else np.full(n, default, dtype=object))  # fmt: skip

    df = pd.DataFrame({
        "sid": links["session_id"].astype(str).to_numpy(), "fb": fb.to_numpy(),
        "t": _utc_naive(links["transfer_ts"]), "ts": _utc_naive(links["extraction_ts"]),
        "up": (links["direction"].astype(str) == "upload").to_numpy(),
        "anon": pd.Series(opt("anonymous", False)).fillna(False).astype(bool).to_numpy(),
        "exact": pd.Series(opt("name_exact", False)).fillna(False).astype(bool).to_numpy(),
        "path": pd.Series(opt("file_name", None), dtype="string").to_numpy(),
        "k": key.to_numpy(), "i": np.arange(n),
    })  # fmt: skip
    out = np.zeros(n, dtype=bool)
    # an upload by an account: the latest export of its name written before it
    ups = df[df["up"]].sort_values(["k", "exact", "ts", "sid"], kind="stable")
    up = ups.drop_duplicates("k", keep="last")
    out[up.loc[~up["anon"], "i"].to_numpy()] = True
    up = up.assign(owner=up["sid"].where(~up["anon"]))  # an anonymous upload: nobody's
    down = df[~df["up"]]
    if down.empty:
        return out
    # a download: what the server held at its path (the latest upload of it before)
    server = up.dropna(subset=["path"]).assign(matched=True)[["t", "path", "owner", "matched"]]
    dk = down.drop_duplicates("k")[["k", "t", "path"]].dropna(subset=["path"])
    held = pd.merge_asof(dk.sort_values("t", kind="stable"),
                         server.sort_values("t", kind="stable"), on="t", by="path",
                         direction="backward")  # fmt: skip
    held = held[held["matched"].eq(True)]  # an upload of the path before it
    by_server = down.merge(held[["k", "owner"]].dropna(subset=["owner"]), on="k")
    out[by_server.loc[by_server["sid"] == by_server["owner"], "i"].to_numpy()] = True
    settled = set(held["k"])  # an export's file: that export; an outsider's: none
    # no upload of the path in the log: the latest write of the name, uploaded first
    rest = down[~down["k"].isin(settled)]
    first_up = up.dropna(subset=["owner"]).groupby(["sid", "fb"], as_index=False)["t"].min()
    rest = rest.merge(first_up.rename(columns={"t": "t_up"}), on=["sid", "fb"], how="left")
    rest["uploaded"] = (rest["t_up"] <= rest["t"]).to_numpy(dtype=bool)  # none: False
    rest = rest.sort_values(["k", "uploaded", "exact", "ts", "sid"], kind="stable")
    out[rest.drop_duplicates("k", keep="last")["i"].to_numpy()] = True
    return out


def _utc_naive(s: pd.Series) -> np.ndarray:
    """Instants as ``datetime64[ns]`` (UTC, no zone): comparable and merge-able."""
    return pd.to_datetime(s, utc=True).dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")


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
    return credited(links) & links["external_fetch"].to_numpy(dtype=bool) & complete(links)


def credited(links: pd.DataFrame) -> np.ndarray:
    """The ``credited`` column of the links, computed (:func:`credit_transfers`) when a
    table was given without it; numpy.ndarray of bool, shape (len(links),)."""
    if "credited" in links.columns:
        return links["credited"].to_numpy(dtype=bool)
    return credit_transfers(links)


def complete(links: pd.DataFrame) -> np.ndarray:
    """Whether each link's transfer ended (xferlog completion not ``i``; missing in a
    13-field line: complete); numpy.ndarray of bool, shape (len(links),)."""
    return (links["completion"].astype("string").str.lower().fillna("c") != "i").to_numpy()
