//! Cryptography for Atalaya nodes: canonical JSON, node keys, envelope signatures, signed
//! node-to-node HTTP requests and sealed (encrypted) bodies.
//!
//! No I/O except key files and no clock; times are passed in as unix seconds and randomness
//! as `&mut impl CryptoRngCore` (except inside the `age` crate, which draws the file key and
//! ephemeral secrets of a sealed body from the OS).
//!
//! # Wire format (for other implementations)
//!
//! * **Canonical JSON** ([`canonical`]): RFC 8785 (JCS). Members sorted by UTF-16 code units of
//!   their keys; strings escape only `"`, `\` and U+0000..U+001F (`\b \t \n \f \r`, otherwise
//!   `\u00xx` in lowercase hex); numbers printed like ECMAScript `Number.prototype.toString`
//!   (`-0` as `0`). Integers beyond ±2^53 are refused unless the IEEE double they round to prints
//!   back as the same digits (so nothing is silently rounded).
//! * **Keys** ([`keys`]): Ed25519 for signatures, X25519 for sealing. Public keys travel as
//!   standard base64 *with* padding of the 32 raw bytes. A key id is the lowercase hex of the
//!   first 8 bytes of SHA-256 of the raw Ed25519 public key (16 characters). Secret key files
//!   hold one line, `ed25519-secret:<base64>\n` or `x25519-secret:<base64>\n`, mode 0600.
//! * **Envelope signatures** ([`envelope`]): member `"sig": {"alg": "ed25519", "key": <key_ref>,
//!   "value": <standard base64 of the 64-byte signature>}`, exactly these three members. The
//!   signature is pure Ed25519 (no prehash) over the canonical JSON of the envelope object with
//!   `"sig"` removed; `sig` itself (including `key`) is not signed. Verification is
//!   `verify_strict` (rejects small-order keys and non-canonical signatures).
//! * **HTTP requests** ([`httpsig`]): RFC 9421 signature labelled `atalaya` covering
//!   `("@method" "@authority" "@path" "@query")` plus `"content-digest"` when there is a body,
//!   with parameters `;created=<unix s>;keyid="<key_ref>";alg="ed25519";nonce="<base64url of 16
//!   random bytes, no padding>"`. `@authority` is lowercased, `@query` is `?` plus the query (just
//!   `?` when absent). `Content-Digest` is RFC 9530 `sha-256=:<standard base64>:` and must
//!   match exactly (only the `sha-256` member, nothing else). A receiver verifies the
//!   signature over the request line and headers first ([`verify_request_head`], the headers
//!   parsed as RFC 8941 structured fields by the `sfv` crate), then streams the body through a
//!   [`DigestCheck`], so an unsigned body is never read. The signature base is the RFC 9421
//!   §2.5 one: `"<name>": <value>` lines, then `"@signature-params": <inner list and params>`,
//!   joined by `\n` with no trailing newline. The `Signature` value is `atalaya=:<base64>:`.
//!   Verifiers accept components and parameters in any order (the base follows the received
//!   order, re-serialized per RFC 8941) and ignore other labels, but reject unknown components
//!   or parameters. `keyid` must be printable ASCII.
//! * **Sealed bodies** ([`seal`](mod@seal)): binary age v1 files
//!   (<https://age-encryption.org/v1>, made and read by the `age` crate) with one native
//!   `X25519` stanza per recipient node's sealing key, padded with stanzas for throwaway keys
//!   ([`seal_padded`]), so any age implementation opens them. Sealing keys as age strings: `age1...`
//!   (Bech32, HRP `age`) for the public key and `AGE-SECRET-KEY-1...` for the secret. Sealed
//!   files are limited to 16 MiB.
//! * **OpenPGP** ([`openpgp`], on the `pgp` crate): a strict reader of a team's transferable
//!   public key (armoured or binary, at most 64 KiB) giving its fingerprint, algorithm, expiry,
//!   user ids, revocation and subkeys with what each may do, every self-signature and subkey
//!   binding verified for every algorithm (RSA under 2048 bits refused); and the Ed25519 key
//!   that signs the node's CSAF documents (detached, armoured `.asc` signatures).

pub mod canonical;
pub mod envelope;
pub mod httpsig;
pub mod keys;
pub mod openpgp;
pub mod password;
pub mod seal;
pub mod totp;

pub use canonical::{CanonicalError, canonicalize};
pub use envelope::{SignError, VerifyError, sign_envelope, signature_key_ref, verify_envelope};
pub use httpsig::{
    BodyDigest, DigestCheck, IncomingSignature, RequestHead, RequestParts, RequestSigError,
    SignatureHeaders, VerifiedRequest, content_digest, sign_request, verify_request,
    verify_request_head,
};
pub use keys::{
    KeyError, NodeKeys, PublicSealingKey, PublicSigningKey, check_secret_file_permissions,
};
pub use openpgp::{
    EncryptionState, OpenPgpError, OpenPgpKey, OpenPgpSigner, OpenPgpSubkey, parse_public_key,
};
pub use seal::{MAX_SEALED_LEN, SealError, age_identity_string, open, seal, seal_padded};
