//! Food-11 photo classification with MobileNetV2, the same core natively and in WebAssembly.
//!
//! [`Classifier`] loads an ONNX model plus its `model.json` once and classifies encoded photos
//! ([`Classifier::classify_image`]) or browser-decoded RGBA pixels ([`Classifier::classify_rgba`]).
//! One photo's classification stays within [`budget::MEMORY_BUDGET`], whatever the file declares.
//! Nothing in this core knows about wasm; `wasm` (the thin shell), `wasm_matmul` and
//! `wasm_depthwise` (the product and depthwise kernels tract runs in the browser) are compiled
//! only for wasm32.

pub mod budget;
pub mod classifier;
mod declutter;
pub mod decode;
mod depthwise_rows;
pub mod error;
pub mod evaluation;
pub mod metadata;
pub mod prediction;
pub mod preprocess;
mod stored_weights;

#[cfg(any(
    all(target_arch = "wasm32", feature = "threads"),
    all(test, not(target_arch = "wasm32"))
))]
mod awake_pool;
#[cfg(target_arch = "wasm32")]
pub mod wasm;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod wasm_depthwise;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod wasm_matmul;

pub use classifier::{Classifier, SetupTimings};
pub use error::{ClassifyError, SizeLimit};
pub use metadata::ModelMetadata;
pub use prediction::{Classification, Prediction, Timings};
