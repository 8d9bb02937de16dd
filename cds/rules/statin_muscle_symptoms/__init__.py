"""statin-muscle-symptoms: statin-associated muscle symptoms, myopathy, rhabdomyolysis (§4)."""
