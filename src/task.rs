//! Jobs submitted to a verifier's own thread pool, waited for by blocking or by `.await`.
//!
//! A node pipelines blocks: it submits block N + 1 while block N is still being verified. The
//! job runs on the verifier's rayon pool (no thread is created per call), and its handle is
//! both a blocking handle ([`Task::wait`]) and a [`Future`], so an async node can `.await`
//! it on any runtime: the pool thread that finishes the job wakes the task's waker. Nothing
//! here depends on a particular async runtime.
#![forbid(unsafe_code)]

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// What the job left for its handle.
struct Slot<T> {
    /// The job's result, or its panic, once it has finished.
    result: Option<std::thread::Result<T>>,
    /// The last waker a poll left (an async caller waiting).
    waker: Option<Waker>,
    /// The result was taken (a poll after `Ready` is a caller's error).
    taken: bool,
}

struct Shared<T> {
    slot: Mutex<Slot<T>>,
    done: Condvar,
}

/// A handle to a job running on a verifier's pool.
pub(crate) struct Task<T> {
    shared: Arc<Shared<T>>,
}

impl<T> std::fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T: Send + 'static> Task<T> {
    /// Runs `job` on `pool` and returns its handle at once. A panic in the job is kept and
    /// re-raised in the caller that waits for it, as a joined thread's would be.
    pub(crate) fn spawn(
        pool: &rayon::ThreadPool,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Self {
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot {
                result: None,
                waker: None,
                taken: false,
            }),
            done: Condvar::new(),
        });
        let finished = Arc::clone(&shared);
        pool.spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(job));
            let waker = {
                let mut slot = lock(&finished.slot);
                slot.result = Some(result);
                slot.waker.take()
            };
            finished.done.notify_all();
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        Task { shared }
    }
}

impl<T> Task<T> {
    /// Blocks until the job has finished and returns its result.
    pub(crate) fn wait(self) -> T {
        let mut slot = lock(&self.shared.slot);
        loop {
            if let Some(result) = slot.result.take() {
                slot.taken = true;
                return result.unwrap_or_else(|panic| resume_unwind(panic));
            }
            slot = self
                .shared
                .done
                .wait(slot)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Whether the job has finished (so [`Task::wait`] will not block).
    pub(crate) fn is_finished(&self) -> bool {
        lock(&self.shared.slot).result.is_some()
    }
}

impl<T> Future for Task<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = lock(&self.shared.slot);
        match slot.result.take() {
            Some(result) => {
                slot.taken = true;
                drop(slot);
                Poll::Ready(result.unwrap_or_else(|panic| resume_unwind(panic)))
            }
            None => {
                assert!(!slot.taken, "a finished task polled again");
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A poisoned slot only means a waiter panicked while holding it; the slot's data is whole.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    fn pool() -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool")
    }

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn wait_returns_the_result_and_is_finished_follows() {
        let pool = pool();
        let task = Task::spawn(&pool, || 6 * 7);
        assert_eq!(task.wait(), 42);
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let open = Arc::clone(&gate);
        let task = Task::spawn(&pool, move || {
            let (lock_, cv) = &*open;
            let mut go = lock(lock_);
            while !*go {
                go = cv.wait(go).expect("wait");
            }
            "done"
        });
        assert!(!task.is_finished());
        *lock(&gate.0) = true;
        gate.1.notify_all();
        assert_eq!(task.wait(), "done");
    }

    /// Polled by hand as any executor would: pending until the job ends, the waker woken
    /// exactly once, then ready with the result. No runtime involved.
    #[test]
    fn polls_pending_then_ready_and_wakes_the_waker() {
        let pool = pool();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let open = Arc::clone(&gate);
        let mut task = Task::spawn(&pool, move || {
            let (lock_, cv) = &*open;
            let mut go = lock(lock_);
            while !*go {
                go = cv.wait(go).expect("wait");
            }
            7u32
        });
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut task).poll(&mut cx).is_pending());
        *lock(&gate.0) = true;
        gate.1.notify_all();
        let started = std::time::Instant::now();
        while counter.0.load(Ordering::SeqCst) == 0 {
            assert!(
                started.elapsed().as_secs() < 30,
                "the waker was never woken"
            );
            std::thread::yield_now();
        }
        assert!(task.is_finished());
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(Pin::new(&mut task).poll(&mut cx), Poll::Ready(7));
    }

    #[test]
    fn a_panicking_job_panics_in_the_waiter() {
        let pool = pool();
        let task: Task<()> = Task::spawn(&pool, || panic!("job failed"));
        let caught = catch_unwind(AssertUnwindSafe(|| task.wait()));
        assert!(caught.is_err());
        // The pool survives.
        assert_eq!(Task::spawn(&pool, || 1).wait(), 1);
    }
}
