//! Builds the static site: the wasm engine, the page in `www/`, and the model, into `dist/`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::setup;
use crate::shell::{cmd, root, run};

/// The single-thread engine builds: the profile, the target features when they are not
/// `.cargo/config.toml`'s (`+simd128`, which the wasm tests build with too, so they share its
/// compiled tract) and the wasm's name in `dist/pkg/`. Both share one JS glue.
const ENGINE_BUILDS: [(&str, Option<&str>, &str); 2] = [
    (
        "wasm-release-relaxed",
        Some("+simd128,+relaxed-simd"),
        "food_classifier_relaxed_bg.wasm",
    ),
    ("wasm-release", None, "food_classifier_bg.wasm"),
];

/// The threaded build: relaxed SIMD with atomics and a memory the pool's workers share, in
/// `dist/pkg/threads/` with its own glue (the pool's worker script is one of its snippets).
const THREADED_PROFILE: &str = "wasm-release-threads";
const THREADED_RUSTFLAGS: &str =
    "-C target-feature=+simd128,+relaxed-simd,+atomics,+bulk-memory,+mutable-globals \
     -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=1073741824 \
     -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size \
     -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base";

/// The page runs the first of the builds its browser supports (`www/js/engine-build.js`).
/// Release builds (fat LTO) run through wasm-bindgen, plus `www/` and `models/`.
pub fn build() -> Result<(), String> {
    let dist = root().join("dist");
    if dist.exists() {
        fs::remove_dir_all(&dist).map_err(|e| format!("cannot clear dist/: {e}"))?;
    }
    let pkg = dist.join("pkg");
    fs::create_dir_all(&pkg).map_err(|e| e.to_string())?;
    let mut glues = Vec::new();
    for (profile, features, wasm_name) in ENGINE_BUILDS {
        let bindings = root().join("target/wasm-bindgen").join(profile);
        let mut build = cargo_build(cmd("cargo", &[]), profile);
        if let Some(features) = features {
            build.env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
                format!("-C target-feature={features}"),
            );
        }
        run(&mut build)?;
        bind(profile, &bindings)?;
        glues
            .push(fs::read(bindings.join("food_classifier.js")).map_err(|e| format!("{profile} glue: {e}"))?);
        fs::copy(bindings.join("food_classifier_bg.wasm"), pkg.join(wasm_name))
            .map_err(|e| format!("{wasm_name}: {e}"))?;
    }
    if glues.windows(2).any(|pair| pair[0] != pair[1]) {
        return Err("the engine builds' JS bindings differ: one glue cannot load them all".into());
    }
    fs::write(pkg.join("food_classifier.js"), &glues[0]).map_err(|e| e.to_string())?;
    let threaded = root().join("target/wasm-bindgen").join(THREADED_PROFILE);
    run(&mut threaded_build())?;
    bind(THREADED_PROFILE, &threaded)?;
    copy_dir(&threaded, &pkg.join("threads"))?;
    copy_dir(&root().join("www"), &dist)?;
    let models = dist.join("models");
    fs::create_dir_all(&models).map_err(|e| e.to_string())?;
    for file in ["food11-mobilenetv2.onnx", "model.json"] {
        fs::copy(root().join("models").join(file), models.join(file)).map_err(|e| format!("{file}: {e}"))?;
    }
    let versions = write_asset_versions(&dist)?;
    write_precache(&dist, &versions)?;
    let (plain, brotli) = crate::precompress::site(&dist)?;
    eprintln!(
        "site built in {} (code and text {:.1} MB, {:.1} MB as brotli)",
        dist.display(),
        plain as f64 / 1e6,
        brotli as f64 / 1e6
    );
    Ok(())
}

/// `cargo build` of the library for the browser in `profile`, by the given cargo (cargo adds
/// the environment's rustflags to `.cargo/config.toml`'s).
fn cargo_build(mut cargo: std::process::Command, profile: &str) -> std::process::Command {
    cargo.args([
        "build",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        profile,
    ]);
    cargo
}

/// The threaded build. Stable Rust's std is not built with atomics, and a shared memory needs
/// every object file built with them, so std is rebuilt from source (`-Z build-std`) by Debian's
/// `rustc-web` toolchain, which `cargo xtask setup` installs and `RUSTC_BOOTSTRAP` unlocks.
fn threaded_build() -> std::process::Command {
    let mut build = cargo_build(cmd(setup::THREADED_CARGO, &[]), THREADED_PROFILE);
    build
        .args(["--features", "threads", "-Z", "build-std=std,panic_abort"])
        .env("RUSTC", setup::THREADED_RUSTC)
        .env("RUSTC_BOOTSTRAP", "1")
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            THREADED_RUSTFLAGS,
        );
    build
}

/// wasm-bindgen over the library `profile` built, into `bindings`.
fn bind(profile: &str, bindings: &Path) -> Result<(), String> {
    let wasm = root().join(format!(
        "target/wasm32-unknown-unknown/{profile}/food_classifier.wasm"
    ));
    run(&mut cmd(
        "wasm-bindgen",
        &[
            &wasm.to_string_lossy(),
            "--target",
            "web",
            "--no-typescript",
            "--out-dir",
            &bindings.to_string_lossy(),
        ],
    ))
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

/// The site files the page asks for by a versioned URL (`path?v=version`): the large ones.
fn is_versioned(file: &str) -> bool {
    file.starts_with("models/") || (file.starts_with("pkg/") && file.ends_with(".wasm"))
}

/// Writes the content version and size of every versioned file into `js/asset-versions.js`
/// (path → `{ version, bytes }`), and returns the versions.
fn write_asset_versions(dist: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut files = Vec::new();
    list_files(dist, dist, &mut files)?;
    let mut versions = BTreeMap::new();
    let mut map = Vec::new();
    for file in files.into_iter().filter(|f| is_versioned(f)) {
        let bytes = fs::read(dist.join(&file)).map_err(|e| format!("{file}: {e}"))?;
        let version = format!("{:016x}", fnv1a(FNV_OFFSET, &bytes));
        map.push(format!(
            "'{file}': {{ version: '{version}', bytes: {} }}",
            bytes.len()
        ));
        versions.insert(file, version);
    }
    replace_line(
        &dist.join("js/asset-versions.js"),
        "export const ASSET_VERSIONS = ",
        &format!("export const ASSET_VERSIONS = {{ {} }};", map.join(", ")),
    )?;
    Ok(versions)
}

/// Fills the service worker's precache line with every built file (by the URL the page asks for)
/// and a hash of their contents, so a changed site gets a new cache version and the old cache is
/// dropped on activation.
fn write_precache(dist: &Path, versions: &BTreeMap<String, String>) -> Result<(), String> {
    let mut files = Vec::new();
    list_files(dist, dist, &mut files)?;
    files.retain(|f| f != "sw.js");
    files.sort();
    let mut hash = FNV_OFFSET;
    for file in &files {
        let bytes = fs::read(dist.join(file)).map_err(|e| format!("{file}: {e}"))?;
        hash = fnv1a(hash, file.as_bytes().iter().chain(&[0]).chain(&bytes));
    }
    let url = |f: &String| match versions.get(f) {
        Some(version) => format!("\"{f}?v={version}\""),
        None => format!("\"{f}\""),
    };
    let list: Vec<String> = std::iter::once("\"./\"".to_string())
        .chain(files.iter().map(url))
        .collect();
    let line = format!(
        "const PRECACHE = {{ version: '{hash:016x}', files: [{}] }};",
        list.join(", ")
    );
    replace_line(&dist.join("sw.js"), "const PRECACHE = ", &line)
}

/// Replaces the line of `file` that starts with `prefix` by `line`.
fn replace_line(file: &Path, prefix: &str, line: &str) -> Result<(), String> {
    let name = file.display();
    let text = fs::read_to_string(file).map_err(|e| format!("{name}: {e}"))?;
    let start = text
        .find(prefix)
        .ok_or_else(|| format!("{name} has no line starting {prefix:?}"))?;
    let end = start
        + text[start..]
            .find('\n')
            .ok_or_else(|| format!("{name}: unterminated line {prefix:?}"))?;
    fs::write(file, format!("{}{line}{}", &text[..start], &text[end..])).map_err(|e| format!("{name}: {e}"))
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
