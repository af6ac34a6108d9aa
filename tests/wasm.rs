//! The wasm API in real browsers (headless Chromium and Firefox): the real model on real photos, the
//! not-food fields of the result object, and errors that arrive as JS `Error`s with the core's
//! message.
#![cfg(target_arch = "wasm32")]

mod common;
#[path = "common/reference.rs"]
mod reference;

use common::{flagging_metadata, metadata, two_output_onnx, SHIPPED_ONNX as MODEL};
use food_classifier::wasm::FoodClassifier;
use js_sys::{Array, Reflect};
use reference::{assert_matches_reference, reference_input};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const METADATA: &str = include_str!("../models/model.json");
const GOLDEN: &str = include_str!("fixtures/golden.json");

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).unwrap()
}

fn top_label(result: &JsValue) -> String {
    let predictions: Array = get(result, "predictions").dyn_into().unwrap();
    get(&predictions.get(0), "label").as_string().unwrap()
}

fn golden_photo(label: &str) -> &'static [u8] {
    match label {
        "Bread" => include_bytes!("fixtures/golden/bread.jpg"),
        "Dairy product" => include_bytes!("fixtures/golden/dairy-product.jpg"),
        "Dessert" => include_bytes!("fixtures/golden/dessert.jpg"),
        "Egg" => include_bytes!("fixtures/golden/egg.jpg"),
        "Fried food" => include_bytes!("fixtures/golden/fried-food.jpg"),
        "Meat" => include_bytes!("fixtures/golden/meat.jpg"),
        "Noodles/Pasta" => include_bytes!("fixtures/golden/noodles-pasta.jpg"),
        "Rice" => include_bytes!("fixtures/golden/rice.jpg"),
        "Seafood" => include_bytes!("fixtures/golden/seafood.jpg"),
        "Soup" => include_bytes!("fixtures/golden/soup.jpg"),
        "Vegetable/Fruit" => include_bytes!("fixtures/golden/vegetable-fruit.jpg"),
        other => panic!("no golden photo for {other}"),
    }
}

#[wasm_bindgen_test]
fn golden_photos_get_the_golden_top1_in_the_browser() {
    let classifier = FoodClassifier::new(MODEL, METADATA).unwrap();
    let golden: serde_json::Value = serde_json::from_str(GOLDEN).unwrap();
    let entries = golden.as_array().unwrap();
    assert_eq!(entries.len(), 11);
    for entry in entries {
        let label = entry["label"].as_str().unwrap();
        let expected_top1 = entry["top5"][0][0].as_str().unwrap();
        let result = classifier.classify_image(golden_photo(label), 5).unwrap();
        assert_eq!(top_label(&result), expected_top1, "photo of {label}");
        let timings = get(&result, "timings");
        assert!(get(&timings, "inference_ms").as_f64().unwrap() > 0.0);
        let shown: Array = get(&result, "predictions").dyn_into().unwrap();
        assert_eq!(shown.length(), 5);
    }
}

#[wasm_bindgen_test]
fn rgba_pixels_from_the_browser_are_classified() {
    let classifier = FoodClassifier::new(MODEL, METADATA).unwrap();
    let image = image::load_from_memory(golden_photo("Rice")).unwrap().to_rgba8();
    let result = classifier
        .classify_rgba(image.as_raw(), image.width(), image.height(), 3)
        .unwrap();
    assert_eq!(top_label(&result), "Rice");
    assert_eq!(get(&result, "width").as_f64(), Some(f64::from(image.width())));
    assert_eq!(classifier.labels().len(), 11);
    let contract: serde_json::Value = serde_json::from_str(METADATA).unwrap();
    assert_eq!(
        u64::from(classifier.resize_shorter_side()),
        contract["input"]["resize_shorter_side"].as_u64().unwrap()
    );
}

#[wasm_bindgen_test]
fn results_carry_the_not_food_verdict() {
    let soup = include_bytes!("fixtures/golden/soup.jpg");
    let plain = FoodClassifier::new(MODEL, &metadata(None)).unwrap();
    let result = plain.classify_image(soup, 3).unwrap();
    assert_eq!(get(&result, "not_food").as_bool(), Some(false));
    assert!(
        get(&result, "not_food_score").is_null(),
        "null, not undefined, without a head"
    );

    let flagging = FoodClassifier::new(&two_output_onnx(), &flagging_metadata()).unwrap();
    let result = flagging.classify_image(soup, 3).unwrap();
    assert_eq!(get(&result, "not_food").as_bool(), Some(true));
    assert!(get(&result, "not_food_score").as_f64().unwrap() >= 0.5);
    assert_eq!(top_label(&result), "Soup", "the closest class is still given");
    let image = image::load_from_memory(golden_photo("Rice")).unwrap().to_rgba8();
    let rice = flagging
        .classify_rgba(image.as_raw(), image.width(), image.height(), 1)
        .unwrap();
    assert_eq!(get(&rice, "not_food").as_bool(), Some(false));
    assert!(get(&rice, "not_food_score").as_f64().unwrap() < 0.5);
}

fn error_message(error: wasm_bindgen::JsError) -> String {
    let value: JsValue = error.into();
    let error: js_sys::Error = value.dyn_into().expect("failures are JS Error objects");
    error.message().into()
}

#[wasm_bindgen_test]
fn corrupt_and_unsupported_files_yield_js_errors() {
    let classifier = FoodClassifier::new(MODEL, METADATA).unwrap();
    let corrupt = classifier
        .classify_image(include_bytes!("fixtures/bad/corrupt.jpg"), 3)
        .unwrap_err();
    assert!(error_message(corrupt).contains("corrupt"));
    let heic = classifier
        .classify_image(include_bytes!("fixtures/bad/photo.heic"), 3)
        .unwrap_err();
    assert!(error_message(heic).starts_with("HEIC images are not supported"));
    let bomb = classifier
        .classify_image(include_bytes!("fixtures/bad/bomb-30000x30000.png"), 3)
        .unwrap_err();
    assert!(error_message(bomb).contains("30000x30000"));
    let short = classifier.classify_rgba(&[0; 7], 2, 2, 1).unwrap_err();
    assert!(error_message(short).contains("pixel buffer"));
    // The classifier still works after the failures.
    let ok = classifier.classify_image(golden_photo("Egg"), 1).unwrap();
    assert_eq!(top_label(&ok), "Egg");
}

#[wasm_bindgen_test]
fn a_bad_model_yields_a_js_error() {
    let error = FoodClassifier::new(b"definitely not onnx", METADATA)
        .err()
        .unwrap();
    assert!(error_message(error).starts_with("the model could not be loaded"));
}

#[wasm_bindgen_test]
fn photos_cut_short_are_named_for_the_engine_to_decode() {
    use food_classifier::wasm::is_cut_short;
    assert!(is_cut_short(include_bytes!("fixtures/bad/truncated.jpg")));
    assert!(!is_cut_short(golden_photo("Rice")));
    let classifier = FoodClassifier::new(MODEL, METADATA).unwrap();
    let truncated = classifier
        .classify_image(include_bytes!("fixtures/bad/truncated.jpg"), 3)
        .unwrap_err();
    assert!(error_message(truncated).contains("ends before the image does"));
}

#[wasm_bindgen_test]
fn a_folder_evaluation_in_the_browser_reports_what_eval_reports() {
    let classifier = FoodClassifier::new(MODEL, METADATA).unwrap();
    assert_eq!(classifier.class_of_path("test/Noodles-Pasta/1.jpg"), Some(6));
    assert_eq!(classifier.class_of_path("evaluation/8_3.jpg"), Some(8));
    assert_eq!(classifier.class_of_path("holiday/notes.txt"), None);
    let mut evaluation = classifier.start_evaluation();
    for (path, photo) in [("test/Rice/1.jpg", "Rice"), ("test/Seafood/1.jpg", "Seafood")] {
        let truth = classifier.class_of_path(path).unwrap();
        let result = classifier.classify_image(golden_photo(photo), 1).unwrap();
        let predictions: Array = get(&result, "predictions").dyn_into().unwrap();
        let predicted = get(&predictions.get(0), "index").as_f64().unwrap() as usize;
        let not_food = get(&result, "not_food").as_bool().unwrap();
        evaluation.add(truth, predicted, not_food).unwrap();
    }
    evaluation.add_failure("test/Rice/2.jpg", "the image is truncated or corrupt");
    assert!(
        evaluation.add(11, 0, false).is_err(),
        "a class index past the labels"
    );
    let report = evaluation.report().unwrap();
    assert_eq!(get(&report, "images").as_f64(), Some(2.0));
    assert_eq!(
        get(&report, "accuracy").as_f64(),
        Some(0.5),
        "seafood.jpg is called Soup"
    );
    let confusion: Array = get(&report, "confusion").dyn_into().unwrap();
    let seafood_row: Array = confusion.get(8).dyn_into().unwrap();
    assert_eq!(seafood_row.get(9).as_f64(), Some(1.0));
    let failed: Array = get(&report, "failed").dyn_into().unwrap();
    assert_eq!(
        failed.get(0).as_string().unwrap(),
        "test/Rice/2.jpg: the image is truncated or corrupt"
    );
}

#[wasm_bindgen_test]
fn model_setup_reports_each_step_in_the_browser() {
    let classifier = FoodClassifier::new(MODEL, METADATA).unwrap();
    let steps = classifier.setup_timings().unwrap();
    for step in ["read_ms", "analyse_ms", "declutter_ms", "codegen_ms", "plan_ms"] {
        let ms = get(&steps, step).as_f64().unwrap_or(f64::NAN);
        assert!(ms >= 0.0, "{step} is {ms}");
    }
    let declutter = get(&steps, "declutter_ms").as_f64().unwrap();
    assert!(declutter > 0.0, "declutter took {declutter} ms");
}

#[wasm_bindgen_test]
fn browser_logits_match_onnxruntime_on_the_same_tensor() {
    let classifier = food_classifier::Classifier::from_bytes(MODEL, METADATA).unwrap();
    let logits = classifier.logits(reference_input()).unwrap();
    assert_matches_reference(&logits, "wasm");
}

/// The engine's own wasm matrix-product kernels (4×8, and 4×16, 4×32, 4×28 and 4×52 as 4×8
/// tiles side by side, the last two ending with a 4×4 one), run by tract-linalg on products whose
/// sizes are not multiples of their tiles, with a bias per row and per column, a rank-one term,
/// ReLU6, a residual added and the result stored three ways (rows contiguous, columns contiguous,
/// neither), against a plain product.
#[wasm_bindgen_test]
fn the_wasm_product_kernels_match_a_plain_product() {
    use food_classifier::wasm_matmul::KERNEL_NAMES;
    use tract_onnx::prelude::*;

    let tier = tract_linalg::MmmDispatch::native().tiers()[0];
    assert_eq!(
        tier.name, "food-classifier wasm",
        "the kernels' tier is asked first"
    );
    let choice = |k: usize, n: Option<usize>| {
        let query = tract_linalg::mmm::Query {
            weight: tract_linalg::WeightType::Plain(f32::datum_type()),
            activation: f32::datum_type(),
            accumulators: tvec![f32::datum_type()],
            store: None,
            allow_extractor: false,
            m: Some(3136),
            k: Some(k),
            n,
        };
        (tier.preferred)(&tract_linalg::isa::native(), f32::datum_type(), &query, &[])
    };
    let [w8, w16, w32, w28, w52] = KERNEL_NAMES.map(Some);
    assert_eq!(choice(16, Some(96)), w32, "32 divides n");
    assert_eq!(choice(576, Some(3136)), w32, "32 divides n, long k");
    assert_eq!(choice(24, Some(144)), w16, "16 divides n");
    assert_eq!(
        choice(384, Some(784)),
        w16,
        "16 divides n: before 28, which ends with a 4×4 tile"
    );
    assert_eq!(choice(64, Some(196)), w28, "28 divides n, 8 and 16 do not");
    assert_eq!(
        choice(960, Some(49)),
        w52,
        "52 wastes 3 columns where 8 and 28 waste 7"
    );
    assert_eq!(
        choice(64, Some(100)),
        w8,
        "as little waste as 52, and no 4×4 tile"
    );
    assert_eq!(choice(64, None), w8, "n not known");
    assert_eq!(
        choice(1280, Some(1)),
        None,
        "matrix-vector products keep tract's kernels"
    );
    for name in KERNEL_NAMES {
        let kernel = tract_linalg::mmm_routines::declared()
            .map(|routine| (routine.make)())
            .find(|kernel| kernel.name() == name)
            .unwrap_or_else(|| panic!("{name} is registered"));
        products_match(&*kernel);
        clamps_match_tracts_generic_kernel(&*kernel);
    }
}

/// The engine's depthwise kernel is the one tract picks in the browser, and matches a plain loop:
/// a 3×3 filter and an edge zone's four taps, over rows of 2 to 4 positions (threes, then one at
/// a time) and channel counts that are and are not multiples of 12 and 4, with strided inputs,
/// filters and outputs.
#[wasm_bindgen_test]
fn the_wasm_depthwise_kernel_matches_a_plain_loop() {
    use food_classifier::wasm_depthwise::{depthwise_c, KERNEL_NAME};
    use tract_linalg::routines::{best_for, Func};
    use tract_onnx::prelude::*;

    let picked = best_for(Func::DepthwiseC, DatumType::F32, &tract_linalg::isa::native());
    assert_eq!(picked.map(|routine| routine.name()), Some(KERNEL_NAME));
    let value = |i: usize| (i * 7919 % 1013) as f32 / 1013.0 - 0.5;
    for channels in [4, 16, 37] {
        // Four input rows of nine positions; the filter's taps `channels + 3` apart.
        let row = 9 * channels;
        let input: Vec<f32> = (0..4 * row).map(value).collect();
        let k_stride = channels + 3;
        let filter: Vec<f32> = (0..9 * k_stride).map(|i| value(i + 17)).collect();
        let bias: Vec<f32> = (0..channels).map(|i| value(i + 99)).collect();
        let full: Vec<(usize, usize)> = (0..9).map(|t| (t, t / 3 * row + t % 3 * channels)).collect();
        let edge = vec![(4, 0), (5, channels), (7, row), (8, row + channels)];
        // The full filter at strides 2 and 1, the edge zone at stride 1.
        for (zone, len, in_stride) in [
            (&full, 3, 2 * channels),
            (&edge, 4, channels),
            (&full, 2, channels),
        ] {
            let (taps, offsets): (Vec<usize>, Vec<isize>) =
                zone.iter().map(|&(t, o)| (t, o as isize)).unzip();
            let out_stride = channels + 2;
            let mut output = vec![f32::NAN; len * out_stride];
            unsafe {
                depthwise_c(
                    input.as_ptr(),
                    output.as_mut_ptr(),
                    filter.as_ptr(),
                    &taps,
                    &offsets,
                    bias.as_ptr(),
                    channels,
                    k_stride,
                    len,
                    in_stride as isize,
                    out_stride as isize,
                );
            }
            for i in 0..len {
                for c in 0..channels {
                    let want = bias[c]
                        + zone
                            .iter()
                            .map(|&(t, o)| filter[t * k_stride + c] * input[i * in_stride + o + c])
                            .sum::<f32>();
                    let got = output[i * out_stride + c];
                    assert!(
                        (got - want).abs() < 1e-5,
                        "{channels} channels, {} taps, position {i}, channel {c}: {got} vs {want}",
                        zone.len()
                    );
                }
                let gap = &output[i * out_stride + channels..(i + 1) * out_stride];
                assert!(gap.iter().all(|v| v.is_nan()), "written between positions");
            }
        }
    }
}

/// Runs a product of one step of k with lower and upper bounds (by scalar, per row and per
/// column) on `kernel`, and returns the stored result's bits: the values include a NaN, both
/// zeros and both infinities, where minimum and maximum rules differ.
fn clamped_bits(kernel: &dyn tract_linalg::mmm::MatMatMul) -> Vec<u32> {
    use tract_linalg::mmm::{AsInputValue, FusedSpec};
    use tract_linalg::BinOp;
    use tract_onnx::prelude::*;

    let (m, n) = (4, 8);
    let a = Tensor::from_shape(&[m, 1], &[1f32, -1.0, 0.5, 2.0]).unwrap();
    let columns = [
        f32::NAN,
        -0.0,
        0.0,
        7.0,
        -3.0,
        2.5,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let b = Tensor::from_shape(&[1, n], &columns).unwrap();
    let (pack_a, pack_b) = &kernel.packings()[0];
    let (pa, pb) = (
        pack_a.prepare_one(&a, 1, 0).unwrap(),
        pack_b.prepare_one(&b, 0, 1).unwrap(),
    );
    let (zero, six) = (tensor0(0f32), tensor0(6f32));
    let row_floors = tensor1(&[-0.0f32, 1.0, -1.0, 0.0]);
    let column_ceilings = tensor1(&[5f32, -0.0, 0.0, 4.0, 3.0, 2.0, 1.0, 0.5]);
    let mut out = Tensor::zero::<f32>(&[m * n]).unwrap();
    unsafe {
        let store = kernel
            .c_from_data_and_strides(4, n as isize, 1)
            .wrap(&out.view_mut());
        let specs = [
            FusedSpec::AddMatMul {
                a: AsInputValue::Borrowed(&*pa),
                b: AsInputValue::Borrowed(&*pb),
                packing: 0,
            },
            FusedSpec::BinScalar(&zero, BinOp::Max),
            FusedSpec::BinScalar(&six, BinOp::Min),
            FusedSpec::BinPerRow(row_floors.view(), BinOp::Max),
            FusedSpec::BinPerCol(column_ceilings.view(), BinOp::Min),
            FusedSpec::BinPerRow(row_floors.view(), BinOp::Min),
            FusedSpec::BinPerCol(column_ceilings.view(), BinOp::Max),
            FusedSpec::Store(store),
        ];
        kernel.run(m, n, &specs).unwrap();
    }
    let found = out.to_plain_array_view::<f32>().unwrap();
    found.iter().map(|x| x.to_bits()).collect()
}

/// Our kernels' minimum and maximum give the bits tract's generic kernel gives, NaN and signed
/// zeros included (a NaN goes through, as there): one `minps`/`maxps` each on x86, where wasm's
/// own `f32x4.min`/`max` take V8 about seven instructions.
fn clamps_match_tracts_generic_kernel(kernel: &dyn tract_linalg::mmm::MatMatMul) {
    let reference = tract_linalg::mmm_routines::declared()
        .map(|routine| (routine.make)())
        .find(|kernel| kernel.name() == "generic_f32_4x4")
        .expect("tract's generic kernel is registered");
    assert_eq!(
        clamped_bits(kernel),
        clamped_bits(&*reference),
        "{}: bounds applied as tract's generic kernel applies them",
        kernel.name()
    );
}

fn products_match(kernel: &dyn tract_linalg::mmm::MatMatMul) {
    use tract_linalg::mmm::{AsInputValue, FusedSpec};
    use tract_linalg::BinOp;
    use tract_onnx::prelude::*;

    let name = kernel.name().to_string();
    let value = |i: usize, scale: usize| ((i * 37 + scale) % 23) as f32 / 7.0 - 1.5;
    for (m, k, n) in [
        (4, 1, 8),
        (13, 7, 19),
        (96, 16, 49),
        (5, 33, 3),
        (9, 16, 64),
        (12, 24, 48),
        (8, 12, 56),
        (4, 5, 104),
    ] {
        let a = Tensor::from_shape(&[m, k], &(0..m * k).map(|i| value(i, 1)).collect::<Vec<_>>()).unwrap();
        let b = Tensor::from_shape(&[k, n], &(0..k * n).map(|i| value(i, 2)).collect::<Vec<_>>()).unwrap();
        let bias: Vec<f32> = (0..m).map(|i| value(i, 3)).collect();
        let residual: Vec<f32> = (0..m * n).map(|i| value(i, 4)).collect();
        let (per_column, row_factors, column_factors): (Vec<f32>, Vec<f32>, Vec<f32>) = (
            (0..n).map(|i| value(i, 5)).collect(),
            (0..m).map(|i| value(i, 6)).collect(),
            (0..n).map(|i| value(i, 7)).collect(),
        );
        let expected = |r: usize, c: usize| {
            let product: f32 = (0..k).map(|i| value(r * k + i, 1) * value(i * n + c, 2)).sum();
            let sum = product + bias[r] + per_column[c] + row_factors[r] * column_factors[c];
            sum.clamp(0.0, 6.0) + residual[r * n + c]
        };
        let (pack_a, pack_b) = &kernel.packings()[0];
        let (pa, pb) = (
            pack_a.prepare_one(&a, 1, 0).unwrap(),
            pack_b.prepare_one(&b, 0, 1).unwrap(),
        );
        let bias = tensor1(&bias);
        let (per_column, row_factors, column_factors) = (
            tensor1(&per_column),
            tensor1(&row_factors),
            tensor1(&column_factors),
        );
        // (rows, columns, element stride): the output laid out row-major, column-major, and
        // row-major with a gap after every element.
        for (row_stride, col_stride, spread) in [(n, 1, 1), (1, m, 1), (2 * n, 2, 2)] {
            let mut out = Tensor::zero::<f32>(&[m * n * spread]).unwrap();
            let mut laid = vec![0f32; m * n * spread];
            for r in 0..m {
                for c in 0..n {
                    laid[r * row_stride + c * col_stride] = residual[r * n + c];
                }
            }
            let residual_laid_out = Tensor::from_shape(&[laid.len()], &laid).unwrap();
            unsafe {
                let store = kernel
                    .c_from_data_and_strides(4, row_stride as isize, col_stride as isize)
                    .wrap(&out.view_mut());
                let add = kernel
                    .c_from_data_and_strides(4, row_stride as isize, col_stride as isize)
                    .wrap(&residual_laid_out.view());
                let zero = tensor0(0f32);
                let six = tensor0(6f32);
                let specs = [
                    FusedSpec::AddMatMul {
                        a: AsInputValue::Borrowed(&*pa),
                        b: AsInputValue::Borrowed(&*pb),
                        packing: 0,
                    },
                    FusedSpec::BinPerRow(bias.view(), BinOp::Add),
                    FusedSpec::BinPerCol(per_column.view(), BinOp::Add),
                    FusedSpec::AddRowColProducts(&row_factors, &column_factors),
                    FusedSpec::BinScalar(&zero, BinOp::Max),
                    FusedSpec::BinScalar(&six, BinOp::Min),
                    FusedSpec::AddUnicast(add),
                    FusedSpec::Store(store),
                ];
                kernel.run(m, n, &specs).unwrap();
            }
            let found = out.to_plain_array_view::<f32>().unwrap();
            let found = found.as_slice().unwrap();
            for r in 0..m {
                for c in 0..n {
                    let (got, want) = (found[r * row_stride + c * col_stride], expected(r, c));
                    assert!(
                        (got - want).abs() < 1e-4,
                        "{name}, {m}x{k}x{n}, strides {row_stride}/{col_stride}: [{r}][{c}] {got} vs {want}"
                    );
                }
            }
        }
    }
}
