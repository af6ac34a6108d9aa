//! The onnxruntime reference: one input tensor and the logits onnxruntime computed for it
//! (`tests/fixtures/reference_*`), which every engine build must reproduce.

use serde::Deserialize;

/// Little-endian float32s, as the fixtures store tensors.
pub fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The reference input tensor (1×3×224×224, NCHW).
pub fn reference_input() -> Vec<f32> {
    floats(include_bytes!("../fixtures/reference_input.bin"))
}

/// Fails unless `logits` are within 1e-3 of onnxruntime's for the reference input.
pub fn assert_matches_reference(logits: &[f32], engine: &str) {
    #[derive(Deserialize)]
    struct Reference {
        logits: Vec<f32>,
    }
    let reference: Reference =
        serde_json::from_str(include_str!("../fixtures/reference_logits.json")).unwrap();
    assert_eq!(logits.len(), reference.logits.len());
    for (i, (ours, theirs)) in logits.iter().zip(&reference.logits).enumerate() {
        assert!(
            (ours - theirs).abs() < 1e-3,
            "logit {i}: {engine} {ours} vs onnxruntime {theirs}"
        );
    }
}
