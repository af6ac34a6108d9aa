//! Builds the static site: the wasm engine, the page in `www/`, and the model, into `dist/`.

use std::fs;
use std::path::Path;

use crate::shell::{cmd, root, run};

/// The release wasm (simd128, fat LTO) run through wasm-bindgen, plus `www/` and `models/`.
pub fn build() -> Result<(), String> {
    run(&mut cmd(
        "cargo",
        &[
            "build",
            "--lib",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm-release",
        ],
    ))?;
    let dist = root().join("dist");
    if dist.exists() {
        fs::remove_dir_all(&dist).map_err(|e| format!("cannot clear dist/: {e}"))?;
    }
    let wasm = root().join("target/wasm32-unknown-unknown/wasm-release/food_classifier.wasm");
    run(&mut cmd(
        "wasm-bindgen",
        &[
            &wasm.to_string_lossy(),
            "--target",
            "web",
            "--no-typescript",
            "--out-dir",
            "dist/pkg",
        ],
    ))?;
    copy_dir(&root().join("www"), &dist)?;
    let models = dist.join("models");
    fs::create_dir_all(&models).map_err(|e| e.to_string())?;
    for file in ["food11-mobilenetv2.onnx", "model.json"] {
        fs::copy(root().join("models").join(file), models.join(file)).map_err(|e| format!("{file}: {e}"))?;
    }
    write_precache(&dist)?;
    let (plain, brotli) = crate::precompress::site(&dist)?;
    eprintln!(
        "site built in {} (code and text {:.1} MB, {:.1} MB as brotli)",
        dist.display(),
        plain as f64 / 1e6,
        brotli as f64 / 1e6
    );
    Ok(())
}

/// Everything a browser run against `serve` needs: the web tools, Chromium, the npm packages, the
/// release CLI and the site.
pub fn build_server_and_site() -> Result<(), String> {
    crate::setup::web_tools()?;
    crate::setup::chromium()?;
    crate::setup::npm_packages()?;
    run(&mut cmd(
        "cargo",
        &["build", "--release", "--bin", "food-classifier"],
    ))?;
    build()
}

/// Starts the native server on the built site.
pub fn serve(args: &[String]) -> Result<(), String> {
    let mut full = vec!["run", "--release", "--", "serve", "--dir", "dist"];
    full.extend(args.iter().map(String::as_str));
    run(&mut cmd("cargo", &full))
}

/// Fills the service worker's precache line with every built file and a hash of their contents,
/// so a changed site gets a new cache version and the old cache is dropped on activation.
fn write_precache(dist: &Path) -> Result<(), String> {
    let mut files = Vec::new();
    list_files(dist, dist, &mut files)?;
    files.retain(|f| f != "sw.js");
    files.sort();
    let mut hash = FNV_OFFSET;
    for file in &files {
        let bytes = fs::read(dist.join(file)).map_err(|e| format!("{file}: {e}"))?;
        hash = fnv1a(hash, file.as_bytes().iter().chain(&[0]).chain(&bytes));
    }
    let list: Vec<String> = std::iter::once("\"./\"".to_string())
        .chain(files.iter().map(|f| format!("\"{f}\"")))
        .collect();
    let line = format!(
        "const PRECACHE = {{ version: '{hash:016x}', files: [{}] }};",
        list.join(", ")
    );
    let sw = dist.join("sw.js");
    let text = fs::read_to_string(&sw).map_err(|e| format!("sw.js: {e}"))?;
    let start = text
        .find("const PRECACHE = ")
        .ok_or("sw.js has no PRECACHE line")?;
    let end = start
        + text[start..]
            .find('\n')
            .ok_or("sw.js: unterminated PRECACHE line")?;
    fs::write(&sw, format!("{}{line}{}", &text[..start], &text[end..])).map_err(|e| format!("sw.js: {e}"))
}

/// Where an FNV-1a hash starts.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over `bytes`, continuing from `hash`: stable across builds and Rust versions, and no
/// extra dependency, for cache versions and cache keys.
pub fn fnv1a<'a>(hash: u64, bytes: impl IntoIterator<Item = &'a u8>) -> u64 {
    bytes
        .into_iter()
        .fold(hash, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

pub fn list_files(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), String> {
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            list_files(base, &path, out)?;
        } else {
            let rel = path.strip_prefix(base).map_err(|e| e.to_string())?;
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// Copies a file with its modification time: `serve` sends a precompressed copy only when it is
/// not older than its file, so the times must survive the copy.
fn copy_file(from: &Path, to: &Path) -> Result<(), String> {
    let failed = |e: std::io::Error| format!("{} -> {}: {e}", from.display(), to.display());
    fs::copy(from, to).map_err(failed)?;
    let modified = fs::metadata(from).and_then(|m| m.modified()).map_err(failed)?;
    fs::File::options()
        .write(true)
        .open(to)
        .and_then(|f| f.set_modified(modified))
        .map_err(failed)
}

pub fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            copy_file(&entry.path(), &target)?;
        }
    }
    Ok(())
}
