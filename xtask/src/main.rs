//! `cargo xtask`: the project's commands, in Rust so they run wherever cargo does.
//!
//! - `demo`: build the site and start `food-classifier serve` on http://127.0.0.1:8080
//! - `test`: install what the tests need, then run every test (native, wasm in Chromium, page)
//! - `web`:  build the static site into `dist/`
//! - `container`: build the server image with podman and test the running container
//! - `audit`: Lighthouse and the installability check against `serve` (`benches/audit.mjs`)
//! - `setup`: only install the tools (wasm target, wasm-bindgen-cli, Chromium, npm packages)

mod audit;
mod background;
mod bench;
mod container;
mod precompress;
mod setup;
mod shell;
mod stages;
mod test;
mod web;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <demo|test|web|container|bench|audit|setup> [args]

  demo [serve args]   build the site and serve it on http://127.0.0.1:8080
  test                install test tools, then run all tests (what CI runs)
  web                 build the static site into dist/
  container           build the server image (podman, FROM scratch) and test it running
  bench [--runs N]    benchmark native, wasm and onnxruntime-web (benches/README.md)
  audit               Lighthouse (mobile, desktop) and installability against serve
  setup               install the wasm target, wasm-bindgen-cli, Chromium and npm packages";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let outcome = match command.as_str() {
        "setup" => setup::all(),
        "web" => setup::web_tools().and_then(|()| web::build()),
        "demo" => setup::web_tools()
            .and_then(|()| web::build())
            .and_then(|()| web::serve(&rest)),
        "test" => test::all(),
        "bench" => bench::run_all(&rest),
        "audit" => audit::run_all(),
        "container" => container::run_all(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask {command}: {message}");
            ExitCode::FAILURE
        }
    }
}
