"""A software passkey for tests/tests/passkeys.rs, on soft-webauthn's authenticator.

    python3 webauthn_soft.py register STATE ORIGIN < creation-options.json > credential.json
    python3 webauthn_soft.py login STATE ORIGIN [SIGN_COUNT] < request-options.json > assertion.json

The options are what the start routes answer (`{"publicKey": {...}}`, binary fields
base64url); the output is the browser's JSON for the finish routes (binary fields
base64url). STATE is a JSON file holding the authenticator's one credential between the
two commands (private key, credential id, user handle, counter). SIGN_COUNT, when given,
replaces the counter before the login: the same value again plays a cloned authenticator.

soft-webauthn sets only "user present"; a passkey's ceremonies require user verification,
so the UV flag is added to its authenticator data (and the assertion signed again over it).
"""

import base64
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor
from fido2.utils import sha256
from soft_webauthn import SoftWebauthnDevice

FLAG_UV = 0x04


def b64d(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(data):
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def with_uv(auth_data):
    return auth_data[:32] + bytes([auth_data[32] | FLAG_UV]) + auth_data[33:]


def save(device, path):
    state = {
        "credential_id": b64e(device.credential_id),
        "private_key": device.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii"),
        "rp_id": device.rp_id,
        "user_handle": b64e(device.user_handle),
        "sign_count": device.sign_count,
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(state, f)


def load(path):
    with open(path, encoding="utf-8") as f:
        state = json.load(f)
    device = SoftWebauthnDevice()
    device.credential_id = b64d(state["credential_id"])
    device.private_key = serialization.load_pem_private_key(
        state["private_key"].encode("ascii"), password=None
    )
    device.rp_id = state["rp_id"]
    device.user_handle = b64d(state["user_handle"])
    device.sign_count = state["sign_count"]
    return device


def register(path, origin, options):
    public_key = options["publicKey"]
    public_key["challenge"] = b64d(public_key["challenge"])
    public_key["user"]["id"] = b64d(public_key["user"]["id"])
    device = SoftWebauthnDevice()
    created = device.create(options, origin)
    attestation = cbor.decode(created["response"]["attestationObject"])
    attestation["authData"] = with_uv(attestation["authData"])
    save(device, path)
    return {
        "id": b64e(created["rawId"]),
        "rawId": b64e(created["rawId"]),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64e(created["response"]["clientDataJSON"]),
            "attestationObject": b64e(cbor.encode(attestation)),
        },
        "extensions": {},
    }


def login(path, origin, options, sign_count):
    device = load(path)
    if sign_count is not None:
        device.sign_count = sign_count
    options["publicKey"]["challenge"] = b64d(options["publicKey"]["challenge"])
    asserted = device.get(options, origin)
    response = asserted["response"]
    auth_data = with_uv(response["authenticatorData"])
    signed = auth_data + sha256(response["clientDataJSON"])
    signature = device.private_key.sign(signed, ec.ECDSA(hashes.SHA256()))
    save(device, path)
    return {
        "id": b64e(asserted["rawId"]),
        "rawId": b64e(asserted["rawId"]),
        "type": "public-key",
        "response": {
            "authenticatorData": b64e(auth_data),
            "clientDataJSON": b64e(response["clientDataJSON"]),
            "signature": b64e(signature),
            "userHandle": b64e(response["userHandle"]),
        },
        "extensions": {},
    }


def main():
    command, path, origin = sys.argv[1:4]
    options = json.load(sys.stdin)
    if command == "register":
        out = register(path, origin, options)
    elif command == "login":
        sign_count = int(sys.argv[4]) if len(sys.argv) > 4 else None
        out = login(path, origin, options, sign_count)
    else:
        raise SystemExit(f"unknown command {command!r}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
