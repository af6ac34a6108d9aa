//! Inference off the async threads, on a fixed number of workers; how many requests may wait for
//! one is the admission gate's business.

use std::sync::Arc;

use axum::body::Bytes;
use food_classifier::{Classification, Classifier, ClassifyError};
use tokio::sync::Semaphore;

/// Why the pool did not produce a classification.
#[derive(Debug)]
pub enum PoolError {
    /// The photo (or, rarely, the model) was at fault.
    Classify(ClassifyError),
    /// The blocking task died (a panic inside the engine).
    Crashed(String),
}

pub struct InferencePool {
    classifier: Classifier,
    workers: Arc<Semaphore>,
}

impl InferencePool {
    /// `workers` photos are classified at once.
    pub fn new(classifier: Classifier, workers: usize) -> Self {
        Self {
            classifier,
            workers: Arc::new(Semaphore::new(workers.max(1))),
        }
    }

    pub fn model_name(&self) -> &str {
        &self.classifier.metadata().name
    }

    /// Waits for a worker, then classifies. A request that gives up (its deadline, a closed
    /// connection) leaves the worker to finish, holding its place, so no more photos are ever
    /// decoded at once than there are workers.
    pub async fn classify(&self, photo: Bytes, top_k: usize) -> Result<Classification, PoolError> {
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
