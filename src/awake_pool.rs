//! One inference inside rayon's pool, with the pool's other threads polling for work until it ends.
//!
//! An idle rayon thread looks for work a few dozen times, yielding to the system between looks,
//! and then sleeps until new work wakes it. In the browser `std::thread::yield_now` does nothing,
//! so a thread falls asleep within microseconds of a layer ending, and each of the network's split
//! layers then waits for it to wake. Polling through the whole inference, as the thread pools of
//! onnxruntime-web and XNNPACK do, keeps each split layer's second half starting at once.

use std::sync::atomic::{AtomicBool, Ordering};

/// Runs `op` on a pool thread while every other pool thread takes the work it splits off.
pub fn run_with_pool_awake<R: Send>(op: impl FnOnce() -> R + Send) -> R {
    let done = AtomicBool::new(false);
    rayon::scope(|scope| {
        let owner = rayon::current_thread_index();
        for _ in 1..rayon::current_num_threads() {
            let done = &done;
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
        let result = op();
        done.store(true, Ordering::Release);
        result
    })
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

    /// Called from a thread outside any pool, as the browser's inference worker calls it.
    #[test]
    fn from_outside_any_pool() {
        let sum = std::thread::spawn(|| run_with_pool_awake(|| (0..1_000u64).into_par_iter().sum::<u64>()));
        assert_eq!(sum.join().unwrap(), 499_500);
    }
}
