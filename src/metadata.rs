//! The `model.json` sidecar: labels and the preprocessing contract the model was trained with.

use serde::{Deserialize, Serialize};

use crate::error::ClassifyError;

/// What the engine needs to know about a model besides its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    pub name: String,
    pub labels: Vec<String>,
    pub input: InputContract,
}

/// How a photo becomes the input tensor, exactly as in training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputContract {
    /// `[1, 3, H, W]` (NCHW).
    pub shape: [usize; 4],
    /// Length of the shorter side after resizing, before the centre crop.
    pub resize_shorter_side: u32,
    /// Multiplier taking a byte to `[0, 1]`.
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl InputContract {
    /// Side lengths of the model input as `(width, height)`.
    pub fn crop_size(&self) -> (u32, u32) {
        (self.shape[3] as u32, self.shape[2] as u32)
    }
}

impl ModelMetadata {
    /// Parses and validates `model.json`; unknown fields (metrics, provenance) are ignored.
    pub fn from_json(json: &str) -> Result<Self, ClassifyError> {
        let meta: ModelMetadata =
            serde_json::from_str(json).map_err(|e| ClassifyError::BadMetadata(e.to_string()))?;
        meta.validate()?;
        Ok(meta)
    }

    fn validate(&self) -> Result<(), ClassifyError> {
        let bad = |msg: String| Err(ClassifyError::BadMetadata(msg));
        if self.labels.is_empty() {
            return bad("no labels".into());
        }
        let [n, c, h, w] = self.input.shape;
        if n != 1 || c != 3 || h == 0 || w == 0 || h > 4096 || w > 4096 {
            return bad(format!("input shape {:?} is not [1, 3, H, W]", self.input.shape));
        }
        if (self.input.resize_shorter_side as usize) < h.min(w) {
            return bad(format!(
                "resize_shorter_side {} is smaller than the {h}x{w} crop",
                self.input.resize_shorter_side
            ));
        }
        if self.input.std.iter().any(|s| !s.is_finite() || *s == 0.0)
            || self.input.mean.iter().any(|m| !m.is_finite())
            || !self.input.scale.is_finite()
        {
            return bad("mean, std and scale must be finite and std non-zero".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../models/model.json");

    #[test]
    fn shipped_metadata_parses() {
        let meta = ModelMetadata::from_json(SHIPPED).unwrap();
        assert_eq!(meta.labels.len(), 11);
        assert_eq!(meta.labels[6], "Noodles/Pasta");
        assert_eq!(meta.input.crop_size(), (224, 224));
    }

    #[test]
    fn rejects_garbage_and_inconsistent_metadata() {
        assert!(matches!(
            ModelMetadata::from_json("{not json"),
            Err(ClassifyError::BadMetadata(_))
        ));
        let no_labels = SHIPPED.replacen("\"labels\"", "\"labels_\"", 1);
        assert!(ModelMetadata::from_json(&no_labels).is_err());
        let zero_std = SHIPPED.replacen("0.229", "0", 1);
        assert!(matches!(
            ModelMetadata::from_json(&zero_std),
            Err(ClassifyError::BadMetadata(m)) if m.contains("std")
        ));
    }
}
