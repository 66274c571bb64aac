#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""jsoncheck SCHEMA FILE...: validates each FILE (one JSON document, as
`mptcpshim status --json` or `probe --json` print) against the JSON schema
(doc/*.schema.json) with python3-jsonschema; prints each error with its
path and exits 1 if any."""
import json
import sys

import jsonschema


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    bad = 0
    for name in sys.argv[2:]:
        with open(name) as f:
            doc = json.load(f)
        for e in cls(schema).iter_errors(doc):
            print("%s: %s: %s" % (name, "/".join(map(str, e.absolute_path))
                                  or "(top)", e.message))
            bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
