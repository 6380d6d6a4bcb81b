// Ed25519 verification, one signature per invocation, with exactly the checks and the order
// of checks of the CPU engine (src/sig/mod.rs): the verdict codes below are its reasons.
// Prepended by the host: the generated field code (src/gpu/field_code.rs), field25519.wgsl.
//
// Points use extended twisted Edwards coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z, and
// the formulas of Hisil-Wong-Carter-Dawson as in ref10 and curve25519-dalek: complete for
// a = -1, so no input (small-order points and the identity included) needs a special case.
//
// Branches: everything that depends on a signature's bytes is either a select between values
// or an early return for an item already rejected; the long part (the double-scalar
// multiplication) runs the same instructions for every item of a workgroup.
//
// Code size: a shader compiler inlines every call, so each call site of a point operation
// costs a copy of its field multiplications. All point arithmetic of an item therefore runs in
// one loop over a schedule of steps (see verdict_of), with one doubling and one addition in
// it, and both decompressions share one site: the compiled kernel stays small enough for a
// software rasteriser to compile in seconds and for a GPU's instruction cache.

// Verdict codes, as src/gpu/sig.rs reads them.
const VERDICT_VALID: u32 = 0u;
const VERDICT_NON_CANONICAL_S: u32 = 1u;
const VERDICT_KEY_NOT_ON_CURVE: u32 = 2u;
const VERDICT_R_NOT_ON_CURVE: u32 = 3u;
const VERDICT_SMALL_ORDER_KEY: u32 = 4u;
const VERDICT_SMALL_ORDER_R: u32 = 5u;
const VERDICT_NON_CANONICAL_R: u32 = 6u;
const VERDICT_EQUATION_FAILED: u32 = 7u;

// One item in the packed buffer: A (8 words), R (8), S (8), k = SHA-512(R || A || M) mod L (8),
// each the 32 little-endian bytes as little-endian words.
const ITEM_WORDS: u32 = 32u;
// One affine Niels point (y + x, y - x, 2dxy) in the base-point table.
const NIELS_WORDS: u32 = 3u * FE_LIMBS;
// Multiples 1..8 of the base point: the signed radix-16 digits of S are in [-8, 8].
const BASE_TABLE_LEN: u32 = 8u;

struct Params {
    count: u32,
    strict: u32,
    // Always 1; see runtime_count.
    one: u32,
    pad: u32,
}

// `n`, in a form the shader compiler cannot see as a constant: loops around point or
// exponentiation code take their trip count from here so that they stay loops. A compiler
// unrolls constant-count loops, and a loop whose body holds dozens of field multiplications,
// unrolled, multiplies the kernel's size (and a software rasteriser's compile time, which
// went from minutes to seconds with this).
fn runtime_count(n: u32) -> u32 {
    return n * params.one;
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> items: array<u32>;
@group(0) @binding(2) var<storage, read> base_table: array<u32>;
@group(0) @binding(3) var<storage, read_write> verdicts: array<u32>;

// The table builder's bindings (a pipeline of its own, run once per device; it also reads
// `params` for the field code's row count).
@group(0) @binding(4) var<storage, read> base_encodings: array<u32>;
@group(0) @binding(5) var<storage, read_write> base_table_out: array<u32>;

struct P3 {
    x: Fe,
    y: Fe,
    z: Fe,
    t: Fe,
}

// A sum or double before its final multiplications ("completed" coordinates):
// x = X/Z, y = Y/T.
struct P1P1 {
    x: Fe,
    y: Fe,
    z: Fe,
    t: Fe,
}

// Projective (X:Y:Z), enough for doubling.
struct P2 {
    x: Fe,
    y: Fe,
    z: Fe,
}

// A point ready to be added: (Y + X, Y - X, Z, 2dT).
struct Cached {
    ypx: Fe,
    ymx: Fe,
    z: Fe,
    t2d: Fe,
}

// An affine point ready to be added: (y + x, y - x, 2dxy).
struct Niels {
    ypx: Fe,
    ymx: Fe,
    xy2d: Fe,
}

fn p3_identity() -> P3 {
    return P3(fe_zero(), fe_one(), fe_one(), fe_zero());
}

fn cached_identity() -> Cached {
    return Cached(fe_one(), fe_one(), fe_one(), fe_zero());
}

fn niels_identity() -> Niels {
    return Niels(fe_one(), fe_one(), fe_zero());
}

fn p1p1_to_p2(p: P1P1) -> P2 {
    return P2(fe_mul(p.x, p.t), fe_mul(p.y, p.z), fe_mul(p.z, p.t));
}

fn p1p1_to_p3(p: P1P1) -> P3 {
    return P3(fe_mul(p.x, p.t), fe_mul(p.y, p.z), fe_mul(p.z, p.t), fe_mul(p.x, p.y));
}

fn p3_to_p2(p: P3) -> P2 {
    return P2(p.x, p.y, p.z);
}

fn p3_to_cached(p: P3) -> Cached {
    return Cached(fe_add(p.y, p.x), fe_sub(p.y, p.x), p.z, fe_mul(p.t, FE_D2));
}

fn p3_neg(p: P3) -> P3 {
    return P3(fe_neg(p.x), p.y, p.z, fe_neg(p.t));
}

fn cached_neg(c: Cached) -> Cached {
    return Cached(c.ymx, c.ypx, c.z, fe_neg(c.t2d));
}

fn niels_neg(n: Niels) -> Niels {
    return Niels(n.ymx, n.ypx, fe_neg(n.xy2d));
}

// 2P.
fn p2_double(p: P2) -> P1P1 {
    let xx = fe_sq(p.x);
    let yy = fe_sq(p.y);
    let zz = fe_sq(p.z);
    let zz2 = fe_add(zz, zz);
    let xy_sq = fe_sq(fe_add(p.x, p.y));
    let y3 = fe_add(yy, xx);
    let z3 = fe_sub(yy, xx);
    return P1P1(fe_sub(xy_sq, y3), y3, z3, fe_sub(zz2, z3));
}

// P + Q.
fn p3_add(p: P3, q: Cached) -> P1P1 {
    let a = fe_mul(fe_add(p.y, p.x), q.ypx);
    let b = fe_mul(fe_sub(p.y, p.x), q.ymx);
    let c = fe_mul(q.t2d, p.t);
    let zz = fe_mul(p.z, q.z);
    let d = fe_add(zz, zz);
    return P1P1(fe_sub(a, b), fe_add(a, b), fe_add(d, c), fe_sub(d, c));
}

// Whether P is the identity: X = 0 and Y = Z.
fn p3_is_identity(p: P3) -> bool {
    return fe_is_zero(p.x) && fe_eq(p.y, p.z);
}

// The canonical encoding of P, as eight little-endian words.
fn p3_compress(p: P3) -> array<u32, 8> {
    let zinv = fe_invert(p.z);
    let x = fe_mul(p.x, zinv);
    let y = fe_mul(p.y, zinv);
    var w = fe_to_words(y);
    if fe_is_negative(x) {
        w[7] |= 0x80000000u;
    }
    return w;
}

struct Decoded {
    ok: bool,
    point: P3,
}

// curve25519-dalek's decompression, step for step: y from 255 bits (non-canonical y
// accepted), x = sqrt((y^2 - 1) / (d y^2 + 1)) by the (p - 5)/8 exponent, the non-negative
// root, then negated when the sign bit is set (x = 0 with the sign bit set is accepted and
// stays 0, as dalek and ZIP 215 have it).
fn decompress(w: array<u32, 8>) -> Decoded {
    let y = fe_from_words(w);
    let yy = fe_sq(y);
    let u = fe_sub(yy, fe_one());
    let v = fe_add(fe_mul(yy, FE_D), fe_one());
    // sqrt_ratio_i(u, v)
    let v3 = fe_mul(fe_sq(v), v);
    let v7 = fe_mul(fe_sq(v3), v);
    var r = fe_mul(fe_mul(u, v3), fe_pow_p58(fe_mul(u, v7)));
    let check = fe_mul(v, fe_sq(r));
    let neg_u = fe_neg(u);
    let correct_sign = fe_eq(check, u);
    let flipped_sign = fe_eq(check, neg_u);
    let flipped_sign_i = fe_eq(check, fe_mul(neg_u, FE_SQRT_M1));
    if flipped_sign || flipped_sign_i {
        r = fe_mul(r, FE_SQRT_M1);
    }
    if fe_is_negative(r) {
        r = fe_neg(r);
    }
    if (w[7] >> 31u) == 1u {
        r = fe_neg(r);
    }
    return Decoded(correct_sign || flipped_sign, P3(r, y, fe_one(), fe_mul(r, y)));
}

// S < L, on the 32 little-endian bytes (the top bit set is simply S >= L).
fn scalar_is_canonical(s: array<u32, 8>) -> bool {
    var l = array<u32, 8>(0x5cf5d3edu, 0x5812631au, 0xa2f79cd6u, 0x14def9deu, 0u, 0u, 0u, 0x10000000u);
    for (var i = 7i; i >= 0i; i--) {
        if s[i] < l[i] {
            return true;
        }
        if s[i] > l[i] {
            return false;
        }
    }
    return false;
}

// Signed radix-16 digits in [-8, 8] of a scalar below 2^255 (every scalar that reaches the
// multiplication is below L < 2^253): digit i = nibble i + carry into i - 16 * carry out of i,
// where a carry leaves digit i when nibble + carry in >= 8. The 64 carries are computed once
// into two words; each digit is then read without indexing an array at run time.
fn nibble(s: array<u32, 8>, i: u32) -> u32 {
    var word = 0u;
    switch i >> 3u {
        case 0u: { word = s[0]; }
        case 1u: { word = s[1]; }
        case 2u: { word = s[2]; }
        case 3u: { word = s[3]; }
        case 4u: { word = s[4]; }
        case 5u: { word = s[5]; }
        case 6u: { word = s[6]; }
        default: { word = s[7]; }
    }
    return (word >> ((i & 7u) * 4u)) & 15u;
}

// Bit i: a carry goes out of digit i (into digit i + 1).
fn digit_carries(s: array<u32, 8>) -> vec2<u32> {
    var carries = vec2<u32>(0u, 0u);
    var carry = 0u;
    for (var i = 0u; i < 64u; i++) {
        carry = (nibble(s, i) + carry + 8u) >> 4u;
        if i < 32u {
            carries.x |= carry << i;
        } else {
            carries.y |= carry << (i - 32u);
        }
    }
    return carries;
}

fn carry_bit(carries: vec2<u32>, i: u32) -> i32 {
    if i < 32u {
        return i32((carries.x >> i) & 1u);
    }
    return i32((carries.y >> (i - 32u)) & 1u);
}

fn signed_digit(s: array<u32, 8>, carries: vec2<u32>, i: u32) -> i32 {
    var carry_in = 0i;
    if i > 0u {
        carry_in = carry_bit(carries, i - 1u);
    }
    return i32(nibble(s, i)) + carry_in - 16i * carry_bit(carries, i);
}

// The multiples 1..8 of -A, one named field each (see the note in verdict_of on run-time
// indices).
struct MultiplesTable {
    m1: Cached,
    m2: Cached,
    m3: Cached,
    m4: Cached,
    m5: Cached,
    m6: Cached,
    m7: Cached,
    m8: Cached,
}

fn table_get(t: MultiplesTable, m: u32) -> Cached {
    switch m {
        case 1u: { return t.m1; }
        case 2u: { return t.m2; }
        case 3u: { return t.m3; }
        case 4u: { return t.m4; }
        case 5u: { return t.m5; }
        case 6u: { return t.m6; }
        case 7u: { return t.m7; }
        default: { return t.m8; }
    }
}

fn table_set(t: MultiplesTable, m: u32, c: Cached) -> MultiplesTable {
    var r = t;
    switch m {
        case 1u: { r.m1 = c; }
        case 2u: { r.m2 = c; }
        case 3u: { r.m3 = c; }
        case 4u: { r.m4 = c; }
        case 5u: { r.m5 = c; }
        case 6u: { r.m6 = c; }
        case 7u: { r.m7 = c; }
        default: { r.m8 = c; }
    }
    return r;
}

fn load_words(base: u32) -> array<u32, 8> {
    var w: array<u32, 8>;
    for (var i = 0u; i < 8u; i++) {
        w[i] = items[base + i];
    }
    return w;
}

fn load_fe(base: u32) -> Fe {
    var r: Fe;
    for (var i = 0u; i < FE_LIMBS; i++) {
        r[i] = base_table[base + i];
    }
    return r;
}

// The table entry for a signed digit of S, as a cached point (Z = 1).
fn base_multiple(digit: i32) -> Cached {
    let m = u32(abs(digit));
    var n = niels_identity();
    if m != 0u {
        let base = (m - 1u) * NIELS_WORDS;
        n = Niels(load_fe(base), load_fe(base + FE_LIMBS), load_fe(base + 2u * FE_LIMBS));
    }
    if digit < 0i {
        n = niels_neg(n);
    }
    return Cached(n.ypx, n.ymx, fe_one(), n.xy2d);
}

fn words_equal(a: array<u32, 8>, b: array<u32, 8>) -> bool {
    var diff = 0u;
    for (var i = 0u; i < 8u; i++) {
        diff |= a[i] ^ b[i];
    }
    return diff == 0u;
}

// The schedule of point steps (one doubling or one addition each) in verdict_of.
// Strict only: [8]A, then [8]R (small-order checks).
const STEP_SMALL_A: u32 = 0u;
const STEP_SMALL_R: u32 = 3u;
// The multiples 1..8 of -A: one doubling, six additions.
const STEP_TABLE: u32 = 6u;
// [S]B + [k](-A) by Straus, 64 signed radix-16 digits from the top, six steps each: four
// doublings, add the digit's multiple of -A, add the digit's multiple of B.
const STEP_MAIN: u32 = 13u;
const STEPS_PER_DIGIT: u32 = 6u;
// Strict ends here (then compares the encoding with R's bytes); Zip215 goes on:
// add -R, then three doublings: [8](R' - R).
const STEP_TAIL: u32 = 397u;
const STEP_END: u32 = 401u;

fn verdict_of(index: u32) -> u32 {
    let base = index * ITEM_WORDS;
    let a_words = load_words(base);
    let r_words = load_words(base + 8u);
    let s_words = load_words(base + 16u);
    let k_words = load_words(base + 24u);
    let strict = params.strict != 0u;
    // Rule 1.
    if !scalar_is_canonical(s_words) {
        return VERDICT_NON_CANONICAL_S;
    }
    // Rules 2 and 3, A first.
    // No array of points indexed by `which`: Mesa's lavapipe (22.3) was seen to corrupt
    // private arrays written through a run-time index when other such arrays were live, so
    // the kernel indexes private arrays with constants only (switches where it must choose).
    var a_point: P3;
    var r_point: P3;
    for (var which = 0u; which < runtime_count(2u); which++) {
        var encoding = r_words;
        if which == 0u {
            encoding = a_words;
        }
        let decoded = decompress(encoding);
        if !decoded.ok {
            return select(VERDICT_R_NOT_ON_CURVE, VERDICT_KEY_NOT_ON_CURVE, which == 0u);
        }
        if which == 0u {
            a_point = decoded.point;
        } else {
            r_point = decoded.point;
        }
    }
    // Rule 6's comparison (R decoded with Z = 1, so no inversion); applied in order below.
    var r_encoding = fe_to_words(r_point.y);
    if fe_is_negative(r_point.x) {
        r_encoding[7] |= 0x80000000u;
    }
    let r_canonical = words_equal(r_encoding, r_words);

    let neg_a = p3_neg(a_point);
    var table = MultiplesTable();
    table.m1 = p3_to_cached(neg_a);
    let k_carries = digit_carries(k_words);
    let s_carries = digit_carries(s_words);
    var acc = p3_identity();
    let first = select(STEP_TABLE, STEP_SMALL_A, strict);
    let end = select(STEP_END, STEP_TAIL, strict);
    for (var step = first; step < end; step++) {
        var doubling = true;
        var operand = cached_identity();
        if step == STEP_SMALL_A {
            acc = a_point;
        } else if step == STEP_SMALL_R {
            acc = r_point;
        } else if step == STEP_TABLE {
            acc = neg_a;
        } else if step > STEP_TABLE && step < STEP_MAIN {
            doubling = false;
            operand = table.m1;
        } else if step >= STEP_MAIN && step < STEP_TAIL {
            let u = step - STEP_MAIN;
            let digit = 63u - u / STEPS_PER_DIGIT;
            let phase = u % STEPS_PER_DIGIT;
            if u == 0u {
                acc = p3_identity();
            }
            if phase == 4u {
                doubling = false;
                let d = signed_digit(k_words, k_carries, digit);
                let m = u32(abs(d));
                if m != 0u {
                    operand = table_get(table, m);
                }
                if d < 0i {
                    operand = cached_neg(operand);
                }
            } else if phase == 5u {
                doubling = false;
                operand = base_multiple(signed_digit(s_words, s_carries, digit));
            }
        } else if step == STEP_TAIL {
            doubling = false;
            operand = cached_neg(p3_to_cached(r_point));
        }

        var sum: P1P1;
        if doubling {
            sum = p2_double(p3_to_p2(acc));
        } else {
            sum = p3_add(acc, operand);
        }
        acc = p1p1_to_p3(sum);

        if step >= STEP_TABLE && step < STEP_MAIN {
            table = table_set(table, step - STEP_TABLE + 2u, p3_to_cached(acc));
        }
        if step == STEP_SMALL_R - 1u || step == STEP_TABLE - 1u || step == STEP_END - 1u {
            let identity = p3_is_identity(acc);
            if step == STEP_SMALL_R - 1u && identity {
                return VERDICT_SMALL_ORDER_KEY;
            }
            if step == STEP_TABLE - 1u {
                if identity {
                    return VERDICT_SMALL_ORDER_R;
                }
                if !r_canonical {
                    return VERDICT_NON_CANONICAL_R;
                }
            }
            if step == STEP_END - 1u {
                return select(VERDICT_EQUATION_FAILED, VERDICT_VALID, identity);
            }
        }
    }
    // Strict: R' = [S]B - [k]A, encoded, equals R's bytes.
    return select(VERDICT_EQUATION_FAILED, VERDICT_VALID, words_equal(p3_compress(acc), r_words));
}

@compute @workgroup_size(64)
fn verify_signatures(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x >= params.count {
        return;
    }
    verdicts[gid.x] = verdict_of(gid.x);
}

// Builds the base-point table once per device: decompresses the canonical encodings of
// B, 2B, ..., 8B (from curve25519-dalek, on the host) and stores each as (y + x, y - x, 2dxy).
@compute @workgroup_size(8)
fn build_base_table(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if j >= BASE_TABLE_LEN {
        return;
    }
    var w: array<u32, 8>;
    for (var i = 0u; i < 8u; i++) {
        w[i] = base_encodings[j * 8u + i];
    }
    let p = decompress(w).point;
    let ypx = fe_add(p.y, p.x);
    let ymx = fe_sub(p.y, p.x);
    let xy2d = fe_mul(fe_mul(p.x, p.y), FE_D2);
    for (var i = 0u; i < FE_LIMBS; i++) {
        base_table_out[j * NIELS_WORDS + i] = ypx[i];
        base_table_out[j * NIELS_WORDS + FE_LIMBS + i] = ymx[i];
        base_table_out[j * NIELS_WORDS + 2u * FE_LIMBS + i] = xy2d[i];
    }
}

