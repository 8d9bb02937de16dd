"""pe-red-flags: DVT signal with pulmonary-embolism red flags, critical (§11)."""
