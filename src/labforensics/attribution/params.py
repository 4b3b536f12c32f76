"""Parameters of :func:`labforensics.attribution.attribute`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import ParameterError


@dataclass(frozen=True)
class AttributionParams:
    """Parameters of :func:`attribute`, with their units.

    Attributes
    ----------
    censor_days : float, default 7.0
        Days at the start of each lab's evidence whose first-seen patients are
        censored (left out of the ``after`` bound): patients registered before
        logging began show up "first" there.
    window_margin_h : float, default 72.0
        Hours around a lab's window within which a session is still a candidate
        (its distance to the window is reported).
    records_tolerance : float, default 0.05
        A candidate holds a lab's leak when its records are at least
        ``(1 - records_tolerance) x`` the lab's leaked patients found (covers
        patients merged or purged between the copy and the audit).
    partial_min_share : float, default 0.25
        Smallest record count, as a share of the lab's leaked patients found,
        for a session to be a (partial) candidate: routine small exports are
        not candidates.
    bound_alpha : float, default 0.01
        Probability bound for the ``before`` side of the window (see module doc).
    cp_penalty : float, default 1.0
        Change points of the leaked share are kept when their log-likelihood
        ratio exceeds ``cp_penalty x ln(n)`` (n patients): 1.0 is the BIC for
        the two parameters a change point adds (its place and the new share).
    drop_ratio : float, default 0.1
        The copy's horizon is the earliest drop whose log-likelihood ratio is at
        least this share of the largest drop's (earlier small fluctuations of a
        filtered leak are below it; a later larger drop from a change in logging
        does not hide the real one).
    leak_noise : float, default 0.01
        Share of the patients existing at a full copy that its leak may lack
        (merged or deleted records): the floor of the not-leaked rate before a
        copy in the onset test.
    min_prefix : int, default 20
        Patients needed before an onset of not-leaked patients can be declared.
    post_sample : int, default 30
        Patients after the change point over which the leaked share ``q`` of
        returning (or late-audited) patients is measured (lower bound back-off).
    routine_days : int, default 20
        A pathway (lab, account, module) that moved records on at least this many
        distinct days is *routine* (nightly backup, monthly billing over years):
        its sessions are listed but explain no leak, since they happen whatever
        the date of the copy (a leak only they could hold is undetermined: a copy
        of their output was made outside the logged software).
    failed_burst : int, default 5
        Failed logins before a session that make a burst (external sign).
    min_explained : float, default 0.5
        Below this share of leaked-and-found patients explained -> undetermined.
    dominant_share : float, default 0.8
        A hypothesis explaining this share of leaked-and-found patients wins.
    mixed_share : float, default 0.2
        Two hypotheses each explaining this share -> mixed.
    full_completeness : float, default 0.95
        Completeness at or above which an extraction is called ``full``.
    lab_networks : mapping of str to sequence of str, or sequence of str
        CIDR blocks of the labs: one list for all labs, or per lab code. A case
        fact kept here only until the pipeline passes ``attribute(..., networks=)``
        (used only when ``networks`` is not given). When empty, every non-local
        address is ``unknown`` (no RFC 1918 guess).
    vendor_networks : sequence of str
        CIDR blocks of the vendor (remote maintenance, FTP server side).
    lab_aliases : mapping of str to str
        Lab identifier in a leak or patient index (e.g. FINESS) -> lab code.
    transfer_tz : str, default "Europe/Paris"
        Time zone of the xferlog when a path is given.
    transfer_skew_h : float, default 1.0
        Clock skew allowed between the LIS and the FTP server (hours): a
        transfer that far before an extraction may still be its upload.
    max_listed : int, default 1000
        Most identifiers listed (pseudonyms) in :meth:`Attribution.to_dict`.
    stability : bool, default True
        Rerun with the main thresholds halved and doubled.
    """

    censor_days: float = 7.0
    window_margin_h: float = 72.0
    records_tolerance: float = 0.05
    partial_min_share: float = 0.25
    bound_alpha: float = 0.01
    cp_penalty: float = 1.0
    drop_ratio: float = 0.1
    leak_noise: float = 0.01
    min_prefix: int = 20
    post_sample: int = 30
    routine_days: int = 20
    failed_burst: int = 5
    min_explained: float = 0.5
    dominant_share: float = 0.8
    mixed_share: float = 0.2
    full_completeness: float = 0.95
    lab_networks: Mapping[str, Sequence[str]] | Sequence[str] = ()
    vendor_networks: Sequence[str] = ()
    lab_aliases: Mapping[str, str] = field(default_factory=dict)
    transfer_tz: str = "Europe/Paris"
    transfer_skew_h: float = 1.0
    max_listed: int = 1000
    stability: bool = True

    def __post_init__(self) -> None:
        for name in (
            "censor_days",
            "window_margin_h",
            "records_tolerance",
            "partial_min_share",
            "transfer_skew_h",
        ):
            if getattr(self, name) < 0:
                raise ParameterError(f"AttributionParams.{name} must be >= 0")
        for name in ("bound_alpha", "min_explained", "dominant_share", "mixed_share"):
            v = getattr(self, name)
            if not 0 < v <= 1:
                raise ParameterError(f"AttributionParams.{name} must be in (0, 1], got {v}")
        if self.records_tolerance >= 1:
            raise ParameterError("AttributionParams.records_tolerance must be < 1")
