"""Parameters of :func:`labforensics.attribution.attribute`."""

from __future__ import annotations

from dataclasses import dataclass

from .._validation import Boolean, Interval, constrained, validate
from ..thresholds import FAILED_LOGIN_BURST

_NONNEG = Interval(0, None)
_UNIT = Interval(0, 1)
_SHARE = Interval(0, 1, low_open=True)


@dataclass(frozen=True)
class AttributionParams:
    """Knobs of :func:`attribute`, with their units and allowed ranges (the
    networks, lab aliases and time zone are case facts: ``attribute(..., case=)``).

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
    copy_lag_h : float, default 24.0
        Largest lag, in hours, of a copy's data behind the instant of a size-only
        operation: the resolution of the dates the copy and the patient index
        carry (a day; a copy during a day may hold that day's registrations or only
        the days before). The operation is weighed at the cut in
        ``[t - copy_lag_h, t]`` that fits best (conclusion: "the horizon's own
        uncertainty"); 0: at its instant only.
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
    failed_burst : int, default :data:`~labforensics.thresholds.FAILED_LOGIN_BURST` (5)
        Failed logins before a session that make a burst (external sign); the
        account-lockout threshold whose source is stated at the constant.
    min_explained : float, default 0.5
        Below this share of leaked-and-found patients explained -> undetermined.
    dominant_share : float, default 0.8
        A hypothesis explaining this share of leaked-and-found patients wins.
    mixed_share : float, default 0.2
        Two hypotheses each explaining this share -> mixed.
    full_completeness : float, default 0.95
        Completeness at or above which an extraction is called ``full``.
    transfer_skew_h : float, default 1.0
        Clock skew allowed between the LIS and the FTP server (hours): a
        transfer that far before an extraction may still be its upload.
    max_listed : int, default 1000
        Most identifiers listed (pseudonyms) in :meth:`Attribution.to_dict`.
    stability : bool, default True
        Rerun with the main thresholds halved and doubled.
    activity_evidence : bool, default False
        Weigh the authorisation register's statuses of the logged operations, and
        whether their output files were fetched from outside (the transfer log), as
        activity-level evidence beside the leak's content (:mod:`.activity`). Off by
        default: a fresh-eyes QA (session 18) showed the factor resting on an unmeasured
        probability and naming an operator on a content ratio of 1; opt in knowingly
        (``[attribution] activity_evidence = true``).

    Ranges: shares and probabilities in (0, 1] (``bound_alpha``, ``min_explained``,
    ``dominant_share``, ``mixed_share``), ``records_tolerance`` and ``leak_noise``
    in [0, 1), ``partial_min_share``, ``drop_ratio`` and ``full_completeness`` in
    [0, 1], days, hours and penalties >= 0, counts integers (``routine_days``,
    ``failed_burst``, ``post_sample`` >= 1; ``min_prefix``, ``max_listed`` >= 0).

    Raises
    ------
    ParameterError
        A value outside its allowed range (naming the field and the range).
    """

    censor_days: float = constrained(7.0, _NONNEG)
    window_margin_h: float = constrained(72.0, _NONNEG)
    records_tolerance: float = constrained(0.05, Interval(0, 1, high_open=True))
    partial_min_share: float = constrained(0.25, _UNIT)
    bound_alpha: float = constrained(0.01, _SHARE)
    cp_penalty: float = constrained(1.0, _NONNEG)
    drop_ratio: float = constrained(0.1, _UNIT)
    leak_noise: float = constrained(0.01, Interval(0, 1, high_open=True))
    copy_lag_h: float = constrained(24.0, _NONNEG)
    min_prefix: int = constrained(20, Interval(0, None, integer=True))
    post_sample: int = constrained(30, Interval(1, None, integer=True))
    routine_days: int = constrained(20, Interval(1, None, integer=True))
    failed_burst: int = constrained(FAILED_LOGIN_BURST, Interval(1, None, integer=True))
    min_explained: float = constrained(0.5, _SHARE)
    dominant_share: float = constrained(0.8, _SHARE)
    mixed_share: float = constrained(0.2, _SHARE)
    full_completeness: float = constrained(0.95, _UNIT)
    transfer_skew_h: float = constrained(1.0, _NONNEG)
    max_listed: int = constrained(1000, Interval(0, None, integer=True))
    stability: bool = constrained(True, Boolean())
    activity_evidence: bool = constrained(False, Boolean())

    def __post_init__(self) -> None:
        validate(self)
