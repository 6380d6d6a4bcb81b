//! The public API's promises: thread-safety, misuse errors, empty inputs, parsing.

use std::sync::Arc;

use blockverify_testkit::{SigningKey, Workload, WorkloadSpec};
use blockverify::{Backend, Error, MAX_THREADS, Policy, SigItem, Verdict, Verifier};

#[test]
fn verifier_is_send_and_sync_and_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Verifier>();
    let v = Arc::new(
        Verifier::builder()
            .threads(2)
            .build()
            .expect("cpu verifier"),
    );
    let traffic = Arc::new(Workload::generate(&WorkloadSpec {
        items: 500,
        issuers: 4,
        message_len: 64,
        invalid_fraction: 0.02,
        seed: 5,
    }));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (v, t) = (Arc::clone(&v), Arc::clone(&traffic));
            std::thread::spawn(move || v.verify_signatures(&t.items()).invalid_indices())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("no panic"), traffic.corrupted);
    }
}

#[test]
fn a_gpu_that_is_not_there_is_a_clear_error_and_auto_never_picks_an_emulation() {
    match Verifier::builder()
        .backend(Backend::Gpu)
        .gpu_adapter("no adapter is called this")
        .build()
    {
        Err(Error::GpuUnavailable(why)) => assert!(why.contains("no GPU adapter"), "{why}"),
        other => panic!("expected GpuUnavailable, got {other:?}"),
    }
    let auto = Verifier::builder()
        .backend(Backend::Auto)
        .build()
        .expect("auto");
    let hardware = blockverify::gpu::list_adapters()
        .iter()
        .any(|a| !a.software);
    let expected = if hardware {
        Backend::Auto
    } else {
        Backend::Cpu
    };
    assert_eq!(auto.backend(), expected);
    assert!(auto.gpu_adapter().is_none_or(|a| !a.software));
    assert!(matches!(
        Verifier::builder().gpu_binding_limit(100).build(),
        Err(Error::InvalidConfig(_))
    ));
}

#[test]
fn builder_rejects_absurd_thread_counts() {
    let err = Verifier::builder()
        .threads(MAX_THREADS + 1)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)));
    assert!(err.to_string().contains("threads"));
}

#[test]
fn empty_batch_is_all_valid() {
    for policy in [Policy::Zip215, Policy::Strict] {
        let v = Verifier::builder()
            .policy(policy)
            .build()
            .expect("verifier");
        let report = v.verify_signatures(&[]);
        assert!(report.all_valid());
        assert!(report.is_empty());
        assert_eq!(report.invalid_indices(), Vec::<usize>::new());
        assert_eq!(report.verdict(0), None);
    }
}

#[test]
fn report_accessors_agree() {
    let key = SigningKey::from_seed(&[1; 32]);
    let pk = key.public_key();
    let msgs: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 10]).collect();
    let mut sigs: Vec<[u8; 64]> = msgs.iter().map(|m| key.sign(m)).collect();
    sigs[3][63] |= 0xe0; // S >= L
    sigs[7][40] ^= 1; // equation
    let items: Vec<SigItem> = msgs
        .iter()
        .zip(&sigs)
        .map(|(m, s)| SigItem::new(&pk, s, m))
        .collect();
    let report = Verifier::builder()
        .build()
        .expect("verifier")
        .verify_signatures(&items);
    assert_eq!(report.len(), 10);
    assert_eq!(report.invalid_indices(), vec![3, 7]);
    assert_eq!(report.invalid_count(), 2);
    assert_eq!(report.valid_count(), 8);
    assert_eq!(
        report.verdict(3),
        Some(Verdict::Invalid(blockverify::Reason::NonCanonicalS))
    );
    assert_eq!(
        report.verdict(7),
        Some(Verdict::Invalid(blockverify::Reason::EquationFailed))
    );
    assert_eq!(report.verdicts().len(), 10);
}

#[test]
fn names_parse_round_trip() {
    for p in [Policy::Zip215, Policy::Strict] {
        assert_eq!(p.name().parse::<Policy>(), Ok(p));
    }
    for b in [Backend::Auto, Backend::Cpu, Backend::Gpu] {
        assert_eq!(b.name().parse::<Backend>(), Ok(b));
    }
    assert!("ZIP215".parse::<Policy>().is_ok());
    assert!("lenient".parse::<Policy>().is_err());
    assert!("tpu".parse::<Backend>().is_err());
}

#[test]
fn workload_generation_is_deterministic_by_seed() {
    let spec = WorkloadSpec {
        items: 64,
        issuers: 3,
        message_len: 16,
        invalid_fraction: 0.25,
        seed: 99,
    };
    let (a, b) = (Workload::generate(&spec), Workload::generate(&spec));
    assert_eq!(a.signatures, b.signatures);
    assert_eq!(a.messages, b.messages);
    assert_eq!(a.corrupted, b.corrupted);
    let distinct: std::collections::HashSet<_> = a.keys.iter().collect();
    assert!(distinct.len() <= 3);
}
