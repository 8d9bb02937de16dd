"""Where the repository and the shared third-party test data are.

The tests read the shared data (the clinical catalog, the verified codes, Synthea patients, HL7
R4 examples, captured CDS Hooks requests) from the `shared` folder beside the repository, as
the project is checked out; the service never reads it. `missing_shared_data` names what is
not there, so that a checkout without it fails at once with one message (tests/conftest.py),
not with a hundred unrelated-looking failures or a guard skipped in silence.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
CLINICAL_CONTENT = SHARED / "docs" / "clinical-content.md"
CODES_TSV = SHARED / "clinical-codes" / "codes.tsv"
SYNTHEA_BUNDLES = SHARED / "external" / "synthea" / "bundles"
SYNTHEA_INVENTORY = SHARED / "external" / "synthea" / "code-inventory.json"
HL7_EXAMPLES = SHARED / "external" / "hl7-fhir-r4-examples" / "examples"
CDS_REQUESTS = SHARED / "external" / "cds-hooks-requests"
FIXTURES = REPO / "fixtures"
HOOKS = REPO / "hooks"

_SHARED_FILES = (CLINICAL_CONTENT, CODES_TSV, SYNTHEA_INVENTORY)
_SHARED_FOLDERS = (SYNTHEA_BUNDLES, HL7_EXAMPLES, CDS_REQUESTS)


def missing_shared_data(shared: Path = SHARED) -> list[Path]:
    """The shared files and folders the tests read that are not in `shared`."""
    files = [shared / p.relative_to(SHARED) for p in _SHARED_FILES]
    folders = [shared / p.relative_to(SHARED) for p in _SHARED_FOLDERS]
    return [p for p in files if not p.is_file()] + [
        p for p in folders if not p.is_dir() or not any(p.iterdir())
    ]
