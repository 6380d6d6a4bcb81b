//! Synthetic signed traffic for the demo, the benchmarks and the tests.
//!
//! Records are signed with a small RFC 8032 signer ([`SigningKey`]), deterministic by seed
//! (ChaCha20), with issuers drawn from a Zipf-like distribution as in ledger traffic (a few
//! issuers sign most records). Not meant for protecting real keys: the signer is not
//! constant-time hardened beyond what curve25519-dalek provides, and seeds are predictable.
#![forbid(unsafe_code)]

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use rand::rngs::ChaCha20Rng;
use rand::{Rng, RngExt, SeedableRng};
use sha2::{Digest, Sha512};

use blockverify::SigItem;

/// An Ed25519 signing key (RFC 8032 §5.1.5–5.1.6), for generating test traffic.
#[derive(Clone)]
pub struct SigningKey {
    scalar: Scalar,
    prefix: [u8; 32],
    public: [u8; 32],
}

impl SigningKey {
    /// Expands a 32-byte RFC 8032 secret key.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let h: [u8; 64] = Sha512::digest(seed).into();
        let mut a = [0u8; 32];
        a.copy_from_slice(&h[..32]);
        a[0] &= 248;
        a[31] &= 127;
        a[31] |= 64;
        // [a]B = [a mod L]B because B has order L.
        let scalar = Scalar::from_bytes_mod_order(a);
        let mut prefix = [0u8; 32];
        prefix.copy_from_slice(&h[32..]);
        let public = EdwardsPoint::mul_base(&scalar).compress().0;
        SigningKey {
            scalar,
            prefix,
            public,
        }
    }

    /// The secret scalar `a mod L` (little-endian), so tests can hand-build signatures over
    /// altered keys and nonces. Test traffic only: never expose a real key's scalar.
    pub fn secret_scalar_bytes(&self) -> [u8; 32] {
        self.scalar.to_bytes()
    }

    /// The public key `A`.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// Signs `message` (pure Ed25519, no context).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let r = hash_to_scalar(&[&self.prefix, message]);
        let big_r = EdwardsPoint::mul_base(&r).compress().0;
        let k = hash_to_scalar(&[&big_r, &self.public, message]);
        let s = r + k * self.scalar;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&big_r);
        sig[32..].copy_from_slice(s.as_bytes());
        sig
    }
}

fn hash_to_scalar(parts: &[&[u8]]) -> Scalar {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// How an invalid item of a workload was made invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Corruption {
    /// One message bit flipped after signing: every encoding stays valid, only the equation
    /// fails — the most expensive kind of bad signature to find.
    TamperedMessage,
}

/// Where the corrupted records of a workload sit.
///
/// A verifier that searches a failing batch for its bad items may cost differently when they
/// are spread out than when they arrive together (one issuer's broken batch, or an attacker's
/// choice), so the benchmarks measure both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum InvalidPlacement {
    /// Each record independently, with probability `invalid_fraction` (what
    /// [`Workload::generate`] does).
    #[default]
    Scattered,
    /// One contiguous run of `round(invalid_fraction * items)` records, starting at an offset
    /// drawn from the seed (so it rarely lines up with any chunk boundary of a verifier).
    OneRun,
}

/// Parameters of a synthetic signature workload.
#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    /// Number of signed records.
    pub items: usize,
    /// Number of distinct issuers; `0` means every record has its own key.
    pub issuers: usize,
    /// Message length in bytes.
    pub message_len: usize,
    /// Fraction of records, in `[0, 1]`, corrupted after signing.
    pub invalid_fraction: f64,
    /// Seed: the same spec gives the same bytes.
    pub seed: u64,
}

/// A generated batch of signed records, owning its bytes.
pub struct Workload {
    /// Per-item public key.
    pub keys: Vec<[u8; 32]>,
    /// Per-item signature.
    pub signatures: Vec<[u8; 64]>,
    /// All messages, concatenated; item `i` is `messages[i*len..(i+1)*len]`.
    pub messages: Vec<u8>,
    /// Message length.
    pub message_len: usize,
    /// Indices of the corrupted items, ascending.
    pub corrupted: Vec<usize>,
}

impl Workload {
    /// Generates the records of `spec`, signing on the calling thread's rayon pool; the
    /// corrupted records are [scattered](InvalidPlacement::Scattered).
    pub fn generate(spec: &WorkloadSpec) -> Workload {
        Self::generate_with_placement(spec, InvalidPlacement::Scattered)
    }

    /// [`generate`](Self::generate) with the corrupted records placed as `placement` says.
    /// [`InvalidPlacement::Scattered`] gives the same bytes as `generate` for the same spec.
    ///
    /// A separate entry point rather than a field of [`WorkloadSpec`], so that the specs
    /// written across the workspace (the library's own tests among them) stay as they are.
    pub fn generate_with_placement(spec: &WorkloadSpec, placement: InvalidPlacement) -> Workload {
        use rayon::prelude::*;
        let mut rng = ChaCha20Rng::seed_from_u64(spec.seed);
        let n_keys = if spec.issuers == 0 {
            spec.items
        } else {
            spec.issuers
        };
        let seeds: Vec<[u8; 32]> = (0..n_keys).map(|_| rng.random()).collect();
        let signers: Vec<SigningKey> = seeds.par_iter().map(SigningKey::from_seed).collect();
        let zipf = ZipfTable::new(n_keys);
        let issuer_of: Vec<usize> = (0..spec.items)
            .map(|i| {
                if spec.issuers == 0 {
                    i
                } else {
                    zipf.sample(&mut rng)
                }
            })
            .collect();
        let mut messages = vec![0u8; spec.items * spec.message_len];
        rng.fill_bytes(&mut messages);
        let len = spec.message_len;
        let signatures: Vec<[u8; 64]> = issuer_of
            .par_iter()
            .enumerate()
            .map(|(i, &j)| signers[j].sign(&messages[i * len..(i + 1) * len]))
            .collect();
        let keys = issuer_of.iter().map(|&j| signers[j].public).collect();
        let fraction = spec.invalid_fraction.clamp(0.0, 1.0);
        let corrupted: Vec<usize> = match placement {
            InvalidPlacement::Scattered => (0..spec.items)
                .filter(|_| rng.random::<f64>() < fraction)
                .collect(),
            InvalidPlacement::OneRun => {
                let run = ((fraction * spec.items as f64).round() as usize).min(spec.items);
                let start = rng.random_range(0..=spec.items - run);
                (start..start + run).collect()
            }
        };
        for &i in &corrupted {
            if len == 0 {
                continue;
            }
            let bit = rng.random_range(0..len * 8);
            messages[i * len + bit / 8] ^= 1 << (bit % 8);
        }
        // An empty message cannot be tampered with: corrupt its S instead (still an
        // equation failure, S stays canonical because the top byte is untouched).
        let mut signatures = signatures;
        if len == 0 {
            for &i in &corrupted {
                signatures[i][32] ^= 1;
            }
        }
        Workload {
            keys,
            signatures,
            messages,
            message_len: len,
            corrupted,
        }
    }

    /// Borrowed items for [`Verifier::verify_signatures`](blockverify::Verifier::verify_signatures).
    pub fn items(&self) -> Vec<SigItem<'_>> {
        let len = self.message_len;
        (0..self.keys.len())
            .map(|i| {
                SigItem::new(
                    &self.keys[i],
                    &self.signatures[i],
                    &self.messages[i * len..(i + 1) * len],
                )
            })
            .collect()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// `true` when there are no records.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Samples issuer `j` with probability proportional to `1 / (j + 1)`.
pub(crate) struct ZipfTable {
    cumulative: Vec<f64>,
}

impl ZipfTable {
    pub(crate) fn new(n: usize) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|j| {
                total += 1.0 / (j as f64 + 1.0);
                total
            })
            .collect();
        ZipfTable { cumulative }
    }

    pub(crate) fn sample(&self, rng: &mut impl RngExt) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len().saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blockverify::{Policy, verify_single};

    /// A run is `round(fraction * items)` consecutive records, and exactly those fail.
    #[test]
    fn one_run_corrupts_consecutive_records_and_only_them() {
        for (fraction, run) in [(0.0, 0), (0.01, 10), (0.5, 500), (1.0, 1000)] {
            let spec = WorkloadSpec {
                items: 1000,
                issuers: 8,
                message_len: 32,
                invalid_fraction: fraction,
                seed: 21,
            };
            let traffic = Workload::generate_with_placement(&spec, InvalidPlacement::OneRun);
            let c = &traffic.corrupted;
            assert_eq!(c.len(), run, "{fraction}");
            assert!(c.windows(2).all(|w| w[1] == w[0] + 1), "{fraction}");
            for (i, item) in traffic.items().iter().enumerate() {
                let bad = c.binary_search(&i).is_ok();
                assert_eq!(verify_single(Policy::Zip215, item).is_valid(), !bad, "{i}");
            }
        }
    }
}
