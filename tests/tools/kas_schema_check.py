#!/usr/bin/env python3
"""Validate kas configuration files against the JSON schema of the kas that builds them.

Usage: kas_schema_check.py FILE...  Prints one line per invalid file and exits 1 if any is invalid.
Run it with the Python of the kas 5 venv (scripts/isar-host.sh): the schema comes from the kas
package that Python imports.
"""
import json
import sys

import os

import jsonschema
import kas
import yaml

SCHEMA = os.path.join(os.path.dirname(kas.__file__), "schema-kas.json")


def main(paths):
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    bad = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        try:
            jsonschema.validate(instance=doc, schema=schema)
        except jsonschema.ValidationError as e:
            bad += 1
            print(f"{path}: {e.message} at {'/'.join(map(str, e.absolute_path))}")
    print(f"{len(paths) - bad} of {len(paths)} kas files valid")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
