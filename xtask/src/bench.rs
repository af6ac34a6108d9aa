//! `cargo xtask bench`: builds what the benchmark measures, then runs `benches/bench.mjs`.
//!
//! Native tract, our wasm and onnxruntime-web in headless Chromium, a 12 MP photo end to end
//! and download sizes, all in one run; see `benches/README.md`.

use crate::setup;
use crate::shell::{cmd, root, run};
use crate::web;

/// The real photo the 12 MP benchmark image is upscaled from.
const SOURCE_PHOTO: &str = "www/samples/rice.jpg";
const BENCH_PHOTO: &str = "target/bench/photo-12mp.jpg";

pub fn run_all(args: &[String]) -> Result<(), String> {
    web::build_server_and_site()?;
    if !root().join(BENCH_PHOTO).exists() {
        std::fs::create_dir_all(root().join("target/bench")).map_err(|e| e.to_string())?;
        let python = setup::python_venv("bench", &["pillow==13.0.0", "numpy==2.2.6"])?.join("python");
        run(&mut cmd(
            &python.to_string_lossy(),
            &["benches/make_photo.py", SOURCE_PHOTO, BENCH_PHOTO],
        ))?;
    }
    let mut node_args = vec!["benches/bench.mjs"];
    node_args.extend(args.iter().map(String::as_str));
    run(&mut cmd("node", &node_args))
}
