//! Inference off the async threads, on a bounded pool: a full queue is refused, not piled up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use food_classifier::{Classification, Classifier, ClassifyError};
use tokio::sync::Semaphore;

/// Why the pool did not produce a classification.
#[derive(Debug)]
pub enum PoolError {
    /// Every worker is busy and the waiting line is full: the client should retry later.
    Busy,
    /// The photo (or, rarely, the model) was at fault.
    Classify(ClassifyError),
    /// The blocking task died (a panic inside the engine).
    Crashed(String),
}

pub struct InferencePool {
    classifier: Classifier,
    workers: Arc<Semaphore>,
    /// Requests running or waiting for a worker.
    admitted: AtomicUsize,
    capacity: usize,
}

/// Gives the admission slot back however the request ends (including a dropped connection).
struct Admission<'a>(&'a AtomicUsize);

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl InferencePool {
    /// `workers` photos are classified at once; up to `max_queue` more wait their turn.
    pub fn new(classifier: Classifier, workers: usize, max_queue: usize) -> Self {
        let workers = workers.max(1);
        Self {
            classifier,
            workers: Arc::new(Semaphore::new(workers)),
            admitted: AtomicUsize::new(0),
            capacity: workers + max_queue,
        }
    }

    pub fn model_name(&self) -> &str {
        &self.classifier.metadata().name
    }

    pub async fn classify(&self, photo: Bytes, top_k: usize) -> Result<Classification, PoolError> {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(PoolError::Busy);
        }
        let _admission = Admission(&self.admitted);
        let permit = Arc::clone(&self.workers)
            .acquire_owned()
            .await
            .map_err(|e| PoolError::Crashed(e.to_string()))?;
        let classifier = self.classifier.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            classifier.classify_image(&photo, top_k)
        })
        .await
        .map_err(|e| PoolError::Crashed(e.to_string()))?
        .map_err(PoolError::Classify)
    }
}
