"""Who may call the service, and what a call may make it do.

- `authenticator`: CDS Hooks 2.0 JWT verification (the EHR's signed bearer token);
- `keys`: the trusted EHRs' JWK Sets (fetched over https or read from a file, cached);
- `jti_cache`: each token's `jti` accepted once (Redis when configured, shared by every worker;
  else memory);
- `urls`: the FHIR server allow-list match (a prefix that must end on a path boundary);
- `limits`: request bounds that are not just the body size (prefetch resources).
"""

from cds.security.authenticator import Authenticator, VerifiedClient

__all__ = ["Authenticator", "VerifiedClient"]
