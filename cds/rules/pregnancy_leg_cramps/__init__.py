"""pregnancy-leg-cramps: leg cramps in the second or third trimester (§13)."""
