//! Installs the tools the build and tests need, from the package registries only, when missing.

use std::path::Path;

use crate::shell::{cmd, output, root, run};

/// Everything: web build tools, Chromium and Firefox for browser tests, npm packages for page tests.
pub fn all() -> Result<(), String> {
    web_tools()?;
    chromium()?;
    firefox()?;
    npm_packages()
}

/// The wasm target, the `wasm-bindgen` CLI at exactly the version in Cargo.lock, and the
/// toolchain of the threaded build.
pub fn web_tools() -> Result<(), String> {
    threads_toolchain()?;
    let installed = output(&mut cmd("rustup", &["target", "list", "--installed"])).unwrap_or_default();
    if !installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        run(&mut cmd("rustup", &["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let wanted = wasm_bindgen_version()?;
    let have = output(&mut cmd("wasm-bindgen", &["--version"])).unwrap_or_default();
    if have.split_whitespace().nth(1) != Some(wanted.as_str()) {
        // Not --locked: one locked dependency of the CLI is missing from the crates.io index.
        run(&mut cmd(
            "cargo",
            &["install", "wasm-bindgen-cli", "--version", &wanted],
        ))?;
    }
    Ok(())
}

/// Debian's `cargo-web` and `rustc-web`, by full path: rustup's stay first on `PATH` for
/// everything else.
pub const THREADED_CARGO: &str = "/usr/bin/cargo";
pub const THREADED_RUSTC: &str = "/usr/bin/rustc";

/// The toolchain that can rebuild std with atomics for the threaded wasm: Debian's `rustc-web`
/// with its std sources (`rust-web-src`) and `rust-lld` (`rust-web-llvm`, a link to `lld-22`,
/// which it does not pull in itself).
fn threads_toolchain() -> Result<(), String> {
    apt_install(
        &[
            THREADED_CARGO,
            THREADED_RUSTC,
            "/usr/lib/rustlib/src/rust/library/Cargo.lock",
            "/usr/bin/lld-22",
        ],
        &[
            "rustc-web",
            "cargo-web",
            "rust-web-src",
            "rust-web-llvm",
            "lld-22",
        ],
    )
}

/// The `wasm-bindgen` version in Cargo.lock; the CLI must match it exactly.
pub fn wasm_bindgen_version() -> Result<String, String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            if let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(version.trim_end_matches('"').to_string());
            }
        }
    }
    Err("wasm-bindgen is not in Cargo.lock".into())
}

/// Debian's Chromium and ChromeDriver (never a test tool's own browser download).
pub fn chromium() -> Result<(), String> {
    apt_install(
        &["/usr/bin/chromium", "/usr/bin/chromedriver"],
        &["chromium", "chromium-driver"],
    )
}

/// The geckodriver release the wasm tests drive Firefox with, built from crates.io.
const GECKODRIVER_VERSION: &str = "0.37.1";

/// Debian's Firefox ESR, and geckodriver at [`GECKODRIVER_VERSION`] in cargo's bin folder.
pub fn firefox() -> Result<(), String> {
    apt_install(&["/usr/bin/firefox-esr"], &["firefox-esr"])?;
    let have = output(&mut cmd(&geckodriver_path(), &["--version"])).unwrap_or_default();
    if have.split_whitespace().nth(1) != Some(GECKODRIVER_VERSION) {
        run(&mut cmd(
            "cargo",
            &[
                "install",
                "geckodriver",
                "--locked",
                "--version",
                GECKODRIVER_VERSION,
            ],
        ))?;
    }
    Ok(())
}

/// Where `cargo install` puts geckodriver: `$CARGO_HOME/bin`, by default `~/.cargo/bin`.
pub fn geckodriver_path() -> String {
    let home = std::env::var("CARGO_HOME")
        .unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap_or_default()));
    format!("{home}/bin/geckodriver")
}

/// What `cargo xtask container` needs from Debian: podman and runc to build and run the image,
/// and musl's C compiler wrapper for the assembly kernels tract-linalg builds for a static binary.
pub fn container_tools() -> Result<(), String> {
    apt_install(
        &[
            "/usr/bin/podman",
            "/usr/sbin/runc",
            "/usr/bin/x86_64-linux-musl-gcc",
        ],
        &["podman", "runc", "musl-tools"],
    )
}

/// Installs Debian `packages` unless every one of `installed` (files they provide) exists.
fn apt_install(installed: &[&str], packages: &[&str]) -> Result<(), String> {
    if installed.iter().all(|path| Path::new(path).exists()) {
        return Ok(());
    }
    let sudo = output(&mut cmd("id", &["-u"]))
        .map(|u| u.trim() != "0")
        .unwrap_or(true);
    let apt = |args: &[&str]| {
        let mut full = vec!["apt-get"];
        full.extend_from_slice(args);
        if sudo {
            run(&mut cmd("sudo", &full))
        } else {
            run(&mut cmd(full[0], &full[1..]))
        }
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq"];
    install.extend_from_slice(packages);
    apt(&install)
}

/// npm packages for the page tests and benchmarks, exactly as package-lock.json pins them.
pub fn npm_packages() -> Result<(), String> {
    if !root().join("package-lock.json").exists() {
        return Ok(());
    }
    let mut npm = cmd("npm", &["ci", "--ignore-scripts", "--no-audit", "--no-fund"]);
    npm.env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    run(&mut npm)
}

/// A virtual environment under `target/venvs/NAME` with exactly `packages` (pinned by the caller),
/// made on first use so the machine's own Python stays untouched. Returns its `bin/` folder.
pub fn python_venv(name: &str, packages: &[&str]) -> Result<std::path::PathBuf, String> {
    let venv = root().join("target/venvs").join(name);
    let bin = venv.join("bin");
    let stamp = venv.join("installed.txt");
    let wanted = packages.join("\n");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(bin);
    }
    run(&mut cmd("python3", &["-m", "venv", &venv.to_string_lossy()]))?;
    let mut pip = vec!["-m", "pip", "install", "--quiet", "--disable-pip-version-check"];
    pip.extend_from_slice(packages);
    run(&mut cmd(&bin.join("python").to_string_lossy(), &pip))?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(bin)
}
