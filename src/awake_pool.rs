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
