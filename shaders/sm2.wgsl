// SM2 verification (GB/T 32918.2-2016 section 7.1), one signature per invocation: the joint sum
// [s]G + [t]P and checks 6 and 7 of the CPU engine (src/sig/sm2/mod.rs), in its order, with
// its reasons as the verdict codes below. Checks 1-5 (key, ID, signature encoding, ranges,
// t != 0) and the digest e ran on the host with the CPU engine's own code, which packed only
// the items that passed them (src/sig/sm2/device_form.rs).
// Prepended by the host: the generated field code (src/gpu/sm2_field.rs): Fp, FP_P, FP_ONE,
// fp_mul, fp_add, fp_sub, all values fully reduced below p, in Montgomery form (R = 2^256).
//
// Points are Jacobian (X/Z^2, Y/Z^3; Z = 0 is the point at infinity) with the CPU engine's
// formulas (src/sig/sm2/point.rs: dbl-2001-b for a = -3, add-2007-bl), every exceptional case
// handled: equal points (the sum is a doubling), opposite points (infinity), infinity as
// either operand. An adversary who knows a key's discrete log can steer the partial sums into
// any of them, so none may be assumed away.
//
// Code size: a shader compiler inlines every call, and each call site of a point operation
// costs a copy of its field multiplications (about 2,500 instructions each in the unrolled
// build). So all point arithmetic runs in one loop over a schedule of steps, with one
// addition and one doubling in it (see verify_sm2), and the final check has two
// multiplications: the kernel stays small enough for lavapipe to compile in seconds.

// Verdict codes, as src/gpu/sm2.rs reads them.
const VERDICT_VALID: u32 = 0u;
const VERDICT_SUM_AT_INFINITY: u32 = 1u;
const VERDICT_EQUATION_FAILED: u32 = 2u;

// One packed item: the key's affine x and y (Montgomery form), s and t (plain little-endian
// integers), and the final check's candidates c = (r - e) mod n and c + n (Montgomery form;
// all ones when c + n >= p), 8 words each.
const ITEM_WORDS: u32 = 48u;
const ITEM_S: u32 = 16u;
const ITEM_T: u32 = 24u;
const ITEM_C1: u32 = 32u;
const ITEM_C2: u32 = 40u;
// G's comb: entry 15*i + d - 1 is d*16^i*G (d in 1..15), affine x then y, 16 words.
const G_ENTRY_WORDS: u32 = 16u;
const G_ROW: u32 = 15u;

// The schedule (see verify_sm2): 7 steps build 2P..8P, 1 + 64 * 5 run the windows of t, 64
// add the comb entries of s's nibbles.
const STEPS_MULTIPLES: u32 = 7u;
const STEPS_WINDOWS: u32 = 321u;
const STEPS_COMB: u32 = 64u;

struct Params {
    count: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> items: array<u32>;
@group(0) @binding(2) var<storage, read> g_comb: array<u32>;
@group(0) @binding(3) var<storage, read_write> verdicts: array<u32>;

struct Jac {
    x: Fp,
    y: Fp,
    z: Fp,
}

// A sum, or the word that it is the doubling of the first operand (the operands were equal).
struct Sum {
    p: Jac,
    doubled: bool,
}

fn fp_is_zero(a: Fp) -> bool {
    return (a[0] | a[1] | a[2] | a[3] | a[4] | a[5] | a[6] | a[7]) == 0u;
}

fn fp_eq(a: Fp, b: Fp) -> bool {
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])
        | (a[5] ^ b[5]) | (a[6] ^ b[6]) | (a[7] ^ b[7])) == 0u;
}

fn fp_is_all_ones(a: Fp) -> bool {
    return (a[0] & a[1] & a[2] & a[3] & a[4] & a[5] & a[6] & a[7]) == 0xffffffffu;
}

fn fp_dbl(a: Fp) -> Fp {
    return fp_add(a, a);
}

fn infinity() -> Jac {
    return Jac(FP_ONE, FP_ONE, Fp());
}

// 2p (dbl-2001-b, a = -3), as Jacobian::double.
fn jac_double(p: Jac) -> Jac {
    if fp_is_zero(p.z) || fp_is_zero(p.y) {
        return infinity();
    }
    let delta = fp_mul(p.z, p.z);
    let gamma = fp_mul(p.y, p.y);
    let beta = fp_mul(p.x, gamma);
    let t = fp_mul(fp_sub(p.x, delta), fp_add(p.x, delta));
    let alpha = fp_add(fp_dbl(t), t);
    let beta4 = fp_dbl(fp_dbl(beta));
    let x3 = fp_sub(fp_mul(alpha, alpha), fp_dbl(beta4));
    let yz = fp_add(p.y, p.z);
    let z3 = fp_sub(fp_sub(fp_mul(yz, yz), gamma), delta);
    let gamma2 = fp_mul(gamma, gamma);
    let y3 = fp_sub(fp_mul(alpha, fp_sub(beta4, x3)), fp_dbl(fp_dbl(fp_dbl(gamma2))));
    return Jac(x3, y3, z3);
}

// a + b (add-2007-bl), as Jacobian::add; equal operands come back as `doubled` for the
// caller's one doubling site.
fn jac_add(a: Jac, b: Jac) -> Sum {
    if fp_is_zero(a.z) {
        return Sum(b, false);
    }
    if fp_is_zero(b.z) {
        return Sum(a, false);
    }
    let z1z1 = fp_mul(a.z, a.z);
    let z2z2 = fp_mul(b.z, b.z);
    let u1 = fp_mul(a.x, z2z2);
    let u2 = fp_mul(b.x, z1z1);
    let s1 = fp_mul(fp_mul(a.y, b.z), z2z2);
    let s2 = fp_mul(fp_mul(b.y, a.z), z1z1);
    let h = fp_sub(u2, u1);
    let r = fp_dbl(fp_sub(s2, s1));
    if fp_is_zero(h) {
        if fp_is_zero(r) {
            return Sum(a, true);
        }
        return Sum(infinity(), false);
    }
    let h2 = fp_dbl(h);
    let i = fp_mul(h2, h2);
    let j = fp_mul(h, i);
    let v = fp_mul(u1, i);
    let x3 = fp_sub(fp_sub(fp_mul(r, r), j), fp_dbl(v));
    let y3 = fp_sub(fp_mul(r, fp_sub(v, x3)), fp_dbl(fp_mul(s1, j)));
    let zz = fp_add(a.z, b.z);
    let z3 = fp_mul(fp_sub(fp_sub(fp_mul(zz, zz), z1z1), z2z2), h);
    return Sum(Jac(x3, y3, z3), false);
}

fn item_fp(at: u32) -> Fp {
    return Fp(items[at], items[at + 1u], items[at + 2u], items[at + 3u], items[at + 4u],
        items[at + 5u], items[at + 6u], items[at + 7u]);
}

fn comb_fp(at: u32) -> Fp {
    return Fp(g_comb[at], g_comb[at + 1u], g_comb[at + 2u], g_comb[at + 3u], g_comb[at + 4u],
        g_comb[at + 5u], g_comb[at + 6u], g_comb[at + 7u]);
}

// Nibble k (0..63, least significant first) of the 256-bit integer at item word `at`.
fn nibble(at: u32, k: u32) -> u32 {
    return (items[at + k / 8u] >> (4u * (k % 8u))) & 15u;
}

@compute @workgroup_size(64)
fn verify_sm2(@builtin(global_invocation_id) gid: vec3<u32>) {
    let item = gid.x;
    if item >= params.count {
        return;
    }
    let base = item * ITEM_WORDS;
    let key = Jac(item_fp(base), item_fp(base + 8u), FP_ONE);

    // t in signed radix 16: digits in [-7, 8], t = sum digits[k] 16^k (the top one 0 or 1).
    var digits: array<i32, 65>;
    var carry = 0u;
    for (var k = 0u; k < 64u; k++) {
        let v = nibble(base + ITEM_T, k) + carry;
        carry = select(0u, 1u, v > 8u);
        digits[k] = i32(v) - i32(16u * carry);
    }
    digits[64] = i32(carry);

    // The schedule, one step per iteration, each at most one addition then one doubling:
    // * steps 0..6: multiples[j] = (j + 1)P: 2P by doubling, then + P six times;
    // * then [t]P from the top window down: window 64's digit, and for each window below it
    //   four doublings and its digit's multiple (negated for a negative digit);
    // * then [s]G: for each nonzero nibble of s, its comb entry (no doubling: the comb's
    //   entries carry their own powers of 16).
    var multiples: array<Jac, 8>;
    multiples[0] = key;
    var acc = key;
    for (var step = 0u; step < STEPS_MULTIPLES + STEPS_WINDOWS + STEPS_COMB; step++) {
        var do_add = false;
        var do_double = false;
        var q = key;
        if step < STEPS_MULTIPLES {
            do_double = step == 0u;
            do_add = step != 0u;
        } else if step < STEPS_MULTIPLES + STEPS_WINDOWS {
            if step == STEPS_MULTIPLES {
                acc = infinity();
            }
            let w = step - STEPS_MULTIPLES;
            var window = 64u;
            var digit_step = true;
            if w > 0u {
                window = 63u - (w - 1u) / 5u;
                digit_step = (w - 1u) % 5u == 4u;
            }
            do_double = !digit_step;
            let d = digits[window];
            if digit_step && d != 0 {
                do_add = true;
                q = multiples[u32(abs(d)) - 1u];
                if d < 0 {
                    q.y = fp_sub(Fp(), q.y);
                }
            }
        } else {
            let k = step - STEPS_MULTIPLES - STEPS_WINDOWS;
            let n = nibble(base + ITEM_S, k);
            if n != 0u {
                do_add = true;
                let at = (k * G_ROW + n - 1u) * G_ENTRY_WORDS;
                q = Jac(comb_fp(at), comb_fp(at + 8u), FP_ONE);
            }
        }
        if do_add {
            let sum = jac_add(acc, q);
            acc = sum.p;
            do_double = sum.doubled;
        }
        if do_double {
            acc = jac_double(acc);
        }
        if step < STEPS_MULTIPLES {
            multiples[step + 1u] = acc;
        }
    }

    // Check 6: the sum is not the point at infinity. Check 7: (e + x1) mod n = r, that is
    // x1 = c or x1 = c + n (below p), compared as X = c * Z^2 with no inversion.
    if fp_is_zero(acc.z) {
        verdicts[item] = VERDICT_SUM_AT_INFINITY;
        return;
    }
    let z2 = fp_mul(acc.z, acc.z);
    var verdict = VERDICT_EQUATION_FAILED;
    let c2 = item_fp(base + ITEM_C2);
    for (var c = 0u; c < 2u; c++) {
        var candidate = item_fp(base + ITEM_C1);
        if c == 1u {
            candidate = c2;
        }
        if (c == 0u || !fp_is_all_ones(c2)) && fp_eq(acc.x, fp_mul(candidate, z2)) {
            verdict = VERDICT_VALID;
        }
    }
    verdicts[item] = verdict;
}
