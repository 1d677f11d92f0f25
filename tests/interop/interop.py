#!/usr/bin/env python3
"""Independent implementation of Atalaya's signature formats, for interop tests.

Envelopes: RFC 8785 canonical JSON (``rfc8785``) + pure Ed25519 (``cryptography``).
Requests: RFC 9421 via ``http-message-signatures``, label ``atalaya``.
Sealed bodies: binary age v1 files via ``pyrage`` (the ``rage`` implementation), with age key
strings (``age1...`` recipients, ``AGE-SECRET-KEY-1...`` identities).

Keys are standard base64: a 32-byte public key, or the 32-byte Ed25519 secret seed.
A request file is JSON: {"method": "POST", "url": "https://host[:port]/path[?query]",
"headers": {"Name": "value", ...}, "body": <standard base64> or null}.

Exit status: 0 = ok / valid, 1 = signature or age file rejected, 2 = usage or other error.
"""

import argparse
import base64
import datetime
import json
import secrets
import sys
import warnings
from dataclasses import dataclass, field

import http_sf
import pyrage
import rfc8785
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)
from http_message_signatures.signatures import SignatureVerifyWarning

LABEL = "atalaya"
REQUIRED_COMPONENTS = ("@method", "@authority", "@path", "@query")


class Rejected(Exception):
    """The signature is invalid (exit status 1)."""


def public_key(b64: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(b64, validate=True))


def secret_key(b64: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(b64, validate=True))


def read_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_json(path: str, value) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=2)


# --- envelopes -----------------------------------------------------------------------------


def verify_envelope(args) -> None:
    envelope = read_json(args.file)
    sig = envelope.pop("sig", None)
    if not isinstance(sig, dict) or set(sig) != {"alg", "key", "value"}:
        raise Rejected('"sig" must be an object with exactly alg, key and value')
    if sig["alg"] != "ed25519":
        raise Rejected(f"unsupported alg {sig['alg']!r}")
    signature = base64.b64decode(sig["value"], validate=True)
    try:
        public_key(args.pubkey).verify(signature, rfc8785.dumps(envelope))
    except CryptoInvalidSignature:
        raise Rejected("Ed25519 signature over the RFC 8785 canonical form does not verify")
    print(f"envelope signature by {sig['key']!r} is valid")


def sign_envelope(args) -> None:
    envelope = read_json(args.in_file)
    envelope.pop("sig", None)
    signature = secret_key(args.secret).sign(rfc8785.dumps(envelope))
    envelope["sig"] = {
        "alg": "ed25519",
        "key": args.key_ref,
        "value": base64.b64encode(signature).decode(),
    }
    write_json(args.out_file, envelope)


# --- requests ------------------------------------------------------------------------------


@dataclass
class Request:
    """The message interface http-message-signatures resolves components from."""

    method: str
    url: str
    headers: dict = field(default_factory=dict)


def load_request(path: str) -> tuple[Request, bytes | None]:
    data = read_json(path)
    body = data.get("body")
    body = None if body is None else base64.b64decode(body, validate=True)
    return Request(data["method"], data["url"], dict(data.get("headers") or {})), body


def verify_request(args) -> None:
    request, body = load_request(args.request)
    required = REQUIRED_COMPONENTS + (("content-digest",) if body is not None else ())
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=PublicKeyResolver(public_key(args.pubkey)),
    )
    # Only the label is required here (Atalaya signs no `tag`).
    verifier.allow_label_only_selection = True
    warnings.simplefilter("ignore", SignatureVerifyWarning)
    try:
        # Freshness is Atalaya's own policy (tested in Rust); fixed test times are in the past.
        results = verifier.verify(
            request,
            expect_label=LABEL,
            require_components=required,
            max_age=None,
            body=body,
        )
    except InvalidSignature as e:
        cause = e.__cause__ or e
        raise Rejected(f"http-message-signatures rejected the request: {cause!r}")
    (result,) = results
    if result.parameters.get("alg") != "ed25519":
        raise Rejected('signature parameters lack alg="ed25519"')
    if not result.nonce:
        raise Rejected("signature has no nonce")
    if body is not None:
        digest = http_sf.parse(request.headers["Content-Digest"].encode(), tltype="dictionary")
        if "sha-256" not in digest:
            raise Rejected("Content-Digest has no sha-256 member")
        ContentDigest.verify(request.headers["Content-Digest"], body)
    print(f"request signature {result.label!r} by {result.parameters['keyid']!r} is valid")
    print("covered:", ", ".join(result.covered_components))


class PublicKeyResolver(HTTPSignatureKeyResolver):
    """Any keyid resolves to the one key given on the command line."""

    def __init__(self, key: Ed25519PublicKey):
        self.key = key

    def resolve_public_key(self, key_id: str):
        return self.key


def sign_request(args) -> None:
    request, body = load_request(args.in_file)
    components = REQUIRED_COMPONENTS + (("content-digest",) if body is not None else ())
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(
            public_keys={}, private_keys={args.key_ref: secret_key(args.secret)}
        ),
    )
    signer.sign(
        request,
        key_id=args.key_ref,
        created=datetime.datetime.fromtimestamp(args.created, tz=datetime.timezone.utc),
        nonce=base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode(),
        label=LABEL,
        covered_component_ids=components,
        body=body,  # adds Content-Digest (sha-256)
    )
    out = {
        "method": request.method,
        "url": request.url,
        "headers": request.headers,
        "body": None if body is None else base64.b64encode(body).decode(),
    }
    write_json(args.out_file, out)


# --- sealed bodies (age) ------------------------------------------------------------------


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def age_decrypt(args) -> None:
    identity = pyrage.x25519.Identity.from_str(args.identity)
    try:
        plaintext = pyrage.decrypt(read_bytes(args.in_file), [identity])
    except pyrage.DecryptError as e:
        raise Rejected(f"pyrage refused the age file: {e}")
    write_bytes(args.out_file, plaintext)
    print(f"decrypted {len(plaintext)} bytes")


def age_encrypt(args) -> None:
    recipients = [pyrage.x25519.Recipient.from_str(r) for r in args.recipients]
    write_bytes(args.out_file, pyrage.encrypt(read_bytes(args.in_file), recipients))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(required=True)

    p = sub.add_parser("verify-envelope", help="verify an envelope's Ed25519 signature")
    p.add_argument("file")
    p.add_argument("pubkey", help="standard base64 of the 32-byte public key")
    p.set_defaults(run=verify_envelope)

    p = sub.add_parser("sign-envelope", help="sign an envelope (replacing any sig)")
    p.add_argument("in_file")
    p.add_argument("out_file")
    p.add_argument("secret", help="standard base64 of the 32-byte secret seed")
    p.add_argument("key_ref")
    p.set_defaults(run=sign_envelope)

    p = sub.add_parser("verify-request", help="verify a request's RFC 9421 signature")
    p.add_argument("request")
    p.add_argument("pubkey")
    p.set_defaults(run=verify_request)

    p = sub.add_parser("sign-request", help="sign a request, adding its signature headers")
    p.add_argument("in_file")
    p.add_argument("out_file")
    p.add_argument("secret")
    p.add_argument("key_ref")
    p.add_argument("--created", type=int, required=True, help="unix seconds")
    p.set_defaults(run=sign_request)

    p = sub.add_parser("age-decrypt", help="decrypt a binary age file with an X25519 identity")
    p.add_argument("in_file")
    p.add_argument("out_file")
    p.add_argument("identity", help="AGE-SECRET-KEY-1...")
    p.set_defaults(run=age_decrypt)

    p = sub.add_parser("age-encrypt", help="encrypt to X25519 recipients as a binary age file")
    p.add_argument("in_file")
    p.add_argument("out_file")
    p.add_argument("recipients", nargs="+", metavar="recipient", help="age1...")
    p.set_defaults(run=age_encrypt)

    args = parser.parse_args()
    try:
        args.run(args)
    except Rejected as e:
        print(f"REJECTED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
