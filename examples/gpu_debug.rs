use blockverify::workload::{Workload, WorkloadSpec};
use blockverify::{Backend, Policy, Verifier};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};
fn main() {
    let w = Workload::generate(&WorkloadSpec {
        items: 8,
        issuers: 0,
        message_len: 64,
        invalid_fraction: 0.0,
        seed: 1,
    });
    let items = w.items();
    unsafe { std::env::set_var("BV_DEBUG", "2") };
    let v = Verifier::builder()
        .policy(Policy::Strict)
        .backend(Backend::Gpu)
        .build()
        .unwrap();
    for mode in [2u32, 3, 4, 6, 7] {
        unsafe { std::env::set_var("BV_DEBUG", mode.to_string()) };
        blockverify::gpu::DEBUG_OUT.lock().unwrap().clear();
        v.verify_signatures(&items);
        let out = blockverify::gpu::DEBUG_OUT.lock().unwrap().clone();
        for (i, it) in items.iter().enumerate() {
            let a = CompressedEdwardsY(*it.public_key).decompress().unwrap();
            let mut k = Scalar::from_bytes_mod_order_wide(
                &Sha512::new()
                    .chain_update(&it.signature[..32])
                    .chain_update(it.public_key)
                    .chain_update(it.message)
                    .finalize()
                    .into(),
            );
            let mut s =
                Scalar::from_canonical_bytes(it.signature[32..].try_into().unwrap()).unwrap();
            if mode == 3 {
                k = Scalar::ZERO;
            }
            if mode == 4 {
                s = Scalar::ZERO;
            }
            let r = if mode >= 5 {
                a
            } else {
                EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-a, &s)
            };
            let want = if mode == 7 {
                u32::from_le_bytes(it.public_key[..4].try_into().unwrap())
            } else {
                u32::from_le_bytes(r.compress().0[..4].try_into().unwrap())
            };
            println!(
                "mode {mode} {i}: gpu {:08x} want {:08x} {}",
                out[i],
                want,
                if out[i] == want { "OK" } else { "BAD" }
            );
        }
    }
}
