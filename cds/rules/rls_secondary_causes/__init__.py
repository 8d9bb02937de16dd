"""rls-secondary-causes: iron deficiency and other secondary causes of restless legs (§8)."""
