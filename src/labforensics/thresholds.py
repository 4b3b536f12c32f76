"""Thresholds shared by several stages, each stated once with its source.

A rule file (``detect/rules.toml``) refers to one of these by name
(``value = "$FAILED_LOGIN_BURST"``, see :data:`NAMED`), and parameter defaults
refer to the constant, so the number lives in one place only.
"""

from __future__ import annotations

__all__ = ["BULK_EXPORT_RECORDS", "FAILED_LOGIN_BURST", "NAMED"]

#: Failed logins that make a burst (a brute-force sign): 5.
#:
#: Source: the account-lockout threshold of the CIS Benchmark for Windows, rec. 1.2.2
#: "Ensure 'Account lockout threshold' is set to '5 or fewer invalid logon attempt(s),
#: but not 0'" (CIS Microsoft Intune for Windows 11 Benchmark, as published at
#: https://intune.everything365.online/intune-endpoint-hardening/account-protection/account-lockout-threshold;
#: earlier CIS Windows benchmarks allowed up to 10), and fail2ban's default
#: ``maxretry = 5`` failures within ``findtime = 600`` s before a ban
#: (``config/jail.conf`` [DEFAULT], https://github.com/fail2ban/fail2ban). A user who
#: mistypes a password does not get past a lockout at 5; five failures that a
#: lockout policy would have stopped, followed by a success, are a sign of guessing.
#:
#: Used by :attr:`labforensics.SourceParams.min_failed_with_success`,
#: :attr:`labforensics.AttributionParams.failed_burst` and the detection rule
#: ``success_after_failed_burst_new_ip``.
FAILED_LOGIN_BURST: int = 5

#: Records that make an export or extraction a bulk one: 500.
#:
#: Source: the HIPAA Breach Notification Rule, 45 CFR 164.408(a)-(b): a breach
#: "involving 500 or more individuals" is notified to the Secretary contemporaneously
#: (and to prominent media outlets, 164.406), a smaller one in a yearly log. Without an
#: authorisation register the size of an export is all there is to judge a staff
#: account's first large one by; the regulator's own line between a reportable incident
#: and a logged one is the line used (a record stands for an individual, an upper
#: bound: a record is not always a patient).
#:
#: Used by :func:`labforensics.features.bulk.bulk_outbound` (``first_bulk_outbound``,
#: ``bulk_above_warmup``, ``n_bulk_outbound_account``) and the detection rules
#: ``staff_first_bulk_export``, ``staff_bulk_export_short_logs`` and
#: ``staff_bulk_export_above_warmup``.
BULK_EXPORT_RECORDS: int = 500

#: Thresholds a rule file may name as ``"$NAME"`` in a condition's ``value``.
NAMED: dict[str, int | float] = {
    "BULK_EXPORT_RECORDS": BULK_EXPORT_RECORDS,
    "FAILED_LOGIN_BURST": FAILED_LOGIN_BURST,
}
