//! `tls_private_key` of Terraform's tls provider: a key pair made once at
//! create and kept in state (every argument replaces it), in the provider's
//! encodings: PEM (PKCS#1 for RSA, SEC1 for ECDSA, PKCS#8 for ED25519),
//! PKCS#8, the public key as PEM and in OpenSSH's `authorized_keys` form,
//! the private key in OpenSSH's own format (`openssh-key-v1`, unencrypted),
//! and the OpenSSH MD5 and SHA256 fingerprints. The DER and PEM come from
//! the RustCrypto crates; the OpenSSH formats are written here (they are a
//! few length-prefixed fields, RFC 4251 §5). Randomness is the operating
//! system's (`getrandom`).

use std::collections::BTreeMap;

use base64ct::{Base64, Base64Unpadded, Encoding};
use md5::{Digest, Md5};
use pem_rfc7468::LineEnding;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use stackd_spec::schema::{AttrSchema, AttrType, Check, ResourceSchema};
use stackd_spec::Value;

/// The algorithms the tls provider offers.
const ALGORITHMS: [&str; 3] = ["RSA", "ECDSA", "ED25519"];
/// The curves the tls provider offers. stackd makes P256 and P384 keys;
/// P224 (the provider's default) and P521 are refused at create.
const CURVES: [&str; 4] = ["P224", "P256", "P384", "P521"];
/// The RSA sizes stackd makes (the `rsa` crate's bounds).
const RSA_BITS: std::ops::RangeInclusive<i64> = 1024..=8192;

/// The schemas of the types this module serves.
pub fn schemas() -> Vec<ResourceSchema> {
    vec![ResourceSchema::resource("tls_private_key")
        .attr(
            AttrSchema::required("algorithm", AttrType::String)
                .force_new()
                .check(Check::OneOf(ALGORITHMS.to_vec()))
                .doc("RSA, ECDSA or ED25519."),
        )
        .attr(
            AttrSchema::optional("rsa_bits", AttrType::Number)
                .default(2048)
                .force_new()
                .doc("When algorithm is RSA, the key's size in bits (default 2048; 1024 to 8192)."),
        )
        .attr(
            AttrSchema::optional("ecdsa_curve", AttrType::String)
                .default("P224")
                .force_new()
                .check(Check::OneOf(CURVES.to_vec()))
                .doc("When algorithm is ECDSA, the curve: P256 or P384 (the provider's default, P224, and P521 are not made by stackd)."),
        )
        .attr(
            AttrSchema::optional("openssh_comment", AttrType::String)
                .force_new()
                .doc("A comment for the OpenSSH forms of the key."),
        )
        .attr(
            AttrSchema::computed("private_key_pem", AttrType::String)
                .sensitive()
                .doc("The private key in PEM (PKCS#1 for RSA, SEC1 for ECDSA, PKCS#8 for ED25519)."),
        )
        .attr(
            AttrSchema::computed("private_key_openssh", AttrType::String)
                .sensitive()
                .doc("The private key in OpenSSH's format."),
        )
        .attr(
            AttrSchema::computed("private_key_pem_pkcs8", AttrType::String)
                .sensitive()
                .doc("The private key in PKCS#8 PEM."),
        )
        .attr(
            AttrSchema::computed("public_key_pem", AttrType::String)
                .doc("The public key in PEM (a SubjectPublicKeyInfo), ending with a newline."),
        )
        .attr(
            AttrSchema::computed("public_key_openssh", AttrType::String)
                .doc("The public key in authorized_keys form, ending with a newline (aws_key_pair's public_key)."),
        )
        .attr(
            AttrSchema::computed("public_key_fingerprint_md5", AttrType::String)
                .doc("The OpenSSH MD5 fingerprint, aa:bb:cc:..."),
        )
        .attr(
            AttrSchema::computed("public_key_fingerprint_sha256", AttrType::String)
                .doc("The OpenSSH SHA256 fingerprint, SHA256:..."),
        )
        .doc("A private key made once and kept in state (sensitive), with its public key in PEM and OpenSSH forms. Any argument change replaces it.")]
}

/// True when this module serves `type_name`.
pub fn serves(type_name: &str) -> bool {
    type_name == "tls_private_key"
}

/// A key of one of the supported kinds.
enum Key {
    Rsa(Box<rsa::PrivateKey>),
    P256(p256::SecretKey),
    P384(p384::SecretKey),
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

/// The attributes of a new key for `desired`, or why not.
pub fn create(desired: &Value) -> Result<Value, String> {
    let Value::Map(args) = desired else {
        return Err("the arguments are not an object".into());
    };
    let key = generate(args)?;
    let comment = args
        .get("openssh_comment")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = args.clone();
    out.extend(encode(&key, comment, os_random_u32()?)?);
    Ok(Value::Map(out))
}

/// The kind of key the arguments ask for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Rsa(usize),
    P256,
    P384,
    Ed25519,
}

/// Reads the arguments, or says why no key can be made for them.
fn kind(args: &BTreeMap<String, Value>) -> Result<Kind, String> {
    let algorithm = args.get("algorithm").and_then(Value::as_str).unwrap_or("");
    match algorithm {
        "RSA" => {
            let bits = args
                .get("rsa_bits")
                .and_then(Value::as_f64)
                .unwrap_or(2048.0);
            if bits.fract() != 0.0 || !RSA_BITS.contains(&(bits as i64)) {
                return Err(format!(
                    "rsa_bits must be a whole number from {} to {}, got {bits}",
                    RSA_BITS.start(),
                    RSA_BITS.end()
                ));
            }
            Ok(Kind::Rsa(bits as usize))
        }
        "ECDSA" => {
            let curve = args
                .get("ecdsa_curve")
                .and_then(Value::as_str)
                .unwrap_or("P224");
            match curve {
                "P256" => Ok(Kind::P256),
                "P384" => Ok(Kind::P384),
                "P224" | "P521" => Err(format!(
                    "ecdsa_curve {curve} is not supported by stackd (P224 is the tls provider's \
                     default when ecdsa_curve is not set); set ecdsa_curve = \"P256\" or \"P384\""
                )),
                other => Err(format!(
                    "ecdsa_curve {other:?} is not a curve; use \"P256\" or \"P384\""
                )),
            }
        }
        "ED25519" => Ok(Kind::Ed25519),
        other => Err(format!(
            "algorithm {other:?} is not supported; use one of {}",
            ALGORITHMS.join(", ")
        )),
    }
}

/// Why a create with the planned arguments `desired` would fail, for a dry
/// run; `None` when it would not, or when that is not known before apply.
pub fn refusal(desired: &Value) -> Option<String> {
    let args = desired.as_map()?;
    let relevant = ["algorithm", "rsa_bits", "ecdsa_curve"];
    if relevant
        .iter()
        .any(|a| args.get(*a).is_some_and(Value::is_unknown))
    {
        return None;
    }
    kind(args).err()
}

/// Makes the key the arguments ask for.
fn generate(args: &BTreeMap<String, Value>) -> Result<Key, String> {
    match kind(args)? {
        Kind::Rsa(bits) => {
            let key = rsa::PrivateKey::new(&mut getrandom::SysRng, bits)
                .map_err(|e| format!("cannot make an RSA key of {bits} bits: {e}"))?;
            Ok(Key::Rsa(Box::new(key)))
        }
        Kind::P256 => Ok(Key::P256(ec_secret(32, |b| {
            p256::SecretKey::from_slice(b).ok()
        })?)),
        Kind::P384 => Ok(Key::P384(ec_secret(48, |b| {
            p384::SecretKey::from_slice(b).ok()
        })?)),
        Kind::Ed25519 => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed)
                .map_err(|e| format!("cannot read the operating system's randomness: {e}"))?;
            Ok(Key::Ed25519(Box::new(
                ed25519_dalek::SigningKey::from_bytes(&seed),
            )))
        }
    }
}

/// A random scalar of `len` bytes, drawn again in the (vanishingly rare)
/// case it is zero or not below the curve's order.
fn ec_secret<K>(len: usize, make: impl Fn(&[u8]) -> Option<K>) -> Result<K, String> {
    let mut bytes = vec![0u8; len];
    for _ in 0..64 {
        getrandom::fill(&mut bytes)
            .map_err(|e| format!("cannot read the operating system's randomness: {e}"))?;
        if let Some(k) = make(&bytes) {
            return Ok(k);
        }
    }
    Err("cannot draw a valid ECDSA scalar".into())
}

fn os_random_u32() -> Result<u32, String> {
    getrandom::u32().map_err(|e| format!("cannot read the operating system's randomness: {e}"))
}

/// Every computed attribute of `key`. `check` is the OpenSSH private
/// key's check number (random in real use, fixed in tests).
fn encode(key: &Key, comment: &str, check: u32) -> Result<BTreeMap<String, Value>, String> {
    let (private_pem, pkcs8_der, public_der) = match key {
        Key::Rsa(k) => (
            k.to_pkcs1_pem(LineEnding::LF)
                .map_err(|e| encoding_error("PKCS#1", e))?
                .to_string(),
            k.to_pkcs8_der()
                .map_err(|e| encoding_error("PKCS#8", e))?
                .as_bytes()
                .to_vec(),
            k.to_public_key()
                .to_public_key_der()
                .map_err(|e| encoding_error("a public key", e))?
                .into_vec(),
        ),
        Key::P256(k) => (
            k.to_sec1_pem(LineEnding::LF)
                .map_err(|e| encoding_error("SEC1", e))?
                .to_string(),
            k.to_pkcs8_der()
                .map_err(|e| encoding_error("PKCS#8", e))?
                .as_bytes()
                .to_vec(),
            k.public_key()
                .to_public_key_der()
                .map_err(|e| encoding_error("a public key", e))?
                .into_vec(),
        ),
        Key::P384(k) => (
            k.to_sec1_pem(LineEnding::LF)
                .map_err(|e| encoding_error("SEC1", e))?
                .to_string(),
            k.to_pkcs8_der()
                .map_err(|e| encoding_error("PKCS#8", e))?
                .as_bytes()
                .to_vec(),
            k.public_key()
                .to_public_key_der()
                .map_err(|e| encoding_error("a public key", e))?
                .into_vec(),
        ),
        Key::Ed25519(k) => {
            let pkcs8 = [ED25519_PKCS8_PREFIX.as_slice(), &k.to_bytes()].concat();
            let spki = [
                ED25519_SPKI_PREFIX.as_slice(),
                &k.verifying_key().to_bytes(),
            ]
            .concat();
            (pem("PRIVATE KEY", &pkcs8)?, pkcs8, spki)
        }
    };
    let ssh = openssh(key)?;
    let public_openssh = if comment.is_empty() {
        format!("{} {}\n", ssh.key_type, Base64::encode_string(&ssh.public))
    } else {
        format!(
            "{} {} {comment}\n",
            ssh.key_type,
            Base64::encode_string(&ssh.public)
        )
    };
    let md5: Vec<String> = Md5::digest(&ssh.public)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let sha256 = sha2::Sha256::digest(&ssh.public);
    let private_openssh = pem(
        "OPENSSH PRIVATE KEY",
        &openssh_private_key(&ssh, comment, check),
    )?;
    let id = crate::hex(&sha1::Sha1::digest(&public_der));
    Ok(BTreeMap::from([
        ("id".to_string(), Value::from(id)),
        ("private_key_pem".to_string(), Value::from(private_pem)),
        (
            "private_key_pem_pkcs8".to_string(),
            Value::from(pem("PRIVATE KEY", &pkcs8_der)?),
        ),
        (
            "private_key_openssh".to_string(),
            Value::from(private_openssh),
        ),
        (
            "public_key_pem".to_string(),
            Value::from(pem("PUBLIC KEY", &public_der)?),
        ),
        (
            "public_key_openssh".to_string(),
            Value::from(public_openssh),
        ),
        (
            "public_key_fingerprint_md5".to_string(),
            Value::from(md5.join(":")),
        ),
        (
            "public_key_fingerprint_sha256".to_string(),
            Value::from(format!("SHA256:{}", Base64Unpadded::encode_string(&sha256))),
        ),
    ]))
}

fn encoding_error(what: &str, e: impl std::fmt::Display) -> String {
    format!("cannot encode the key as {what}: {e}")
}

/// PKCS#8 `PrivateKeyInfo` for an Ed25519 seed (RFC 8410 §7): version 0,
/// algorithm 1.3.101.112, the seed as an OCTET STRING inside the key's
/// OCTET STRING; followed by the 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// `SubjectPublicKeyInfo` for an Ed25519 key (RFC 8410 §4); followed by the
/// 32-byte public key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// PEM as Go's `pem.EncodeToMemory` writes it: 64-character lines, `\n`,
/// a newline after the last line.
fn pem(label: &str, der: &[u8]) -> Result<String, String> {
    pem_rfc7468::encode_string(label, LineEnding::LF, der)
        .map_err(|e| format!("cannot encode {label} as PEM: {e}"))
}

/// A key in the SSH wire format (RFC 4251 §5, RFC 4253 §6.6, RFC 5656,
/// RFC 8709).
struct SshKey {
    /// `ssh-rsa`, `ecdsa-sha2-nistp256`, ...
    key_type: &'static str,
    /// The public key blob (what `authorized_keys` holds in base64 and the
    /// fingerprints hash).
    public: Vec<u8>,
    /// The private fields that follow the key type in an
    /// `openssh-key-v1` file, without the comment.
    private: Vec<u8>,
}

fn openssh(key: &Key) -> Result<SshKey, String> {
    let mut public = Vec::new();
    let mut private = Vec::new();
    let key_type = match key {
        Key::Rsa(k) => {
            let (n, e) = (k.n().to_be_bytes(), k.e().to_be_bytes());
            let [p, q] = k.primes() else {
                return Err("an RSA key of more than two primes".into());
            };
            let iqmp = k
                .crt_coefficient()
                .ok_or("the RSA key has no CRT coefficient")?;
            put_string(&mut public, b"ssh-rsa");
            put_mpint(&mut public, &e);
            put_mpint(&mut public, &n);
            // The private fields give n before e (the public blob is e, n).
            put_mpint(&mut private, &n);
            put_mpint(&mut private, &e);
            put_mpint(&mut private, &k.d().to_be_bytes());
            put_mpint(&mut private, &iqmp.to_be_bytes());
            put_mpint(&mut private, &p.as_ref().to_be_bytes());
            put_mpint(&mut private, &q.as_ref().to_be_bytes());
            "ssh-rsa"
        }
        Key::P256(k) => {
            use p256::elliptic_curve::sec1::ToSec1Point;
            let point = k.public_key().to_sec1_point(false);
            ecdsa_fields(
                &mut public,
                &mut private,
                "nistp256",
                point.as_bytes(),
                &k.to_bytes(),
            );
            "ecdsa-sha2-nistp256"
        }
        Key::P384(k) => {
            use p384::elliptic_curve::sec1::ToSec1Point;
            let point = k.public_key().to_sec1_point(false);
            ecdsa_fields(
                &mut public,
                &mut private,
                "nistp384",
                point.as_bytes(),
                &k.to_bytes(),
            );
            "ecdsa-sha2-nistp384"
        }
        Key::Ed25519(k) => {
            let pk = k.verifying_key().to_bytes();
            put_string(&mut public, b"ssh-ed25519");
            put_string(&mut public, &pk);
            put_string(&mut private, &pk);
            // OpenSSH's "private key" is the seed followed by the public key.
            put_string(&mut private, &[k.to_bytes().as_slice(), &pk].concat());
            "ssh-ed25519"
        }
    };
    Ok(SshKey {
        key_type,
        public,
        private,
    })
}

fn ecdsa_fields(
    public: &mut Vec<u8>,
    private: &mut Vec<u8>,
    curve: &str,
    point: &[u8],
    scalar: &[u8],
) {
    put_string(public, format!("ecdsa-sha2-{curve}").as_bytes());
    put_string(public, curve.as_bytes());
    put_string(public, point);
    put_string(private, curve.as_bytes());
    put_string(private, point);
    put_mpint(private, scalar);
}

/// An unencrypted `openssh-key-v1` file (OpenSSH's PROTOCOL.key), laid out
/// as Go's `ssh.MarshalPrivateKey` writes it.
fn openssh_private_key(key: &SshKey, comment: &str, check: u32) -> Vec<u8> {
    let mut block = Vec::new();
    put_u32(&mut block, check);
    put_u32(&mut block, check);
    put_string(&mut block, key.key_type.as_bytes());
    block.extend_from_slice(&key.private);
    put_string(&mut block, comment.as_bytes());
    // Padded to the cipher's block size (8 for "none") with 1, 2, 3, ...
    let mut pad = 1u8;
    while block.len() % 8 != 0 {
        block.push(pad);
        pad += 1;
    }
    let mut out = b"openssh-key-v1\0".to_vec();
    put_string(&mut out, b"none"); // cipher
    put_string(&mut out, b"none"); // KDF
    put_string(&mut out, b""); // KDF options
    put_u32(&mut out, 1); // number of keys
    put_string(&mut out, &key.public);
    put_string(&mut out, &block);
    out
}

fn put_u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&n.to_be_bytes());
}

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    // Every field here is a key part or a short name, far below 4 GiB.
    put_u32(out, u32::try_from(bytes.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(bytes);
}

/// A non-negative integer given big-endian: no leading zeros, and a zero
/// byte first when the top bit is set (so it does not read as negative).
fn put_mpint(out: &mut Vec<u8>, big_endian: &[u8]) {
    let start = big_endian
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(big_endian.len());
    let digits = &big_endian[start..];
    if digits.first().is_some_and(|b| b & 0x80 != 0) {
        put_string(out, &[&[0u8], digits].concat());
    } else {
        put_string(out, digits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, Value)]) -> Value {
        Value::map(pairs.iter().map(|(k, v)| (*k, v.clone())))
    }

    fn text<'a>(v: &'a BTreeMap<String, Value>, name: &str) -> &'a str {
        v.get(name)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{name} in {v:?}"))
    }

    /// A fixed Ed25519 key gives the encodings OpenSSL gives for it (the
    /// expected values come from `openssl pkey -pubout` on the PKCS#8 file
    /// below, the SSH blob and its hashes computed from that public key).
    #[test]
    fn a_fixed_ed25519_key_encodes_as_openssl_does() {
        let seed: [u8; 32] = core::array::from_fn(|i| i as u8);
        let key = Key::Ed25519(Box::new(ed25519_dalek::SigningKey::from_bytes(&seed)));
        let v = encode(&key, "", 0x0102_0304).expect("encodes");
        assert_eq!(
            text(&v, "private_key_pem"),
            "-----BEGIN PRIVATE KEY-----\n\
             MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n\
             -----END PRIVATE KEY-----\n"
        );
        assert_eq!(
            text(&v, "private_key_pem"),
            text(&v, "private_key_pem_pkcs8")
        );
        assert_eq!(
            text(&v, "public_key_pem"),
            "-----BEGIN PUBLIC KEY-----\n\
             MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n\
             -----END PUBLIC KEY-----\n"
        );
        assert_eq!(
            text(&v, "public_key_openssh"),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4\n"
        );
        assert_eq!(
            text(&v, "public_key_fingerprint_sha256"),
            "SHA256:lbmsoA0yIEcEiVDRnMWuzm+nV+3ZEEpVIURqFoeSspg"
        );
        assert_eq!(
            text(&v, "public_key_fingerprint_md5"),
            "f1:02:17:de:ef:c1:30:83:11:8b:82:a0:0e:67:7f:d5"
        );
        // The SHA-1 of the public key's DER.
        assert_eq!(text(&v, "id"), "22d48da9a3bcc0f93ee7897fc0dad9ff8d93cfca");
        // The same key, twice, gives the same values: nothing but the
        // OpenSSH check number is random, and it is fixed here.
        assert_eq!(encode(&key, "", 0x0102_0304).expect("encodes"), v);
    }

    /// The `openssh-key-v1` layout, field by field.
    #[test]
    fn the_openssh_private_key_is_laid_out_as_openssh_reads_it() {
        let seed = [7u8; 32];
        let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
        let pk = signing.verifying_key().to_bytes();
        let key = Key::Ed25519(Box::new(signing));
        let v = encode(&key, "me@host", 0xdead_beef).expect("encodes");
        let pem = text(&v, "private_key_openssh");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(pem.lines().all(|l| l.len() <= 64), "{pem}");
        let bytes = Base64::decode_vec(&body).expect("base64");
        let mut expected = b"openssh-key-v1\0".to_vec();
        for field in [&b"none"[..], b"none", b""] {
            put_string(&mut expected, field);
        }
        put_u32(&mut expected, 1);
        let mut blob = Vec::new();
        put_string(&mut blob, b"ssh-ed25519");
        put_string(&mut blob, &pk);
        put_string(&mut expected, &blob);
        let mut block = Vec::new();
        put_u32(&mut block, 0xdead_beef);
        put_u32(&mut block, 0xdead_beef);
        put_string(&mut block, b"ssh-ed25519");
        put_string(&mut block, &pk);
        put_string(&mut block, &[seed.as_slice(), &pk].concat());
        put_string(&mut block, b"me@host");
        // 4+4 + 4+11 + 4+32 + 4+64 + 4+7 = 138 bytes, padded to 144.
        block.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        put_string(&mut expected, &block);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn mpints_are_minimal_and_never_negative() {
        let mut out = Vec::new();
        put_mpint(&mut out, &[0, 0, 0x7f]);
        put_mpint(&mut out, &[0, 0x80, 1]);
        put_mpint(&mut out, &[0, 0]);
        assert_eq!(
            out,
            [
                &[0, 0, 0, 1, 0x7f][..],
                &[0, 0, 0, 3, 0, 0x80, 1],
                &[0, 0, 0, 0]
            ]
            .concat()
        );
    }

    #[test]
    fn ecdsa_keys_on_p256_and_p384() {
        for (curve, ssh_type, header) in [
            (
                "P256",
                "ecdsa-sha2-nistp256 ",
                "-----BEGIN EC PRIVATE KEY-----\n",
            ),
            (
                "P384",
                "ecdsa-sha2-nistp384 ",
                "-----BEGIN EC PRIVATE KEY-----\n",
            ),
        ] {
            let v = create(&args(&[
                ("algorithm", Value::from("ECDSA")),
                ("ecdsa_curve", Value::from(curve)),
                ("rsa_bits", Value::from(2048)),
            ]))
            .expect("creates");
            let v = v.as_map().expect("object");
            assert!(text(v, "public_key_openssh").starts_with(ssh_type), "{v:?}");
            assert!(text(v, "private_key_pem").starts_with(header));
            assert!(text(v, "private_key_pem_pkcs8").starts_with("-----BEGIN PRIVATE KEY-----\n"));
            assert!(text(v, "private_key_openssh").ends_with("-----END OPENSSH PRIVATE KEY-----\n"));
            assert!(text(v, "public_key_fingerprint_sha256").starts_with("SHA256:"));
            assert_eq!(text(v, "public_key_fingerprint_md5").len(), 47);
            // The arguments are kept, so the next plan finds no difference.
            assert_eq!(v.get("ecdsa_curve"), Some(&Value::from(curve)));
        }
    }

    #[test]
    fn every_key_is_new_and_the_comment_ends_the_public_line() {
        let make = || {
            create(&args(&[
                ("algorithm", Value::from("ED25519")),
                ("openssh_comment", Value::from("bastion")),
            ]))
            .expect("creates")
        };
        let (a, b) = (make(), make());
        assert_ne!(a.get("private_key_pem"), b.get("private_key_pem"));
        assert_ne!(a.get("id"), b.get("id"));
        let line = a
            .get("public_key_openssh")
            .and_then(Value::as_str)
            .expect("public key");
        assert!(
            line.starts_with("ssh-ed25519 ") && line.ends_with(" bastion\n"),
            "{line}"
        );
    }

    /// The one RSA key the tests make (RSA is the slow one: a 2048-bit key
    /// takes 0.1 to 1 s in a debug build, its prime search being random).
    #[test]
    fn an_rsa_2048_key_in_every_form() {
        let v = create(&args(&[
            ("algorithm", Value::from("RSA")),
            ("rsa_bits", Value::from(2048)),
        ]))
        .expect("creates");
        let v = v.as_map().expect("object");
        assert!(text(v, "private_key_pem").starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        assert!(text(v, "private_key_pem_pkcs8").starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let line = text(v, "public_key_openssh");
        // "ssh-rsa", e = 65537, then a 2048-bit n with a leading zero byte.
        assert!(
            line.starts_with("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ"),
            "{line}"
        );
        let pem = text(v, "public_key_pem");
        assert!(
            pem.starts_with(
                "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
            ),
            "{pem}"
        );
    }

    #[test]
    fn bad_arguments_are_refused_with_what_to_write() {
        let e = create(&args(&[("algorithm", Value::from("DSA"))])).expect_err("no DSA");
        assert!(
            e.contains("\"DSA\"") && e.contains("RSA, ECDSA, ED25519"),
            "{e}"
        );
        let e = create(&args(&[
            ("algorithm", Value::from("ECDSA")),
            ("ecdsa_curve", Value::from("P224")),
        ]))
        .expect_err("no P224");
        assert!(
            e.contains("P224") && e.contains("ecdsa_curve = \"P256\""),
            "{e}"
        );
        let e = create(&args(&[
            ("algorithm", Value::from("RSA")),
            ("rsa_bits", Value::from(512)),
        ]))
        .expect_err("too small");
        assert!(e.contains("rsa_bits must be"), "{e}");
        assert!(create(&Value::Null).is_err());
    }

    #[test]
    fn a_dry_run_finds_a_refused_curve_without_making_a_key() {
        let planned = |curve: Value| {
            refusal(&args(&[
                ("algorithm", Value::from("ECDSA")),
                ("ecdsa_curve", curve),
            ]))
        };
        assert!(planned(Value::from("P224")).is_some_and(|e| e.contains("P224")));
        assert_eq!(planned(Value::from("P384")), None);
        assert_eq!(planned(Value::Unknown), None, "not known before apply");
    }
}
