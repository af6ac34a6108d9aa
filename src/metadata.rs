//! The `model.json` sidecar: labels, the preprocessing contract the model was trained with, and
//! which of the model's outputs hold what.

use serde::{Deserialize, Serialize};

use crate::error::ClassifyError;

/// What the engine needs to know about a model besides its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    pub name: String,
    pub labels: Vec<String>,
    pub input: InputContract,
    /// The food-class output; absent in older sidecars, which meant the model's first output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<ClassOutput>,
    /// The not-food head, for models trained with one; without it nothing is ever flagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_food: Option<NotFoodContract>,
}

/// Names the ONNX output with one logit per label (softmax gives the probabilities).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassOutput {
    pub name: String,
}

/// How a photo is judged not food: a separate ONNX output with one logit, turned into a score in
/// `[0, 1]` and compared with a threshold chosen when the model was calibrated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotFoodContract {
    /// Name of the ONNX output holding the not-food logit (shape `[1, 1]`).
    pub output: String,
    pub activation: ScoreActivation,
    /// Scores at or above this are not food.
    pub threshold: f32,
}

/// What turns the head's raw output into a score; named so a model cannot silently mean another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreActivation {
    Sigmoid,
}

impl NotFoodContract {
    /// The not-food score in `[0, 1]` for the head's raw output.
    pub fn score(&self, raw: f32) -> f32 {
        match self.activation {
            ScoreActivation::Sigmoid => 1.0 / (1.0 + (-raw).exp()),
        }
    }

    /// The product's one not-food rule; every shell reports this verdict rather than its own.
    pub fn is_not_food(&self, score: f32) -> bool {
        score >= self.threshold
    }
}

/// How a photo becomes the input tensor, exactly as in training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputContract {
    /// `[1, 3, H, W]` for NCHW, `[1, H, W, 3]` for NHWC.
    pub shape: [usize; 4],
    /// Where the channels are; NCHW (PyTorch's exports) when absent.
    #[serde(default)]
    pub layout: Layout,
    /// How the photo is fitted to the input; the shorter side and a centre crop when absent.
    #[serde(default)]
    pub crop: Crop,
    /// Length of the shorter side after resizing, before the centre crop (unused with no crop).
    pub resize_shorter_side: u32,
    /// Multiplier taking a byte to `[0, 1]`.
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

/// The order of the input tensor's axes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// Batch, channels, rows, columns: PyTorch and this project's model.
    #[default]
    #[serde(rename = "NCHW")]
    Nchw,
    /// Batch, rows, columns, channels: Keras and TensorFlow exports.
    #[serde(rename = "NHWC")]
    Nhwc,
}

/// How a photo of any shape is fitted to the model's input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crop {
    /// Shorter side to `resize_shorter_side`, then the centre of it (torchvision's recipe).
    #[default]
    Center,
    /// Straight to the input size, not keeping the aspect ratio (the lab's Keras apps).
    None,
}

impl InputContract {
    /// Side lengths of the model input as `(width, height)`.
    pub fn crop_size(&self) -> (u32, u32) {
        let [_, a, b, c] = self.shape;
        let (h, w) = match self.layout {
            Layout::Nchw => (b, c),
            Layout::Nhwc => (a, b),
        };
        (w as u32, h as u32)
    }

    /// The shorter side a photo may be scaled down to before preprocessing without losing
    /// anything the model sees (what the page asks the browser to decode to).
    pub fn decode_side(&self) -> u32 {
        let (w, h) = self.crop_size();
        match self.crop {
            Crop::Center => self.resize_shorter_side,
            Crop::None => w.max(h),
        }
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
        let shape = self.input.shape;
        let (n, c, expected) = match self.input.layout {
            Layout::Nchw => (shape[0], shape[1], "[1, 3, H, W] (NCHW)"),
            Layout::Nhwc => (shape[0], shape[3], "[1, H, W, 3] (NHWC)"),
        };
        let (w, h) = self.input.crop_size();
        if n != 1 || c != 3 || h == 0 || w == 0 || h > 4096 || w > 4096 {
            return bad(format!("input shape {shape:?} is not {expected}"));
        }
        if self.input.crop == Crop::Center && self.input.resize_shorter_side < h.min(w) {
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
        if self.output.as_ref().is_some_and(|o| o.name.is_empty()) {
            return bad("output.name is empty".into());
        }
        if let Some(not_food) = &self.not_food {
            if not_food.output.is_empty() {
                return bad("not_food.output is empty".into());
            }
            if !(0.0..=1.0).contains(&not_food.threshold) {
                return bad(format!(
                    "not_food.threshold {} is not a score between 0 and 1",
                    not_food.threshold
                ));
            }
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
        assert_eq!(meta.output.unwrap().name, "logits");
    }

    fn with_input(change: impl Fn(&mut serde_json::Value)) -> Result<ModelMetadata, ClassifyError> {
        let mut json: serde_json::Value = serde_json::from_str(SHIPPED).unwrap();
        change(&mut json["input"]);
        ModelMetadata::from_json(&json.to_string())
    }

    #[test]
    fn layout_and_crop_default_to_nchw_and_centre_and_are_checked() {
        let meta = with_input(|input| {
            input.as_object_mut().unwrap().remove("layout");
            input.as_object_mut().unwrap().remove("crop");
        })
        .unwrap();
        assert_eq!((meta.input.layout, meta.input.crop), (Layout::Nchw, Crop::Center));
        assert_eq!(meta.input.decode_side(), meta.input.resize_shorter_side);

        // A Keras-style model: NHWC, 160x192, straight resize (its resize_shorter_side unused).
        let keras = with_input(|input| {
            input["layout"] = "NHWC".into();
            input["crop"] = "none".into();
            input["shape"] = serde_json::json!([1, 160, 192, 3]);
            input["resize_shorter_side"] = 1.into();
        })
        .unwrap();
        assert_eq!(keras.input.crop_size(), (192, 160));
        assert_eq!(keras.input.decode_side(), 192);

        for (change, words) in [
            (serde_json::json!({"layout": "NHWC"}), "NHWC"),
            (serde_json::json!({"layout": "HWC"}), "unknown variant"),
            (serde_json::json!({"crop": "fill"}), "unknown variant"),
        ] {
            let error = with_input(|input| {
                for (k, v) in change.as_object().unwrap() {
                    input[k] = v.clone();
                }
            })
            .unwrap_err();
            assert!(
                matches!(&error, ClassifyError::BadMetadata(m) if m.contains(words)),
                "{change}: {error}"
            );
        }
    }

    fn with_not_food(section: &str) -> Result<ModelMetadata, ClassifyError> {
        let mut json: serde_json::Value = serde_json::from_str(SHIPPED).unwrap();
        json["not_food"] = serde_json::from_str(section).unwrap();
        ModelMetadata::from_json(&json.to_string())
    }

    #[test]
    fn not_food_section_is_parsed_and_checked() {
        let meta =
            with_not_food(r#"{"output": "not_food", "activation": "sigmoid", "threshold": 0.5}"#).unwrap();
        let not_food = meta.not_food.unwrap();
        assert_eq!(not_food.output, "not_food");
        assert_eq!(not_food.activation, ScoreActivation::Sigmoid);
        assert_eq!(not_food.threshold, 0.5);

        for (section, words) in [
            (
                r#"{"output": "not_food", "activation": "softmax", "threshold": 0.5}"#,
                "softmax",
            ),
            (r#"{"output": "not_food", "threshold": 0.5}"#, "activation"),
            (
                r#"{"output": "not_food", "activation": "sigmoid", "threshold": 1.5}"#,
                "threshold",
            ),
            (
                r#"{"output": "", "activation": "sigmoid", "threshold": 0.5}"#,
                "empty",
            ),
        ] {
            let error = with_not_food(section).unwrap_err();
            assert!(
                matches!(&error, ClassifyError::BadMetadata(m) if m.contains(words)),
                "{section}: {error}"
            );
        }
    }

    #[test]
    fn the_not_food_rule_is_sigmoid_then_at_least_threshold() {
        let contract = NotFoodContract {
            output: "not_food".into(),
            activation: ScoreActivation::Sigmoid,
            threshold: 0.5,
        };
        assert_eq!(contract.score(0.0), 0.5);
        assert!(
            contract.is_not_food(contract.score(0.0)),
            "the threshold itself is not food"
        );
        assert!(!contract.is_not_food(contract.score(-1e-3)));
        assert!((contract.score(2.0) - 0.880_797).abs() < 1e-6);
        // Extreme logits saturate instead of overflowing into NaN.
        assert_eq!(contract.score(-200.0), 0.0);
        assert_eq!(contract.score(200.0), 1.0);
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
