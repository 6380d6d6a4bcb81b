//! Every multi-buffer SHA-256 path this CPU has equals the sha2 crate, on arbitrary batches
//! of arbitrary messages.
#![no_main]

use blockverify::merkle::sha256::Platform;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    // Split the input into messages at each 0xff byte (so lengths vary freely).
    let messages: Vec<&[u8]> = data.split(|&b| b == 0xff).collect();
    let expected: Vec<[u8; 32]> = messages.iter().map(|m| Sha256::digest(m).into()).collect();
    for platform in Platform::available() {
        assert_eq!(
            platform.hash_many(&messages),
            expected,
            "{}",
            platform.name()
        );
    }
});
