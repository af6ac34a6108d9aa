//! Models for the not-food tests, built at set-up time from the shipped one.
//!
//! `two_output_onnx` is the shipped ONNX with the test-only head from
//! `tests/fixtures/make_not_food_model.py` appended: concatenated protobuf messages merge, so the
//! 476-byte patch adds one output, `test_not_food`, whose sigmoid is high for photos bluer than
//! they are red. Of the golden photos only soup.jpg scores above 0.5 (about 0.71).

use serde_json::{json, Value};

pub const SHIPPED_ONNX: &[u8] = include_bytes!("../../models/food11-mobilenetv2.onnx");
const SHIPPED_METADATA: &str = include_str!("../../models/model.json");
const NOT_FOOD_HEAD: &[u8] = include_bytes!("../fixtures/not-food-head.pb");

/// The output the test head adds.
pub const TEST_HEAD: &str = "test_not_food";

/// `model.json` naming the test head with threshold 0.5: soup.jpg is flagged, the others not.
pub fn flagging_metadata() -> String {
    metadata(Some((TEST_HEAD, 0.5)))
}

pub fn two_output_onnx() -> Vec<u8> {
    [SHIPPED_ONNX, NOT_FOOD_HEAD].concat()
}

/// The shipped `model.json` with its `not_food` section replaced: by one naming `output` with
/// `threshold`, or (for `None`) by nothing, which is how a model without a head is described.
pub fn metadata(not_food: Option<(&str, f32)>) -> String {
    let mut meta: Value = serde_json::from_str(SHIPPED_METADATA).unwrap();
    let object = meta.as_object_mut().unwrap();
    object.remove("not_food");
    if let Some((output, threshold)) = not_food {
        object.insert(
            "not_food".into(),
            json!({ "output": output, "activation": "sigmoid", "threshold": threshold }),
        );
    }
    meta.to_string()
}
