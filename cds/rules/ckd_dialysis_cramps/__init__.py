"""ckd-dialysis-cramps: chronic kidney disease and dialysis as a cause of leg cramps (§14)."""
