//! Which model the CLI runs: the one compiled into the binary, or one named with `--model`.

use std::path::Path;

use food_classifier::Classifier;

#[cfg(feature = "built-in-model")]
const BUILT_IN_ONNX: &[u8] = include_bytes!("../../../models/food11-mobilenetv2.onnx");
#[cfg(feature = "built-in-model")]
const BUILT_IN_METADATA: &str = include_str!("../../../models/model.json");

/// A real photo (a plate of rice) for `bench` and the server's `GET /test` readiness probe.
pub const SAMPLE_PHOTO: &[u8] = include_bytes!("../../../www/samples/rice.jpg");

/// Loads the built-in model, or `onnx` with the `model.json` next to it.
pub fn load(onnx: Option<&Path>) -> Result<Classifier, String> {
    let Some(onnx) = onnx else {
        return built_in();
    };
    let metadata_path = onnx.with_file_name("model.json");
    let bytes = std::fs::read(onnx).map_err(|e| format!("cannot read {}: {e}", onnx.display()))?;
    let metadata = std::fs::read_to_string(&metadata_path)
        .map_err(|e| format!("cannot read {}: {e}", metadata_path.display()))?;
    Classifier::from_bytes(&bytes, &metadata).map_err(|e| format!("{}: {e}", onnx.display()))
}

#[cfg(feature = "built-in-model")]
fn built_in() -> Result<Classifier, String> {
    Classifier::from_bytes(BUILT_IN_ONNX, BUILT_IN_METADATA).map_err(|e| e.to_string())
}

/// A build for a container whose site already holds the model carries no second copy of it.
#[cfg(not(feature = "built-in-model"))]
fn built_in() -> Result<Classifier, String> {
    Err("this build has no built-in model; name one with --model".into())
}
