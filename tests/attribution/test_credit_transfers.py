"""One transfer, one export: a transfer linked by base name to every export of its
file's name is credited to one (``attribution/linking.credit_transfers``), and only the
credited, complete fetches from outside count as a file retrieved (QA session 19's
finding 1 and its kind: the candidates' ``retrieved_outside``, the hypotheses' text,
the summary's counts of uploads and downloads). Hand-worked on the QA's scenarios."""

from __future__ import annotations

import numpy as np
from test_activity_retrieval import _links

from labforensics.attribution.activity import CLEAR, NOT_ASSESSED, retrieval_flags
from labforensics.attribution.linking import credit_transfers, fetched_outside
from labforensics.report.summary import _how_left


def test_an_upload_is_the_latest_writes_a_download_the_latest_uploaded_writes():
    # staff (hour 0) writes patients_L02.csv locally; backups b1 (100) and b2 (190)
    # write and upload it (lines 5 and 9: each upload is linked to every earlier write);
    # the anonymous fetch at 191 (line 14) is linked to all three
    rows = [("staff", 0, "patients_L02.csv", 100.5, "upload", False, "c", 5),
            ("b1", 100, "patients_L02.csv", 100.5, "upload", False, "c", 5),
            ("staff", 0, "patients_L02.csv", 190.5, "upload", False, "c", 9),
            ("b1", 100, "patients_L02.csv", 190.5, "upload", False, "c", 9),
            ("b2", 190, "patients_L02.csv", 190.5, "upload", False, "c", 9),
            ("staff", 0, "patients_L02.csv", 191, "download", True, "c", 14),
            ("b1", 100, "patients_L02.csv", 191, "download", True, "c", 14),
            ("b2", 190, "patients_L02.csv", 191, "download", True, "c", 14)]  # fmt: skip
    lk = _links(rows)
    # line 5: b1's; line 9: b2's; line 14: b2's (uploaded at 190.5, the latest so)
    assert credit_transfers(lk).tolist() == [False, True, False, False, True, False, False, True]
    assert fetched_outside(lk).tolist() == [False] * 7 + [True]
    # the staff export's file is never shown on the server (the uploads are the backups'):
    # not assessed (it was "clear" when any linked upload counted)
    flags = retrieval_flags(lk, np.array(["staff", "b1"]))
    assert flags.tolist() == [NOT_ASSESSED, CLEAR]
    # rows in another order: the same credits, row by row
    perm = np.array([7, 2, 5, 0, 6, 4, 1, 3])
    assert credit_transfers(lk.iloc[perm]).tolist() == credit_transfers(lk)[perm].tolist()


def test_a_download_goes_to_the_export_that_uploaded_before_it_and_cut_fetches_do_not_count():
    # "E": the vendor (22) uploads L02_mig_complet.csv at 22.5; a staff export (34) writes
    # a local file of that name; fetches at 50 (complete) and 51 (cut short, line 15)
    lk = _links([("vendor", 22, "L02_mig_complet.csv", 22.5, "upload", False, "c", 3),
                 ("vendor", 22, "L02_mig_complet.csv", 50, "download", True, "c", 14),
                 ("local", 34, "L02_mig_complet.csv", 50, "download", True, "c", 14),
                 ("vendor", 22, "L02_mig_complet.csv", 51, "download", True, "i", 15),
                 ("local", 34, "L02_mig_complet.csv", 51, "download", True, "i", 15)])  # fmt: skip
    assert credit_transfers(lk).tolist() == [True, True, False, True, False]
    assert fetched_outside(lk).tolist() == [False, True, False, False, False]
    # no upload before either: the latest write; a tie in time: by session id
    tie = _links([("a", 5, "x.csv", 9, "download", True, "c", 1),
                  ("b", 5, "x.csv", 9, "download", True, "c", 1),
                  ("c", 4, "x.csv", 9, "download", True, "c", 1)])  # fmt: skip
    assert credit_transfers(tie).tolist() == [False, True, False]
    assert credit_transfers(tie.iloc[:0]).tolist() == []


def test_the_summary_counts_each_transfer_once():
    lk = _links([("b1", 100, "patients_L02.csv", 100.5, "upload", False, "c", 5),
                 ("staff", 0, "patients_L02.csv", 100.5, "upload", False, "c", 5),
                 ("staff", 0, "patients_L02.csv", 191, "download", True, "c", 14),
                 ("b1", 100, "patients_L02.csv", 191, "download", True, "c", 14)])  # fmt: skip
    lk = lk.assign(credited=credit_transfers(lk), anonymous=lk["external_fetch"],
                   outside=False, user=None, account=["backup"] * 4)  # fmt: skip
    f = {"transfers": lk.astype(object).to_dict("records"), "transfers_given": True}
    assert _how_left(f) == (
        "1 extraction file(s) put on the FTP server by backup; 1 download(s) of them: 1 "
        "through anonymous FTP logins (no account: the logs do not identify who fetched "
        "them; the e-mail address given as password is redacted); 1 of them from outside "
        "address(es) 203.0.113.99."
    )
    # findings written before the column: every row, as before
    old = {"transfers": lk.drop(columns="credited").astype(object).to_dict("records")}
    assert _how_left(old).startswith("2 extraction file(s) put on the FTP server by backup; "
                                     "2 download(s) of them")  # fmt: skip


def test_a_download_takes_what_the_server_held_at_its_path():
    # QA session 20 "v16": the vendor (hour 0) uploads /pub/transfert/L01.csv (line 5); a
    # staff export (hour 300) of the same name is uploaded to /pub/perso/L01.csv (line 6);
    # two anonymous downloads of /pub/transfert/L01.csv (lines 11, 12) fetch the vendor's
    # file, the latest upload of that path: the vendor's, not the later write's
    rows = [("vendor", 0, "L01.csv", 0.5, "upload", False, "c", 5),
            ("vendor", 0, "L01.csv", 300.5, "upload", False, "c", 6),
            ("staff", 300, "L01.csv", 300.5, "upload", False, "c", 6),
            ("vendor", 0, "L01.csv", 560, "download", True, "c", 11),
            ("staff", 300, "L01.csv", 560, "download", True, "c", 11),
            ("vendor", 0, "L01.csv", 870, "download", True, "c", 12),
            ("staff", 300, "L01.csv", 870, "download", True, "c", 12)]  # fmt: skip
    paths = ["/pub/transfert/L01.csv", "/pub/perso/L01.csv", "/pub/perso/L01.csv"] + [
        "/pub/transfert/L01.csv"] * 4  # fmt: skip
    lk = _links(rows).assign(file_name=paths, anonymous=[False] * 3 + [True] * 4)
    assert credit_transfers(lk).tolist() == [True, False, True, True, False, True, False]
    # without the paths (a table given without file_name): the latest uploaded write
    assert credit_transfers(lk.drop(columns="file_name")).tolist() == [
        True, False, True, False, True, False, True]  # fmt: skip
    # "v15": an outsider's anonymous upload of the same path (line 7, hour 400) replaces
    # the vendor's file: it is nobody's export, and the downloads after it fetched it
    out = _links(rows[:1] + [("vendor", 0, "L01.csv", 400, "upload", False, "c", 7)]
                 + rows[3:4] + rows[5:6])  # fmt: skip
    out = out.assign(file_name="/pub/transfert/L01.csv", anonymous=[False, True, True, True])
    assert credit_transfers(out).tolist() == [True, False, False, False]
    assert not fetched_outside(out).any()


def test_a_name_in_the_transfers_letter_case_goes_first():
    # QA session 20 "v03": a staff export names C:\Exports\l01_EXPORT.CSV (hour 300,
    # never uploaded), the vendor's extraction ftp://transfert/L01_export.csv (hour 0),
    # whose upload the log does not show; the download of L01_export.csv: the vendor's
    lk = _links([("vendor", 0, "L01_export.csv", 560, "download", True, "c", 9),
                 ("staff", 300, "L01_export.csv", 560, "download", True, "c", 9)])  # fmt: skip
    assert credit_transfers(lk.assign(name_exact=[True, False])).tolist() == [True, False]
    assert credit_transfers(lk).tolist() == [False, True]  # no case known: the later write
