//! The `food-classifier` binary as people run it: exit codes, output formats, bad files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn food_classifier(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_food-classifier"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn classify_reports_each_file_and_fails_if_any_failed() {
    let good = fixture("golden/rice.jpg");
    let bad = fixture("bad/truncated.jpg");
    let out = food_classifier(&[
        "classify",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
        "--top",
        "2",
    ]);
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("rice.jpg") && stdout.contains("Rice"), "{stdout}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("truncated.jpg: error: the image is truncated or corrupt"),
        "{stderr}"
    );
}

#[test]
fn classify_json_prints_one_object_per_photo() {
    let out = food_classifier(&[
        "classify",
        "--json",
        "--top",
        "4",
        fixture("golden/egg.jpg").to_str().unwrap(),
        fixture("golden/soup.jpg").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["predictions"][0]["label"], "Egg");
    assert_eq!(lines[1]["predictions"][0]["label"], "Soup");
    assert_eq!(lines[0]["predictions"].as_array().unwrap().len(), 4);
    assert!(lines[0]["timings"]["inference_ms"].as_f64().unwrap() > 0.0);
    assert!(lines[0]["file"].as_str().unwrap().ends_with("egg.jpg"));
}

#[test]
fn every_bad_input_exits_non_zero_with_a_message() {
    for (file, message) in [
        ("bad/empty.jpg", "the file is empty"),
        ("bad/not-an-image.txt", "this is not an image"),
        ("bad/corrupt.jpg", "corrupt"),
        ("bad/truncated.jpg", "truncated"),
        ("bad/photo.heic", "HEIC images are not supported"),
        (
            "bad/bomb-30000x30000.png",
            "30000x30000 pixels is more than the limit",
        ),
        ("does-not-exist.jpg", "No such file"),
    ] {
        let out = food_classifier(&["classify", fixture(file).to_str().unwrap()]);
        assert!(!out.status.success(), "{file} succeeded");
        assert!(
            text(&out.stderr).contains(message),
            "{file}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn eval_matches_folders_to_labels_and_reports_json() {
    let dir = std::env::temp_dir().join(format!("food-classifier-eval-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Folder spellings differ from the labels on purpose; "Seafood" holds the photo the model
    // gets wrong (it says Soup); "notes" matches no class and is skipped.
    for (folder, photo) in [
        ("rice", "rice.jpg"),
        ("Noodles-Pasta", "noodles-pasta.jpg"),
        ("dairy_product", "dairy-product.jpg"),
        ("SEAFOOD", "seafood.jpg"),
        ("notes", "bread.jpg"),
    ] {
        std::fs::create_dir_all(dir.join(folder)).unwrap();
        std::fs::copy(fixture("golden").join(photo), dir.join(folder).join(photo)).unwrap();
    }
    let out = food_classifier(&["eval", dir.to_str().unwrap(), "--json"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["images"], 4);
    assert_eq!(report["accuracy"], 0.75);
    assert_eq!(report["per_class"]["Noodles/Pasta"], 1.0);
    assert_eq!(report["per_class"]["Seafood"], 0.0);
    assert!(report["per_class"].get("Bread").is_none());
    assert_eq!(report["confusion"][8][9], 1, "Seafood row, Soup column");
    assert!(text(&out.stderr).contains("\"notes\""));
}

#[test]
fn bench_json_reports_warm_timings() {
    let out = food_classifier(&["bench", "--runs", "3", "--warmup", "1", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["runs"], 3);
    let inference = &report["inference"];
    assert!(inference["median_ms"].as_f64().unwrap() > 0.0);
    assert!(inference["p90_ms"].as_f64().unwrap() >= inference["median_ms"].as_f64().unwrap());
}

#[test]
fn a_missing_model_is_a_clear_error() {
    let out = food_classifier(&["--model", "/nonexistent/model.onnx", "classify", "x.jpg"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("cannot read /nonexistent/model.onnx"));
}
