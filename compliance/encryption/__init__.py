"""Field encryption at rest: envelopes, master keys, tenant data keys, blind indexes.

GDPR Art. 32(1)(a) and PIPL Art. 51 name encryption as a security measure for personal
data; crypto-shredding (destroying a key) makes every copy of what it protected
unreadable, which is how erasure (GDPR Art. 17, PIPL Art. 47) reaches backups.
"""
