"""The audit trail: one hash chain of events per tenant (see ``policies.audit_chain``)."""
