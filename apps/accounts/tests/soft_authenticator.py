"""A WebAuthn authenticator in software: one ES256 key that signs whatever
origin the page claims. A browser never lets a page claim another origin;
this stands in for a phishing page relaying the challenge, whose assertion
the server must refuse."""

from __future__ import annotations

import hashlib
import json
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_encode
from fido2.webauthn import AttestationObject, AttestedCredentialData, AuthenticatorData

FLAGS = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _client_data(kind: str, options: dict, origin: str) -> bytes:
    challenge = options["publicKey"]["challenge"]
    return json.dumps({"type": kind, "challenge": challenge, "origin": origin}).encode()


class SoftAuthenticator:
    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0

    def _credential(self, response: dict) -> str:
        encoded = websafe_encode(self.credential_id)
        return json.dumps(
            {
                "id": encoded,
                "rawId": encoded,
                "type": "public-key",
                "response": response,
                "clientExtensionResults": {},
            }
        )

    def register(self, options: dict, origin: str) -> str:
        """The credential (JSON) answering creation `options` from a page at `origin`."""
        rp_id = options["publicKey"]["rp"]["id"]
        public_key = ES256.from_cryptography_key(self.key.public_key())
        attested = AttestedCredentialData.create(bytes(16), self.credential_id, public_key)
        flags = FLAGS | AuthenticatorData.FLAG.AT
        data = AuthenticatorData.create(_sha256(rp_id.encode()), flags, 0, attested)
        attestation = AttestationObject.create("none", data, {})
        client_data = _client_data("webauthn.create", options, origin)
        return self._credential(
            {
                "clientDataJSON": websafe_encode(client_data),
                "attestationObject": websafe_encode(bytes(attestation)),
            }
        )

    def assertion(self, options: dict, origin: str, user_handle: str | None = None) -> str:
        """The assertion (JSON) answering request `options` from a page at `origin`."""
        self.counter += 1
        rp_id = options["publicKey"]["rpId"]
        data = AuthenticatorData.create(_sha256(rp_id.encode()), FLAGS, self.counter)
        client_data = _client_data("webauthn.get", options, origin)
        signature = self.key.sign(bytes(data) + _sha256(client_data), ec.ECDSA(hashes.SHA256()))
        return self._credential(
            {
                "clientDataJSON": websafe_encode(client_data),
                "authenticatorData": websafe_encode(bytes(data)),
                "signature": websafe_encode(signature),
                "userHandle": user_handle,
            }
        )
