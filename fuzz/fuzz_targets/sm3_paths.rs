//! Every multi-buffer SM3 path this CPU has equals the portable reference and the RustCrypto
//! `sm3` crate, on arbitrary batches of arbitrary messages, and the 64-byte node kernel
//! equals hashing the concatenated pair.
#![no_main]

use blockverify::merkle::sm3::{Platform, sm3};
use libfuzzer_sys::fuzz_target;
use sm3::Digest;

fuzz_target!(|data: &[u8]| {
    // Split the input into messages at each 0xff byte (so lengths vary freely).
    let messages: Vec<&[u8]> = data.split(|&b| b == 0xff).collect();
    let expected: Vec<[u8; 32]> = messages.iter().map(|m| sm3(m)).collect();
    let crate_digests: Vec<[u8; 32]> = messages
        .iter()
        .map(|m| sm3::Sm3::digest(m).into())
        .collect();
    assert_eq!(expected, crate_digests, "portable vs sm3 crate");
    // The whole input as 32-byte nodes, hashed in pairs.
    let nodes: Vec<[u8; 32]> = data
        .chunks_exact(32)
        .map(|c| c.try_into().expect("32 bytes"))
        .collect();
    let pairs: Vec<[u8; 32]> = nodes
        .chunks_exact(2)
        .map(|p| sm3(&[p[0], p[1]].concat()))
        .collect();
    for platform in Platform::available() {
        assert_eq!(
            platform.hash_many(&messages),
            expected,
            "{}",
            platform.name()
        );
        let mut parents = vec![[0u8; 32]; pairs.len()];
        platform.hash_pairs(&nodes, &mut parents);
        assert_eq!(parents, pairs, "{} pairs", platform.name());
    }
});
