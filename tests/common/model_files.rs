//! A model on disk as `--model` takes it: the ONNX file with its `model.json` beside it.

use std::path::Path;

/// Writes `onnx` and `metadata` into `dir`; the path to pass to `--model`.
pub fn write_model(dir: &Path, onnx: &[u8], metadata: &str) -> String {
    std::fs::write(dir.join("model.onnx"), onnx).unwrap();
    std::fs::write(dir.join("model.json"), metadata).unwrap();
    dir.join("model.onnx").to_string_lossy().into_owned()
}
