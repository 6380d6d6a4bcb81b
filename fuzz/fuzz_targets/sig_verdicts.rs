//! Signature verdicts on arbitrary and near-valid items: this crate's verdict equals
//! ed25519-zebra's under Zip215 and ed25519-dalek's verify_strict under Strict, and the batch
//! engine equals single verification item by item, whatever the batch shape.
#![no_main]

use blockverify::{Backend, Policy, SigItem, Verdict, Verifier, verify_single};
use blockverify_testkit::SigningKey;
use curve25519_dalek::constants::EIGHT_TORSION;
use libfuzzer_sys::fuzz_target;

struct Item {
    pk: [u8; 32],
    sig: [u8; 64],
    msg: Vec<u8>,
}

/// Reads items from the input: each starts with a mode byte. Mode 0: raw key, signature and
/// message from the input. Otherwise: a real signature by a key seeded from the input, then
/// mutations the mode selects (bit flips, small-order R or A, S + L, non-canonical
/// encodings), so the fuzzer reaches the edge cases without finding signatures by chance.
fn items(mut data: &[u8]) -> Vec<Item> {
    let mut out = Vec::new();
    while data.len() >= 3 && out.len() < 64 {
        let mode = data[0];
        let msg_len = (data[1] as usize % 48).min(data.len() - 2);
        let msg = data[2..2 + msg_len].to_vec();
        data = &data[2 + msg_len..];
        if mode.is_multiple_of(4) {
            if data.len() < 96 {
                break;
            }
            out.push(Item {
                pk: data[..32].try_into().unwrap(),
                sig: data[32..96].try_into().unwrap(),
                msg,
            });
            data = &data[96..];
            continue;
        }
        let seed = [mode.wrapping_mul(31) ^ msg_len as u8; 32];
        let key = SigningKey::from_seed(&seed);
        let mut item = Item {
            pk: key.public_key(),
            sig: key.sign(&msg),
            msg,
        };
        let arg = data.first().copied().unwrap_or(0);
        data = data.get(1..).unwrap_or(&[]);
        match mode % 16 {
            1..=3 => {}
            5 => item.sig[arg as usize % 64] ^= 1 << (arg % 8),
            6 => item.pk[arg as usize % 32] ^= 1 << (arg % 8),
            7 => item.sig[..32]
                .copy_from_slice(EIGHT_TORSION[arg as usize % 8].compress().as_bytes()),
            9 => item.pk = EIGHT_TORSION[arg as usize % 8].compress().to_bytes(),
            10 => {
                // S + L: non-canonical S for the same equation.
                let l: [u8; 32] = [
                    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde,
                    0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
                ];
                let mut carry = 0u16;
                for (s, l) in item.sig[32..].iter_mut().zip(l) {
                    let v = u16::from(*s) + u16::from(l) + carry;
                    *s = v as u8;
                    carry = v >> 8;
                }
            }
            11 => item.sig[31] ^= 0x80, // R's sign bit
            13 => item.pk[31] ^= 0x80,
            14 => item.msg.push(arg),
            _ => item.sig[32 + arg as usize % 32] = arg,
        }
        out.push(item);
    }
    out
}

fn zebra_valid(it: &Item) -> bool {
    ed25519_zebra::VerificationKey::try_from(it.pk)
        .and_then(|vk| vk.verify(&ed25519_zebra::Signature::from_bytes(&it.sig), &it.msg))
        .is_ok()
}

fn dalek_strict_valid(it: &Item) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(&it.pk)
        .and_then(|vk| vk.verify_strict(&it.msg, &ed25519_dalek::Signature::from_bytes(&it.sig)))
        .is_ok()
}

fuzz_target!(|data: &[u8]| {
    let items = items(data);
    let sig_items: Vec<SigItem<'_>> = items
        .iter()
        .map(|i| SigItem::new(&i.pk, &i.sig, &i.msg))
        .collect();
    for policy in [Policy::Zip215, Policy::Strict] {
        let verifier = Verifier::builder()
            .policy(policy)
            .backend(Backend::Cpu)
            .threads(1)
            .key_cache_size(if data.first().is_some_and(|b| b & 1 == 1) {
                0
            } else {
                16
            })
            .build()
            .expect("verifier");
        let report = verifier.verify_signatures(&sig_items);
        assert_eq!(report.verdicts().len(), items.len());
        for (i, (it, item)) in items.iter().zip(&sig_items).enumerate() {
            let single = verify_single(policy, item);
            assert_eq!(
                report.verdicts()[i],
                single,
                "batch != single at {i} ({policy:?})"
            );
            let peer = match policy {
                Policy::Zip215 => zebra_valid(it),
                _ => dalek_strict_valid(it),
            };
            assert_eq!(
                single == Verdict::Valid,
                peer,
                "verdict != peer at {i} ({policy:?})"
            );
        }
    }
});
