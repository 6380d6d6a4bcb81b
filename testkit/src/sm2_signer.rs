//! A test signer for SM2 (GB/T 32918.2): RustCrypto's `sm2`, deterministic by seed, with the
//! key as the reference block format carries it (`x ‖ y`).
//!
//! Signing is RustCrypto's, not this workspace's, so the blocks the kit generates test the
//! library's verifier against an independent implementation. Test traffic only: seeds are
//! predictable.
#![forbid(unsafe_code)]

use sm2::dsa::signature::Signer;

/// The default user ID (GB/T 32918.5 and every chain that uses SM2).
const DEFAULT_ID: &str = "1234567812345678";

/// An SM2 signing key for generating test traffic: signs with the default user ID and
/// RFC 6979 nonces (the same key and message give the same signature).
#[derive(Clone)]
pub struct Sm2SigningKey {
    key: sm2::dsa::SigningKey,
    public: [u8; 64],
}

impl std::fmt::Debug for Sm2SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sm2SigningKey")
            .field("public", &hex::encode(self.public))
            .finish_non_exhaustive()
    }
}

impl Sm2SigningKey {
    /// A key from 32 seed bytes: the seed itself as the secret scalar when it lies in
    /// [1, n − 1] (all but about 2⁻³² of seeds), else the SM3 hash of the seed, rehashed until
    /// it does. One scalar multiplication (the public key) and one SM3 (`Z_A`).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        use sm3::Digest;
        let mut secret = *seed;
        let key = loop {
            if let Ok(sk) = sm2::SecretKey::from_slice(&secret)
                && let Ok(key) = sm2::dsa::SigningKey::new(DEFAULT_ID, &sk)
            {
                break key;
            }
            secret = sm3::Sm3::digest(secret).into();
        };
        let sec1 = key.verifying_key().to_sec1_bytes();
        let public: [u8; 64] = match &sec1[..] {
            [0x04, xy @ ..] => xy.try_into().expect("an uncompressed key is 65 bytes"),
            _ => unreachable!("RustCrypto sm2 writes keys uncompressed"),
        };
        Sm2SigningKey { key, public }
    }

    /// The public key `x ‖ y` (32 bytes each, big-endian), as a block record carries it.
    pub fn public_key(&self) -> [u8; 64] {
        self.public
    }

    /// Signs `message` with the default user ID: `r ‖ s`, 32 bytes each, big-endian. A block
    /// record's issuer signs the SM3 hash of the record's signed message
    /// ([`blockverify::block::RecordView::message_sm3`]).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let signature: sm2::dsa::Signature = self.key.sign(message);
        signature.to_bytes().into()
    }
}
