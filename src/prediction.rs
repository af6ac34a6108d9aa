//! What a classification returns: ranked labels with probabilities, whether the photo looks like
//! food at all, and where the time went.

use serde::Serialize;

/// One class and how sure the model is about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Position of the class in the model's label list.
    pub index: usize,
    pub label: String,
    pub probability: f32,
}

/// Milliseconds spent in each stage, so slow stages are visible to people and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timings {
    pub decode_ms: f64,
    pub preprocess_ms: f64,
    pub inference_ms: f64,
}

impl Timings {
    pub fn total_ms(&self) -> f64 {
        self.decode_ms + self.preprocess_ms + self.inference_ms
    }
}

/// The answer for one photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// Best first; `top_k` long at most. Still the closest classes when `not_food` is set.
    pub predictions: Vec<Prediction>,
    /// The model's not-food head judged the photo not food (always false for a model without one).
    pub not_food: bool,
    /// The score in `[0, 1]` that `not_food` was decided on; `None` when the model has no head.
    pub not_food_score: Option<f32>,
    pub timings: Timings,
    /// Size of the pixels the engine decoded, after EXIF orientation: the photo's own size, or
    /// 1/8 of it for a JPEG too large for the memory budget at full size.
    pub width: u32,
    pub height: u32,
}

impl Classification {
    /// The single best guess.
    pub fn top(&self) -> &Prediction {
        &self.predictions[0]
    }
}

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// Indices of the `k` largest scores, best first (ties keep label order).
pub fn ranked_indices(scores: &[f32], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order.truncate(k.max(1));
    order
}

/// The top `k` labels with their softmax probabilities.
pub fn top_predictions(logits: &[f32], labels: &[String], k: usize) -> Vec<Prediction> {
    let probabilities = softmax(logits);
    ranked_indices(&probabilities, k)
        .into_iter()
        .map(|i| Prediction {
            index: i,
            label: labels[i].clone(),
            probability: probabilities[i],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_survives_large_logits() {
        let p = softmax(&[1000.0, 1001.0, 999.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[1] > p[0] && p[0] > p[2]);
    }

    #[test]
    fn top_predictions_are_ranked_and_bounded() {
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let top = top_predictions(&[0.1, 3.0, 1.0], &labels, 2);
        assert_eq!(top.len(), 2);
        assert_eq!(top[0].label, "b");
        assert_eq!(top[1].label, "c");
        assert_eq!(top_predictions(&[0.1, 3.0, 1.0], &labels, 0).len(), 1);
        assert_eq!(top_predictions(&[0.1, 3.0, 1.0], &labels, 99).len(), 3);
    }
}
