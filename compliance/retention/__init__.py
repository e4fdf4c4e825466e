"""Retention: legal holds, the job that erases send logs past their window, and its proof.

ePrivacy 2002/58/EC Art. 6(1)-(2), GDPR Art. 5(1)(e) and PIPL Art. 19 say how long; the
windows are data (policies.retention); this package carries them out and records that
it did.
"""
