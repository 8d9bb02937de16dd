"""The IO boundary to the EHR's FHIR server: prefetch templates, fetching, gathering."""
