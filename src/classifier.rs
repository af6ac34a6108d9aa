//! The engine: an optimised tract plan plus its metadata, reused for every photo.

use std::sync::Arc;

use tract_onnx::prelude::*;
use web_time::Instant;

use crate::decode::{check_pixel_count, decode_image, DEFAULT_MAX_PIXELS};
use crate::error::ClassifyError;
use crate::metadata::ModelMetadata;
use crate::prediction::{top_predictions, Classification, Timings};
use crate::preprocess::{to_input_tensor, PixelView};

type Plan = Arc<TypedRunnableModel>;

/// A loaded, optimised model. Cheap to share between threads; load it once.
#[derive(Debug, Clone)]
pub struct Classifier {
    plan: Plan,
    metadata: ModelMetadata,
    max_pixels: u64,
}

fn elapsed_ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

impl Classifier {
    /// Loads an ONNX model and its `model.json`, checks they agree, and optimises the graph.
    pub fn from_bytes(onnx: &[u8], metadata_json: &str) -> Result<Self, ClassifyError> {
        let metadata = ModelMetadata::from_json(metadata_json)?;
        if onnx.is_empty() {
            return Err(ClassifyError::BadModel("the model file is empty".into()));
        }
        let bad_model = |e: TractError| ClassifyError::BadModel(format!("{e:#}"));
        let shape = metadata.input.shape;
        let typed = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(onnx))
            .map_err(bad_model)?
            .with_input_fact(0, f32::fact(shape).into())
            .map_err(bad_model)?
            .into_optimized()
            .map_err(bad_model)?;
        let output = typed.output_fact(0).map_err(bad_model)?;
        let classes = output.shape.as_concrete().map(|s| s.iter().product::<usize>());
        if classes != Some(metadata.labels.len()) {
            return Err(ClassifyError::BadModel(format!(
                "the model outputs {:?} but model.json lists {} labels",
                output.shape,
                metadata.labels.len()
            )));
        }
        let plan = typed.into_runnable().map_err(bad_model)?;
        Ok(Classifier {
            plan,
            metadata,
            max_pixels: DEFAULT_MAX_PIXELS,
        })
    }

    /// Changes the largest photo (in pixels) accepted before decoding.
    pub fn with_max_pixels(mut self, max_pixels: u64) -> Self {
        self.max_pixels = max_pixels;
        self
    }

    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// Classifies an encoded photo (JPEG, PNG, WebP, GIF).
    pub fn classify_image(&self, bytes: &[u8], top_k: usize) -> Result<Classification, ClassifyError> {
        let start = Instant::now();
        let image = decode_image(bytes, self.max_pixels)?;
        let decode_ms = elapsed_ms(start);
        let view = PixelView::new(image.as_raw(), image.width(), image.height(), 3)?;
        let mut result = self.classify_view(&view, top_k)?;
        result.timings.decode_ms = decode_ms;
        Ok(result)
    }

    /// Classifies RGBA pixels already decoded elsewhere (by a browser, say).
    pub fn classify_rgba(
        &self,
        rgba: &[u8],
        width: u32,
        height: u32,
        top_k: usize,
    ) -> Result<Classification, ClassifyError> {
        check_pixel_count(width, height, self.max_pixels)?;
        let view = PixelView::new(rgba, width, height, 4)?;
        self.classify_view(&view, top_k)
    }

    fn classify_view(&self, view: &PixelView, top_k: usize) -> Result<Classification, ClassifyError> {
        let start = Instant::now();
        let tensor = to_input_tensor(view, &self.metadata.input);
        let preprocess_ms = elapsed_ms(start);
        let start = Instant::now();
        let logits = self.logits(tensor)?;
        let inference_ms = elapsed_ms(start);
        Ok(Classification {
            predictions: top_predictions(&logits, &self.metadata.labels, top_k),
            timings: Timings {
                decode_ms: 0.0,
                preprocess_ms,
                inference_ms,
            },
            width: view.width(),
            height: view.height(),
        })
    }

    /// Runs the network on a ready NCHW tensor and returns the raw logits.
    pub fn logits(&self, tensor: Vec<f32>) -> Result<Vec<f32>, ClassifyError> {
        let input = Tensor::from_shape(&self.metadata.input.shape, &tensor)
            .map_err(|e| ClassifyError::Inference(format!("{e:#}")))?;
        let outputs = self
            .plan
            .run(tvec!(input.into()))
            .map_err(|e| ClassifyError::Inference(format!("{e:#}")))?;
        let view = outputs[0]
            .to_plain_array_view::<f32>()
            .map_err(|e| ClassifyError::Inference(format!("{e:#}")))?;
        Ok(view.iter().copied().collect())
    }
}
