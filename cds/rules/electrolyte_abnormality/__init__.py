"""electrolyte-abnormality: drug-agnostic electrolyte or volume disturbance (§3)."""
