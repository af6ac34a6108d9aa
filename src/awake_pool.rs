//! One inference inside rayon's pool, with the pool's other threads polling for work until it ends.
//!
//! An idle rayon thread looks for work a few dozen times, yielding to the system between looks,
//! and then sleeps until new work wakes it. In the browser `std::thread::yield_now` does nothing,
//! so a thread falls asleep within microseconds of a layer ending, and each of the network's split
//! layers then waits for it to wake. Polling through the whole inference, as the thread pools of
//! onnxruntime-web and XNNPACK do, keeps each split layer's second half starting at once.
//!
//! The thread running the network must not fall asleep either. Whenever it waits for a share of
//! a layer that another thread took, rayon puts it to sleep within microseconds, and the thread
//! that finishes the share wakes it. Linux then tends to place the woken thread on the waker's
//! core: both threads share one core, taking turns a scheduler tick at a time, while the other
//! core idles, until the kernel moves one of them (on the 2-core machine measured, 10 ms and
//! more, and it happened over and over after every pause). A job only that thread can take,
//! queued again each time it runs, gives its waits something to do instead.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Runs `op` on a pool thread while every other pool thread takes the work it splits off.
pub fn run_with_pool_awake<R: Send>(op: impl FnOnce() -> R + Send) -> R {
    let done = Arc::new(AtomicBool::new(false));
    rayon::scope(|scope| {
        let owner = rayon::current_thread_index();
        for _ in 1..rayon::current_num_threads() {
            let done = &*done;
            scope.spawn(move |_| {
                // The thread running `op` can take this job back while it waits for work it split
                // off; polling there would wait for itself.
                if rayon::current_thread_index() == owner {
                    return;
                }
                while !done.load(Ordering::Acquire) {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        std::hint::spin_loop();
                    }
                }
            });
        }
        if let Some(owner) = owner {
            keep_awake(Arc::clone(&done), owner);
        }
        let result = op();
        done.store(true, Ordering::Release);
        result
    })
}

/// Queues a job for pool thread `owner` alone (rayon's per-thread broadcast queue, which no other
/// thread takes) that queues itself again each time it runs, until `done`: a wait on that thread
/// always finds it and never sleeps. The other threads' copies of each broadcast return at once.
fn keep_awake(done: Arc<AtomicBool>, owner: usize) {
    rayon::spawn_broadcast(move |context| {
        if context.index() == owner && !done.load(Ordering::Acquire) {
            keep_awake(Arc::clone(&done), owner);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::run_with_pool_awake;
    use rayon::prelude::*;

    /// Work split inside the inference, from inside the pool and from outside it, on pools of one
    /// to four threads: every run must end (no thread polling for itself) with the right answer.
    #[test]
    fn split_work_ends_with_the_right_answer_whatever_the_pool() {
        for threads in [1, 2, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for i in 0..300u64 {
                let sum = pool.install(|| {
                    run_with_pool_awake(|| {
                        (0..10_000u64).into_par_iter().map(|x| x * i).sum::<u64>()
                            + (0..100u64).into_par_iter().sum::<u64>()
                    })
                });
                assert_eq!(sum, i * 10_000 * 9_999 / 2 + 4_950, "{threads} threads, run {i}");
            }
        }
    }

    /// The thread running the inference takes its own polling job back (here by yielding, as it
    /// does while it waits for split work) while the other thread is busy: it must return at once.
    #[test]
    fn the_inference_thread_never_polls_for_itself() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{mpsc, Arc};
        use std::time::Duration;

        let pool = Arc::new(rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap());
        let busy = Arc::new(AtomicBool::new(true));
        let (started, running) = mpsc::channel();
        let other = Arc::clone(&busy);
        pool.spawn(move || {
            started.send(()).unwrap();
            while other.load(Ordering::Acquire) {
                std::hint::spin_loop();
            }
        });
        running.recv().unwrap();
        let (done, answer) = mpsc::channel();
        let in_pool = Arc::clone(&pool);
        std::thread::spawn(move || {
            let result = in_pool.install(|| {
                run_with_pool_awake(|| {
                    rayon::yield_local();
                    42
                })
            });
            done.send(result).unwrap();
        });
        let result = answer.recv_timeout(Duration::from_secs(10));
        busy.store(false, Ordering::Release);
        assert_eq!(result, Ok(42), "the inference waited for its own polling job");
    }

    /// The job that keeps the inference thread awake queues itself again while the inference
    /// runs, and stops once it is over: every copy of it ends and lets go of the flag.
    #[test]
    fn the_keep_awake_job_stops_once_done() {
        use super::keep_awake;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        use std::time::{Duration, Instant};

        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        pool.install(|| keep_awake(Arc::clone(&done), rayon::current_thread_index().unwrap()));
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            Arc::strong_count(&done) > 1,
            "the job stopped before the inference ended"
        );
        done.store(true, Ordering::Release);
        let start = Instant::now();
        while Arc::strong_count(&done) > 1 && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(Arc::strong_count(&done), 1, "a copy of the job is still queued");
    }

    /// Called from a thread outside any pool, as the browser's inference worker calls it.
    #[test]
    fn from_outside_any_pool() {
        let sum = std::thread::spawn(|| run_with_pool_awake(|| (0..1_000u64).into_par_iter().sum::<u64>()));
        assert_eq!(sum.join().unwrap(), 499_500);
    }
}
