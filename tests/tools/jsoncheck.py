#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""jsoncheck SCHEMA FILE...: validates each FILE (one JSON document, as
`mptcpshim status --json` or `probe --json` print) against the JSON schema
(doc/*.schema.json); prints each error with its path and exits 1 if any.

With python3-jsonschema (scripts/install-deps.sh installs it) that library
validates. Where it is missing (the VMs' root file system), a small
validator of the keywords the schemas use does: it refuses a schema with
any other keyword, so it never passes what it does not check."""
import json
import sys

KNOWN = {"$schema", "$id", "$defs", "$ref", "title", "description", "type",
         "required", "properties", "additionalProperties",
         "unevaluatedProperties", "items", "enum", "const", "oneOf",
         "allOf", "minimum", "maximum"}
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool,
         "null": type(None)}


def is_type(v, t):
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return isinstance(v, TYPES[t])


class Small:
    def __init__(self, root):
        self.root = root
        self.check_schema(root)

    def check_schema(self, s):
        if isinstance(s, dict):
            unknown = set(s) - KNOWN
            if unknown:
                sys.exit("jsoncheck: schema keyword(s) %s unknown to the "
                         "small validator: install python3-jsonschema"
                         % sorted(unknown))
            for k, v in s.items():
                if k in ("properties", "$defs"):
                    for sub in v.values():
                        self.check_schema(sub)
                elif k in ("items", "additionalProperties",
                           "unevaluatedProperties"):
                    self.check_schema(v)
                elif k in ("oneOf", "allOf"):
                    for sub in v:
                        self.check_schema(sub)

    def resolve(self, ref):
        node = self.root
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return node

    # Returns (errors, names of the properties evaluated at this level).
    def check(self, s, v, path):
        errs, seen = [], set()
        if s is True or s == {}:
            return errs, seen
        if s is False:
            return ["%s: not allowed" % path], seen
        if "$ref" in s:
            e, n = self.check(self.resolve(s["$ref"]), v, path)
            errs += e
            seen |= n
        if "type" in s:
            ts = s["type"] if isinstance(s["type"], list) else [s["type"]]
            if not any(is_type(v, t) for t in ts):
                return errs + ["%s: %r is not of type %s" % (path, v, ts)], seen
        if "const" in s and v != s["const"]:
            errs.append("%s: %r is not %r" % (path, v, s["const"]))
        if "enum" in s and v not in s["enum"]:
            errs.append("%s: %r is not one of %r" % (path, v, s["enum"]))
        if "minimum" in s and is_type(v, "number") and v < s["minimum"]:
            errs.append("%s: %r < %r" % (path, v, s["minimum"]))
        if "maximum" in s and is_type(v, "number") and v > s["maximum"]:
            errs.append("%s: %r > %r" % (path, v, s["maximum"]))
        for sub in s.get("allOf", []):
            e, n = self.check(sub, v, path)
            errs += e
            seen |= n
        if "oneOf" in s:
            ok = [n for e, n in (self.check(sub, v, path) for sub in s["oneOf"])
                  if not e]
            if len(ok) != 1:
                errs.append("%s: matches %d of oneOf, not 1" % (path, len(ok)))
            else:
                seen |= ok[0]
        if isinstance(v, dict):
            for r in s.get("required", []):
                if r not in v:
                    errs.append("%s: %r is required" % (path, r))
            props = s.get("properties", {})
            for k, sub in props.items():
                if k in v:
                    errs += self.check(sub, v[k], "%s/%s" % (path, k))[0]
                    seen.add(k)
            if "additionalProperties" in s:
                for k in v:
                    if k not in props:
                        errs += self.check(s["additionalProperties"], v[k],
                                           "%s/%s" % (path, k))[0]
                        seen.add(k)
            if "unevaluatedProperties" in s:
                for k in v:
                    if k not in seen:
                        errs += self.check(s["unevaluatedProperties"], v[k],
                                           "%s/%s" % (path, k))[0]
        if isinstance(v, list) and "items" in s:
            for i, x in enumerate(v):
                errs += self.check(s["items"], x, "%s/%d" % (path, i))[0]
        return errs, seen

    def errors(self, doc):
        return self.check(self.root, doc, "")[0]


def validator(schema):
    try:
        import jsonschema
    except ImportError:
        return Small(schema).errors
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return lambda doc: ["/" + "/".join(map(str, e.absolute_path)) + ": "
                        + e.message for e in cls(schema).iter_errors(doc)]


def main():
    args = sys.argv[1:]
    small = args[:1] == ["--small"]  # the tests check the small one too
    if small:
        args = args[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    with open(args[0]) as f:
        schema = json.load(f)
    errors = Small(schema).errors if small else validator(schema)
    bad = 0
    for name in args[1:]:
        with open(name) as f:
            doc = json.load(f)
        for e in errors(doc):
            print("%s: %s" % (name, e))
            bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
