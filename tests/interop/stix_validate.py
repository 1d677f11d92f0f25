"""Validate STIX 2.1 bundles with the OASIS stix2-validator, one result block per file.

Usage: stix_validate.py FILE...   Prints, per file in the order given, `name: valid|invalid`
and then every error and warning the validator reports (no timestamps, no paths), so the
output can be committed as a baseline. Exits 0 whatever the verdicts (the caller compares).
"""
import os
import sys

from stix2validator import ValidationOptions, validate_file

options = ValidationOptions(version="2.1", strict=False)
for path in sys.argv[1:]:
    result = validate_file(path, options)
    name = os.path.basename(path)
    print(f"{name}: {'valid' if result.is_valid else 'invalid'}")
    for obj in result.object_results:
        for e in obj.errors:
            print(f"  error {obj.object_id}: {e}")
        for w in obj.warnings:
            print(f"  warning {obj.object_id}: {w}")
    for e in getattr(result, "errors", []) or []:
        print(f"  error: {e}")
