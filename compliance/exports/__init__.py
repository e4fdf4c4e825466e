"""Audit exports: one tenant's send records streamed as CSV or JSONL, with their digest."""
