//! The GPU backend: a wgpu device and the Merkle, Ed25519 and SM2 kernels that run on it.
//!
//! Built with the default-on cargo feature `gpu`. A [`Verifier`](crate::Verifier) built with
//! [`Backend::Gpu`](crate::Backend::Gpu) or [`Backend::Auto`](crate::Backend::Auto) opens one
//! device when it is built and keeps it: shader pipelines are compiled once per device (again
//! only after a lost device is reopened), buffers are pooled and reused across calls, and jobs
//! on one verifier take turns on its device.
//!
//! ## Code layout
//!
//! * `device` knows no kernel: it opens (and after a loss reopens) the device, turns every
//!   wgpu failure into a [`GpuFault`](crate::GpuFault), and offers what any kernel needs —
//!   pooled buffers, readback, pipeline creation, timestamp queries, fault injection.
//! * Each kernel family — `merkle` (SHA-256 and SM3 trees), `sig` (Ed25519, with
//!   `field_code`), `sm2` (SM2, with `sm2_field`) — owns its shaders, pipelines, bind-group
//!   layouts and buffers in one state struct, which it keeps in the open device's `Kernels`:
//!   one slot per family, keyed by the state's type, dropped with the device, so a reopened
//!   device starts empty and each family rebuilds its state on it. The Merkle family fills its
//!   slot when a device opens (compile and warm-up, as the device's open hook); the signature
//!   families on the device's first job of their algorithm.
//! * `context` (the verifier's `GpuContext`) is the only module that names both: it gives the
//!   device its open hook, hands each job to its family, and assembles [`ShaderCompileTime`].
//!
//! A new algorithm family is a new module with its own state struct, plus a method in
//! `context`; `device` does not change (SM2 came that way). A new tree hash is not a family:
//! it is a hash file behind which `merkle` compiles its reduction kernel once more.
//!
//! ## Choosing an adapter
//!
//! The best adapter wgpu finds on Vulkan, Metal or DX12 (discrete GPU, then integrated, then
//! virtual, then a CPU emulation such as Mesa's lavapipe), unless one is named: by
//! [`VerifierBuilder::gpu_adapter`](crate::VerifierBuilder::gpu_adapter), or else by the
//! environment variable [`ADAPTER_ENV`]; a name matches any adapter whose name contains it,
//! ignoring case. [`list_adapters`] (and `blockverify info`) shows what is there.
//! [`Backend::Auto`](crate::Backend::Auto) never picks a CPU emulation on its own: on a
//! machine without a real GPU it is the CPU engine, which is faster than emulating a GPU on
//! the same cores.
//!
//! ## How a tree is hashed (shaders/*.wgsl)
//!
//! Every scheme runs here: RFC 9162, Bitcoin and ChainMaker SHA-256 on SHA-256, FISCO BCOS
//! and ChainMaker SM3 on SM3, with the roots, levels and duplicate reports of the CPU engine.
//!
//! * `merkle_leaf.wgsl` hashes RFC 9162 leaves, SHA-256(0x00 ‖ record), one invocation per
//!   record, from one packed buffer of records and a table of offsets (records of any length
//!   at any byte alignment). Every other scheme's leaves are 32-byte hashes, uploaded as they
//!   are and byte-swapped by the first reduction as it loads them.
//! * `merkle_reduce.wgsl` climbs up to nine levels per dispatch inside a workgroup: 256
//!   invocations take 512 nodes, hash them pairwise into workgroup memory, and keep halving
//!   there, so a level never goes back to device memory until nine levels are done. A piece
//!   of 2^22 leaves (one 128 MiB binding of hashes, see below) reaches its root in three
//!   dispatches. The scheme's node hash and its rule for a level's odd last node (moved up:
//!   RFC 9162; hashed alone: FISCO BCOS; hashed with itself: Bitcoin, ChainMaker) are uniform
//!   flags; where the node is hashed with itself, identical sibling pairs are recorded with an
//!   atomic minimum per level, so the report names the same pair as the CPU engine.
//! * The reduction is compiled twice, behind `sha256.wgsl` and behind `sm3.wgsl` (WGSL has no
//!   includes): one pipeline per hash, not one holding both, so neither hash carries the
//!   other's code and registers. Both are compiled, and each checked on a warm-up tree, when the
//!   device opens. Each hash file keeps one copy of its rounds per message block and the
//!   kernel calls the hash from one place, because drivers inline every call and compile time
//!   follows the copies (lavapipe compiles at the first dispatch, in the warm-up).
//! * Hash values stay in the eight big-endian state words SHA-256 and SM3 produce, which is
//!   exactly the word order the parent's message block needs: nothing is byte-swapped between
//!   levels.
//!
//! ## How a signature is verified (shaders/field25519.wgsl, shaders/ed25519.wgsl)
//!
//! * The CPU pool hashes each item's challenge `k = SHA-512(R ‖ A ‖ M) mod L` and packs
//!   `A, R, S, k` into 128 bytes; messages never go to the device (a 256-byte record becomes
//!   32 bytes of `k`, and SHA-512 needs 64-bit integers, which WGSL offers only as an
//!   optional feature).
//! * One invocation per item runs the CPU engine's checks in the CPU engine's order and
//!   writes one verdict code, the CPU engine's [`Reason`](crate::Reason) for each failure:
//!   canonical `S`; `A` and `R` decoded exactly as curve25519-dalek decodes them (non-canonical
//!   `y` accepted); under `Strict`, small-order `A`/`R` and non-canonical `R` refused; then
//!   `[S]B − [k]A` by Straus' method with signed radix-16 digits (a table of `B..8B` built on
//!   the device once, the multiples of `−A` per item), compared with `R`'s bytes (`Strict`)
//!   or checked as `[8](R' − R) = 0` (`Zip215`). Every item's verdict is computed directly:
//!   there is no batch equation to bisect, and an all-invalid batch costs what a valid one
//!   does.
//! * Field elements come in one of two limb layouts, chosen per adapter by measurement:
//!   10 limbs of 26 bits with 64-bit products where the adapter offers `SHADER_INT64`
//!   (*int64*: a quarter of the multiplications, and the faster build where measured), else
//!   20 limbs of 13 bits with `u32` products (*unrolled*: a column of the schoolbook product
//!   fits in 32 bits, so every adapter runs it). `blockverify info` shows which adapters offer
//!   `SHADER_INT64`; [`FIELD_CODE_ENV`] forces the 13-bit build.
//! * The layout's constants and hot field code are generated on the host as straight-line
//!   code (no loop inside a field operation, constant limb indices only), which keeps each
//!   invocation far inside lavapipe's limit of 65,535 loop iterations (past it every loop
//!   ends early without an error). Both builds run in CI on lavapipe; the module `field_code`
//!   explains the details, BENCHMARKS.md the measurements behind the choice.
//! * The kernel is compiled on a verifier's first signature job (Merkle-only users never pay
//!   for it), with one warm-up dispatch because many drivers compile at the first dispatch;
//!   [`ShaderCompileTime`] reports it and `blockverify bench sigs` prints it. Across
//!   processes the drivers' own shader caches keep the compiled kernel (Mesa's disk cache,
//!   NVIDIA's), so a later process compiles it faster (see BENCHMARKS.md). wgpu's explicit
//!   `PipelineCache` is deliberately not used: it hands bytes read back from a file to the
//!   driver unchecked (an `unsafe` call in wgpu's API), and whoever can write that file could
//!   feed the driver crafted data; the driver's cache gives the same saving without that
//!   surface.
//! * Challenges are hashed on the CPU, not the GPU, by measurement: the CPU pool packs items
//!   far faster than the kernel verifies them (the "GPU pack only" row of `blockverify bench
//!   sigs`; figures in BENCHMARKS.md), and hashing on the device would also mean uploading
//!   whole messages instead of 32-byte challenges.
//! * Items go up in pieces of up to 2^16 with two sets of buffers, so the next piece uploads
//!   while one runs; [`Verifier::submit_signatures`](crate::Verifier::submit_signatures)
//!   hashes the next batch while the device works on the current one.
//!
//! ## How an SM2 signature is verified (shaders/sm2.wgsl)
//!
//! * The CPU pool runs checks 1–5 (key, ID, signature encoding, ranges, `t ≠ 0`) and hashes
//!   the digests `e`, with the CPU engine's own code and key cache, and packs each surviving
//!   item into 48 words: the key's affine coordinates, `s`, `t`, and the final check's two
//!   candidates `c = (r − e) mod n`, `c + n`. Reasons from those checks are the CPU engine's
//!   by construction; messages never go to the device.
//! * One invocation per item computes `[s]G + [t]P` (signed radix-16 windows over `P..8P`
//!   built per item; `[s]G` from the CPU engine's comb of `G`, uploaded once per device) and
//!   checks 6 and 7 in the CPU engine's order, comparing `X = c·Z²` (no inversion, nothing
//!   modulo n on the device). All point arithmetic runs in one loop with one addition and one
//!   doubling site (the kernel's size), every exceptional case of the additions handled.
//! * The field is eight 32-bit words in Montgomery form with R = 2^256, the CPU engine's
//!   representation, in the same two builds as Ed25519's: 64-bit word products where the
//!   adapter offers `SHADER_INT64`, 16-bit halves otherwise (`sm2_field`).
//!
//! `Backend::Auto` splits a batch (Ed25519 and SM2 alike, each family with its own
//! measurements): the GPU's share is packed on every core first, then the device and the CPU
//! engine run side by side, the share sized from their measured rates (the first batch is
//! split in half, later ones follow a running average) so that both finish together; below
//! [`AUTO_GPU_MIN_SIGNATURES`](crate::AUTO_GPU_MIN_SIGNATURES) the CPU engine takes the whole
//! batch.
//!
//! ## Trees larger than a storage binding
//!
//! A shader sees at most one storage binding (128 MiB unless configured with
//! [`VerifierBuilder::gpu_binding_limit`](crate::VerifierBuilder::gpu_binding_limit)). The
//! leaves are cut into aligned pieces of `2^k` leaves, `2^k` hashes filling one binding; each
//! piece's records go up in batches no larger than a binding (a single record larger than a
//! binding is hashed by the CPU engine and its hash uploaded), each piece is reduced to its
//! subtree root on the device, and the few piece roots are combined on the CPU by the same code
//! that combines the CPU engine's subtrees. Aligned pieces are the tree's own subtrees, so
//! the split never changes a root. While the device works on one piece the CPU packs the
//! next; at most two pieces are in flight.
//!
//! ## Faults
//!
//! Every job runs inside wgpu error scopes and watches the device-lost callback. A lost
//! device, an allocation failure, a rejected dispatch or a failed readback ends the GPU job
//! with a [`GpuFault`](crate::GpuFault); the verifier redoes the job on the CPU engine, returns
//! the same root or verdicts, and says in the result that it fell back. A verdict code the
//! kernel cannot produce counts as a failed readback. A lost device is reopened on the
//! next GPU job.
#![forbid(unsafe_code)]

mod context;
mod device;
mod field_code;
mod merkle;
pub(crate) mod sig;
mod sig_pieces;
mod sm2;
mod sm2_field;

pub(crate) use context::GpuContext;
pub use context::ShaderCompileTime;
pub use device::{ADAPTER_ENV, AdapterSummary, DEFAULT_BINDING_LIMIT, list_adapters};
pub(crate) use device::{GpuOptions, InjectedFault};
// Benchmark hooks, not stable API (re-exported by `crate::unstable`).
#[doc(hidden)]
pub use field_code::FIELD_CODE_ENV;
#[doc(hidden)]
pub use merkle::KernelTiming;
#[doc(hidden)]
pub use sig::SigTiming;
