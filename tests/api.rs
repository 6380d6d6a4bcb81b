//! The public API's promises: thread-safety, misuse errors, empty inputs, parsing.

use std::sync::Arc;

use blockverify::{
    Backend, ConfigError, Error, GpuUnavailable, MAX_THREADS, Placement, Policy, Reason, SigBatch,
    SigItem, Verdict, Verifier,
};
use blockverify_testkit::{SigningKey, Workload, WorkloadSpec};

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
        Err(Error::GpuUnavailable(GpuUnavailable::NoMatchingAdapter { name })) => {
            assert_eq!(name, "no adapter is called this")
        }
        other => panic!("expected GpuUnavailable::NoMatchingAdapter, got {other:?}"),
    }
    let auto = Verifier::builder()
        .backend(Backend::Auto)
        .build()
        .expect("auto");
    let hardware = blockverify::gpu::list_adapters()
        .iter()
        .any(|a| !a.software);
    // What was asked, and apart from it, what was found.
    assert_eq!(auto.backend(), Backend::Auto);
    assert_eq!(auto.has_gpu(), hardware);
    assert!(auto.gpu_adapter().is_none_or(|a| !a.software));
    assert_eq!(
        Verifier::builder()
            .gpu_binding_limit(100)
            .build()
            .unwrap_err(),
        Error::InvalidConfig(ConfigError::BindingLimitTooSmall {
            requested: 100,
            min: 4096
        })
    );
}

#[test]
fn builder_rejects_absurd_thread_counts() {
    let err = Verifier::builder()
        .threads(MAX_THREADS + 1)
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        Error::InvalidConfig(ConfigError::TooManyThreads {
            requested: MAX_THREADS + 1,
            max: MAX_THREADS
        })
    );
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

/// A CPU verifier never touches the GPU stack and says where its jobs ran.
#[test]
fn placement_is_reported_apart_from_the_backend_asked_for() {
    let v = Verifier::builder()
        .backend(Backend::Cpu)
        .build()
        .expect("cpu");
    assert_eq!(v.backend(), Backend::Cpu);
    assert!(!v.has_gpu());
    let traffic = Workload::generate(&WorkloadSpec {
        items: 50,
        issuers: 2,
        message_len: 8,
        invalid_fraction: 0.0,
        seed: 1,
    });
    let report = v.verify_signatures(&traffic.items());
    assert_eq!(report.placement(), Placement::Cpu);
    assert_eq!(report.gpu_items(), 0);
    let leaves = [b"a".as_slice(), b"b"];
    let root = v
        .merkle_root(blockverify::merkle::Scheme::Rfc9162, &leaves)
        .expect("root");
    assert_eq!(root.placement(), Placement::Cpu);
}

/// One verifier, one pool, the policy chosen per call: an item valid under `Zip215` and not
/// under `Strict` gets each policy's verdict from the same verifier.
#[test]
fn the_policy_is_chosen_per_call() {
    let v = Verifier::builder()
        .backend(Backend::Cpu)
        .policy(Policy::Zip215)
        .build()
        .expect("cpu");
    // Kind 6: small-order key and R, S = 0 — valid under Zip215, a small-order key under Strict.
    let item = blockverify_testkit::mixed::make_item(6, 3);
    let items = [item.item()];
    assert_eq!(
        v.verify_ed25519(Policy::Zip215, &items).verdicts(),
        [Verdict::Valid]
    );
    assert_eq!(
        v.verify_ed25519(Policy::Strict, &items).verdicts(),
        [Verdict::Invalid(Reason::SmallOrderKey)]
    );
    assert_eq!(v.verify_signatures(&items).verdicts(), [Verdict::Valid]);
}

/// Runs a future to completion on this thread with a waker that unparks it: no runtime.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    let started = std::time::Instant::now();
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        assert!(
            started.elapsed().as_secs() < 120,
            "the future never finished"
        );
        std::thread::park_timeout(std::time::Duration::from_millis(100));
    }
}

/// Submitted batches and blocks run on the verifier's own pool, even a pool of one thread
/// (where a job that waited outside rayon's knowledge for pool work would deadlock), and can
/// be awaited or waited for, with the verdicts of the direct call.
#[test]
fn submitted_jobs_run_on_the_pool_and_are_futures() {
    let traffic = Workload::generate(&WorkloadSpec {
        items: 3000,
        issuers: 8,
        message_len: 40,
        invalid_fraction: 0.01,
        seed: 17,
    });
    for threads in [1, 2] {
        let v = Arc::new(
            Verifier::builder()
                .backend(Backend::Cpu)
                .threads(threads)
                .build()
                .expect("cpu"),
        );
        let direct = v.verify_signatures(&traffic.items());
        let pending: Vec<_> = (0..4)
            .map(|_| {
                let mut batch = SigBatch::new();
                batch.extend(traffic.items());
                v.submit_signatures(batch)
            })
            .collect();
        for (i, p) in pending.into_iter().enumerate() {
            let (batch, report) = if i % 2 == 0 { p.wait() } else { block_on(p) };
            assert_eq!(batch.len(), 3000);
            assert_eq!(report, direct, "{threads} threads, job {i}");
        }
        let block = blockverify_testkit::generate_block(&blockverify_testkit::BlockSpec {
            records: 500,
            invalid_rate: 0.01,
            ..Default::default()
        });
        let bytes: Arc<[u8]> = block.bytes.clone().into();
        let a = v.submit_block(Arc::clone(&bytes));
        let b = v.submit_block(bytes);
        let direct = v.verify_block_bytes(&block.bytes).expect("block");
        assert_eq!(block_on(a).expect("block").verdicts(), direct.verdicts());
        assert_eq!(b.wait().expect("block").verdicts(), direct.verdicts());
    }
}

/// With the `serde` feature, verdicts and reasons are written with stable snake_case codes
/// (the same as `Reason::code`), and read back.
#[test]
fn serde_writes_stable_reason_codes() {
    for reason in Reason::ALL {
        let json = serde_json::to_string(&reason).expect("serialize");
        assert_eq!(json, format!("\"{}\"", reason.code()));
        assert_eq!(
            serde_json::from_str::<Reason>(&json).expect("parse"),
            reason
        );
    }
    assert_eq!(
        serde_json::to_string(&Verdict::Invalid(Reason::NonCanonicalS)).expect("serialize"),
        r#"{"invalid":"non_canonical_s"}"#
    );
    assert_eq!(
        serde_json::to_string(&Verdict::Valid).expect("serialize"),
        r#""valid""#
    );
    assert_eq!(
        serde_json::to_string(&Placement::Split).expect("serialize"),
        r#""split""#
    );
    assert_eq!(
        serde_json::to_string(&Policy::Zip215).expect("serialize"),
        r#""zip215""#
    );
    let key = SigningKey::from_seed(&[2; 32]);
    let pk = key.public_key();
    let mut sig = key.sign(b"x");
    sig[63] |= 0xe0;
    let report = Verifier::builder()
        .backend(Backend::Cpu)
        .build()
        .expect("cpu")
        .verify_signatures(&[SigItem::new(&pk, &sig, b"x")]);
    let json: serde_json::Value = serde_json::to_value(&report).expect("serialize");
    assert_eq!(
        json["verdicts"],
        serde_json::json!([{"invalid": "non_canonical_s"}])
    );
    assert_eq!(json["placement"], "cpu");
    assert_eq!(json["invalid_count"], 1);
}

/// With the `tracing` feature, a block is one span with a span per stage.
#[test]
fn tracing_shows_a_span_per_block_and_stage() {
    use std::sync::Mutex;
    use tracing_subscriber::fmt::format::FmtSpan;
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("sink").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    let block = blockverify_testkit::generate_block(&blockverify_testkit::BlockSpec {
        records: 200,
        height: 77,
        ..Default::default()
    });
    let v = Verifier::builder()
        .backend(Backend::Cpu)
        .build()
        .expect("cpu");
    tracing::subscriber::with_default(subscriber, || {
        v.verify_block_bytes(&block.bytes).expect("block");
    });
    let log = String::from_utf8(sink.0.lock().expect("sink").clone()).expect("utf-8");
    assert!(log.contains("block{height=77 records=200}"), "{log}");
    for stage in ["signatures", "merkle", "duplicates"] {
        let quoted = format!("stage{{stage=\"{stage}\"}}");
        let bare = format!("stage{{stage={stage}}}");
        assert!(
            log.contains(&quoted) || log.contains(&bare),
            "{stage}: {log}"
        );
    }
}
