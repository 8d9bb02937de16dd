"""diuretic-electrolytes: loop/thiazide diuretic and electrolyte disturbance (§2)."""
