"""beta2-agonist-cramps: beta-2 agonist as a contributor to cramps and low potassium (§5)."""
