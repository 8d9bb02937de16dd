"""vitamin-d-deficiency: low 25-OH vitamin D as a contributor to muscle aches (§15)."""
