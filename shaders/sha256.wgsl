// SHA-256 (FIPS 180-4 §6.2.2) for the GPU backend: the compression function on big-endian
// message words, and the two fixed-size node hashes the Merkle kernels need.
//
// Hash values travel between kernels as the eight big-endian state words SHA-256 produces
// (word 0 holds digest bytes 0..4, most significant first), so a child digest is already in
// the word order a parent's message block needs and nothing is byte-swapped between levels.
// Only raw input bytes (records, Bitcoin txids) are swapped, once, as they are loaded.
//
// This file is concatenated in front of merkle.wgsl by the host (WGSL has no #include).

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

// Eight state words; a struct so functions can take and return a whole state by value.
struct Digest {
    w: array<u32, 8>,
}

fn rotr(x: u32, n: u32) -> u32 {
    return (x >> n) | (x << (32u - n));
}

// Four bytes as they sit in a little-endian storage word, read as one big-endian word.
fn bswap32(v: u32) -> u32 {
    return (v << 24u) | ((v & 0xff00u) << 8u) | ((v >> 8u) & 0xff00u) | (v >> 24u);
}

fn sha256_iv() -> Digest {
    return Digest(SHA256_IV);
}

// One compression of the 16-word block into `state`. The message schedule is kept as a
// rolling 16-word window (W[t] overwrites W[t - 16]), which needs 16 live words instead of 64;
// the loops have constant trip counts so drivers can unroll them and keep the window in
// registers.
fn sha256_compress(state: Digest, block: array<u32, 16>) -> Digest {
    var w = block;
    var a = state.w[0];
    var b = state.w[1];
    var c = state.w[2];
    var d = state.w[3];
    var e = state.w[4];
    var f = state.w[5];
    var g = state.w[6];
    var h = state.w[7];
    for (var t = 0u; t < 64u; t++) {
        var wt: u32;
        if (t < 16u) {
            wt = w[t];
        } else {
            let w15 = w[(t + 1u) & 15u];
            let w2 = w[(t + 14u) & 15u];
            let s0 = rotr(w15, 7u) ^ rotr(w15, 18u) ^ (w15 >> 3u);
            let s1 = rotr(w2, 17u) ^ rotr(w2, 19u) ^ (w2 >> 10u);
            wt = w[t & 15u] + s0 + w[(t + 9u) & 15u] + s1;
            w[t & 15u] = wt;
        }
        let big_s1 = rotr(e, 6u) ^ rotr(e, 11u) ^ rotr(e, 25u);
        let ch = (e & f) ^ (~e & g);
        let t1 = h + big_s1 + ch + SHA256_K[t] + wt;
        let big_s0 = rotr(a, 2u) ^ rotr(a, 13u) ^ rotr(a, 22u);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + big_s0 + maj;
    }
    var out = state;
    out.w[0] += a;
    out.w[1] += b;
    out.w[2] += c;
    out.w[3] += d;
    out.w[4] += e;
    out.w[5] += f;
    out.w[6] += g;
    out.w[7] += h;
    return out;
}

// RFC 9162 interior node: SHA-256(0x01 || left || right). The 65-byte message is the two
// children shifted right by one byte behind the 0x01 prefix, then one padding block.
fn rfc9162_node(left: Digest, right: Digest) -> Digest {
    var m: array<u32, 16>;
    m[0] = 0x01000000u | (left.w[0] >> 8u);
    for (var j = 1u; j < 8u; j++) {
        m[j] = (left.w[j - 1u] << 24u) | (left.w[j] >> 8u);
    }
    m[8] = (left.w[7] << 24u) | (right.w[0] >> 8u);
    for (var j = 1u; j < 8u; j++) {
        m[8u + j] = (right.w[j - 1u] << 24u) | (right.w[j] >> 8u);
    }
    var state = sha256_compress(sha256_iv(), m);
    var tail: array<u32, 16>;
    tail[0] = (right.w[7] << 24u) | 0x00800000u;
    tail[15] = 65u * 8u;
    return sha256_compress(state, tail);
}

// Bitcoin interior node: SHA-256(SHA-256(left || right)).
fn bitcoin_node(left: Digest, right: Digest) -> Digest {
    var m: array<u32, 16>;
    for (var j = 0u; j < 8u; j++) {
        m[j] = left.w[j];
        m[8u + j] = right.w[j];
    }
    var pad: array<u32, 16>;
    pad[0] = 0x80000000u;
    pad[15] = 512u;
    let inner = sha256_compress(sha256_compress(sha256_iv(), m), pad);
    var outer: array<u32, 16>;
    for (var j = 0u; j < 8u; j++) {
        outer[j] = inner.w[j];
    }
    outer[8] = 0x80000000u;
    outer[15] = 256u;
    return sha256_compress(sha256_iv(), outer);
}
