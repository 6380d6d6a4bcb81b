// SHA-256 (FIPS 180-4 §6.2.2) for the GPU backend: the compression function on big-endian
// message words, and the Merkle node hashes of the SHA-256 schemes. Needs digest.wgsl in
// front of it (the Digest type and the word order hashes travel in).
//
// The host concatenates digest.wgsl, this file and a kernel (merkle_leaf.wgsl,
// merkle_reduce.wgsl); WGSL has no #include.

// Round constants: the first 32 bits of the fractional parts of the cube roots of the first
// 64 primes.
const SHA256_K = array<u32, 64>(
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
);

// Initial hash value: the first 32 bits of the fractional parts of the square roots of the
// first 8 primes.
const SHA256_IV = array<u32, 8>(0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au, 0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u);

fn rotr(x: u32, n: u32) -> u32 {
    return (x >> n) | (x << (32u - n));
}

fn sha256_iv() -> Digest {
    return Digest(SHA256_IV);
}

// The working variables a..h of the compression function.
struct Working {
    a: u32,
    b: u32,
    c: u32,
    d: u32,
    e: u32,
    f: u32,
    g: u32,
    h: u32,
}

// One round (FIPS 180-4 §6.2.2 step 3) with round constant `k` and schedule word `w`.
fn sha256_round(v: ptr<function, Working>, k: u32, w: u32) {
    let e = (*v).e;
    let a = (*v).a;
    let t1 = (*v).h + (rotr(e, 6u) ^ rotr(e, 11u) ^ rotr(e, 25u)) + ((e & (*v).f) ^ (~e & (*v).g)) + k + w;
    let t2 = (rotr(a, 2u) ^ rotr(a, 13u) ^ rotr(a, 22u)) + ((a & (*v).b) ^ (a & (*v).c) ^ ((*v).b & (*v).c));
    (*v).h = (*v).g;
    (*v).g = (*v).f;
    (*v).f = e;
    (*v).e = (*v).d + t1;
    (*v).d = (*v).c;
    (*v).c = (*v).b;
    (*v).b = a;
    (*v).a = t1 + t2;
}

fn small_sigma0(x: u32) -> u32 {
    return rotr(x, 7u) ^ rotr(x, 18u) ^ (x >> 3u);
}

fn small_sigma1(x: u32) -> u32 {
    return rotr(x, 17u) ^ rotr(x, 19u) ^ (x >> 10u);
}

// One compression of the 16-word block into `state`, written out round by round: every
// array index is a constant, so the schedule window lives in sixteen registers on every
// driver (a rolled loop indexes it dynamically, which spills it to memory on some, Mesa's
// lavapipe among them). The schedule is a rolling 16-word window: W[t] replaces W[t - 16].
fn sha256_compress(state: Digest, block: array<u32, 16>) -> Digest {
    var w0 = block[0];
    var w1 = block[1];
    var w2 = block[2];
    var w3 = block[3];
    var w4 = block[4];
    var w5 = block[5];
    var w6 = block[6];
    var w7 = block[7];
    var w8 = block[8];
    var w9 = block[9];
    var w10 = block[10];
    var w11 = block[11];
    var w12 = block[12];
    var w13 = block[13];
    var w14 = block[14];
    var w15 = block[15];
    var v = Working(state.w[0], state.w[1], state.w[2], state.w[3], state.w[4], state.w[5], state.w[6], state.w[7]);
    sha256_round(&v, SHA256_K[0], w0);
    sha256_round(&v, SHA256_K[1], w1);
    sha256_round(&v, SHA256_K[2], w2);
    sha256_round(&v, SHA256_K[3], w3);
    sha256_round(&v, SHA256_K[4], w4);
    sha256_round(&v, SHA256_K[5], w5);
    sha256_round(&v, SHA256_K[6], w6);
    sha256_round(&v, SHA256_K[7], w7);
    sha256_round(&v, SHA256_K[8], w8);
    sha256_round(&v, SHA256_K[9], w9);
    sha256_round(&v, SHA256_K[10], w10);
    sha256_round(&v, SHA256_K[11], w11);
    sha256_round(&v, SHA256_K[12], w12);
    sha256_round(&v, SHA256_K[13], w13);
    sha256_round(&v, SHA256_K[14], w14);
    sha256_round(&v, SHA256_K[15], w15);
    w0 += small_sigma0(w1) + w9 + small_sigma1(w14);
    sha256_round(&v, SHA256_K[16], w0);
    w1 += small_sigma0(w2) + w10 + small_sigma1(w15);
    sha256_round(&v, SHA256_K[17], w1);
    w2 += small_sigma0(w3) + w11 + small_sigma1(w0);
    sha256_round(&v, SHA256_K[18], w2);
    w3 += small_sigma0(w4) + w12 + small_sigma1(w1);
    sha256_round(&v, SHA256_K[19], w3);
    w4 += small_sigma0(w5) + w13 + small_sigma1(w2);
    sha256_round(&v, SHA256_K[20], w4);
    w5 += small_sigma0(w6) + w14 + small_sigma1(w3);
    sha256_round(&v, SHA256_K[21], w5);
    w6 += small_sigma0(w7) + w15 + small_sigma1(w4);
    sha256_round(&v, SHA256_K[22], w6);
    w7 += small_sigma0(w8) + w0 + small_sigma1(w5);
    sha256_round(&v, SHA256_K[23], w7);
    w8 += small_sigma0(w9) + w1 + small_sigma1(w6);
    sha256_round(&v, SHA256_K[24], w8);
    w9 += small_sigma0(w10) + w2 + small_sigma1(w7);
    sha256_round(&v, SHA256_K[25], w9);
    w10 += small_sigma0(w11) + w3 + small_sigma1(w8);
    sha256_round(&v, SHA256_K[26], w10);
    w11 += small_sigma0(w12) + w4 + small_sigma1(w9);
    sha256_round(&v, SHA256_K[27], w11);
    w12 += small_sigma0(w13) + w5 + small_sigma1(w10);
    sha256_round(&v, SHA256_K[28], w12);
    w13 += small_sigma0(w14) + w6 + small_sigma1(w11);
    sha256_round(&v, SHA256_K[29], w13);
    w14 += small_sigma0(w15) + w7 + small_sigma1(w12);
    sha256_round(&v, SHA256_K[30], w14);
    w15 += small_sigma0(w0) + w8 + small_sigma1(w13);
    sha256_round(&v, SHA256_K[31], w15);
    w0 += small_sigma0(w1) + w9 + small_sigma1(w14);
    sha256_round(&v, SHA256_K[32], w0);
    w1 += small_sigma0(w2) + w10 + small_sigma1(w15);
    sha256_round(&v, SHA256_K[33], w1);
    w2 += small_sigma0(w3) + w11 + small_sigma1(w0);
    sha256_round(&v, SHA256_K[34], w2);
    w3 += small_sigma0(w4) + w12 + small_sigma1(w1);
    sha256_round(&v, SHA256_K[35], w3);
    w4 += small_sigma0(w5) + w13 + small_sigma1(w2);
    sha256_round(&v, SHA256_K[36], w4);
    w5 += small_sigma0(w6) + w14 + small_sigma1(w3);
    sha256_round(&v, SHA256_K[37], w5);
    w6 += small_sigma0(w7) + w15 + small_sigma1(w4);
    sha256_round(&v, SHA256_K[38], w6);
    w7 += small_sigma0(w8) + w0 + small_sigma1(w5);
    sha256_round(&v, SHA256_K[39], w7);
    w8 += small_sigma0(w9) + w1 + small_sigma1(w6);
    sha256_round(&v, SHA256_K[40], w8);
    w9 += small_sigma0(w10) + w2 + small_sigma1(w7);
    sha256_round(&v, SHA256_K[41], w9);
    w10 += small_sigma0(w11) + w3 + small_sigma1(w8);
    sha256_round(&v, SHA256_K[42], w10);
    w11 += small_sigma0(w12) + w4 + small_sigma1(w9);
    sha256_round(&v, SHA256_K[43], w11);
    w12 += small_sigma0(w13) + w5 + small_sigma1(w10);
    sha256_round(&v, SHA256_K[44], w12);
    w13 += small_sigma0(w14) + w6 + small_sigma1(w11);
    sha256_round(&v, SHA256_K[45], w13);
    w14 += small_sigma0(w15) + w7 + small_sigma1(w12);
    sha256_round(&v, SHA256_K[46], w14);
    w15 += small_sigma0(w0) + w8 + small_sigma1(w13);
    sha256_round(&v, SHA256_K[47], w15);
    w0 += small_sigma0(w1) + w9 + small_sigma1(w14);
    sha256_round(&v, SHA256_K[48], w0);
    w1 += small_sigma0(w2) + w10 + small_sigma1(w15);
    sha256_round(&v, SHA256_K[49], w1);
    w2 += small_sigma0(w3) + w11 + small_sigma1(w0);
    sha256_round(&v, SHA256_K[50], w2);
    w3 += small_sigma0(w4) + w12 + small_sigma1(w1);
    sha256_round(&v, SHA256_K[51], w3);
    w4 += small_sigma0(w5) + w13 + small_sigma1(w2);
    sha256_round(&v, SHA256_K[52], w4);
    w5 += small_sigma0(w6) + w14 + small_sigma1(w3);
    sha256_round(&v, SHA256_K[53], w5);
    w6 += small_sigma0(w7) + w15 + small_sigma1(w4);
    sha256_round(&v, SHA256_K[54], w6);
    w7 += small_sigma0(w8) + w0 + small_sigma1(w5);
    sha256_round(&v, SHA256_K[55], w7);
    w8 += small_sigma0(w9) + w1 + small_sigma1(w6);
    sha256_round(&v, SHA256_K[56], w8);
    w9 += small_sigma0(w10) + w2 + small_sigma1(w7);
    sha256_round(&v, SHA256_K[57], w9);
    w10 += small_sigma0(w11) + w3 + small_sigma1(w8);
    sha256_round(&v, SHA256_K[58], w10);
    w11 += small_sigma0(w12) + w4 + small_sigma1(w9);
    sha256_round(&v, SHA256_K[59], w11);
    w12 += small_sigma0(w13) + w5 + small_sigma1(w10);
    sha256_round(&v, SHA256_K[60], w12);
    w13 += small_sigma0(w14) + w6 + small_sigma1(w11);
    sha256_round(&v, SHA256_K[61], w13);
    w14 += small_sigma0(w15) + w7 + small_sigma1(w12);
    sha256_round(&v, SHA256_K[62], w14);
    w15 += small_sigma0(w0) + w8 + small_sigma1(w13);
    sha256_round(&v, SHA256_K[63], w15);
    var out = state;
    out.w[0] += v.a;
    out.w[1] += v.b;
    out.w[2] += v.c;
    out.w[3] += v.d;
    out.w[4] += v.e;
    out.w[5] += v.f;
    out.w[6] += v.g;
    out.w[7] += v.h;
    return out;
}

// The node hashes of the SHA-256 schemes, as merkle_reduce.wgsl's `merkle_hash` variants.
const NODE_RFC9162: u32 = 0u; // SHA-256(0x01 || left || right)
const NODE_CONCAT: u32 = 1u; // SHA-256(left || right) (ChainMaker)
const NODE_DOUBLE: u32 = 2u; // SHA-256(SHA-256(left || right)) (Bitcoin)

// The parent of `left` and `right` under node hash `variant`, or with `alone` the hash of
// `left` alone (a 32-byte message; the hash-alone odd-node rule, which no SHA-256 scheme
// uses today but the reduce kernel may ask for). One message block per compression call
// site, chosen by the variant, instead of one function per variant: every call site is a full
// copy of the 64 rounds once the driver inlines it, and drivers that compile at the first
// dispatch (lavapipe) take time in proportion to those copies. The branches are uniform.
fn merkle_hash(left: Digest, right: Digest, alone: bool, variant: u32) -> Digest {
    let l = left.w;
    let r = right.w;
    let rfc9162 = variant == NODE_RFC9162 && !alone;
    // First block: left || right; the 65-byte RFC 9162 message is the two children shifted
    // right by one byte behind the 0x01 prefix; a lone node is its own padded block.
    var first = array<u32, 16>(l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7], r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    if (alone) {
        first = array<u32, 16>(l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7], 0x80000000u, 0u, 0u, 0u, 0u, 0u, 0u, 256u);
    } else if (rfc9162) {
        first = array<u32, 16>(
            0x01000000u | (l[0] >> 8u),
            (l[0] << 24u) | (l[1] >> 8u),
            (l[1] << 24u) | (l[2] >> 8u),
            (l[2] << 24u) | (l[3] >> 8u),
            (l[3] << 24u) | (l[4] >> 8u),
            (l[4] << 24u) | (l[5] >> 8u),
            (l[5] << 24u) | (l[6] >> 8u),
            (l[6] << 24u) | (l[7] >> 8u),
            (l[7] << 24u) | (r[0] >> 8u),
            (r[0] << 24u) | (r[1] >> 8u),
            (r[1] << 24u) | (r[2] >> 8u),
            (r[2] << 24u) | (r[3] >> 8u),
            (r[3] << 24u) | (r[4] >> 8u),
            (r[4] << 24u) | (r[5] >> 8u),
            (r[5] << 24u) | (r[6] >> 8u),
            (r[6] << 24u) | (r[7] >> 8u),
        );
    }
    var state = sha256_compress(sha256_iv(), first);
    if (!alone) {
        // Second block: padding of a 64-byte message, or RFC 9162's last child byte and
        // the padding of 65 bytes.
        var second = array<u32, 16>(0x80000000u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 512u);
        if (rfc9162) {
            second = array<u32, 16>((r[7] << 24u) | 0x00800000u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 65u * 8u);
        }
        state = sha256_compress(state, second);
    }
    if (variant == NODE_DOUBLE) {
        let d = state.w;
        let outer = array<u32, 16>(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], 0x80000000u, 0u, 0u, 0u, 0u, 0u, 0u, 256u);
        state = sha256_compress(sha256_iv(), outer);
    }
    return state;
}
