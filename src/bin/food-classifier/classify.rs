//! `classify FILE...`: one result per photo; a bad photo is reported and the rest still run.

use std::path::PathBuf;
use std::process::ExitCode;

use food_classifier::{Classification, Classifier};
use serde::Serialize;

#[derive(clap::Args)]
pub struct Args {
    /// Photos to classify (JPEG, PNG, WebP, GIF).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// How many classes to list per photo.
    #[arg(long, default_value_t = 3)]
    top: usize,
    /// Print one JSON object per photo (JSON Lines), with `not_food` and `not_food_score`.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonLine<'a> {
    file: String,
    #[serde(flatten)]
    result: &'a Classification,
}

pub fn run(classifier: &Classifier, args: Args) -> Result<ExitCode, String> {
    let mut failures = 0;
    for path in &args.files {
        let outcome = std::fs::read(path).map_err(|e| e.to_string()).and_then(|bytes| {
            classifier
                .classify_image(&bytes, args.top)
                .map_err(|e| e.to_string())
        });
        match outcome {
            Ok(result) if args.json => {
                let line = JsonLine {
                    file: path.display().to_string(),
                    result: &result,
                };
                println!("{}", serde_json::to_string(&line).map_err(|e| e.to_string())?);
            }
            Ok(result) => print_human(path, &result),
            Err(message) => {
                failures += 1;
                eprintln!("{}: error: {message}", path.display());
            }
        }
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_human(path: &std::path::Path, result: &Classification) {
    println!("{}", path.display());
    if let Some(score) = result.not_food_score.filter(|_| result.not_food) {
        // Said first and on its own line; the closest classes still follow for the curious.
        println!("  does not look like food (score {score:.2})");
    }
    for p in &result.predictions {
        println!("  {:<16} {:>6.2} %", p.label, p.probability * 100.0);
    }
    let t = &result.timings;
    println!(
        "  {}x{} px; decode {:.1} ms, preprocess {:.1} ms, inference {:.1} ms",
        result.width, result.height, t.decode_ms, t.preprocess_ms, t.inference_ms
    );
}
