"""FHIR data: Bundle walking (pure), prefetch templates, which EHR FHIR servers may be contacted
and the client for them, gathering a call's data (the IO boundary), and the local search that
answers prefetch queries from a Bundle."""
