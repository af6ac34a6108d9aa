//! The WebAssembly shell: bytes or pixels in, plain JS objects out, core errors as JS `Error`s.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::evaluation::{class_of_path, Answer, Tally};
use crate::{Classification, Classifier, ClassifyError};

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// Starts a pool of `n` Web Workers sharing this module's memory (a promise); the threaded build
/// only, in a cross-origin isolated page.
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

/// Whether inferences run inside the pool (`useThreadPool(true)`).
#[cfg(feature = "threads")]
static POOL_IN_USE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The fewest kernel tiles (row panels times column panels) for which tract splits a matrix
/// product over the pool. tract's default, 64, leaves the last layers' products of 160 output
/// channels over 7×7 positions (40 row panels of 4 times one of 52 columns, a twentieth of an
/// inference) on one thread; split, they take half the time.
#[cfg(feature = "threads")]
const POOL_MIN_PANELS: usize = 32;

/// `true`: tract splits its large layers over the pool `initThreadPool` started; `false` (and
/// before the first call): every inference runs on the calling thread alone. Switchable at any
/// time between photos, so a page can time both and keep the faster on its machine.
#[cfg(feature = "threads")]
#[wasm_bindgen(js_name = useThreadPool)]
pub fn use_thread_pool(on: bool) {
    use tract_linalg::multithread::{set_default_executor, set_threading_panel_threshold, Executor};
    set_threading_panel_threshold(POOL_MIN_PANELS);
    set_default_executor(if on {
        Executor::RayonGlobal
    } else {
        Executor::SingleThread
    });
    POOL_IN_USE.store(on, std::sync::atomic::Ordering::Release);
}

/// Runs `op` on one of the pool's threads when there is a pool. Called from outside the pool,
/// every split layer would wake a pool thread and put the caller to sleep until it is done, two
/// thread wake-ups for each of the network's few dozen split layers; run inside, the thread that
/// runs the network takes a share of each layer itself and the caller waits once.
fn in_pool<R: Send>(op: impl FnOnce() -> R + Send) -> R {
    #[cfg(feature = "threads")]
    if POOL_IN_USE.load(std::sync::atomic::Ordering::Acquire) {
        return crate::awake_pool::run_with_pool_awake(op);
    }
    op()
}

fn to_js_error(error: ClassifyError) -> JsError {
    JsError::new(&error.to_string())
}

/// The result as a plain JS object with the core's field names: `predictions`, `not_food`,
/// `not_food_score` (`null`, not `undefined`, for a model without a not-food head), `timings`,
/// `width`, `height`.
fn to_js_object(result: &Classification) -> Result<JsValue, JsError> {
    plain(result)
}

fn plain(value: &impl Serialize) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

/// Whether a photo must be decoded by the engine rather than the browser: it stops before its
/// image does, which some browsers paint half blank instead of refusing.
#[wasm_bindgen(js_name = isCutShort)]
pub fn is_cut_short(bytes: &[u8]) -> bool {
    crate::decode::is_cut_short(bytes)
}

/// Refuses a model file of `len` bytes before the page reads it, when it is larger than the
/// engine loads (the same rule the loader applies).
#[wasm_bindgen(js_name = checkModelSize)]
pub fn check_model_size(len: f64) -> Result<(), JsError> {
    crate::budget::check_model_size(len as u64).map_err(to_js_error)
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

    /// How long each step of the model's set-up took (`read_ms`, `analyse_ms`, `declutter_ms`,
    /// `codegen_ms`, `plan_ms`), for the benchmark.
    #[wasm_bindgen(js_name = setupTimings)]
    pub fn setup_timings(&self) -> Result<JsValue, JsError> {
        plain(&self.inner.setup_timings())
    }

    /// Class names in the model's output order.
    #[wasm_bindgen(getter)]
    pub fn labels(&self) -> Vec<String> {
        self.inner.metadata().labels.clone()
    }

    /// Classifies an encoded photo; the fallback when the browser cannot decode it itself.
    #[wasm_bindgen(js_name = classifyImage)]
    pub fn classify_image(&self, bytes: &[u8], top_k: usize) -> Result<JsValue, JsError> {
        let result = in_pool(|| self.inner.classify_image(bytes, top_k)).map_err(to_js_error)?;
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
        let result = in_pool(|| self.inner.classify_rgba(rgba, width, height, top_k)).map_err(to_js_error)?;
        to_js_object(&result)
    }

    /// The class a photo's path in a picked folder names (`test/Rice/1.jpg`, Food-11's
    /// `evaluation/3_12.jpg`), by the command line's `eval` rules; `undefined` for other files.
    #[wasm_bindgen(js_name = classOfPath)]
    pub fn class_of_path(&self, path: &str) -> Option<usize> {
        class_of_path(path, &self.inner.metadata().labels)
    }

    /// A folder evaluation for this model: answers go in one at a time, `eval --json`'s report
    /// comes out.
    #[wasm_bindgen(js_name = startEvaluation)]
    pub fn start_evaluation(&self) -> Evaluation {
        let metadata = self.inner.metadata();
        Evaluation {
            tally: Tally::new(&metadata.labels, metadata.not_food.as_ref().map(|n| n.threshold)),
        }
    }

    /// The shorter side a photo may be downscaled to before it is sent (what the model resizes
    /// to, or its input's longer side for a straight resize), so the browser can do that first.
    #[wasm_bindgen(getter, js_name = resizeShorterSide)]
    pub fn resize_shorter_side(&self) -> u32 {
        self.inner.metadata().input.decode_side()
    }
}

/// The tally of a folder evaluation under way (see `FoodClassifier.startEvaluation`).
#[wasm_bindgen]
pub struct Evaluation {
    tally: Tally,
}

#[wasm_bindgen]
impl Evaluation {
    /// Counts the answer for a photo of class `truth`: its top class and whether it was judged
    /// not food.
    pub fn add(&mut self, truth: usize, predicted: usize, not_food: bool) -> Result<(), JsError> {
        self.tally
            .add(truth, Answer { predicted, not_food })
            .map_err(|e| JsError::new(&e))
    }

    /// Records a photo that could not be classified, by its path in the folder.
    #[wasm_bindgen(js_name = addFailure)]
    pub fn add_failure(&mut self, path: &str, message: &str) {
        self.tally.add_failure(path, message);
    }

    /// The report as a plain object, in `eval --json`'s shape.
    pub fn report(&self) -> Result<JsValue, JsError> {
        plain(&self.tally.report())
    }
}
