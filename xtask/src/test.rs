//! `cargo xtask test`: what CI runs. Lints, native tests, wasm and page tests in headless Chromium
//! and Firefox.

use crate::background::Background;
use crate::setup;
use crate::shell::{cmd, root, run};
use crate::stages::Stages;

/// Runs every stage, then prints how long each took, also when one failed (before its error).
pub fn all() -> Result<(), String> {
    let mut stages = Stages::new();
    let outcome = run_stages(&mut stages);
    eprintln!("\n{}", stages.table());
    outcome
}

/// The stages in order, stopping at the first failure. Native tests run in the release profile
/// and wasm tests in the site's `wasm-release` profile, so each target's dependencies (tract above
/// all) are compiled once and shared by the tests and the shipped builds. The training venv's
/// install (gigabytes to download, little to compute) starts right after setup, in the
/// background, and the training stage collects it.
fn run_stages(stages: &mut Stages) -> Result<(), String> {
    stages.run("setup", setup::all)?;
    let training_venv = Background::start(
        "training-venv",
        cmd("nice", &["-n", "10", "bash", "training/ci.sh", "venv"]),
    )?;
    stages.run("fmt", || run(&mut cmd("cargo", &["fmt", "--all", "--check"])))?;
    stages.run("clippy native", || {
        run(&mut cmd(
            "cargo",
            &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
        ))
    })?;
    stages.run("clippy wasm", || {
        run(&mut cmd(
            "cargo",
            &[
                "clippy",
                "--lib",
                "--tests",
                "--target",
                "wasm32-unknown-unknown",
                "--",
                "-D",
                "warnings",
            ],
        ))
    })?;
    // The binary first: the tests then reuse its compiled dependencies and only link test harnesses.
    stages.run("release build", || {
        run(&mut cmd("cargo", &["build", "--release"]))
    })?;
    stages.run("native tests", || {
        run(&mut cmd("cargo", &["test", "--workspace", "--release"]))
    })?;
    stages.run("wasm tests chromium", || wasm_in_browser(Browser::Chromium))?;
    stages.run("wasm tests firefox", || wasm_in_browser(Browser::Firefox))?;
    stages.run("accuracy gate", accuracy_gate)?;
    if root().join("package.json").exists() {
        stages.run("site build", crate::web::build)?;
        stages.run("page tests chromium", || page_tests(Browser::Chromium))?;
        stages.run("page tests firefox", || page_tests(Browser::Firefox))?;
    }
    stages.run("manifests", kubernetes_manifests)?;
    // The server image built from nothing pulled, run as the manifests run it, and load-tested.
    stages.run("container", crate::container::run_all)?;
    // The training pipeline's unit tests and its CPU --quick run (train, export, eval in tract).
    stages.run("training", || {
        training_venv.finish()?;
        run(&mut cmd("bash", &["training/ci.sh"]))
    })?;
    Ok(())
}

/// The Kubernetes manifests in `k8s/` against the schemas that PyPI's kubernetes-validate bundles
/// (offline, strict), including a check that a broken manifest is refused.
fn kubernetes_manifests() -> Result<(), String> {
    let bin = setup::python_venv("k8s", &["kubernetes-validate==1.37.0"])?;
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    run(cmd("sh", &["k8s/validate.sh"]).env("PATH", path))
}

/// The shipped model, measured by the engine on the shared test photos, must keep what its model
/// card reports (food test 0.922, raw produce 0.979, 0.2 % of food photos flagged not food), with
/// a margin for a retrained model. Skipped only when the data sets are not beside the checkout.
fn accuracy_gate() -> Result<(), String> {
    let gates = [
        // (test split, minimum accuracy, most photos flagged not food)
        ("../shared/data/food/test", 0.915, 0.03),
        ("../shared/data/food-extra/test", 0.95, 0.03),
    ];
    for (split, minimum, max_flagged) in gates {
        let test_set = root().join(split);
        if !test_set.is_dir() {
            eprintln!("accuracy gate skipped: {} not found", test_set.display());
            continue;
        }
        let binary = root().join("target/release/food-classifier");
        let mut eval = cmd(
            &binary.to_string_lossy(),
            &["eval", &test_set.to_string_lossy(), "--json"],
        );
        eprintln!("$ food-classifier eval {} --json", test_set.display());
        let out = eval.output().map_err(|e| format!("cannot run eval: {e}"))?;
        let report = String::from_utf8_lossy(&out.stdout);
        let accuracy = json_number(&report, "accuracy")?;
        let flagged = json_number(&report, "not_food")? / json_number(&report, "images")?.max(1.0);
        eprintln!(
            "eval on {split}: accuracy {accuracy:.4} (minimum {minimum}), flagged not food {:.1} % (at most {:.0} %)",
            flagged * 100.0,
            max_flagged * 100.0
        );
        if accuracy < minimum {
            return Err(format!("accuracy {accuracy:.4} on {split} is below {minimum}"));
        }
        if flagged > max_flagged {
            return Err(format!("{:.1} % of {split} flagged not food", flagged * 100.0));
        }
    }
    Ok(())
}

/// A top-level number in `eval --json`'s pretty-printed report (one key per line).
fn json_number(report: &str, key: &str) -> Result<f64, String> {
    let prefix = format!("\"{key}\": ");
    report
        .lines()
        .find_map(|l| l.strip_prefix("  ")?.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim_end_matches(',').parse::<f64>().ok())
        .ok_or_else(|| format!("eval printed no {key}: {report}"))
}

/// The two browser engines every browser test runs in.
#[derive(Clone, Copy)]
enum Browser {
    Chromium,
    Firefox,
}

impl Browser {
    fn name(self) -> &'static str {
        match self {
            Browser::Chromium => "chromium",
            Browser::Firefox => "firefox",
        }
    }
}

/// The page tests (`tests/page/`, Node's test runner) in one browser.
fn page_tests(browser: Browser) -> Result<(), String> {
    run(cmd("node", &["--test", "tests/page/"]).env("PAGE_BROWSER", browser.name()))
}

/// The wasm API tests in a headless browser, built with the site's `wasm-release` profile so the
/// test wasm and the site's wasm share one compiled tract: Debian's Chromium through
/// chromedriver, or Firefox ESR through geckodriver (`webdriver.json` names both binaries). Fails
/// if the runner ran no test at all (a test file without `run_in_browser` is silently skipped).
fn wasm_in_browser(browser: Browser) -> Result<(), String> {
    let args = [
        "test",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-release",
        "--test",
        "wasm",
    ];
    let mut test = cmd("cargo", &args);
    test.env("WASM_BINDGEN_TEST_TIMEOUT", "300");
    match browser {
        Browser::Chromium => test.env("CHROMEDRIVER", "/usr/bin/chromedriver"),
        Browser::Firefox => test.env("GECKODRIVER", setup::geckodriver_path()),
    };
    let name = browser.name();
    eprintln!("$ cargo {} (in {name})", args.join(" "));
    let out = test.output().map_err(|e| format!("cannot run cargo test: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    print!("{stdout}");
    let passed = stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u32>().ok())
        .sum::<u32>();
    if !out.status.success() {
        return Err(format!("wasm tests in {name} failed"));
    }
    if passed == 0 {
        return Err(format!(
            "wasm tests in {name} ran no test (is run_in_browser configured?)"
        ));
    }
    Ok(())
}
