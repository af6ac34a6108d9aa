//! How much the server takes on at once, planned from the memory it may use: workers that each
//! classify one photo within the core's budget, and a budget of upload bytes held at once.

use food_classifier::budget::MEMORY_BUDGET;

/// Uploads larger than this are refused with 413 (phone photos are well under it).
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

/// Resident memory of `serve` with its model loaded and no request in flight, rounded up from
/// what was measured on x86-64 Linux (the process's VmHWM after start-up and one `/test`).
pub const BASE_MEMORY: u64 = 96 * MIB;

/// Upload bytes held at once when no memory limit is given: four of the largest uploads.
const DEFAULT_UPLOAD_BUDGET: usize = 4 * MAX_UPLOAD_BYTES;

/// What one worker may hold: a classification at the core's budget and the photo it decodes,
/// which stays with the worker even after its request gave up waiting and left the upload budget.
const PER_WORKER: u64 = MEMORY_BUDGET + MAX_UPLOAD_BYTES as u64;

const MIB: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacity {
    /// Photos classified at once.
    pub workers: usize,
    /// Requests that may wait for a worker.
    pub queue: usize,
    /// Upload bytes the server holds at once, read or waiting; each byte is held twice at worst
    /// (the request body and the form field cut out of it).
    pub upload_budget: usize,
}

impl Capacity {
    /// Plans for `cores` CPUs, the worker count asked for (default: one per core), and, when
    /// given, a memory limit in MiB that the worst case must stay under.
    pub fn plan(
        cores: usize,
        workers: Option<usize>,
        queue: usize,
        max_memory_mib: Option<u64>,
    ) -> Result<Self, String> {
        let wanted = workers.unwrap_or(cores).max(1);
        let Some(limit_mib) = max_memory_mib else {
            return Ok(Self {
                workers: wanted,
                queue,
                upload_budget: DEFAULT_UPLOAD_BUDGET,
            });
        };
        let limit = limit_mib.saturating_mul(MIB);
        let one_upload = 2 * MAX_UPLOAD_BYTES as u64;
        let for_workers = limit.saturating_sub(BASE_MEMORY + one_upload);
        let fit = usize::try_from(for_workers / PER_WORKER).unwrap_or(usize::MAX);
        if fit == 0 {
            let mib = MAX_UPLOAD_BYTES as u64 / MIB;
            let least = (BASE_MEMORY + one_upload + PER_WORKER).div_ceil(MIB);
            return Err(format!(
                "--max-memory {limit_mib} is too small: one worker needs at least {least} MiB \
                 (the server {} MiB, one worker {} MB and the photo it \
                 decodes, one upload of up to {mib} MiB held twice)",
                BASE_MEMORY / MIB,
                MEMORY_BUDGET / 1_000_000,
            ));
        }
        let workers = wanted.min(fit);
        let spare = limit - BASE_MEMORY - workers as u64 * PER_WORKER;
        let upload_budget = usize::try_from(spare / 2).unwrap_or(usize::MAX);
        Ok(Self {
            workers,
            queue,
            upload_budget,
        })
    }

    /// The most memory this plan can use: the idle server, every worker at its budget, and the
    /// upload budget full, each byte held twice.
    pub fn worst_case(&self) -> u64 {
        BASE_MEMORY + self.workers as u64 * PER_WORKER + 2 * self.upload_budget as u64
    }

    pub fn worst_case_mib(&self) -> u64 {
        self.worst_case().div_ceil(MIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_limit_every_core_works() {
        let plan = Capacity::plan(8, None, 64, None).unwrap();
        assert_eq!(plan.workers, 8);
        assert_eq!(plan.upload_budget, DEFAULT_UPLOAD_BUDGET);
    }

    #[test]
    fn a_limit_caps_workers_and_uploads_so_the_worst_case_fits() {
        for limit in [300, 448, 480, 1024, 4096] {
            let plan = Capacity::plan(16, None, 64, Some(limit)).unwrap();
            assert!(plan.workers >= 1);
            assert!(plan.upload_budget >= MAX_UPLOAD_BYTES, "{limit}: {plan:?}");
            assert!(plan.worst_case_mib() <= limit, "{limit}: {plan:?}");
        }
        assert_eq!(Capacity::plan(2, None, 64, Some(480)).unwrap().workers, 2);
        assert_eq!(Capacity::plan(2, Some(1), 64, Some(4096)).unwrap().workers, 1);
    }

    #[test]
    fn a_limit_too_small_for_one_photo_is_refused() {
        let error = Capacity::plan(2, None, 64, Some(200)).unwrap_err();
        assert!(error.contains("--max-memory 200 is too small"), "{error}");
    }
}
