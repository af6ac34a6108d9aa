//! `cargo xtask bench`: builds what the benchmark measures, then runs `benches/bench.mjs`.
//!
//! Native tract, our wasm, onnxruntime-web and TF.js's wasm backend in headless Chromium, a 12 MP
//! photo end to end and download sizes, all in one run; see `benches/README.md`.

use crate::setup;
use crate::shell::{cmd, root, run};
use crate::web;

/// The real photo the 12 MP benchmark image is upscaled from.
const SOURCE_PHOTO: &str = "www/samples/rice.jpg";
const BENCH_PHOTO: &str = "target/bench/photo-12mp.jpg";
/// The model the site ships, and where it is laid out for TF.js (`benches/bench.mjs` reads it).
const SITE_MODEL: &str = "dist/models/food11-mobilenetv2.onnx";
const TFJS_NETWORK: &str = "target/bench/tfjs";

pub fn run_all(args: &[String]) -> Result<(), String> {
    web::build_server_and_site()?;
    std::fs::create_dir_all(root().join("target/bench")).map_err(|e| e.to_string())?;
    let python =
        setup::python_venv("bench", &["pillow==13.0.0", "numpy==2.2.6", "onnx==1.17.0"])?.join("python");
    let python = python.to_string_lossy();
    if !root().join(BENCH_PHOTO).exists() {
        run(&mut cmd(
            &python,
            &["benches/make_photo.py", SOURCE_PHOTO, BENCH_PHOTO],
        ))?;
    }
    // Written every run from the model the site ships, so TF.js never times a stale network.
    run(&mut cmd(
        &python,
        &["benches/tfjs_export.py", SITE_MODEL, TFJS_NETWORK],
    ))?;
    let mut node_args = vec!["benches/bench.mjs"];
    node_args.extend(args.iter().map(String::as_str));
    run(&mut cmd("node", &node_args))
}
