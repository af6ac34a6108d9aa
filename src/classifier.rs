//! The engine: an optimised tract plan plus its metadata, reused for every photo.

use std::sync::Arc;

use serde::Serialize;
use tract_onnx::prelude::*;
use web_time::Instant;

use crate::decode::{check_pixel_count, decode_image, DEFAULT_MAX_PIXELS};
use crate::error::ClassifyError;
use crate::metadata::ModelMetadata;
use crate::prediction::{top_predictions, Classification, Timings};
use crate::preprocess::{to_input_tensor, PixelView};
use crate::stored_weights::fold_int8_weight_chains;

type Plan = Arc<TypedRunnableModel>;

/// A loaded, optimised model. Cheap to share between threads; load it once.
#[derive(Debug, Clone)]
pub struct Classifier {
    plan: Plan,
    metadata: ModelMetadata,
    max_pixels: u64,
    setup: SetupTimings,
}

/// Where the model's set-up went, step by step: most of a returning visitor's wait before the
/// first photo, so the benchmark reports it to show which step a change should target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SetupTimings {
    /// Decoding the protobuf, folding its int8 weight chains, and reading the graph into tract.
    pub read_ms: f64,
    /// Shape and type analysis, to a typed graph.
    pub analyse_ms: f64,
    /// tract's graph simplifications, its layout search among them.
    pub declutter_ms: f64,
    /// Picking kernels and packing the weights for them.
    pub codegen_ms: f64,
    /// Ordering the graph into a runnable plan.
    pub plan_ms: f64,
}

impl SetupTimings {
    pub fn total_ms(&self) -> f64 {
        self.read_ms + self.analyse_ms + self.declutter_ms + self.codegen_ms + self.plan_ms
    }
}

fn elapsed_ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

impl Classifier {
    /// Loads an ONNX model and its `model.json`, checks they agree, and optimises the graph.
    ///
    /// Outputs are found by the names `model.json` gives them, so a model with a not-food head
    /// (two outputs) and one without (one output) both load; an output named there but missing
    /// from the ONNX is an error rather than a silently wrong answer.
    pub fn from_bytes(onnx: &[u8], metadata_json: &str) -> Result<Self, ClassifyError> {
        let metadata = ModelMetadata::from_json(metadata_json)?;
        if onnx.is_empty() {
            return Err(ClassifyError::BadModel("the model file is empty".into()));
        }
        crate::budget::check_model_size(onnx.len() as u64)?;
        let bad_model = |e: TractError| load_error(&format!("{e:#}"));
        let shape = metadata.input.shape;
        let start = Instant::now();
        let framework = tract_onnx::onnx();
        let mut proto = framework
            .proto_model_for_read(&mut std::io::Cursor::new(onnx))
            .map_err(bad_model)?;
        if let Some(graph) = proto.graph.as_mut() {
            fold_int8_weight_chains(graph);
        }
        let mut model = framework
            .model_for_proto_model(&proto)
            .map_err(bad_model)?
            .with_input_fact(0, f32::fact(shape).into())
            .map_err(bad_model)?;
        let outputs = select_outputs(&model, &metadata)?;
        model.select_output_outlets(&outputs).map_err(bad_model)?;
        let read_ms = elapsed_ms(start);
        let start = Instant::now();
        let mut typed = model.into_typed().map_err(bad_model)?;
        let analyse_ms = elapsed_ms(start);
        let start = Instant::now();
        crate::declutter::declutter(&mut typed).map_err(bad_model)?;
        crate::depthwise_rows::install(&mut typed).map_err(bad_model)?;
        let declutter_ms = elapsed_ms(start);
        let start = Instant::now();
        typed.optimize().map_err(bad_model)?;
        let codegen_ms = elapsed_ms(start);
        let values = |ix: usize| -> Result<(String, Option<usize>), ClassifyError> {
            let shape = &typed.output_fact(ix).map_err(bad_model)?.shape;
            let count = shape.as_concrete().map(|s| s.iter().product::<usize>());
            Ok((format!("{shape:?}"), count))
        };
        let (shape, classes) = values(0)?;
        if classes != Some(metadata.labels.len()) {
            return Err(ClassifyError::BadModel(format!(
                "the model outputs {shape} but model.json lists {} labels",
                metadata.labels.len()
            )));
        }
        if let Some(not_food) = &metadata.not_food {
            let (shape, count) = values(1)?;
            if count != Some(1) {
                return Err(ClassifyError::BadModel(format!(
                    "the not-food output {:?} is {shape}, not one score",
                    not_food.output
                )));
            }
        }
        let start = Instant::now();
        let plan = typed.into_runnable().map_err(bad_model)?;
        let plan_ms = elapsed_ms(start);
        Ok(Classifier {
            plan,
            metadata,
            max_pixels: DEFAULT_MAX_PIXELS,
            setup: SetupTimings {
                read_ms,
                analyse_ms,
                declutter_ms,
                codegen_ms,
                plan_ms,
            },
        })
    }

    /// Changes the largest photo (in pixels) accepted before decoding.
    pub fn with_max_pixels(mut self, max_pixels: u64) -> Self {
        self.max_pixels = max_pixels;
        self
    }

    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// How long each step of this model's set-up took.
    pub fn setup_timings(&self) -> SetupTimings {
        self.setup
    }

    /// Classifies an encoded photo (JPEG, PNG, WebP, GIF).
    pub fn classify_image(&self, bytes: &[u8], top_k: usize) -> Result<Classification, ClassifyError> {
        let start = Instant::now();
        let image = decode_image(bytes, self.max_pixels)?;
        let decode_ms = elapsed_ms(start);
        let view = PixelView::new(image.as_raw(), image.width(), image.height(), 3)?;
        let mut result = self.classify_view(&view, top_k)?;
        result.timings.decode_ms = decode_ms;
        Ok(result)
    }

    /// Classifies RGBA pixels already decoded elsewhere (by a browser, say).
    pub fn classify_rgba(
        &self,
        rgba: &[u8],
        width: u32,
        height: u32,
        top_k: usize,
    ) -> Result<Classification, ClassifyError> {
        check_pixel_count(width, height, self.max_pixels)?;
        let view = PixelView::new(rgba, width, height, 4)?;
        self.classify_view(&view, top_k)
    }

    fn classify_view(&self, view: &PixelView, top_k: usize) -> Result<Classification, ClassifyError> {
        let start = Instant::now();
        let tensor = to_input_tensor(view, &self.metadata.input);
        let preprocess_ms = elapsed_ms(start);
        let start = Instant::now();
        let (logits, not_food_raw) = self.run(tensor)?;
        let inference_ms = elapsed_ms(start);
        let verdict = self
            .metadata
            .not_food
            .as_ref()
            .zip(not_food_raw)
            .map(|(contract, raw)| {
                let score = contract.score(raw);
                (contract.is_not_food(score), score)
            });
        Ok(Classification {
            predictions: top_predictions(&logits, &self.metadata.labels, top_k),
            not_food: verdict.is_some_and(|(flagged, _)| flagged),
            not_food_score: verdict.map(|(_, score)| score),
            timings: Timings {
                decode_ms: 0.0,
                preprocess_ms,
                inference_ms,
            },
            width: view.width(),
            height: view.height(),
        })
    }

    /// Runs the network on a ready NCHW tensor and returns the raw food logits.
    pub fn logits(&self, tensor: Vec<f32>) -> Result<Vec<f32>, ClassifyError> {
        Ok(self.run(tensor)?.0)
    }

    /// The food logits and, for a model with a not-food head, that head's raw output.
    fn run(&self, tensor: Vec<f32>) -> Result<(Vec<f32>, Option<f32>), ClassifyError> {
        let failed = |e: TractError| ClassifyError::Inference(format!("{e:#}"));
        let input = Tensor::from_shape(&self.metadata.input.shape, &tensor).map_err(failed)?;
        let outputs = self.plan.run(tvec!(input.into())).map_err(failed)?;
        let values = |ix: usize| -> Result<Vec<f32>, ClassifyError> {
            let view = outputs[ix].to_plain_array_view::<f32>().map_err(failed)?;
            Ok(view.iter().copied().collect())
        };
        let not_food = if self.metadata.not_food.is_some() {
            values(1)?.first().copied()
        } else {
            None
        };
        Ok((values(0)?, not_food))
    }
}

/// The ONNX outputs the engine reads, in the order it reads them: the food logits, then the
/// not-food logit when `model.json` has that head. The food logits are the output `output.name`
/// names when the model has several; a single-output model (or a sidecar without `output`) uses
/// the first, as models from before the not-food head always did.
fn select_outputs(model: &InferenceModel, metadata: &ModelMetadata) -> Result<TVec<OutletId>, ClassifyError> {
    let declared = model
        .output_outlets()
        .map_err(|e| ClassifyError::BadModel(format!("{e:#}")))?;
    let names: Vec<&str> = declared
        .iter()
        .map(|&outlet| model.outlet_label(outlet).unwrap_or(""))
        .collect();
    let find = |name: &str, key: &str| {
        names
            .iter()
            .position(|n| *n == name)
            .map(|ix| declared[ix])
            .ok_or_else(|| {
                ClassifyError::BadModel(format!(
                    "model.json names {name:?} as {key}, but the model's outputs are {names:?}"
                ))
            })
    };
    let logits = match &metadata.output {
        Some(output) if declared.len() > 1 => find(&output.name, "output.name")?,
        _ => *declared
            .first()
            .ok_or_else(|| ClassifyError::BadModel("the model has no outputs".into()))?,
    };
    let mut outputs = tvec![logits];
    if let Some(not_food) = &metadata.not_food {
        let outlet = find(&not_food.output, "not_food.output")?;
        if outlet == logits {
            return Err(ClassifyError::BadModel(format!(
                "model.json names {:?} as both the class output and not_food.output",
                not_food.output
            )));
        }
        outputs.push(outlet);
    }
    Ok(outputs)
}

/// The engine's load failure as the person should read it: an operator it cannot run by name,
/// anything else as the engine words it.
fn load_error(message: &str) -> ClassifyError {
    // The engine says `Translating node #1 "name" Unimplemented(Det) ToTypedTranslator: …`.
    let unsupported = message.split_once("Unimplemented(").and_then(|(before, rest)| {
        let op = rest.split_once(')')?.0;
        let node = before
            .rsplit_once('"')
            .and_then(|(head, _)| head.rsplit_once('"'))
            .map(|(_, n)| n);
        Some((op.to_string(), node.unwrap_or("?").to_string()))
    });
    match unsupported {
        Some((op, node)) if !op.is_empty() => ClassifyError::UnsupportedOperator { op, node },
        _ => ClassifyError::BadModel(message.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unsupported_operator_is_named() {
        let error = load_error(
            r#"Translating node #1 "y" Unimplemented(Det) ToTypedTranslator: Operator can not be made a TypedOp."#,
        );
        assert_eq!(
            error.to_string(),
            r#"the model uses the ONNX operator Det (node "y"), which this engine cannot run"#
        );
        assert!(matches!(
            load_error("Failed analyse for node #1"),
            ClassifyError::BadModel(_)
        ));
    }
}
