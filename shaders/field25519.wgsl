// Arithmetic modulo p = 2^255 - 19 in 32-bit integers only.
//
// Representation: 20 limbs of 13 bits (radix 2^13, 260 bits of room). Why 13: a product of two
// 13-bit limbs is 26 bits and a column of the schoolbook product sums at most 20 of them, so a
// whole 20 x 20 multiplication accumulates in plain u32 with no carry handling inside it. Any
// representation with wider limbs needs the high half of a 32 x 32 product, which WGSL does not
// have without the optional 64-bit integer feature (the GPU kernels' docs in src/gpu/sig.rs say
// what that would buy and why this one is used everywhere today).
//
// Invariant between operations ("weakly reduced"): limbs 1..18 < 2^13, limb 19 < 2^8, limb 0
// < 2^13 + 64. The value is then below 2^255 + 2^7, not necessarily below p; only the encoder
// (fe_to_words) and the comparisons reduce fully. Products of weakly reduced limbs stay below
// 2^26.02, and 20 of them below 2^30.4, well inside a u32.

alias Fe = array<u32, 20>;

const LIMB_MASK: u32 = 0x1fffu;

// 2^260 = 2^5 * 2^255 = 32 * 19 = 608 (mod p): how limbs 20..39 of a product fold back.
const FOLD_260: u32 = 608u;

// 4p spread over limbs each at least as large as any weakly reduced limb, so that a - b
// computed as a + 4p - b never goes below zero in any limb.
const FOUR_P: Fe = Fe(16308u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u,
                      16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 16382u, 1022u);

// d = -121665/121666, the Edwards curve constant.
const FE_D: Fe = Fe(6307u, 6859u, 4740u, 5787u, 5982u, 3157u, 1287u, 2472u, 4106u, 3u,
                    6694u, 3827u, 1943u, 928u, 3635u, 8142u, 2927u, 1905u, 219u, 164u);
// 2d.
const FE_D2: Fe = Fe(4441u, 5527u, 1289u, 3383u, 3773u, 6315u, 2574u, 4944u, 20u, 7u,
                     5196u, 7655u, 3886u, 1856u, 7270u, 8092u, 5855u, 3810u, 438u, 72u);
// sqrt(-1) = 2^((p-1)/4).
const FE_SQRT_M1: Fe = Fe(176u, 4213u, 2514u, 7222u, 3150u, 4668u, 5311u, 213u, 792u, 6522u,
                          5609u, 7159u, 2451u, 1664u, 3245u, 7137u, 4033u, 1026u, 201u, 87u);

fn fe_zero() -> Fe {
    return Fe();
}

fn fe_one() -> Fe {
    var r = Fe();
    r[0] = 1u;
    return r;
}

// Brings limbs of up to 2^31 back to the weakly reduced form: carries ripple up, whatever
// reaches bit 255 comes back in at the bottom times 19; twice, because the first fold can
// itself carry.
fn fe_carry(a: Fe) -> Fe {
    var r = a;
    for (var round = 0u; round < 2u; round++) {
        var c = 0u;
        for (var i = 0u; i < 19u; i++) {
            let v = r[i] + c;
            r[i] = v & LIMB_MASK;
            c = v >> 13u;
        }
        let top = r[19] + c;
        r[19] = top & 0xffu;
        r[0] += 19u * (top >> 8u);
    }
    return r;
}

fn fe_add(a: Fe, b: Fe) -> Fe {
    var r: Fe;
    for (var i = 0u; i < 20u; i++) {
        r[i] = a[i] + b[i];
    }
    return fe_carry(r);
}

fn fe_sub(a: Fe, b: Fe) -> Fe {
    var r: Fe;
    for (var i = 0u; i < 20u; i++) {
        r[i] = a[i] + FOUR_P[i] - b[i];
    }
    return fe_carry(r);
}

fn fe_neg(a: Fe) -> Fe {
    return fe_sub(fe_zero(), a);
}

// Multiplication, by rows with a sliding window of 20 column sums: row i adds a[i] * b to
// columns i..i+19; column i is then complete and leaves the window. The window, the rows of
// `a` and the finished columns all shift by one limb per row, so every array index is a
// constant: with the row count known at compile time the compiler unrolls everything into
// registers (the shifts vanish), and with it read at run time (`fe_mul_rows()`, which the
// host defines) the loop stays a loop of about 80 instructions instead of some 1,100 per call
// site, with no indexed private memory (which a software rasteriser turns into long select
// ladders). The host picks the build (src/gpu/sig.rs).
fn fe_mul(a: Fe, b: Fe) -> Fe {
    var low: Fe;
    var window: Fe;
    var a_rows = a;
    let rows = fe_mul_rows();
    for (var i = 0u; i < rows; i++) {
        let ai = a_rows[0];
        for (var j = 0u; j < 20u; j++) {
            window[j] += ai * b[j];
        }
        let column = window[0];
        for (var j = 0u; j < 19u; j++) {
            window[j] = window[j + 1u];
            a_rows[j] = a_rows[j + 1u];
            low[j] = low[j + 1u];
        }
        window[19] = 0u;
        a_rows[19] = 0u;
        low[19] = column;
    }
    // Columns 0..19 are in `low`, 20..38 in window[0..18]. Carry through all 39, then fold
    // columns 20..39 back in times 2^260 mod p = 608.
    var c = 0u;
    for (var k = 0u; k < 20u; k++) {
        let v = low[k] + c;
        low[k] = v & LIMB_MASK;
        c = v >> 13u;
    }
    for (var k = 0u; k < 19u; k++) {
        let v = window[k] + c;
        window[k] = v & LIMB_MASK;
        c = v >> 13u;
    }
    window[19] = c;
    var r: Fe;
    for (var i = 0u; i < 20u; i++) {
        r[i] = low[i] + FOLD_260 * window[i];
    }
    return fe_carry(r);
}

fn fe_sq(a: Fe) -> Fe {
    return fe_mul(a, a);
}

fn fe_sq_n(a: Fe, n: u32) -> Fe {
    var r = a;
    for (var i = 0u; i < n; i++) {
        r = fe_sq(r);
    }
    return r;
}

// The fully reduced value (0 <= value < p), limbs all below 2^13.
fn fe_canonical(a: Fe) -> Fe {
    var r = fe_carry(a);
    // Now value < 2^255 + 2^7 and only limb 0 may exceed 13 bits: one more ripple, one more
    // fold (which cannot carry again), and the value is below 2^255 with every limb in range.
    var c = 0u;
    for (var i = 0u; i < 19u; i++) {
        let v = r[i] + c;
        r[i] = v & LIMB_MASK;
        c = v >> 13u;
    }
    let top = r[19] + c;
    r[19] = top & 0xffu;
    r[0] += 19u * (top >> 8u);
    // value < 2^255. It is >= p exactly when value + 19 reaches 2^255; then the answer is
    // value + 19 - 2^255.
    var s: Fe;
    c = 19u;
    for (var i = 0u; i < 19u; i++) {
        let v = r[i] + c;
        s[i] = v & LIMB_MASK;
        c = v >> 13u;
    }
    let s_top = r[19] + c;
    s[19] = s_top & 0xffu;
    if (s_top >> 8u) != 0u {
        return s;
    }
    return r;
}

// The little-endian 255-bit value of eight 32-bit words, bit 255 ignored (as RFC 8032 and
// curve25519-dalek decode y: values from p to 2^255 - 1 are accepted and taken mod p).
fn fe_from_words(w: array<u32, 8>) -> Fe {
    var r: Fe;
    for (var i = 0u; i < 20u; i++) {
        let bit = 13u * i;
        let word = bit >> 5u;
        let off = bit & 31u;
        var v = w[word] >> off;
        if off + 13u > 32u && word < 7u {
            v |= w[word + 1u] << (32u - off);
        }
        r[i] = v & LIMB_MASK;
    }
    r[19] &= 0xffu;
    return r;
}

// The canonical 32-byte encoding, as eight little-endian words (bit 255 clear).
fn fe_to_words(a: Fe) -> array<u32, 8> {
    let r = fe_canonical(a);
    var w: array<u32, 8>;
    for (var i = 0u; i < 20u; i++) {
        let bit = 13u * i;
        let word = bit >> 5u;
        let off = bit & 31u;
        w[word] |= r[i] << off;
        if off + 13u > 32u && word < 7u {
            w[word + 1u] |= r[i] >> (32u - off);
        }
    }
    return w;
}

fn fe_is_zero(a: Fe) -> bool {
    let r = fe_canonical(a);
    var acc = 0u;
    for (var i = 0u; i < 20u; i++) {
        acc |= r[i];
    }
    return acc == 0u;
}

fn fe_eq(a: Fe, b: Fe) -> bool {
    return fe_is_zero(fe_sub(a, b));
}

// "Negative" as RFC 8032 defines it: the canonical value is odd.
fn fe_is_negative(a: Fe) -> bool {
    return (fe_canonical(a)[0] & 1u) == 1u;
}

// x^e for the two exponents the verifier needs, by the addition chain of ref10 (254
// squarings, 11 multiplications), written as one loop over the chain's steps so that the
// squaring and the multiplication each appear once in the compiled code. Step i squares the
// running value SQUARINGS[i] times, then multiplies by the saved power named by FACTORS[i]
// (0: x, 1: x^2, 2: x^9, 3: x^11, 4: x^(2^5-1), 5: x^(2^10-1), 6: x^(2^20-1), 7: x^(2^50-1),
// 8: x^(2^100-1)) and saves the product where SAVES[i] says.
//   invert:  x^(p-2) = x^(2^255 - 21)        pow_p58: x^((p-5)/8) = x^(2^252 - 3)
const POW_STEPS: u32 = 12u;

fn fe_pow(x: Fe, p58: bool) -> Fe {
    var saved: array<Fe, 9>;
    saved[0] = x;
    // x^2, then x^9 = (x^2)^4 * x, x^11 = x^9 * x^2, x^31 = (x^11)^2 * x^9, ...
    var squarings = array<u32, 12>(1u, 2u, 0u, 1u, 5u, 10u, 20u, 10u, 50u, 100u, 50u, 5u);
    var factors = array<u32, 12>(9u, 0u, 1u, 2u, 4u, 5u, 6u, 5u, 7u, 8u, 7u, 3u);
    var saves = array<u32, 12>(1u, 2u, 3u, 4u, 5u, 6u, 9u, 7u, 8u, 9u, 9u, 9u);
    if p58 {
        squarings[11] = 2u;
        factors[11] = 0u;
    }
    var acc = x;
    for (var step = 0u; step < runtime_count(POW_STEPS); step++) {
        for (var i = 0u; i < squarings[step]; i++) {
            acc = fe_sq(acc);
        }
        if factors[step] != 9u {
            acc = fe_mul(acc, saved[factors[step]]);
        }
        if saves[step] != 9u {
            saved[saves[step]] = acc;
        }
    }
    return acc;
}

// 1/x = x^(p - 2) (0 for 0).
fn fe_invert(x: Fe) -> Fe {
    return fe_pow(x, false);
}

// x^((p - 5) / 8), the exponent of the square-root-of-a-ratio trick.
fn fe_pow_p58(x: Fe) -> Fe {
    return fe_pow(x, true);
}
