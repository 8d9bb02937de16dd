"""Audit trail: every invocation and every piece of feedback (never tokens nor prefetch)."""
