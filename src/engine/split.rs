//! Splitting one signature batch between the GPU and the CPU engine so that both finish
//! together (`Backend::Auto`), and redoing a failed GPU share on the CPU.
//!
//! Any family's pair of engines goes through [`verify_split`]; [`Calibration`] keeps what
//! `Auto` has measured of the two, one per algorithm family (their rates differ).
#![forbid(unsafe_code)]

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{DeviceEngine, SignatureEngine};
use crate::{AUTO_GPU_MIN_SIGNATURES, SigReport, Verdict};

/// One batch in this many re-measures a GPU whose share fell to nothing (at most one slow
/// batch in 32 when the GPU really is slower).
const AUTO_REPROBE_EVERY: u32 = 32;

/// What `Auto` has measured of its two engines, for sizing each batch's GPU share.
///
/// Rates are items per second of wall time, each engine measured while the other runs beside
/// it (the GPU's rate is the device's half: upload, kernel, readback; its share's packing on
/// every core comes before, see [`verify_split`]), and smoothed over batches:
/// `new = (old + measured) / 2`, so the split follows a change of load within a few batches. Until both are measured the batch is split in half. A batch that
/// gives the GPU nothing measures nothing, so while the GPU's share is under the minimum every
/// [`AUTO_REPROBE_EVERY`]th batch large enough gives it the minimum anyway: if the GPU got
/// faster (or the CPU busier) the split finds out.
#[derive(Debug, Default)]
pub(crate) struct Calibration(Mutex<Rates>);

#[derive(Debug, Default, Clone, Copy)]
struct Rates {
    cpu_rate: f64,
    gpu_rate: f64,
    /// Batches in a row that gave the GPU nothing.
    starved: u32,
}

impl Calibration {
    /// The GPU's share of a batch of `n` items (see [`Calibration`]).
    pub(crate) fn gpu_share(&self, n: usize) -> usize {
        lock(&self.0).gpu_share(n)
    }

    fn record(&self, cpu: (usize, Duration), gpu: (usize, Duration)) {
        lock(&self.0).record(cpu, gpu);
    }
}

impl Rates {
    /// The GPU's share of `n` items: proportional to its rate, so both finish together;
    /// nothing when that share is under [`AUTO_GPU_MIN_SIGNATURES`].
    fn gpu_share(&mut self, n: usize) -> usize {
        let fraction = if self.cpu_rate > 0.0 && self.gpu_rate > 0.0 {
            self.gpu_rate / (self.gpu_rate + self.cpu_rate)
        } else {
            0.5
        };
        let share = ((n as f64 * fraction).round() as usize).min(n);
        if share >= AUTO_GPU_MIN_SIGNATURES {
            self.starved = 0;
            return share;
        }
        if n < 2 * AUTO_GPU_MIN_SIGNATURES {
            // Too small to split at all: the CPU engine's, and no evidence either way.
            return 0;
        }
        self.starved += 1;
        if self.starved >= AUTO_REPROBE_EVERY {
            self.starved = 0;
            AUTO_GPU_MIN_SIGNATURES
        } else {
            0
        }
    }

    fn record(&mut self, cpu: (usize, Duration), gpu: (usize, Duration)) {
        fn blend(old: f64, (items, time): (usize, Duration)) -> f64 {
            let measured = items as f64 / time.as_secs_f64().max(1e-9);
            if old > 0.0 {
                (old + measured) / 2.0
            } else {
                measured
            }
        }
        self.cpu_rate = blend(self.cpu_rate, cpu);
        self.gpu_rate = blend(self.gpu_rate, gpu);
    }
}

/// Verifies the first `gpu_items` items on `gpu` while `cpu` takes the rest. Call it on the
/// verifier's pool (inside `install`). First the GPU's share is packed with every core of
/// the pool; then the device half and the CPU half run as the two halves of a
/// `rayon::join`, where the worker that runs the device half waits on the device while the
/// others take the CPU half. No wait here is outside rayon's knowledge, so jobs submitted to
/// the same pool ([`crate::task`]) cannot deadlock on it, whatever the thread count (with one
/// thread the halves simply run one after the other). With `calibration`, the device's and
/// the CPU engine's rates during the join are recorded for the next split: balancing those
/// two is what makes both halves finish together (the packing before them is the same
/// whatever the split). If the GPU fails, `cpu` verifies the GPU's share too and the report
/// carries the fault; the verdicts are the same either way.
pub(crate) fn verify_split<Item, Cpu, Gpu>(
    cpu: &Cpu,
    gpu: &Gpu,
    rules: Cpu::Rules,
    items: &[Item],
    gpu_items: usize,
    calibration: Option<&Calibration>,
) -> SigReport
where
    Item: Sync,
    Cpu: SignatureEngine<Item>,
    Gpu: DeviceEngine<Item, Rules = Cpu::Rules>,
{
    let (gpu_part, cpu_part) = items.split_at(gpu_items.min(items.len()));
    // `Cpu` is a CPU engine, whose `verify` never fails (the trait's `Err` is a device's).
    let cpu_verdicts = |part: &[Item]| cpu.verify(rules, part).unwrap_or_default();
    let packed = gpu.pack(gpu_part);
    let ((gpu_result, gpu_time), (cpu_tail, cpu_time)) = rayon::join(
        || {
            let started = Instant::now();
            let result = gpu.run(rules, &packed, gpu_part.len());
            (result, started.elapsed())
        },
        || {
            if cpu_part.is_empty() {
                (Vec::new(), Duration::ZERO)
            } else {
                let started = Instant::now();
                (cpu_verdicts(cpu_part), started.elapsed())
            }
        },
    );
    match gpu_result {
        Ok(mut verdicts) => {
            if let Some(calibration) = calibration
                && !cpu_part.is_empty()
            {
                calibration.record((cpu_part.len(), cpu_time), (gpu_part.len(), gpu_time));
                crate::trace::auto_split(gpu_part.len(), cpu_part.len(), gpu_time, cpu_time);
            }
            verdicts.extend(cpu_tail);
            SigReport::from_verdicts(verdicts).on(gpu_part.len(), None)
        }
        Err(fault) => {
            crate::trace::gpu_fault("signatures", fault, gpu_part.len());
            let mut verdicts: Vec<Verdict> = cpu_verdicts(gpu_part);
            verdicts.extend(cpu_tail);
            SigReport::from_verdicts(verdicts).on(0, Some(fault))
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GpuFault;

    #[test]
    fn first_batch_is_halved_then_the_split_follows_measured_rates() {
        let split = Calibration::default();
        assert_eq!(split.gpu_share(10_000), 5_000);
        // CPU 3x as fast as the GPU: the GPU gets a quarter.
        split.record(
            (5_000, Duration::from_millis(100)),
            (5_000, Duration::from_millis(300)),
        );
        assert_eq!(split.gpu_share(10_000), 2_500);
        // Below the minimum share: nothing, and small batches are never split.
        assert_eq!(split.gpu_share(3_000), 0);
        assert_eq!(split.gpu_share(1_000), 0);
    }

    #[test]
    fn a_starved_gpu_is_remeasured_every_so_often() {
        let split = Calibration(Mutex::new(Rates {
            cpu_rate: 1_000_000.0,
            gpu_rate: 1_000.0,
            starved: 0,
        }));
        let shares: Vec<usize> = (0..2 * AUTO_REPROBE_EVERY)
            .map(|_| split.gpu_share(100_000))
            .collect();
        let probes: Vec<usize> = (0..shares.len()).filter(|&i| shares[i] > 0).collect();
        assert_eq!(
            probes,
            [
                AUTO_REPROBE_EVERY as usize - 1,
                2 * AUTO_REPROBE_EVERY as usize - 1
            ]
        );
        assert!(probes.iter().all(|&i| shares[i] == AUTO_GPU_MIN_SIGNATURES));
        // The probe found a faster GPU: the split follows.
        split.record(
            (99_000, Duration::from_millis(100)),
            (1_024, Duration::from_micros(1_024)),
        );
        assert!(split.gpu_share(100_000) > AUTO_GPU_MIN_SIGNATURES);
    }

    /// Two toy engines: the split's verdicts are the concatenation in input order, and a
    /// failing GPU's share is redone on the CPU with the fault reported.
    #[test]
    fn split_keeps_input_order_and_redoes_a_failed_share() {
        struct Parity(bool);
        impl SignatureEngine<u32> for Parity {
            type Rules = ();
            fn verify(&self, _: (), items: &[u32]) -> Result<Vec<Verdict>, GpuFault> {
                if self.0 {
                    return Err(GpuFault::DeviceLost);
                }
                Ok(items
                    .iter()
                    .map(|i| match i % 3 {
                        0 => Verdict::Invalid(crate::Reason::EquationFailed),
                        _ => Verdict::Valid,
                    })
                    .collect())
            }
        }
        /// The same parity as a device engine: packs by copying, fails if told to.
        impl DeviceEngine<u32> for Parity {
            type Rules = ();
            type Packed = Vec<u32>;
            fn pack(&self, items: &[u32]) -> Vec<u32> {
                items.to_vec()
            }
            fn run(&self, _: (), packed: &Vec<u32>, _: usize) -> Result<Vec<Verdict>, GpuFault> {
                SignatureEngine::verify(self, (), packed)
            }
        }
        let items: Vec<u32> = (0..5000).collect();
        let reference = SignatureEngine::verify(&Parity(false), (), &items).expect("cpu");
        let calibration = Calibration::default();
        let report = verify_split(
            &Parity(false),
            &Parity(false),
            (),
            &items,
            1200,
            Some(&calibration),
        );
        assert_eq!(report.verdicts(), reference);
        assert_eq!(report.gpu_items(), 1200);
        assert_eq!(report.placement(), crate::Placement::Split);
        let report = verify_split(&Parity(false), &Parity(true), (), &items, 1200, None);
        assert_eq!(report.verdicts(), reference);
        assert_eq!(report.gpu_fault(), Some(GpuFault::DeviceLost));
        assert_eq!(report.placement(), crate::Placement::Cpu);
        let report = verify_split(&Parity(false), &Parity(false), (), &items, 5000, None);
        assert_eq!(report.placement(), crate::Placement::Gpu);
    }
}
