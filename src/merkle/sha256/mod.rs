//! Multi-buffer SHA-256: many independent messages hashed at once.
//!
//! A Merkle level is thousands of independent 64- or 65-byte messages, which is the one shape
//! where SHA-256 can run near the hardware's throughput instead of its latency: a single
//! message's compression is a chain of dependent rounds, but several messages' chains can be
//! interleaved (SHA-NI) or laid side by side in vector lanes (AVX2 8 lanes, AVX-512 16).
//!
//! Dispatch follows BLAKE3's `Platform`: one enum, detected once ([`Platform::detect`]), with an
//! explicit constructor per path ([`Platform::sha_ni`], [`Platform::avx512`], …) so tests and
//! benchmarks can force each one. A SIMD path carries a zero-sized token that only its
//! module's run-time detection makes; the kernels take that token, so the `unsafe` calls
//! into `#[target_feature]` code are sound by construction, not by a `debug_assert!`. Every kernel implements the same function,
//! `compress(states, blocks)`; everything above it (padding, the Merkle node layouts, lane
//! scheduling) is shared, so a kernel cannot get padding wrong on its own. [`Platform::portable`]
//! is the reference; the `sha2` crate is the independent oracle in the tests.
//!
//! Which path `detect` picks was decided by measurement on the reference machine (Intel Xeon,
//! Ice Lake class, SHA-NI + AVX-512; `cargo bench --bench merkle`, BENCHMARKS.md): see
//! [`Platform::detect`].

mod lanes;
mod portable;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod shani;

use std::sync::OnceLock;

use super::simd::{Blocks, LaneKernel, LaneStates, MAX_LANES, hash_padded_into, state_bytes};
#[cfg(target_arch = "x86_64")]
use super::simd::{avx2::Token as Avx2Token, avx512::Token as Avx512Token};

/// SHA-256 initial hash value (FIPS 180-4 §5.3.3).
pub(crate) const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// SHA-256 round constants (FIPS 180-4 §4.2.2).
const K256: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// A SHA-256 implementation this CPU can run.
///
/// Every path computes exactly SHA-256; they differ only in speed. Get one from
/// [`Platform::detect`] (the fastest here) or force a path with its constructor, which
/// returns `None` where the CPU lacks the instructions. The type is opaque: a SIMD path holds
/// a token that only run-time detection makes, so safe code (inside this crate or outside it)
/// cannot name a path this CPU cannot run.
///
/// ```compile_fail
/// // No variant to name: a path comes only from detection.
/// let forged = blockverify::merkle::sha256::Platform::Avx512;
/// ```
///
/// ```compile_fail
/// // No constructor from parts either.
/// let forged = blockverify::merkle::sha256::Platform(Default::default());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Platform(Path);

/// The paths, each SIMD one carrying its module's detection token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Path {
    Portable,
    #[cfg(target_arch = "x86_64")]
    ShaNi(shani::Token),
    #[cfg(target_arch = "x86_64")]
    Avx2(Avx2Token),
    #[cfg(target_arch = "x86_64")]
    Avx512(Avx512Token),
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Platform({})", self.name())
    }
}

impl Platform {
    /// The fastest path on this CPU, detected once per process.
    ///
    /// Preference, from measurement on the reference machine (BENCHMARKS.md): AVX-512 first
    /// (16 lanes beat two interleaved SHA-NI streams on Merkle levels), then SHA-NI, then
    /// AVX2, then portable. Small remainders that would leave most vector lanes empty go to
    /// SHA-NI when present.
    pub fn detect() -> Platform {
        static DETECTED: OnceLock<Platform> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            Platform::avx512()
                .or_else(Platform::sha_ni)
                .or_else(Platform::avx2)
                .unwrap_or(Platform::portable())
        })
    }

    /// The portable reference path (always available).
    pub fn portable() -> Platform {
        Platform(Path::Portable)
    }

    /// The SHA-NI path, if this CPU has the SHA extensions (and SSE4.1).
    pub fn sha_ni() -> Option<Platform> {
        #[cfg(target_arch = "x86_64")]
        if let Some(token) = shani::Token::detect() {
            return Some(Platform(Path::ShaNi(token)));
        }
        None
    }

    /// The AVX2 path, if this CPU has AVX2.
    pub fn avx2() -> Option<Platform> {
        #[cfg(target_arch = "x86_64")]
        if let Some(token) = Avx2Token::detect() {
            return Some(Platform(Path::Avx2(token)));
        }
        None
    }

    /// The AVX-512 path, if this CPU has AVX-512 F and BW.
    pub fn avx512() -> Option<Platform> {
        #[cfg(target_arch = "x86_64")]
        if let Some(token) = Avx512Token::detect() {
            return Some(Platform(Path::Avx512(token)));
        }
        None
    }

    /// Every path this CPU can run, portable first.
    pub fn available() -> Vec<Platform> {
        [
            Some(Platform::portable()),
            Platform::sha_ni(),
            Platform::avx2(),
            Platform::avx512(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Parses a path name as printed by [`Platform::name`]; `None` if unknown or unavailable.
    pub fn from_name(name: &str) -> Option<Platform> {
        Platform::available().into_iter().find(|p| p.name() == name)
    }

    /// A short lowercase name: `portable`, `sha-ni`, `avx2`, `avx512`.
    pub fn name(self) -> &'static str {
        match self.0 {
            Path::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            Path::ShaNi(_) => "sha-ni",
            #[cfg(target_arch = "x86_64")]
            Path::Avx2(_) => "avx2",
            #[cfg(target_arch = "x86_64")]
            Path::Avx512(_) => "avx512",
        }
    }

    /// Whether this is the portable reference path.
    pub fn is_portable(self) -> bool {
        self.0 == Path::Portable
    }

    /// Messages this path hashes side by side.
    pub fn lanes(self) -> usize {
        self.0.lanes()
    }

    /// Hashes every input with plain SHA-256; `out[i]` = SHA-256(`inputs[i]`).
    pub fn hash_many<M: AsRef<[u8]>>(self, inputs: &[M]) -> Vec<[u8; 32]> {
        let mut out = vec![[0u8; 32]; inputs.len()];
        self.hash_prefixed_into(None, inputs, &mut out);
        out
    }

    /// `out[i]` = SHA-256(`prefix` ‖ `inputs[i]`) for every `i` (the prefix is RFC 9162's
    /// leaf domain byte). Inputs may differ in length; they are grouped by block count so
    /// lanes stay full. `out` must be as long as `inputs` (extra outputs are left alone).
    pub(crate) fn hash_prefixed_into<M: AsRef<[u8]>>(
        self,
        prefix: Option<u8>,
        inputs: &[M],
        out: &mut [[u8; 32]],
    ) {
        hash_padded_into(IV, prefix, inputs, out, |remaining| {
            self.kernel_for(remaining)
        });
    }

    /// RFC 9162 interior nodes: `parents[i]` = SHA-256(0x01 ‖ `children[2i]` ‖ `children[2i+1]`)
    /// for `i < min(parents.len(), children.len() / 2)`.
    pub(crate) fn hash_rfc9162_nodes(self, children: &[[u8; 32]], parents: &mut [[u8; 32]]) {
        // The 65-byte message spans two blocks; the second is the last child byte, the 0x80
        // terminator and the bit length 520, so only its first byte changes per node.
        let mut blocks = [[[0u8; 64]; MAX_LANES]; 2];
        for block in blocks[1].iter_mut() {
            block[1] = 0x80;
            block[56..].copy_from_slice(&(65u64 * 8).to_be_bytes());
        }
        let mut start = 0;
        let total = parents.len().min(children.len() / 2);
        while start < total {
            let kernel = self.kernel_for(total - start);
            let end = (start + kernel.lanes()).min(total);
            for (lane, i) in (start..end).enumerate() {
                let (left, right) = (&children[2 * i], &children[2 * i + 1]);
                let first = &mut blocks[0][lane];
                first[0] = 0x01;
                first[1..33].copy_from_slice(left);
                first[33..].copy_from_slice(&right[..31]);
                blocks[1][lane][0] = right[31];
            }
            let mut states = [IV; MAX_LANES];
            kernel.rfc9162_node(&mut states, &blocks);
            for (lane, parent) in parents[start..end].iter_mut().enumerate() {
                *parent = state_bytes(&states[lane]);
            }
            start = end;
        }
    }

    /// Plain concatenation nodes (ChainMaker's SHA-256 trees): `parents[i]` =
    /// SHA-256(`children[2i]` ‖ `children[2i+1]`) for `i < min(parents.len(), children.len() / 2)`.
    pub(crate) fn hash_concat_nodes(self, children: &[[u8; 32]], parents: &mut [[u8; 32]]) {
        self.hash_pair_nodes(children, parents, false);
    }

    /// Bitcoin interior nodes: `parents[i]` = SHA-256(SHA-256(`children[2i]` ‖ `children[2i+1]`))
    /// for `i < min(parents.len(), children.len() / 2)`.
    pub(crate) fn hash_bitcoin_nodes(self, children: &[[u8; 32]], parents: &mut [[u8; 32]]) {
        self.hash_pair_nodes(children, parents, true);
    }

    /// SHA-256 of each pair of children, hashed once more when `double`.
    fn hash_pair_nodes(self, children: &[[u8; 32]], parents: &mut [[u8; 32]], double: bool) {
        // First hash: the 64 bytes, then a constant padding block (0x80, bit length 512).
        // Second hash: one block holding the 32-byte digest, 0x80 and bit length 256.
        let mut first = [[[0u8; 64]; MAX_LANES]; 2];
        for block in first[1].iter_mut() {
            block[0] = 0x80;
            block[56..].copy_from_slice(&(64u64 * 8).to_be_bytes());
        }
        let mut second = [[[0u8; 64]; MAX_LANES]; 1];
        for block in second[0].iter_mut() {
            block[32] = 0x80;
            block[56..].copy_from_slice(&(32u64 * 8).to_be_bytes());
        }
        let mut start = 0;
        let total = parents.len().min(children.len() / 2);
        while start < total {
            let kernel = self.kernel_for(total - start);
            let end = (start + kernel.lanes()).min(total);
            for (lane, i) in (start..end).enumerate() {
                first[0][lane][..32].copy_from_slice(&children[2 * i]);
                first[0][lane][32..].copy_from_slice(&children[2 * i + 1]);
            }
            let mut states = [IV; MAX_LANES];
            kernel.compress(&mut states, &first);
            if double {
                for lane in 0..end - start {
                    second[0][lane][..32].copy_from_slice(&state_bytes(&states[lane]));
                }
                states = [IV; MAX_LANES];
                kernel.compress(&mut states, &second);
            }
            for (lane, parent) in parents[start..end].iter_mut().enumerate() {
                *parent = state_bytes(&states[lane]);
            }
            start = end;
        }
    }

    /// The path for `remaining` messages: a wide vector path hands a small remainder (at
    /// most half its lanes) to a narrower path rather than hash mostly empty lanes. Results
    /// are the same either way; only the waste differs.
    fn kernel_for(self, remaining: usize) -> Path {
        let lanes = self.0.lanes();
        if lanes > 2 && remaining * 2 <= lanes {
            Platform::sha_ni().unwrap_or(Platform::portable()).0
        } else {
            self.0
        }
    }
}

impl LaneKernel for Path {
    /// Messages this path's kernel fills per call.
    fn lanes(self) -> usize {
        match self {
            Path::Portable => portable::LANES,
            #[cfg(target_arch = "x86_64")]
            Path::ShaNi(_) => shani::LANES,
            #[cfg(target_arch = "x86_64")]
            Path::Avx2(_) => avx2::LANES,
            #[cfg(target_arch = "x86_64")]
            Path::Avx512(_) => avx512::LANES,
        }
    }

    /// Compresses `blocks[b][lane]` for every `b`, in order, into `states[lane]`, for the
    /// first [`LaneKernel::lanes`] lanes. The SIMD kernels take their token: no token, no call.
    fn compress(self, states: &mut LaneStates, blocks: &[Blocks]) {
        match self {
            Path::Portable => portable::compress(states, blocks),
            #[cfg(target_arch = "x86_64")]
            Path::ShaNi(token) => shani::compress(token, states, blocks),
            #[cfg(target_arch = "x86_64")]
            Path::Avx2(token) => avx2::compress(token, states, blocks),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512(token) => avx512::compress(token, states, blocks),
        }
    }
}

impl Path {
    /// `compress` of an RFC 9162 node's two blocks from the IV (callers pass IV states), where
    /// the vector kernels exploit the IV and the second block's fixed words.
    fn rfc9162_node(self, states: &mut LaneStates, blocks: &[Blocks; 2]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Path::Avx2(token) => avx2::rfc9162_node(token, states, blocks),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512(token) => avx512::rfc9162_node(token, states, blocks),
            _ => self.compress(states, blocks),
        }
    }
}

/// Measures the SHA-NI compression throughput bound on this CPU: `rounds` × 64 compressions
/// in each of `streams` (1–4) interleaved independent states, on blocks already in L1, with no padding, copying or
/// scheduling around them. Returns compressions per second, or `None` without SHA-NI.
///
/// This is the ceiling the Merkle benchmarks quote their node rates against.
pub fn sha_ni_bound(streams: usize, rounds: usize) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        let start = std::time::Instant::now();
        let states = shani::bound_probe(streams, rounds)?;
        let elapsed = start.elapsed().as_secs_f64();
        std::hint::black_box(states);
        Some((streams * rounds * 64) as f64 / elapsed)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (streams, rounds);
        None
    }
}

/// SHA-256 of one message on the portable path (small, rare uses: the empty-tree root).
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [[0u8; 32]; 1];
    Platform::portable().hash_prefixed_into(None, &[data], &mut out);
    out[0]
}
