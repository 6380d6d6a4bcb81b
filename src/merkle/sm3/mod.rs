//! Multi-buffer SM3 (GB/T 32905-2016): many independent messages hashed at once.
//!
//! The Merkle trees of FISCO BCOS and ChainMaker in guomi mode hash thousands of independent
//! 64-byte nodes per level. SM3 has no instruction on x86 CPUs, and one message's compression
//! is a chain of 64 dependent rounds, so throughput comes from laying many messages side by
//! side in vector lanes: AVX-512 16 lanes (`vprold` rotates, `vpternlogd` for the boolean
//! functions), AVX2 8 lanes, and a portable one-message reference.
//!
//! Dispatch is the SHA-256 module's: an opaque [`Platform`] detected once ([`Platform::detect`]),
//! a constructor per path so tests and benchmarks can force each one, and the SIMD paths
//! holding the detection tokens of the shared `simd` module (one detection per instruction
//! family, shared with SHA-256). Padding and lane scheduling are shared with SHA-256
//! (`simd::hash_padded_into`): SM3 pads exactly as SHA-256 does. The fixed 64-byte node input
//! gets its own kernel ([`Platform::hash_pairs`]): its second block is the constant padding
//! block, expanded once at compile time (`PAD64_EXPANDED`).
//!
//! The portable path is the reference; the RustCrypto `sm3` crate and the system OpenSSL are
//! the independent oracles in the tests, with the standard's own vectors.

mod lanes;
mod portable;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

use std::sync::OnceLock;

use super::simd::{Blocks, LaneKernel, LaneStates, MAX_LANES, hash_padded_into, state_bytes};
#[cfg(target_arch = "x86_64")]
use super::simd::{avx2::Token as Avx2Token, avx512::Token as Avx512Token};

/// The initial value IV (GB/T 32905-2016 §4.1).
const IV: [u32; 8] = [
    0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e,
];

/// Tⱼ <<< (j mod 32) for every round j (§4.2, §5.3.3): the constants as the rounds add them.
const T_ROTATED: [u32; 64] = {
    let mut t = [0u32; 64];
    let mut j = 0;
    while j < 64 {
        let base: u32 = if j < 16 { 0x79cc4519 } else { 0x7a879d8a };
        t[j] = base.rotate_left((j % 32) as u32);
        j += 1;
    }
    t
};

/// The message expansion of §5.3.2: W₀…W₆₇ from a block's sixteen big-endian words.
const fn expand(block: [u32; 16]) -> [u32; 68] {
    let mut w = [0u32; 68];
    let mut j = 0;
    while j < 16 {
        w[j] = block[j];
        j += 1;
    }
    while j < 68 {
        let x = w[j - 16] ^ w[j - 9] ^ w[j - 3].rotate_left(15);
        let p1 = x ^ x.rotate_left(15) ^ x.rotate_left(23);
        w[j] = p1 ^ w[j - 13].rotate_left(7) ^ w[j - 6];
        j += 1;
    }
    w
}

/// The expanded second block of every 64-byte message: 0x80, zeros, and the bit length 512.
const PAD64_EXPANDED: [u32; 68] =
    expand([0x8000_0000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 512]);

/// An SM3 implementation this CPU can run.
///
/// Every path computes exactly SM3; they differ only in speed. Get one from
/// [`Platform::detect`] (the fastest here) or force a path with its constructor, which
/// returns `None` where the CPU lacks the instructions. The type is opaque: a SIMD path holds
/// a token that only run-time detection makes, so safe code cannot name a path this CPU
/// cannot run.
///
/// ```compile_fail
/// // No variant to name: a path comes only from detection.
/// let forged = blockverify::merkle::sm3::Platform::Avx512;
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Platform(Path);

/// The paths, each SIMD one carrying its detection token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Path {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2(Avx2Token),
    #[cfg(target_arch = "x86_64")]
    Avx512(Avx512Token),
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sm3Platform({})", self.name())
    }
}

impl Platform {
    /// The fastest path on this CPU, detected once per process: AVX-512, then AVX2, then
    /// portable (wider lanes do strictly more messages per instruction; BENCHMARKS.md has the
    /// per-path node rates).
    pub fn detect() -> Platform {
        static DETECTED: OnceLock<Platform> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            Platform::avx512()
                .or_else(Platform::avx2)
                .unwrap_or(Platform::portable())
        })
    }

    /// The portable reference path (always available).
    pub fn portable() -> Platform {
        Platform(Path::Portable)
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

    /// A short lowercase name: `portable`, `avx2`, `avx512`.
    pub fn name(self) -> &'static str {
        match self.0 {
            Path::Portable => "portable",
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

    /// Hashes every input with SM3; `out[i]` = SM3(`inputs[i]`).
    pub fn hash_many<M: AsRef<[u8]>>(self, inputs: &[M]) -> Vec<[u8; 32]> {
        let mut out = vec![[0u8; 32]; inputs.len()];
        self.hash_into(inputs, &mut out);
        out
    }

    /// `out[i]` = SM3(`inputs[i]`) for every `i`; inputs may differ in length (grouped by
    /// block count so lanes stay full). `out` must be as long as `inputs`.
    pub(crate) fn hash_into<M: AsRef<[u8]>>(self, inputs: &[M], out: &mut [[u8; 32]]) {
        hash_padded_into(IV, None, inputs, out, |remaining| {
            self.kernel_for(remaining)
        });
    }

    /// Merkle nodes: `parents[i]` = SM3(`children[2i]` ‖ `children[2i+1]`) for
    /// `i < min(parents.len(), children.len() / 2)`, on the 64-byte-message kernel.
    pub fn hash_pairs(self, children: &[[u8; 32]], parents: &mut [[u8; 32]]) {
        let mut blocks: Blocks = [[0u8; 64]; MAX_LANES];
        let total = parents.len().min(children.len() / 2);
        let mut start = 0;
        while start < total {
            let kernel = self.kernel_for(total - start);
            let end = (start + kernel.lanes()).min(total);
            for (lane, i) in (start..end).enumerate() {
                blocks[lane][..32].copy_from_slice(&children[2 * i]);
                blocks[lane][32..].copy_from_slice(&children[2 * i + 1]);
            }
            let mut states = [IV; MAX_LANES];
            kernel.node(&mut states, &blocks);
            for (lane, parent) in parents[start..end].iter_mut().enumerate() {
                *parent = state_bytes(&states[lane]);
            }
            start = end;
        }
    }

    /// The path for `remaining` messages: a vector path hands a remainder that would leave
    /// most of its lanes empty to the next narrower path. Results are the same either way;
    /// only the waste differs.
    fn kernel_for(self, remaining: usize) -> Path {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            Path::Avx512(_) if remaining * 2 <= avx512::LANES => Platform::avx2()
                .unwrap_or(Platform::portable())
                .kernel_for(remaining),
            #[cfg(target_arch = "x86_64")]
            Path::Avx2(_) if remaining == 1 => Path::Portable,
            path => path,
        }
    }
}

impl LaneKernel for Path {
    fn lanes(self) -> usize {
        match self {
            Path::Portable => portable::LANES,
            #[cfg(target_arch = "x86_64")]
            Path::Avx2(_) => avx2::LANES,
            #[cfg(target_arch = "x86_64")]
            Path::Avx512(_) => avx512::LANES,
        }
    }

    /// The SIMD kernels take their token: no token, no call.
    fn compress(self, states: &mut LaneStates, blocks: &[Blocks]) {
        match self {
            Path::Portable => portable::compress(states, blocks),
            #[cfg(target_arch = "x86_64")]
            Path::Avx2(token) => avx2::compress(token, states, blocks),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512(token) => avx512::compress(token, states, blocks),
        }
    }
}

impl Path {
    /// SM3 of the 64-byte message in each lane's block, from the IV (the incoming states are
    /// not read).
    fn node(self, states: &mut LaneStates, blocks: &Blocks) {
        match self {
            Path::Portable => {
                let mut words = [0u32; 16];
                for (word, bytes) in words.iter_mut().zip(blocks[0].chunks_exact(4)) {
                    *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                }
                states[0] = IV;
                portable::compress_expanded(&mut states[0], &expand(words));
                portable::compress_expanded(&mut states[0], &PAD64_EXPANDED);
            }
            #[cfg(target_arch = "x86_64")]
            Path::Avx2(token) => avx2::node(token, states, blocks),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512(token) => avx512::node(token, states, blocks),
        }
    }
}

/// SM3 of one message on the portable path (small, rare uses; the reference in tests).
pub fn sm3(data: &[u8]) -> [u8; 32] {
    let mut out = [[0u8; 32]; 1];
    Platform::portable().hash_into(&[data], &mut out);
    out[0]
}
