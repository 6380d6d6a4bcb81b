//! The hot part of the GPU field arithmetic (`fe_carry`, `fe_add`, `fe_sub`, `fe_mul`),
//! written out as straight-line WGSL by the host, in one of two builds.
//!
//! # Why generated, and why straight-line
//!
//! Every field operation runs thousands of times per signature, so how it is compiled
//! decides both speed and correctness:
//!
//! * **No loops a compiler may or may not unroll.** Mesa's lavapipe (the CI adapter, and what
//!   any machine without a GPU gets) ends *every loop of an invocation* once all loops
//!   together have run 65,535 iterations (`LP_MAX_TGSI_LOOP_ITERATIONS`, one counter per
//!   invocation, shared by every loop) — silently: the loops just stop and the kernel computes
//!   garbage. A field multiplication written as loops over limbs leaves it to the compiler
//!   whether those loops count; with ~40 counted iterations per multiplication, a signature
//!   (~4,100 multiplications) ran out two thirds of the way through its point loop. Here the
//!   limb loops are unrolled in the source, so the only loop left is the pass loop below,
//!   whose count is known.
//! * **Constant indices only.** Every access to a limb array uses a constant index, so the
//!   compiler keeps limbs in registers (no indexed private memory, which GPUs put in slow
//!   local memory and a software rasteriser turns into select ladders).
//!
//! # The two builds
//!
//! A multiplication is 20 rows (row `i` adds `a[i] · b` into the column sums). The rows are
//! done in passes of `rows_per_pass`, each pass followed by a shift of the partial results by
//! that many limbs, so that every pass runs the same code with the same constant indices:
//!
//! * [`FieldCode::Unrolled`] — one pass of 20 rows, no loop at all (about 1,100 instructions
//!   per call site). For hardware GPUs: registers only, which their compilers handle in
//!   seconds.
//! * [`FieldCode::Compact`] — 4 passes of 5 rows in a loop whose count is read from the
//!   kernel's parameters (a compiler cannot see it as a constant and unroll it again): about
//!   a third of the code per call site, which keeps lavapipe's LLVM compile within a few
//!   minutes. Its loop iterations per signature stay far below lavapipe's limit:
//!   ~4,100 multiplications × 4 passes + the exponentiations' squaring loops (~800) + the
//!   401 point steps + small loops elsewhere ≈ 23,000 of 65,535 (the count is spelled out
//!   at `COMPACT_LOOP_ITERATIONS_BOUND`, held to a third below the limit at compile time).
//!
//! The software adapter gets `Compact`, a hardware GPU `Unrolled`; [`FIELD_CODE_ENV`]
//! overrides the choice for measurement.

#![forbid(unsafe_code)]

/// Environment variable that forces a build of the field multiplication: `compact` or
/// `unrolled` (for measuring both on one adapter).
pub const FIELD_CODE_ENV: &str = "BLOCKVERIFY_GPU_FIELD";

/// Limbs of a field element (`Fe` in field25519.wgsl).
const LIMBS: usize = 20;

/// An upper bound on the loop iterations one invocation of the compact kernel runs, from
/// counting the kernel's loops: at most 4,200 field multiplications of 4 passes each (about
/// 4,050: 401 point steps of 8 or 9, two decompressions and one compression of about 280), 3 exponentiations of 266 chain and
/// squaring iterations, 401 point steps, 64 base-table loads of 3 × 20 limbs, two 64-digit
/// recodings, and 1,000 for the short loops of decoding, encoding and comparing (all counted
/// as if the compiler unrolled none of them). Lavapipe stops all loops at 65,535.
const COMPACT_LOOP_ITERATIONS_BOUND: u32 =
    4_200 * COMPACT_PASSES + 3 * 266 + 401 + 64 * 60 + 2 * 64 + 1_000;

// Checked when the crate compiles: the compact build keeps a third of lavapipe's loop budget
// to spare for anything the count above missed.
const _: () = assert!(COMPACT_LOOP_ITERATIONS_BOUND * 3 / 2 < 65_535);

/// Passes of the compact build's multiplication.
const COMPACT_PASSES: u32 = 4;

/// How the field multiplication is compiled (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldCode {
    /// Passes of 5 rows in a loop; for software adapters.
    Compact,
    /// One pass of 20 rows, no loop; for hardware GPUs.
    Unrolled,
}

impl FieldCode {
    /// The build for an adapter, unless [`FIELD_CODE_ENV`] names one.
    pub(crate) fn for_adapter(software: bool) -> FieldCode {
        match std::env::var(FIELD_CODE_ENV).as_deref() {
            Ok("compact") => FieldCode::Compact,
            Ok("unrolled") => FieldCode::Unrolled,
            _ if software => FieldCode::Compact,
            _ => FieldCode::Unrolled,
        }
    }

    /// The name reported with the compile time.
    pub(crate) fn name(self) -> &'static str {
        match self {
            FieldCode::Compact => "compact",
            FieldCode::Unrolled => "unrolled",
        }
    }

    /// The value of the kernel parameter `mul_passes` for this build.
    pub(crate) fn passes(self) -> u32 {
        match self {
            FieldCode::Compact => COMPACT_PASSES,
            FieldCode::Unrolled => 1,
        }
    }

    fn rows_per_pass(self) -> usize {
        LIMBS / self.passes() as usize
    }

    /// The WGSL of `fe_carry`, `fe_add`, `fe_sub` and `fe_mul` for this build. It uses
    /// `Fe`, `LIMB_MASK` and `FOLD_260` from field25519.wgsl and, in the compact build,
    /// `params.mul_passes` from ed25519.wgsl.
    pub(crate) fn wgsl(self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "// Generated by src/gpu/field_code.rs ({} build): straight-line limb code.\n",
            self.name()
        ));
        emit_carry(&mut out);
        emit_add_sub(&mut out);
        emit_mul(&mut out, self.rows_per_pass(), self == FieldCode::Compact);
        out
    }
}

/// `fe_carry`: two rounds of a carry ripple with the fold of bit 255 times 19 (see the
/// invariant in field25519.wgsl).
fn emit_carry(out: &mut String) {
    out.push_str("fn fe_carry(a: Fe) -> Fe {\n    var r = a;\n    var v = 0u;\n");
    for _round in 0..2 {
        out.push_str("    v = r[0];\n");
        for i in 0..LIMBS - 1 {
            out.push_str(&format!(
                "    r[{i}] = v & LIMB_MASK;\n    v = r[{}] + (v >> 13u);\n",
                i + 1
            ));
        }
        out.push_str("    r[19] = v & 0xffu;\n    r[0] += 19u * (v >> 8u);\n");
    }
    out.push_str("    return r;\n}\n\n");
}

/// `fe_add` and `fe_sub` (the latter as `a + 4p - b`, with 4p spread so that no limb goes
/// below zero: `FOUR_P` in field25519.wgsl).
fn emit_add_sub(out: &mut String) {
    out.push_str("fn fe_add(a: Fe, b: Fe) -> Fe {\n    var r: Fe;\n");
    for i in 0..LIMBS {
        out.push_str(&format!("    r[{i}] = a[{i}] + b[{i}];\n"));
    }
    out.push_str("    return fe_carry(r);\n}\n\n");
    out.push_str("fn fe_sub(a: Fe, b: Fe) -> Fe {\n    var r: Fe;\n");
    for i in 0..LIMBS {
        out.push_str(&format!("    r[{i}] = a[{i}] + FOUR_P[{i}] - b[{i}];\n"));
    }
    out.push_str("    return fe_carry(r);\n}\n\n");
}

/// `fe_mul`: the schoolbook product in passes of `rows` rows, then one carry through the 39
/// columns and the fold of columns 20..38 times 2^260 mod p.
fn emit_mul(out: &mut String, rows: usize, looped: bool) {
    // Column sums in flight: a pass of `rows` rows touches columns 0..rows + 18.
    let window = LIMBS - 1 + rows;
    out.push_str("fn fe_mul(a: Fe, b: Fe) -> Fe {\n");
    out.push_str(&format!("    var w: array<u32, {window}>;\n"));
    if looped {
        // Finished columns 0..19 shift in at the top of `low`; the rows of `a` still to come
        // shift down in `x`; so each pass is the same code.
        out.push_str("    var low: Fe;\n    var x = a;\n");
        out.push_str("    for (var round = 0u; round < params.mul_passes; round++) {\n");
        emit_rows(out, rows, "x", "        ");
        for j in 0..LIMBS - rows {
            out.push_str(&format!("        low[{j}] = low[{}];\n", j + rows));
        }
        for r in 0..rows {
            out.push_str(&format!("        low[{}] = w[{r}];\n", LIMBS - rows + r));
        }
        for j in 0..window {
            if j + rows < window {
                out.push_str(&format!("        w[{j}] = w[{}];\n", j + rows));
            } else {
                out.push_str(&format!("        w[{j}] = 0u;\n"));
            }
        }
        for j in 0..LIMBS {
            if j + rows < LIMBS {
                out.push_str(&format!("        x[{j}] = x[{}];\n", j + rows));
            } else {
                out.push_str(&format!("        x[{j}] = 0u;\n"));
            }
        }
        out.push_str("    }\n");
    } else {
        emit_rows(out, rows, "a", "    ");
    }
    // Column k (0..38) after all passes.
    let column = |k: usize| -> String {
        match (looped, k < LIMBS) {
            (true, true) => format!("low[{k}]"),
            (true, false) => format!("w[{}]", k - LIMBS),
            (false, _) => format!("w[{k}]"),
        }
    };
    out.push_str("    var r: Fe;\n    var hi: Fe;\n    var v = 0u;\n");
    for k in 0..2 * LIMBS - 1 {
        let limb = if k < LIMBS {
            format!("r[{k}]")
        } else {
            format!("hi[{}]", k - LIMBS)
        };
        if k == 0 {
            out.push_str(&format!("    v = {};\n", column(0)));
        } else {
            out.push_str(&format!("    v = {} + (v >> 13u);\n", column(k)));
        }
        out.push_str(&format!("    {limb} = v & LIMB_MASK;\n"));
    }
    out.push_str("    hi[19] = v >> 13u;\n");
    for i in 0..LIMBS {
        out.push_str(&format!("    r[{i}] += FOLD_260 * hi[{i}];\n"));
    }
    out.push_str("    return fe_carry(r);\n}\n");
}

/// Rows 0..rows of one pass: `w[r + j] += rows_of_a[r] * b[j]`.
fn emit_rows(out: &mut String, rows: usize, rows_of_a: &str, indent: &str) {
    for r in 0..rows {
        for j in 0..LIMBS {
            out.push_str(&format!(
                "{indent}w[{}] += {rows_of_a}[{r}] * b[{j}];\n",
                r + j
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_split_the_rows_evenly() {
        for code in [FieldCode::Compact, FieldCode::Unrolled] {
            assert_eq!(code.rows_per_pass() * code.passes() as usize, LIMBS);
        }
    }

    #[test]
    fn generated_code_indexes_with_constants_only() {
        for code in [FieldCode::Compact, FieldCode::Unrolled] {
            let wgsl = code.wgsl();
            for index in wgsl.split('[').skip(1) {
                let inside = index.split(']').next().unwrap_or_default();
                assert!(
                    inside.parse::<usize>().is_ok(),
                    "{} build indexes with `{inside}`",
                    code.name()
                );
            }
        }
    }
}
