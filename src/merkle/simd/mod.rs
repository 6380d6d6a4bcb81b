//! `u32` vector lanes shared by the multi-buffer hash kernels (SHA-256 and SM3).
//!
//! Both hashes are 32-bit, big-endian, 64-byte-block Merkle–Damgård designs, so one lane
//! abstraction serves both: each ISA module here implements [`U32Lanes`] once (AVX2: 8 lanes,
//! AVX-512: 16) and owns the one run-time detection of its instructions, the zero-sized
//! `Token` that the hash kernels take. A hash module writes its compression once, generic over
//! `U32Lanes`, and calls it from a `#[target_feature]` function reached only with a token, so
//! after inlining the whole compression is compiled for that ISA and safe code can never run
//! an instruction the CPU lacks. Only the operations the two hashes need are abstracted;
//! AVX-512's three-input logic (`vpternlogd`) and rotates (`vprord`/`vprold`) stay single
//! instructions.

#![allow(unsafe_code)]

#[cfg(target_arch = "x86_64")]
pub(super) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(super) mod avx512;

/// The widest kernel's lane count; buffers are sized for it and narrower kernels use a prefix.
pub(super) const MAX_LANES: usize = 16;
/// One 64-byte block per lane.
pub(super) type Blocks = [[u8; 64]; MAX_LANES];
/// One eight-word chaining state per lane (the hash's own word order).
pub(super) type LaneStates = [[u32; 8]; MAX_LANES];

/// A vector of `u32` lanes and the operations SHA-256 and SM3 need on it.
///
/// # Safety
/// Every method may only be called where the implementing ISA's target features are enabled
/// (the kernels guarantee this: they reach these methods only from their
/// `#[target_feature]` entry points, which are reached only with the ISA's detection token).
pub(super) unsafe trait U32Lanes: Copy {
    /// Every lane = `x`.
    unsafe fn splat(x: u32) -> Self;
    /// Lane-wise wrapping addition.
    unsafe fn add(a: Self, b: Self) -> Self;
    /// `a ^ b`.
    unsafe fn xor(a: Self, b: Self) -> Self;
    /// `a ^ b ^ c`.
    unsafe fn xor3(a: Self, b: Self, c: Self) -> Self;
    /// `(e & f) ^ (!e & g)`: SHA-256 `Ch`, SM3 `GG` for rounds 16–63.
    unsafe fn choose(e: Self, f: Self, g: Self) -> Self;
    /// The bitwise majority: SHA-256 `Maj`, SM3 `FF` for rounds 16–63.
    unsafe fn majority(a: Self, b: Self, c: Self) -> Self;
    /// Rotate each lane right by `R` bits (`L` = 32 − `R`, spelled out because stable Rust
    /// has no const arithmetic on generic parameters). A left rotation by `L` is
    /// `rotr::<R, L>`.
    unsafe fn rotr<const R: i32, const L: i32>(a: Self) -> Self;
    /// Shift each lane right by `R` bits.
    unsafe fn shr<const R: i32>(a: Self) -> Self;
    /// Word `word` (big-endian) of each lane's block: lane `l` reads `blocks[l][4*word..]`.
    unsafe fn load_message_word(blocks: &Blocks, word: usize) -> Self;
    /// State word `word` of each lane: lane `l` reads `states[l][word]`.
    unsafe fn load_state_word(states: &LaneStates, word: usize) -> Self;
    /// Writes each lane back to `states[l][word]`.
    unsafe fn store_state_word(self, states: &mut LaneStates, word: usize);
}

/// A multi-buffer compression kernel of one hash: how many lanes it fills, and the
/// compression of `blocks[b][lane]` for every `b`, in order, into `states[lane]`.
pub(super) trait LaneKernel: Copy {
    /// Messages this kernel hashes side by side.
    fn lanes(self) -> usize;
    /// Compresses the blocks into the first [`LaneKernel::lanes`] states.
    fn compress(self, states: &mut LaneStates, blocks: &[Blocks]);
}

/// `out[i]` = H(`prefix` ‖ `inputs[i]`) for every `i`, for a Merkle–Damgård hash with 64-byte
/// blocks, a big-endian 64-bit bit length in its padding (SHA-256 and SM3 share it) and
/// initial value `iv`. Inputs may differ in length; they are grouped by block count so lanes
/// stay full, each group on `kernel_for(messages left)`. `out` must be as long as `inputs`
/// (extra outputs are left alone).
pub(super) fn hash_padded_into<K: LaneKernel, M: AsRef<[u8]>>(
    iv: [u32; 8],
    prefix: Option<u8>,
    inputs: &[M],
    out: &mut [[u8; 32]],
    kernel_for: impl Fn(usize) -> K,
) {
    let prefix_len = usize::from(prefix.is_some());
    let block_count = |m: &M| (prefix_len + m.as_ref().len() + 9).div_ceil(64);
    let uniform = inputs
        .windows(2)
        .all(|w| block_count(&w[0]) == block_count(&w[1]));
    let order: Vec<usize> = if uniform {
        (0..inputs.len()).collect()
    } else {
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        order.sort_by_key(|&i| block_count(&inputs[i]));
        order
    };
    let mut buffer: Vec<Blocks> = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let blocks = block_count(&inputs[order[start]]);
        let kernel = kernel_for(order.len() - start);
        let mut end = start + 1;
        while end < order.len()
            && end - start < kernel.lanes()
            && block_count(&inputs[order[end]]) == blocks
        {
            end += 1;
        }
        let chunk = &order[start..end];
        buffer.resize(blocks, [[0u8; 64]; MAX_LANES]);
        for (lane, &i) in chunk.iter().enumerate() {
            let data = inputs[i].as_ref();
            for (b, block) in buffer.iter_mut().enumerate() {
                fill_padded_block(prefix, data, b, &mut block[lane]);
            }
        }
        let mut states = [iv; MAX_LANES];
        kernel.compress(&mut states, &buffer);
        for (lane, &i) in chunk.iter().enumerate() {
            if let Some(o) = out.get_mut(i) {
                *o = state_bytes(&states[lane]);
            }
        }
        start = end;
    }
}

/// Writes block `index` of the padded message `prefix ‖ data ‖ 0x80 ‖ 0… ‖ bitlen` (FIPS 180-4
/// §5.1.1, GB/T 32905-2016 §5.2) into `block`, copying the data part with one slice copy.
fn fill_padded_block(prefix: Option<u8>, data: &[u8], index: usize, block: &mut [u8; 64]) {
    let prefix_len = usize::from(prefix.is_some());
    let message_len = prefix_len + data.len();
    let start = 64 * index;
    let end = start + 64;
    let mut written = 0;
    if let (Some(byte), 0) = (prefix, index) {
        block[0] = byte;
        written = 1;
    }
    // Data occupies stream bytes prefix_len..message_len.
    let data_lo = start.max(prefix_len);
    let data_hi = end.min(message_len);
    if data_lo < data_hi {
        block[data_lo - start..data_hi - start]
            .copy_from_slice(&data[data_lo - prefix_len..data_hi - prefix_len]);
        written = data_hi - start;
    }
    if written < 64 {
        block[written..].fill(0);
        if (start..end).contains(&message_len) {
            block[message_len - start] = 0x80;
        }
        // The bit length ends the last block; the block count guarantees it fits there.
        let total_blocks = (message_len + 9).div_ceil(64);
        if index + 1 == total_blocks {
            block[56..].copy_from_slice(&((message_len as u64) * 8).to_be_bytes());
        }
    }
}

/// A chaining state as the big-endian digest bytes.
#[inline]
pub(super) fn state_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}
