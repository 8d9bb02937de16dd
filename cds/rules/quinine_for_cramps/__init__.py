"""quinine-for-cramps: quinine is not recommended for leg cramps (§18)."""
