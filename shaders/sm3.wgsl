// SM3 (GB/T 32905-2016) for the GPU backend: the compression function on big-endian message
// words, and the two fixed-size messages the SM3 Merkle trees hash (FISCO BCOS, ChainMaker).
// Needs digest.wgsl in front of it; the host puts merkle_reduce.wgsl behind it.
//
// SM3 pads and orders words exactly as SHA-256 does, so digests travel between kernels as the
// eight big-endian state words, as SHA-256's do (see digest.wgsl): a child digest is already in
// the word order a parent's message block needs.

// Tj <<< (j mod 32) for every round j (§4.2, §5.3.3): the constants as the rounds add them.
const SM3_T = array<u32, 64>(
    0x79cc4519u, 0xf3988a32u, 0xe7311465u, 0xce6228cbu, 0x9cc45197u, 0x3988a32fu, 0x7311465eu, 0xe6228cbcu,
    0xcc451979u, 0x988a32f3u, 0x311465e7u, 0x6228cbceu, 0xc451979cu, 0x88a32f39u, 0x11465e73u, 0x228cbce6u,
    0x9d8a7a87u, 0x3b14f50fu, 0x7629ea1eu, 0xec53d43cu, 0xd8a7a879u, 0xb14f50f3u, 0x629ea1e7u, 0xc53d43ceu,
    0x8a7a879du, 0x14f50f3bu, 0x29ea1e76u, 0x53d43cecu, 0xa7a879d8u, 0x4f50f3b1u, 0x9ea1e762u, 0x3d43cec5u,
    0x7a879d8au, 0xf50f3b14u, 0xea1e7629u, 0xd43cec53u, 0xa879d8a7u, 0x50f3b14fu, 0xa1e7629eu, 0x43cec53du,
    0x879d8a7au, 0x0f3b14f5u, 0x1e7629eau, 0x3cec53d4u, 0x79d8a7a8u, 0xf3b14f50u, 0xe7629ea1u, 0xcec53d43u,
    0x9d8a7a87u, 0x3b14f50fu, 0x7629ea1eu, 0xec53d43cu, 0xd8a7a879u, 0xb14f50f3u, 0x629ea1e7u, 0xc53d43ceu,
    0x8a7a879du, 0x14f50f3bu, 0x29ea1e76u, 0x53d43cecu, 0xa7a879d8u, 0x4f50f3b1u, 0x9ea1e762u, 0x3d43cec5u,
);

// The initial value IV (§4.1).
const SM3_IV = array<u32, 8>(0x7380166fu, 0x4914b2b9u, 0x172442d7u, 0xda8a0600u, 0xa96f30bcu, 0x163138aau, 0xe38dee4du, 0xb0fb0e4eu);

// The expanded words W0..W67 (§5.3.2) of the second block of every 64-byte message: 0x80,
// zeros, the bit length 512. Computed on the host (src/merkle/sm3/mod.rs has the same table
// as PAD64_EXPANDED), so that block's compression does no expansion.
const SM3_PAD64_W = array<u32, 68>(
    0x80000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u,
    0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000200u,
    0x80404000u, 0x00000000u, 0x01008080u, 0x10005000u, 0x00000000u, 0x002002a0u, 0xac545c04u, 0x00000000u,
    0x09582a39u, 0xa0003000u, 0x00000000u, 0x00200280u, 0xa4515804u, 0x20200040u, 0x51609838u, 0x30005701u,
    0xa0002000u, 0x008200aau, 0x6ad525d0u, 0x0a0e0216u, 0xb0f52042u, 0xfa7073b0u, 0x20000000u, 0x008200a8u,
    0x7a542590u, 0x22a20044u, 0xd5d6ebd2u, 0x82005771u, 0x8a202240u, 0xb42826aau, 0xeaf84e59u, 0x4898eaf9u,
    0x8207283du, 0xee6775fau, 0xa3e0e0a0u, 0x8828488au, 0x23b45a5du, 0x628a22c4u, 0x8d6d0615u, 0x38300a7eu,
    0xe96260e5u, 0x2b60c020u, 0x502ed531u, 0x9e878cb9u, 0x218c38f8u, 0xdcae3cb7u, 0x2a3e0e0au, 0xe9e0c461u,
    0x8c3e3831u, 0x44aaa228u, 0xdc60a38bu, 0x518300f7u,
);

fn rotl(x: u32, n: u32) -> u32 {
    return (x << n) | (x >> (32u - n));
}

fn sm3_p0(x: u32) -> u32 {
    return x ^ rotl(x, 9u) ^ rotl(x, 17u);
}

fn sm3_p1(x: u32) -> u32 {
    return x ^ rotl(x, 15u) ^ rotl(x, 23u);
}

// The registers A..H of the compression function.
struct Sm3Working {
    a: u32,
    b: u32,
    c: u32,
    d: u32,
    e: u32,
    f: u32,
    g: u32,
    h: u32,
}

// The round update after FFj and GGj (§5.3.3), with round constant `t` (Tj <<< j), message
// word `w` (Wj) and `wp` (W'j = Wj ^ Wj+4).
fn sm3_step(v: ptr<function, Sm3Working>, ff: u32, gg: u32, t: u32, w: u32, wp: u32) {
    let a12 = rotl((*v).a, 12u);
    let ss1 = rotl(a12 + (*v).e + t, 7u);
    let ss2 = ss1 ^ a12;
    let tt1 = ff + (*v).d + ss2 + wp;
    let tt2 = gg + (*v).h + ss1 + w;
    (*v).d = (*v).c;
    (*v).c = rotl((*v).b, 9u);
    (*v).b = (*v).a;
    (*v).a = tt1;
    (*v).h = (*v).g;
    (*v).g = rotl((*v).f, 19u);
    (*v).f = (*v).e;
    (*v).e = sm3_p0(tt2);
}

// Rounds 0..15: FF = GG = x ^ y ^ z.
fn sm3_round_low(v: ptr<function, Sm3Working>, t: u32, w: u32, wp: u32) {
    let ff = (*v).a ^ (*v).b ^ (*v).c;
    let gg = (*v).e ^ (*v).f ^ (*v).g;
    sm3_step(v, ff, gg, t, w, wp);
}

// Rounds 16..63: FF = majority, GG = choice.
fn sm3_round_high(v: ptr<function, Sm3Working>, t: u32, w: u32, wp: u32) {
    let a = (*v).a;
    let b = (*v).b;
    let c = (*v).c;
    let e = (*v).e;
    let ff = (a & b) | (a & c) | (b & c);
    let gg = (e & (*v).f) | (~e & (*v).g);
    sm3_step(v, ff, gg, t, w, wp);
}

// Wj (§5.3.2) from Wj-16, Wj-9, Wj-3, Wj-13 and Wj-6.
fn sm3_expand(w16: u32, w9: u32, w3: u32, w13: u32, w6: u32) -> u32 {
    return sm3_p1(w16 ^ w9 ^ rotl(w3, 15u)) ^ rotl(w13, 7u) ^ w6;
}

fn sm3_finish(state: Digest, v: Sm3Working) -> Digest {
    var out = state;
    out.w[0] ^= v.a;
    out.w[1] ^= v.b;
    out.w[2] ^= v.c;
    out.w[3] ^= v.d;
    out.w[4] ^= v.e;
    out.w[5] ^= v.f;
    out.w[6] ^= v.g;
    out.w[7] ^= v.h;
    return out;
}

// One compression CF(V, B) of the 16-word block into `state`, written out round by round as
// sha256_compress is (constant indices keep the expansion window in registers on every
// driver). Round j needs Wj and Wj+4: the window holds Wj-12 .. Wj+3, and Wj+4 replaces
// Wj-12 just before round j.
fn sm3_compress(state: Digest, block: array<u32, 16>) -> Digest {
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
    var v = Sm3Working(state.w[0], state.w[1], state.w[2], state.w[3], state.w[4], state.w[5], state.w[6], state.w[7]);
    sm3_round_low(&v, SM3_T[0], w0, w0 ^ w4);
    sm3_round_low(&v, SM3_T[1], w1, w1 ^ w5);
    sm3_round_low(&v, SM3_T[2], w2, w2 ^ w6);
    sm3_round_low(&v, SM3_T[3], w3, w3 ^ w7);
    sm3_round_low(&v, SM3_T[4], w4, w4 ^ w8);
    sm3_round_low(&v, SM3_T[5], w5, w5 ^ w9);
    sm3_round_low(&v, SM3_T[6], w6, w6 ^ w10);
    sm3_round_low(&v, SM3_T[7], w7, w7 ^ w11);
    sm3_round_low(&v, SM3_T[8], w8, w8 ^ w12);
    sm3_round_low(&v, SM3_T[9], w9, w9 ^ w13);
    sm3_round_low(&v, SM3_T[10], w10, w10 ^ w14);
    sm3_round_low(&v, SM3_T[11], w11, w11 ^ w15);
    w0 = sm3_expand(w0, w7, w13, w3, w10);
    sm3_round_low(&v, SM3_T[12], w12, w12 ^ w0);
    w1 = sm3_expand(w1, w8, w14, w4, w11);
    sm3_round_low(&v, SM3_T[13], w13, w13 ^ w1);
    w2 = sm3_expand(w2, w9, w15, w5, w12);
    sm3_round_low(&v, SM3_T[14], w14, w14 ^ w2);
    w3 = sm3_expand(w3, w10, w0, w6, w13);
    sm3_round_low(&v, SM3_T[15], w15, w15 ^ w3);
    w4 = sm3_expand(w4, w11, w1, w7, w14);
    sm3_round_high(&v, SM3_T[16], w0, w0 ^ w4);
    w5 = sm3_expand(w5, w12, w2, w8, w15);
    sm3_round_high(&v, SM3_T[17], w1, w1 ^ w5);
    w6 = sm3_expand(w6, w13, w3, w9, w0);
    sm3_round_high(&v, SM3_T[18], w2, w2 ^ w6);
    w7 = sm3_expand(w7, w14, w4, w10, w1);
    sm3_round_high(&v, SM3_T[19], w3, w3 ^ w7);
    w8 = sm3_expand(w8, w15, w5, w11, w2);
    sm3_round_high(&v, SM3_T[20], w4, w4 ^ w8);
    w9 = sm3_expand(w9, w0, w6, w12, w3);
    sm3_round_high(&v, SM3_T[21], w5, w5 ^ w9);
    w10 = sm3_expand(w10, w1, w7, w13, w4);
    sm3_round_high(&v, SM3_T[22], w6, w6 ^ w10);
    w11 = sm3_expand(w11, w2, w8, w14, w5);
    sm3_round_high(&v, SM3_T[23], w7, w7 ^ w11);
    w12 = sm3_expand(w12, w3, w9, w15, w6);
    sm3_round_high(&v, SM3_T[24], w8, w8 ^ w12);
    w13 = sm3_expand(w13, w4, w10, w0, w7);
    sm3_round_high(&v, SM3_T[25], w9, w9 ^ w13);
    w14 = sm3_expand(w14, w5, w11, w1, w8);
    sm3_round_high(&v, SM3_T[26], w10, w10 ^ w14);
    w15 = sm3_expand(w15, w6, w12, w2, w9);
    sm3_round_high(&v, SM3_T[27], w11, w11 ^ w15);
    w0 = sm3_expand(w0, w7, w13, w3, w10);
    sm3_round_high(&v, SM3_T[28], w12, w12 ^ w0);
    w1 = sm3_expand(w1, w8, w14, w4, w11);
    sm3_round_high(&v, SM3_T[29], w13, w13 ^ w1);
    w2 = sm3_expand(w2, w9, w15, w5, w12);
    sm3_round_high(&v, SM3_T[30], w14, w14 ^ w2);
    w3 = sm3_expand(w3, w10, w0, w6, w13);
    sm3_round_high(&v, SM3_T[31], w15, w15 ^ w3);
    w4 = sm3_expand(w4, w11, w1, w7, w14);
    sm3_round_high(&v, SM3_T[32], w0, w0 ^ w4);
    w5 = sm3_expand(w5, w12, w2, w8, w15);
    sm3_round_high(&v, SM3_T[33], w1, w1 ^ w5);
    w6 = sm3_expand(w6, w13, w3, w9, w0);
    sm3_round_high(&v, SM3_T[34], w2, w2 ^ w6);
    w7 = sm3_expand(w7, w14, w4, w10, w1);
    sm3_round_high(&v, SM3_T[35], w3, w3 ^ w7);
    w8 = sm3_expand(w8, w15, w5, w11, w2);
    sm3_round_high(&v, SM3_T[36], w4, w4 ^ w8);
    w9 = sm3_expand(w9, w0, w6, w12, w3);
    sm3_round_high(&v, SM3_T[37], w5, w5 ^ w9);
    w10 = sm3_expand(w10, w1, w7, w13, w4);
    sm3_round_high(&v, SM3_T[38], w6, w6 ^ w10);
    w11 = sm3_expand(w11, w2, w8, w14, w5);
    sm3_round_high(&v, SM3_T[39], w7, w7 ^ w11);
    w12 = sm3_expand(w12, w3, w9, w15, w6);
    sm3_round_high(&v, SM3_T[40], w8, w8 ^ w12);
    w13 = sm3_expand(w13, w4, w10, w0, w7);
    sm3_round_high(&v, SM3_T[41], w9, w9 ^ w13);
    w14 = sm3_expand(w14, w5, w11, w1, w8);
    sm3_round_high(&v, SM3_T[42], w10, w10 ^ w14);
    w15 = sm3_expand(w15, w6, w12, w2, w9);
    sm3_round_high(&v, SM3_T[43], w11, w11 ^ w15);
    w0 = sm3_expand(w0, w7, w13, w3, w10);
    sm3_round_high(&v, SM3_T[44], w12, w12 ^ w0);
    w1 = sm3_expand(w1, w8, w14, w4, w11);
    sm3_round_high(&v, SM3_T[45], w13, w13 ^ w1);
    w2 = sm3_expand(w2, w9, w15, w5, w12);
    sm3_round_high(&v, SM3_T[46], w14, w14 ^ w2);
    w3 = sm3_expand(w3, w10, w0, w6, w13);
    sm3_round_high(&v, SM3_T[47], w15, w15 ^ w3);
    w4 = sm3_expand(w4, w11, w1, w7, w14);
    sm3_round_high(&v, SM3_T[48], w0, w0 ^ w4);
    w5 = sm3_expand(w5, w12, w2, w8, w15);
    sm3_round_high(&v, SM3_T[49], w1, w1 ^ w5);
    w6 = sm3_expand(w6, w13, w3, w9, w0);
    sm3_round_high(&v, SM3_T[50], w2, w2 ^ w6);
    w7 = sm3_expand(w7, w14, w4, w10, w1);
    sm3_round_high(&v, SM3_T[51], w3, w3 ^ w7);
    w8 = sm3_expand(w8, w15, w5, w11, w2);
    sm3_round_high(&v, SM3_T[52], w4, w4 ^ w8);
    w9 = sm3_expand(w9, w0, w6, w12, w3);
    sm3_round_high(&v, SM3_T[53], w5, w5 ^ w9);
    w10 = sm3_expand(w10, w1, w7, w13, w4);
    sm3_round_high(&v, SM3_T[54], w6, w6 ^ w10);
    w11 = sm3_expand(w11, w2, w8, w14, w5);
    sm3_round_high(&v, SM3_T[55], w7, w7 ^ w11);
    w12 = sm3_expand(w12, w3, w9, w15, w6);
    sm3_round_high(&v, SM3_T[56], w8, w8 ^ w12);
    w13 = sm3_expand(w13, w4, w10, w0, w7);
    sm3_round_high(&v, SM3_T[57], w9, w9 ^ w13);
    w14 = sm3_expand(w14, w5, w11, w1, w8);
    sm3_round_high(&v, SM3_T[58], w10, w10 ^ w14);
    w15 = sm3_expand(w15, w6, w12, w2, w9);
    sm3_round_high(&v, SM3_T[59], w11, w11 ^ w15);
    w0 = sm3_expand(w0, w7, w13, w3, w10);
    sm3_round_high(&v, SM3_T[60], w12, w12 ^ w0);
    w1 = sm3_expand(w1, w8, w14, w4, w11);
    sm3_round_high(&v, SM3_T[61], w13, w13 ^ w1);
    w2 = sm3_expand(w2, w9, w15, w5, w12);
    sm3_round_high(&v, SM3_T[62], w14, w14 ^ w2);
    w3 = sm3_expand(w3, w10, w0, w6, w13);
    sm3_round_high(&v, SM3_T[63], w15, w15 ^ w3);
    return sm3_finish(state, v);
}

// The compression of the constant second block of a 64-byte message (SM3_PAD64_W).
fn sm3_compress_pad64(state: Digest) -> Digest {
    var v = Sm3Working(state.w[0], state.w[1], state.w[2], state.w[3], state.w[4], state.w[5], state.w[6], state.w[7]);
    sm3_round_low(&v, SM3_T[0], SM3_PAD64_W[0], SM3_PAD64_W[0] ^ SM3_PAD64_W[4]);
    sm3_round_low(&v, SM3_T[1], SM3_PAD64_W[1], SM3_PAD64_W[1] ^ SM3_PAD64_W[5]);
    sm3_round_low(&v, SM3_T[2], SM3_PAD64_W[2], SM3_PAD64_W[2] ^ SM3_PAD64_W[6]);
    sm3_round_low(&v, SM3_T[3], SM3_PAD64_W[3], SM3_PAD64_W[3] ^ SM3_PAD64_W[7]);
    sm3_round_low(&v, SM3_T[4], SM3_PAD64_W[4], SM3_PAD64_W[4] ^ SM3_PAD64_W[8]);
    sm3_round_low(&v, SM3_T[5], SM3_PAD64_W[5], SM3_PAD64_W[5] ^ SM3_PAD64_W[9]);
    sm3_round_low(&v, SM3_T[6], SM3_PAD64_W[6], SM3_PAD64_W[6] ^ SM3_PAD64_W[10]);
    sm3_round_low(&v, SM3_T[7], SM3_PAD64_W[7], SM3_PAD64_W[7] ^ SM3_PAD64_W[11]);
    sm3_round_low(&v, SM3_T[8], SM3_PAD64_W[8], SM3_PAD64_W[8] ^ SM3_PAD64_W[12]);
    sm3_round_low(&v, SM3_T[9], SM3_PAD64_W[9], SM3_PAD64_W[9] ^ SM3_PAD64_W[13]);
    sm3_round_low(&v, SM3_T[10], SM3_PAD64_W[10], SM3_PAD64_W[10] ^ SM3_PAD64_W[14]);
    sm3_round_low(&v, SM3_T[11], SM3_PAD64_W[11], SM3_PAD64_W[11] ^ SM3_PAD64_W[15]);
    sm3_round_low(&v, SM3_T[12], SM3_PAD64_W[12], SM3_PAD64_W[12] ^ SM3_PAD64_W[16]);
    sm3_round_low(&v, SM3_T[13], SM3_PAD64_W[13], SM3_PAD64_W[13] ^ SM3_PAD64_W[17]);
    sm3_round_low(&v, SM3_T[14], SM3_PAD64_W[14], SM3_PAD64_W[14] ^ SM3_PAD64_W[18]);
    sm3_round_low(&v, SM3_T[15], SM3_PAD64_W[15], SM3_PAD64_W[15] ^ SM3_PAD64_W[19]);
    sm3_round_high(&v, SM3_T[16], SM3_PAD64_W[16], SM3_PAD64_W[16] ^ SM3_PAD64_W[20]);
    sm3_round_high(&v, SM3_T[17], SM3_PAD64_W[17], SM3_PAD64_W[17] ^ SM3_PAD64_W[21]);
    sm3_round_high(&v, SM3_T[18], SM3_PAD64_W[18], SM3_PAD64_W[18] ^ SM3_PAD64_W[22]);
    sm3_round_high(&v, SM3_T[19], SM3_PAD64_W[19], SM3_PAD64_W[19] ^ SM3_PAD64_W[23]);
    sm3_round_high(&v, SM3_T[20], SM3_PAD64_W[20], SM3_PAD64_W[20] ^ SM3_PAD64_W[24]);
    sm3_round_high(&v, SM3_T[21], SM3_PAD64_W[21], SM3_PAD64_W[21] ^ SM3_PAD64_W[25]);
    sm3_round_high(&v, SM3_T[22], SM3_PAD64_W[22], SM3_PAD64_W[22] ^ SM3_PAD64_W[26]);
    sm3_round_high(&v, SM3_T[23], SM3_PAD64_W[23], SM3_PAD64_W[23] ^ SM3_PAD64_W[27]);
    sm3_round_high(&v, SM3_T[24], SM3_PAD64_W[24], SM3_PAD64_W[24] ^ SM3_PAD64_W[28]);
    sm3_round_high(&v, SM3_T[25], SM3_PAD64_W[25], SM3_PAD64_W[25] ^ SM3_PAD64_W[29]);
    sm3_round_high(&v, SM3_T[26], SM3_PAD64_W[26], SM3_PAD64_W[26] ^ SM3_PAD64_W[30]);
    sm3_round_high(&v, SM3_T[27], SM3_PAD64_W[27], SM3_PAD64_W[27] ^ SM3_PAD64_W[31]);
    sm3_round_high(&v, SM3_T[28], SM3_PAD64_W[28], SM3_PAD64_W[28] ^ SM3_PAD64_W[32]);
    sm3_round_high(&v, SM3_T[29], SM3_PAD64_W[29], SM3_PAD64_W[29] ^ SM3_PAD64_W[33]);
    sm3_round_high(&v, SM3_T[30], SM3_PAD64_W[30], SM3_PAD64_W[30] ^ SM3_PAD64_W[34]);
    sm3_round_high(&v, SM3_T[31], SM3_PAD64_W[31], SM3_PAD64_W[31] ^ SM3_PAD64_W[35]);
    sm3_round_high(&v, SM3_T[32], SM3_PAD64_W[32], SM3_PAD64_W[32] ^ SM3_PAD64_W[36]);
    sm3_round_high(&v, SM3_T[33], SM3_PAD64_W[33], SM3_PAD64_W[33] ^ SM3_PAD64_W[37]);
    sm3_round_high(&v, SM3_T[34], SM3_PAD64_W[34], SM3_PAD64_W[34] ^ SM3_PAD64_W[38]);
    sm3_round_high(&v, SM3_T[35], SM3_PAD64_W[35], SM3_PAD64_W[35] ^ SM3_PAD64_W[39]);
    sm3_round_high(&v, SM3_T[36], SM3_PAD64_W[36], SM3_PAD64_W[36] ^ SM3_PAD64_W[40]);
    sm3_round_high(&v, SM3_T[37], SM3_PAD64_W[37], SM3_PAD64_W[37] ^ SM3_PAD64_W[41]);
    sm3_round_high(&v, SM3_T[38], SM3_PAD64_W[38], SM3_PAD64_W[38] ^ SM3_PAD64_W[42]);
    sm3_round_high(&v, SM3_T[39], SM3_PAD64_W[39], SM3_PAD64_W[39] ^ SM3_PAD64_W[43]);
    sm3_round_high(&v, SM3_T[40], SM3_PAD64_W[40], SM3_PAD64_W[40] ^ SM3_PAD64_W[44]);
    sm3_round_high(&v, SM3_T[41], SM3_PAD64_W[41], SM3_PAD64_W[41] ^ SM3_PAD64_W[45]);
    sm3_round_high(&v, SM3_T[42], SM3_PAD64_W[42], SM3_PAD64_W[42] ^ SM3_PAD64_W[46]);
    sm3_round_high(&v, SM3_T[43], SM3_PAD64_W[43], SM3_PAD64_W[43] ^ SM3_PAD64_W[47]);
    sm3_round_high(&v, SM3_T[44], SM3_PAD64_W[44], SM3_PAD64_W[44] ^ SM3_PAD64_W[48]);
    sm3_round_high(&v, SM3_T[45], SM3_PAD64_W[45], SM3_PAD64_W[45] ^ SM3_PAD64_W[49]);
    sm3_round_high(&v, SM3_T[46], SM3_PAD64_W[46], SM3_PAD64_W[46] ^ SM3_PAD64_W[50]);
    sm3_round_high(&v, SM3_T[47], SM3_PAD64_W[47], SM3_PAD64_W[47] ^ SM3_PAD64_W[51]);
    sm3_round_high(&v, SM3_T[48], SM3_PAD64_W[48], SM3_PAD64_W[48] ^ SM3_PAD64_W[52]);
    sm3_round_high(&v, SM3_T[49], SM3_PAD64_W[49], SM3_PAD64_W[49] ^ SM3_PAD64_W[53]);
    sm3_round_high(&v, SM3_T[50], SM3_PAD64_W[50], SM3_PAD64_W[50] ^ SM3_PAD64_W[54]);
    sm3_round_high(&v, SM3_T[51], SM3_PAD64_W[51], SM3_PAD64_W[51] ^ SM3_PAD64_W[55]);
    sm3_round_high(&v, SM3_T[52], SM3_PAD64_W[52], SM3_PAD64_W[52] ^ SM3_PAD64_W[56]);
    sm3_round_high(&v, SM3_T[53], SM3_PAD64_W[53], SM3_PAD64_W[53] ^ SM3_PAD64_W[57]);
    sm3_round_high(&v, SM3_T[54], SM3_PAD64_W[54], SM3_PAD64_W[54] ^ SM3_PAD64_W[58]);
    sm3_round_high(&v, SM3_T[55], SM3_PAD64_W[55], SM3_PAD64_W[55] ^ SM3_PAD64_W[59]);
    sm3_round_high(&v, SM3_T[56], SM3_PAD64_W[56], SM3_PAD64_W[56] ^ SM3_PAD64_W[60]);
    sm3_round_high(&v, SM3_T[57], SM3_PAD64_W[57], SM3_PAD64_W[57] ^ SM3_PAD64_W[61]);
    sm3_round_high(&v, SM3_T[58], SM3_PAD64_W[58], SM3_PAD64_W[58] ^ SM3_PAD64_W[62]);
    sm3_round_high(&v, SM3_T[59], SM3_PAD64_W[59], SM3_PAD64_W[59] ^ SM3_PAD64_W[63]);
    sm3_round_high(&v, SM3_T[60], SM3_PAD64_W[60], SM3_PAD64_W[60] ^ SM3_PAD64_W[64]);
    sm3_round_high(&v, SM3_T[61], SM3_PAD64_W[61], SM3_PAD64_W[61] ^ SM3_PAD64_W[65]);
    sm3_round_high(&v, SM3_T[62], SM3_PAD64_W[62], SM3_PAD64_W[62] ^ SM3_PAD64_W[66]);
    sm3_round_high(&v, SM3_T[63], SM3_PAD64_W[63], SM3_PAD64_W[63] ^ SM3_PAD64_W[67]);
    return sm3_finish(state, v);
}

// The node hash of the SM3 schemes (`variant` is unused: the family has one): SM3(left ||
// right), a 64-byte message whose second block is the constant padding block; or, with
// `alone`, SM3(left), a 32-byte message of one block: left, 0x80, zeros, the bit length 256
// (FISCO BCOS's odd last node). Both start with one compression from the IV, shared by one
// call site: every call site is a full copy of the 64 rounds once the driver inlines it, and
// drivers that compile at the first dispatch (lavapipe) take time in proportion to those
// copies. The branches are uniform within a dispatch except at a level's odd last node.
fn merkle_hash(left: Digest, right: Digest, alone: bool, variant: u32) -> Digest {
    let l = left.w;
    let r = right.w;
    var first = array<u32, 16>(l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7], r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    if (alone) {
        first = array<u32, 16>(l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7], 0x80000000u, 0u, 0u, 0u, 0u, 0u, 0u, 256u);
    }
    var state = sm3_compress(Digest(SM3_IV), first);
    if (!alone) {
        state = sm3_compress_pad64(state);
    }
    return state;
}
