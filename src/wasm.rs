//! The WebAssembly shell: bytes or pixels in, plain JS objects out, core errors as JS `Error`s.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::{Classification, Classifier, ClassifyError};

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

fn to_js_error(error: ClassifyError) -> JsError {
    JsError::new(&error.to_string())
}

/// The result as a plain JS object with the core's field names: `predictions`, `not_food`,
/// `not_food_score` (`null`, not `undefined`, for a model without a not-food head), `timings`,
/// `width`, `height`.
fn to_js_object(result: &Classification) -> Result<JsValue, JsError> {
    result
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

/// Whether a photo must be decoded by the engine rather than the browser: it stops before its
/// image does, which some browsers paint half blank instead of refusing.
#[wasm_bindgen(js_name = isCutShort)]
pub fn is_cut_short(bytes: &[u8]) -> bool {
    crate::decode::is_cut_short(bytes)
}

/// A loaded model, kept alive in the worker and reused for every photo.
#[wasm_bindgen]
pub struct FoodClassifier {
    inner: Classifier,
}

#[wasm_bindgen]
impl FoodClassifier {
    /// Loads and optimises the ONNX model described by `metadata_json` (the `model.json` text).
    #[wasm_bindgen(constructor)]
    pub fn new(model: &[u8], metadata_json: &str) -> Result<FoodClassifier, JsError> {
        let inner = Classifier::from_bytes(model, metadata_json).map_err(to_js_error)?;
        Ok(FoodClassifier { inner })
    }

    /// Class names in the model's output order.
    #[wasm_bindgen(getter)]
    pub fn labels(&self) -> Vec<String> {
        self.inner.metadata().labels.clone()
    }

    /// Classifies an encoded photo; the fallback when the browser cannot decode it itself.
    #[wasm_bindgen(js_name = classifyImage)]
    pub fn classify_image(&self, bytes: &[u8], top_k: usize) -> Result<JsValue, JsError> {
        let result = self.inner.classify_image(bytes, top_k).map_err(to_js_error)?;
        to_js_object(&result)
    }

    /// Classifies RGBA pixels from `ImageData` / `OffscreenCanvas` (the fast path).
    #[wasm_bindgen(js_name = classifyRgba)]
    pub fn classify_rgba(
        &self,
        rgba: &[u8],
        width: u32,
        height: u32,
        top_k: usize,
    ) -> Result<JsValue, JsError> {
        let result = self
            .inner
            .classify_rgba(rgba, width, height, top_k)
            .map_err(to_js_error)?;
        to_js_object(&result)
    }

    /// The shorter side the model resizes to, so the page can downscale in the browser first.
    #[wasm_bindgen(getter, js_name = resizeShorterSide)]
    pub fn resize_shorter_side(&self) -> u32 {
        self.inner.metadata().input.resize_shorter_side
    }
}
