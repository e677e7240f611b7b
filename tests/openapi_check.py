#!/usr/bin/env python3
"""Independent checks of the auth router's OpenAPI document (tests/tests/openapi.rs).

    openapi_check.py document <doc.json>
        Validates the document against the OpenAPI 3.1 specification
        (openapi-spec-validator); exit 1 with the reason when it is invalid.

    openapi_check.py answers <doc.json> <answers.json>
        Validates real answers, a list of {method, path, status, body}, each against
        the schema the document gives for that operation and status (JSON Schema
        2020-12, as OpenAPI 3.1 schemas are); exit 1 with the reasons when one does
        not match, or when the document has no schema for it.
"""
import json
import sys

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def check_document(path):
    try:
        validate(load(path))
    except Exception as e:  # the validator raises several exception types
        print(f"invalid OpenAPI document: {e}")
        return 1
    print("valid OpenAPI 3.1 document")
    return 0


def check_answers(doc_path, answers_path):
    doc = load(doc_path)
    components = doc.get("components", {})
    failures = 0
    for case in load(answers_path):
        method, path, status = case["method"], case["path"], str(case["status"])
        try:
            operation = doc["paths"][path][method.lower()]
            response = operation["responses"][status]
            schema = response["content"]["application/json"]["schema"]
        except KeyError as e:
            print(f"{method} {path} {status}: not documented ({e})")
            failures += 1
            continue
        root = {"components": components, "allOf": [schema]}
        for error in Draft202012Validator(root).iter_errors(case["body"]):
            where = "/".join(str(p) for p in error.absolute_path)
            print(f"{method} {path} {status}: at '{where}': {error.message}")
            failures += 1
    if failures == 0:
        print("every answer matches its documented schema")
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["document"] and len(sys.argv) == 3:
        sys.exit(check_document(sys.argv[2]))
    if sys.argv[1:2] == ["answers"] and len(sys.argv) == 4:
        sys.exit(check_answers(*sys.argv[2:]))
    print(__doc__)
    sys.exit(2)
