"""dvt-risk: record-derived Wells DVT items and VTE risk factors (§10)."""
