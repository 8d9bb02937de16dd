"""chemo-neuropathy: neurotoxic chemotherapy as a cause of painful peripheral neuropathy (§6)."""
