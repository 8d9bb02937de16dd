#!/usr/bin/env python3
"""Recompute the record contract (cds/record/contract.json) from the frozen corpus.

Run by a developer after adding a field to a record entry (the new field's hash is added; the
others must come out unchanged), never to paper over a changed field that a released rule
version reads: tests/record/test_contract.py says which those are.

    .venv/bin/python tools/record_contract.py           # print what would change
    .venv/bin/python tools/record_contract.py --write   # write contract.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cds.record import RecordBuilder  # noqa: E402
from cds.record.contract import CONTRACT_FILE, field_hashes, load_contract  # noqa: E402
from cds.terminology import Terminology, terminology_releases  # noqa: E402
from tests.support.record_corpus import corpus_records  # noqa: E402


def compute() -> dict[str, dict[str, str]]:
    return {
        release: field_hashes(corpus_records(RecordBuilder(Terminology.load(release))))
        for release in terminology_releases()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write cds/record/contract.json")
    args = parser.parse_args()
    now = compute()
    try:
        before = load_contract()
    except FileNotFoundError:
        before = {}
    for release, fields in now.items():
        old = before.get(release, {})
        for name in sorted(set(fields) | set(old)):
            if fields.get(name) != old.get(name):
                print(f"{release} {name}: {old.get(name)} -> {fields.get(name)}")
    if args.write:
        path = REPO / "cds" / "record" / CONTRACT_FILE
        path.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n", "utf-8")
        print(f"written: {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
