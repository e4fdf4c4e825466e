"""Data-subject requests: access (GDPR Art. 15, PIPL Art. 45) and erasure (GDPR Art. 17,
PIPL Art. 47) of the records sent to one person."""
