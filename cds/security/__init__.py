"""Who may call the service, and which FHIR servers a call may make it contact.

- `authenticator`: CDS Hooks 2.0 JWT verification (the EHR's signed bearer token);
- `keys`: the trusted EHRs' JWK Sets (fetched over https or read from a file, cached);
- `jti_cache`: each token's `jti` accepted once (Redis when configured, shared by every worker;
  else memory);
- `urls`: the FHIR server allow-list match (a prefix that must end on a path boundary).

The request bounds (body size, prefetch resources) belong to the HTTP edge: `cds.api.limits`.
"""

from cds.security.authenticator import Authenticator, VerifiedClient

__all__ = ["Authenticator", "VerifiedClient"]
