"""Verifies one of our access tokens with PyJWT, independently of the Rust code.

usage: python3 jwt_check.py <jwks.json> <token> <issuer>

Picks the key the token's `kid` names from the JWKS, verifies the signature with that key's
own algorithm (never the one the token claims), requires the registered claims we promise,
and prints the claims as JSON. Exits 1 with the reason when the token is not valid.
"""

import json
import sys

import jwt


def main() -> int:
    jwks_path, token, issuer = sys.argv[1:4]
    with open(jwks_path, encoding="utf-8") as f:
        keyset = jwt.PyJWKSet.from_dict(json.load(f))
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = next((k for k in keyset.keys if k.key_id == kid), None)
        if key is None:
            print(f"no key with kid {kid!r} in the JWKS", file=sys.stderr)
            return 1
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=[key.algorithm_name],
            issuer=issuer,
            options={"require": ["exp", "iat", "sub", "jti", "iss"]},
        )
    except jwt.PyJWTError as e:
        print(f"refused: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(claims))
    return 0


if __name__ == "__main__":
    sys.exit(main())
