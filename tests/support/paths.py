"""Where the repository and the shared third-party test data are."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
SYNTHEA_BUNDLES = SHARED / "external" / "synthea" / "bundles"
HL7_EXAMPLES = SHARED / "external" / "hl7-fhir-r4-examples" / "examples"
CDS_REQUESTS = SHARED / "external" / "cds-hooks-requests"
CODES_TSV = SHARED / "clinical-codes" / "codes.tsv"
FIXTURES = REPO / "fixtures"
HOOKS = REPO / "hooks"
