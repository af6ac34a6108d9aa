//! The core against its references: onnxruntime's logits, the golden photos, PIL's resampling,
//! every kind of bad input, and the not-food head of a two-output model.

mod common;
#[path = "common/reference.rs"]
mod reference;

use std::path::{Path, PathBuf};

use food_classifier::decode::{decode_image, DEFAULT_MAX_PIXELS};
use food_classifier::metadata::{Crop, InputContract, Layout};
use food_classifier::preprocess::{to_input_tensor, PixelView};
use food_classifier::{Classifier, ClassifyError};
use serde::Deserialize;

use common::{flagging_metadata, metadata, two_output_onnx, SHIPPED_ONNX, TEST_HEAD};
use reference::{assert_matches_reference, floats, reference_input};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo("tests/fixtures").join(name)).unwrap()
}

fn classifier() -> Classifier {
    let onnx = std::fs::read(repo("models/food11-mobilenetv2.onnx")).unwrap();
    let meta = std::fs::read_to_string(repo("models/model.json")).unwrap();
    Classifier::from_bytes(&onnx, &meta).unwrap()
}

#[derive(Deserialize)]
struct Golden {
    file: String,
    label: String,
    top5: Vec<(String, f32)>,
    logits: Vec<f32>,
}

#[test]
fn tract_logits_match_onnxruntime_on_the_same_tensor() {
    let logits = classifier().logits(reference_input()).unwrap();
    assert_matches_reference(&logits, "tract");
}

#[test]
fn golden_photos_get_the_golden_top1_end_to_end() {
    let golden: Vec<Golden> = serde_json::from_slice(&fixture("golden.json")).unwrap();
    assert_eq!(golden.len(), 11);
    let classifier = classifier();
    for g in &golden {
        let result = classifier.classify_image(&fixture(&g.file), 5).unwrap();
        // `label` is the photo's true class; the golden top-1 is what the reference pipeline
        // predicted (for seafood.jpg that is Soup, a known mistake of this model).
        assert_eq!(
            result.top().label,
            g.top5[0].0,
            "{} (true class {})",
            g.file,
            g.label
        );
        // Same preprocessing as the reference pipeline, so probabilities agree closely too.
        assert!(
            (result.top().probability - g.top5[0].1).abs() < 0.02,
            "{}: {:?} vs {:?}",
            g.file,
            result.top(),
            g.top5[0]
        );
        assert_eq!(result.predictions.len(), 5);
        assert_eq!(g.logits.len(), 11);
    }
}

#[test]
fn preprocessing_matches_pil_resampling() {
    let image = decode_image(&fixture("resample-source.png"), DEFAULT_MAX_PIXELS).unwrap();
    let view = PixelView::new(image.as_raw(), image.width(), image.height(), 3).unwrap();
    let contract = InputContract {
        shape: [1, 3, 128, 128],
        layout: Layout::Nchw,
        crop: Crop::Center,
        resize_shorter_side: 160,
        scale: 1.0 / 255.0,
        mean: [0.0; 3],
        std: [1.0; 3],
    };
    let ours = to_input_tensor(&view, &contract);
    let pil = floats(&fixture("preprocess_160_128.bin"));
    assert_eq!(ours.len(), pil.len());
    let diffs: Vec<f32> = ours.iter().zip(&pil).map(|(a, b)| (a - b).abs()).collect();
    let max = diffs.iter().copied().fold(0.0, f32::max);
    let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
    // PIL rounds to 8 bits between its two passes; we keep floats. One 8-bit step at most.
    assert!(max <= 1.01 / 255.0, "max difference {max}");
    assert!(mean < 0.35 / 255.0, "mean difference {mean}");
}

#[test]
fn browser_rgba_pixels_classify_like_the_encoded_photo() {
    let classifier = classifier();
    let bytes = fixture("golden/noodles-pasta.jpg");
    let image = decode_image(&bytes, DEFAULT_MAX_PIXELS).unwrap();
    let rgba: Vec<u8> = image.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    let from_bytes = classifier.classify_image(&bytes, 3).unwrap();
    let from_rgba = classifier
        .classify_rgba(&rgba, image.width(), image.height(), 3)
        .unwrap();
    assert_eq!(from_bytes.predictions, from_rgba.predictions);
    assert_eq!(from_rgba.timings.decode_ms, 0.0);
}

#[test]
fn exif_orientation_is_applied() {
    let classifier = classifier();
    let rotated = classifier
        .classify_image(&fixture("exif-rotated-bread.jpg"), 1)
        .unwrap();
    let upright = classifier
        .classify_image(&fixture("golden/bread.jpg"), 1)
        .unwrap();
    assert_eq!((rotated.width, rotated.height), (upright.width, upright.height));
    assert_eq!(rotated.top().label, "Bread");
    assert!((rotated.top().probability - upright.top().probability).abs() < 0.05);
}

#[test]
fn bad_inputs_get_clear_errors() {
    let classifier = classifier();
    type Expectation = fn(&ClassifyError) -> bool;
    let cases: [(&str, Expectation); 6] = [
        ("bad/empty.jpg", |e| *e == ClassifyError::EmptyInput),
        ("bad/not-an-image.txt", |e| *e == ClassifyError::NotAnImage),
        ("bad/truncated.jpg", |e| {
            matches!(e, ClassifyError::CorruptImage(_))
        }),
        ("bad/corrupt.jpg", |e| matches!(e, ClassifyError::CorruptImage(_))),
        ("bad/photo.heic", |e| {
            *e == ClassifyError::UnsupportedFormat("HEIC".into())
        }),
        ("bad/bomb-30000x30000.png", |e| {
            matches!(
                e,
                ClassifyError::TooManyPixels {
                    width: 30_000,
                    height: 30_000,
                    ..
                }
            )
        }),
    ];
    for (file, expected) in cases {
        let error = classifier.classify_image(&fixture(file), 3).unwrap_err();
        assert!(expected(&error), "{file}: unexpected error {error:?}");
        assert!(!error.to_string().is_empty());
    }
}

#[test]
fn every_prefix_of_a_photo_is_refused_or_classified_without_panicking() {
    let classifier = classifier();
    let photo = fixture("golden/egg.jpg");
    for len in (0..photo.len()).step_by(97) {
        let outcome = classifier.classify_image(&photo[..len], 1);
        assert!(
            outcome.is_err(),
            "a {len}-byte prefix of a {}-byte JPEG was accepted",
            photo.len()
        );
    }
}

#[test]
fn bad_rgba_buffers_are_refused() {
    let classifier = classifier();
    assert!(matches!(
        classifier.classify_rgba(&[0; 15], 2, 2, 1),
        Err(ClassifyError::PixelBufferSize { .. })
    ));
    assert_eq!(
        classifier.classify_rgba(&[], 0, 0, 1).unwrap_err(),
        ClassifyError::EmptyInput
    );
    assert!(matches!(
        classifier.classify_rgba(&[0; 16], 30_000, 30_000, 1),
        Err(ClassifyError::TooManyPixels { .. })
    ));
}

#[test]
fn bad_models_are_refused() {
    let meta = std::fs::read_to_string(repo("models/model.json")).unwrap();
    assert!(matches!(
        Classifier::from_bytes(b"", &meta),
        Err(ClassifyError::BadModel(_))
    ));
    assert!(matches!(
        Classifier::from_bytes(b"not an onnx file", &meta),
        Err(ClassifyError::BadModel(_))
    ));
    let onnx = std::fs::read(repo("models/food11-mobilenetv2.onnx")).unwrap();
    let ten_labels = meta.replacen("\"Bread\",", "", 1);
    let error = Classifier::from_bytes(&onnx, &ten_labels).unwrap_err();
    assert!(
        matches!(&error, ClassifyError::BadModel(m) if m.contains("10 labels")),
        "{error}"
    );
    assert!(matches!(
        Classifier::from_bytes(&onnx, "{}"),
        Err(ClassifyError::BadMetadata(_))
    ));
}

fn golden_photos() -> Vec<(String, Vec<u8>)> {
    let mut photos: Vec<(String, Vec<u8>)> = std::fs::read_dir(repo("tests/fixtures/golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    photos.sort();
    photos
}

/// The shipped model plus the test head, flagging at `threshold`.
fn flagging_classifier(threshold: f32) -> Classifier {
    Classifier::from_bytes(&two_output_onnx(), &metadata(Some((TEST_HEAD, threshold)))).unwrap()
}

#[test]
fn a_two_output_model_loads_and_its_head_decides_not_food() {
    // No `not_food` section: the engine behaves as before the head existed.
    let plain = Classifier::from_bytes(SHIPPED_ONNX, &metadata(None)).unwrap();
    let flagging = flagging_classifier(0.5);
    let mut flagged = Vec::new();
    let mut scores = Vec::new();
    for (name, photo) in golden_photos() {
        let before = plain.classify_image(&photo, 3).unwrap();
        assert!(!before.not_food, "{name}");
        assert_eq!(before.not_food_score, None, "{name}");
        let after = flagging.classify_image(&photo, 3).unwrap();
        // The head is an extra output: the food answer is the one-output model's.
        for (a, b) in before.predictions.iter().zip(&after.predictions) {
            assert_eq!(a.label, b.label, "{name}");
            assert!(
                (a.probability - b.probability).abs() < 1e-5,
                "{name}: {a:?} vs {b:?}"
            );
        }
        assert_eq!(after.predictions.len(), 3);
        let score = after.not_food_score.unwrap_or_else(|| panic!("{name}: no score"));
        assert!((0.0..=1.0).contains(&score), "{name}: {score}");
        assert_eq!(after.not_food, score >= 0.5, "{name}: {score}");
        if after.not_food {
            flagged.push(name.clone());
        }
        scores.push(score);
    }
    assert_eq!(flagged, ["soup.jpg"], "scores {scores:?}");
    let spread = scores.iter().copied().fold(0.0, f32::max) - scores.iter().copied().fold(1.0, f32::min);
    assert!(spread > 0.5, "the head's scores barely differ: {scores:?}");

    // The extra output is ignored when model.json does not describe it.
    let ignored = Classifier::from_bytes(&two_output_onnx(), &metadata(None)).unwrap();
    let soup = ignored.classify_image(&fixture("golden/soup.jpg"), 1).unwrap();
    assert_eq!((soup.not_food, soup.not_food_score), (false, None));
}

#[test]
fn not_food_means_a_score_at_or_above_the_threshold() {
    let soup = fixture("golden/soup.jpg");
    let score = flagging_classifier(0.5)
        .classify_image(&soup, 1)
        .unwrap()
        .not_food_score
        .unwrap();
    let at = flagging_classifier(score).classify_image(&soup, 1).unwrap();
    assert_eq!((at.not_food, at.not_food_score), (true, Some(score)));
    let just_above = f32::from_bits(score.to_bits() + 1);
    assert!(
        !flagging_classifier(just_above)
            .classify_image(&soup, 1)
            .unwrap()
            .not_food
    );
    // Threshold 0 flags everything, threshold 1 nothing short of certainty.
    let rice = fixture("golden/rice.jpg");
    assert!(
        flagging_classifier(0.0)
            .classify_image(&rice, 1)
            .unwrap()
            .not_food
    );
    assert!(
        !flagging_classifier(1.0)
            .classify_image(&soup, 1)
            .unwrap()
            .not_food
    );

    // Browser-decoded pixels get the same verdict as the encoded photo.
    let image = decode_image(&soup, DEFAULT_MAX_PIXELS).unwrap();
    let rgba: Vec<u8> = image.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    let from_rgba = flagging_classifier(0.5)
        .classify_rgba(&rgba, image.width(), image.height(), 1)
        .unwrap();
    assert!(from_rgba.not_food);
    assert!((from_rgba.not_food_score.unwrap() - score).abs() < 1e-6);
}

#[test]
fn outputs_named_in_model_json_must_exist_in_the_model() {
    let missing = |onnx: &[u8], meta: &str, words: &[&str]| {
        let error = Classifier::from_bytes(onnx, meta).unwrap_err();
        assert!(
            matches!(&error, ClassifyError::BadModel(m) if words.iter().all(|w| m.contains(w))),
            "{error}"
        );
    };
    let no_such = metadata(Some(("no_such_output", 0.5)));
    missing(
        SHIPPED_ONNX,
        &no_such,
        &["\"no_such_output\"", "not_food.output", "\"logits\""],
    );
    missing(&two_output_onnx(), &no_such, &["\"no_such_output\"", TEST_HEAD]);
    missing(
        &two_output_onnx(),
        &flagging_metadata().replacen("\"logits\"", "\"scores\"", 1),
        &["\"scores\"", "output.name"],
    );
    missing(
        &two_output_onnx(),
        &metadata(Some(("logits", 0.5))),
        &["both the class output and not_food.output"],
    );
}

#[test]
fn a_model_with_an_operator_the_engine_lacks_is_refused_by_its_name() {
    let error = Classifier::from_bytes(&fixture("unsupported-op.onnx"), &metadata(None)).unwrap_err();
    assert!(
        matches!(&error, ClassifyError::UnsupportedOperator { op, .. } if op == "Det"),
        "{error}"
    );
    assert!(error.to_string().contains("ONNX operator Det"), "{error}");
}

#[test]
fn model_setup_reports_each_step_within_the_time_it_took() {
    let (onnx, meta) = (
        std::fs::read(repo("models/food11-mobilenetv2.onnx")).unwrap(),
        std::fs::read_to_string(repo("models/model.json")).unwrap(),
    );
    let start = std::time::Instant::now();
    let classifier = Classifier::from_bytes(&onnx, &meta).unwrap();
    let wall_ms = start.elapsed().as_secs_f64() * 1000.0;
    let steps = classifier.setup_timings();
    for (name, ms) in [
        ("read", steps.read_ms),
        ("analyse", steps.analyse_ms),
        ("declutter", steps.declutter_ms),
        ("codegen", steps.codegen_ms),
        ("plan", steps.plan_ms),
    ] {
        assert!(ms > 0.0, "{name} took {ms} ms");
    }
    assert!(
        steps.total_ms() <= wall_ms,
        "{steps:?} add up to more than {wall_ms} ms"
    );
}
