//! The `food-classifier` binary as people run it: exit codes, output formats, bad files, and the
//! not-food answer of a model with a not-food head.

mod common;
#[path = "common/model_files.rs"]
mod model_files;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{flagging_metadata, metadata, two_output_onnx, SHIPPED_ONNX};
use model_files::write_model;

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

/// A fresh folder under the system temp dir for one test.
fn scratch(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("food-classifier-cli-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `--model` arguments for `onnx` with `metadata` beside it, in a folder of its own.
fn model_args(label: &str, onnx: &[u8], metadata: &str) -> (PathBuf, [String; 2]) {
    let dir = scratch(label);
    let path = write_model(&dir, onnx, metadata);
    (dir, ["--model".to_string(), path])
}

/// Golden photos in class folders; `(folder, photo)` pairs.
fn labelled_folders(label: &str, layout: &[(&str, &str)]) -> PathBuf {
    let dir = scratch(label);
    for (folder, photo) in layout {
        std::fs::create_dir_all(dir.join(folder)).unwrap();
        std::fs::copy(fixture("golden").join(photo), dir.join(folder).join(photo)).unwrap();
    }
    dir
}

#[test]
fn eval_matches_folders_to_labels_and_reports_json() {
    // Folder spellings differ from the labels on purpose; "Seafood" holds the photo the model
    // gets wrong (it says Soup); "notes" matches no class and is skipped.
    let dir = labelled_folders(
        "eval",
        &[
            ("rice", "rice.jpg"),
            ("Noodles-Pasta", "noodles-pasta.jpg"),
            ("dairy_product", "dairy-product.jpg"),
            ("SEAFOOD", "seafood.jpg"),
            ("notes", "bread.jpg"),
        ],
    );
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
    assert!(
        text(&out.stderr).contains("skipped 1 files"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("notes/bread.jpg"));
}

#[test]
fn eval_reads_food11_naming_and_names_unreadable_photos_by_relative_path() {
    // Food-11's own layout: `<class index>_<n>.jpg` in an `evaluation` folder (3 = Egg, 7 = Rice,
    // 8 = Seafood), plus a damaged photo and a file that is not a photo of a class.
    let dir = scratch("food11").join("evaluation");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, photo) in [
        ("3_0.jpg", "egg.jpg"),
        ("7_0.jpg", "rice.jpg"),
        ("8_0.jpg", "seafood.jpg"),
    ] {
        std::fs::copy(fixture("golden").join(photo), dir.join(name)).unwrap();
    }
    std::fs::copy(fixture("bad/corrupt.jpg"), dir.join("7_1.jpg")).unwrap();
    std::fs::write(dir.join("README.txt"), "not a photo").unwrap();
    let out = food_classifier(&["eval", dir.to_str().unwrap(), "--json"]);
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["images"], 3);
    assert_eq!(report["per_class"]["Egg"], 1.0);
    assert_eq!(report["per_class"]["Rice"], 1.0);
    assert_eq!(report["confusion"][8][9], 1, "Seafood row, Soup column");
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].as_str().unwrap().starts_with("evaluation/7_1.jpg: "),
        "{failed:?}"
    );
    assert!(text(&out.stderr).contains("evaluation/README.txt"));
}

#[test]
fn classify_says_when_a_photo_does_not_look_like_food() {
    let (model, args) = model_args("classify-two", &two_output_onnx(), &flagging_metadata());
    let soup = fixture("golden/soup.jpg");
    let rice = fixture("golden/rice.jpg");
    let photos = [soup.to_str().unwrap(), rice.to_str().unwrap()];
    let json = food_classifier(&[&args[0], &args[1], "classify", "--json", photos[0], photos[1]]);
    let human = food_classifier(&[&args[0], &args[1], "classify", "--top", "2", photos[0], photos[1]]);
    std::fs::remove_dir_all(&model).unwrap();

    assert!(json.status.success(), "{}", text(&json.stderr));
    let lines: Vec<serde_json::Value> = text(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["not_food"], true);
    let score = lines[0]["not_food_score"].as_f64().unwrap();
    assert!((0.5..=1.0).contains(&score), "{score}");
    assert_eq!(
        lines[0]["predictions"][0]["label"], "Soup",
        "the closest class is still given"
    );
    assert_eq!(lines[1]["not_food"], false);
    assert!(lines[1]["not_food_score"].as_f64().unwrap() < 0.5);

    assert!(human.status.success(), "{}", text(&human.stderr));
    let stdout = text(&human.stdout);
    let said = format!("  does not look like food (score {score:.2})");
    assert_eq!(stdout.lines().filter(|l| *l == said).count(), 1, "{stdout}");
    let (soup_part, rice_part) = stdout.split_at(stdout.find("rice.jpg").unwrap());
    assert!(
        soup_part.contains(&said) && soup_part.contains("Soup"),
        "{stdout}"
    );
    assert!(!rice_part.contains("does not look like food"), "{stdout}");
}

#[test]
fn a_model_without_a_not_food_head_never_flags() {
    // Today's shipped model has one output; its model.json's section (if any) is left out here.
    let (model, args) = model_args("classify-one", SHIPPED_ONNX, &metadata(None));
    let soup = fixture("golden/soup.jpg");
    let json = food_classifier(&[&args[0], &args[1], "classify", "--json", soup.to_str().unwrap()]);
    let folders = labelled_folders("eval-one", &[("Soup", "soup.jpg"), ("Rice", "rice.jpg")]);
    let eval = food_classifier(&[&args[0], &args[1], "eval", folders.to_str().unwrap(), "--json"]);
    let human = food_classifier(&[&args[0], &args[1], "eval", folders.to_str().unwrap()]);
    std::fs::remove_dir_all(&model).unwrap();
    std::fs::remove_dir_all(&folders).unwrap();

    assert!(json.status.success(), "{}", text(&json.stderr));
    let line: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(line["not_food"], false);
    assert!(line["not_food_score"].is_null(), "{line}");
    assert!(eval.status.success(), "{}", text(&eval.stderr));
    let report: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(report["not_food"], 0);
    assert!(report["not_food_threshold"].is_null());
    assert_eq!(report["not_food_by_class"].as_array().unwrap().len(), 11);
    assert_eq!(report["accuracy"], 1.0);
    assert!(
        !text(&human.stdout).contains("not food"),
        "{}",
        text(&human.stdout)
    );
}

#[test]
fn eval_counts_flagged_photos_as_wrong() {
    let (model, args) = model_args("eval-two-model", &two_output_onnx(), &flagging_metadata());
    // soup.jpg is flagged (its top class, Soup, would be right); seafood.jpg is called Soup.
    let folders = labelled_folders(
        "eval-two-photos",
        &[
            ("Soup", "soup.jpg"),
            ("Rice", "rice.jpg"),
            ("Noodles-Pasta", "noodles-pasta.jpg"),
            ("Seafood", "seafood.jpg"),
        ],
    );
    let json = food_classifier(&[&args[0], &args[1], "eval", folders.to_str().unwrap(), "--json"]);
    let human = food_classifier(&[&args[0], &args[1], "eval", folders.to_str().unwrap()]);
    std::fs::remove_dir_all(&model).unwrap();
    std::fs::remove_dir_all(&folders).unwrap();

    assert!(json.status.success(), "{}", text(&json.stderr));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["images"], 4);
    assert_eq!(report["not_food"], 1);
    assert_eq!(report["not_food_threshold"], 0.5);
    assert_eq!(
        report["accuracy"], 0.5,
        "rice and noodles right; soup flagged; seafood wrong"
    );
    assert_eq!(report["per_class"]["Soup"], 0.0);
    assert_eq!(report["per_class"]["Rice"], 1.0);
    // The matrix keeps every photo at its top class; the flag is the extra column.
    assert_eq!(report["confusion"][9][9], 1, "Soup row, Soup column");
    assert_eq!(report["confusion"][8][9], 1, "Seafood row, Soup column");
    assert_eq!(report["confusion"].as_array().unwrap().len(), 11);
    assert_eq!(report["confusion"][0].as_array().unwrap().len(), 11);
    let by_class: Vec<u64> = report["not_food_by_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(by_class, [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);

    assert!(human.status.success(), "{}", text(&human.stderr));
    let stdout = text(&human.stdout);
    assert!(
        stdout.contains("flagged as not food: 1 of 4 photos (score >= 0.50), counted as wrong"),
        "{stdout}"
    );
    assert!(stdout.contains("  Soup             0.0000  (0/1)"), "{stdout}");
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
