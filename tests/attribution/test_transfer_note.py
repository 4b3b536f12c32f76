"""The transfer note accounts for every transfer read (QA session 11, finding 10)."""

import pandas as pd

from labforensics.attribution.transfer_note import transfer_note


def _tr(rows):
    return pd.DataFrame(rows, columns=["ts", "file_base", "direction", "remote_host",
                                       "source_file", "source_line"])  # fmt: skip


def test_every_transfer_in_one_category():
    t = pd.Timestamp("2020-03-02 10:00", tz="UTC")
    tr = _tr([
        (t, "x.csv", "download", "h", "xferlog", 1),  # linked
        (t, "x.csv", "download", "h", "xferlog", 2),  # linked (to two extractions)
        (t - pd.Timedelta(days=3), "x.csv", "download", "h", "xferlog", 3),  # before it
        (t, "lis.zip", "download", "h", "xferlog", 4),  # unnamed
        (t, "lis.zip", "download", "h", "xferlog", 5),  # unnamed
        (t, "lis.zip", "upload", "h", "xferlog", 6),  # upload
        (t, "lis.zip", "upload", "h", "xferlog", 7),  # upload
        (t, "old.zip", "delete", "h", "xferlog", 8),  # other
    ])  # fmt: skip
    links = tr.iloc[[0, 1, 1]].rename(columns={"ts": "transfer_ts"})
    text = transfer_note(tr, links)
    # 2 + 2 + 1 + 2 + 1 = 8
    assert text == (
        "8 FTP transfers read; 2 linked to an extraction (3 links: a transfer can follow "
        "several extractions); 2 downloads of files no logged extraction names; "
        "1 other download linked to no extraction (files an extraction names, fetched "
        "before it); 2 uploads linked to no extraction; 1 other transfer (deletions, no "
        "direction) linked to no extraction"
    )


def test_demo_shape_uploads_counted():
    # the demo's xferlog: 13 linked downloads, 16 unnamed downloads, 3 uploads = 32
    t = pd.Timestamp("2020-09-01", tz="UTC")
    rows = [(t, "e.csv", "download", "h", "x", i) for i in range(13)]
    rows += [(t, "lis.zip", "download", "h", "x", 100 + i) for i in range(16)]
    rows += [(t, "lis.zip", "upload", "h", "x", 200 + i) for i in range(3)]
    tr = _tr(rows)
    links = tr.iloc[:13].rename(columns={"ts": "transfer_ts"})
    assert transfer_note(tr, links) == (
        "32 FTP transfers read; 13 linked to an extraction; 16 downloads of files no "
        "logged extraction names; 3 uploads linked to no extraction"
    )
