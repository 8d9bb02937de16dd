"""hypothyroidism: hypothyroid myopathy and its added statin risk (§16)."""
