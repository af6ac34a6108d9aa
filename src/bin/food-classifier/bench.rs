//! `bench`: warm timings of the model alone and of the whole photo-to-answer pipeline.

use std::path::PathBuf;
use std::process::ExitCode;

use food_classifier::decode::{decode_image, DEFAULT_MAX_PIXELS};
use food_classifier::preprocess::{to_input_tensor, PixelView};
use food_classifier::{Classifier, SetupTimings};
use serde::Serialize;
use web_time::Instant;

use crate::model;

#[derive(clap::Args)]
pub struct Args {
    /// Timed runs after warm-up.
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Untimed runs first, so caches and allocators settle.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Photo for the pipeline timing (default: a bundled photo).
    #[arg(long, value_name = "FILE")]
    image: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Summary {
    median_ms: f64,
    p90_ms: f64,
    min_ms: f64,
}

impl Summary {
    fn of(mut samples: Vec<f64>) -> Summary {
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Summary {
            median_ms: at(0.5),
            p90_ms: at(0.9),
            min_ms: samples[0],
        }
    }
}

#[derive(Serialize)]
struct Report {
    runs: usize,
    threads: usize,
    model_load_ms: f64,
    model_setup: SetupTimings,
    photo: String,
    photo_pixels: [u32; 2],
    inference: Summary,
    decode: Summary,
    preprocess: Summary,
    pipeline: Summary,
}

fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed().as_secs_f64() * 1000.0)
}

pub fn run(classifier: &Classifier, args: Args) -> Result<ExitCode, String> {
    let runs = args.runs.max(1);
    let (photo, bytes) = match &args.image {
        Some(path) => (
            path.display().to_string(),
            std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => ("built-in rice.jpg".to_string(), model::SAMPLE_PHOTO.to_vec()),
    };
    let (reloaded, model_load_ms) = time(|| model::load(None));
    let model_setup = reloaded?.setup_timings();

    let image = decode_image(&bytes, DEFAULT_MAX_PIXELS).map_err(|e| e.to_string())?;
    let view = PixelView::new(image.as_raw(), image.width(), image.height(), 3).map_err(|e| e.to_string())?;
    let contract = &classifier.metadata().input;
    let tensor = to_input_tensor(&view, contract);

    let stage = |f: &mut dyn FnMut() -> Result<(), String>| -> Result<Summary, String> {
        for _ in 0..args.warmup {
            f()?;
        }
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let (outcome, ms) = time(&mut *f);
            outcome?;
            samples.push(ms);
        }
        Ok(Summary::of(samples))
    };
    let inference = stage(&mut || {
        classifier
            .logits(tensor.clone())
            .map(drop)
            .map_err(|e| e.to_string())
    })?;
    let decode = stage(&mut || {
        decode_image(&bytes, DEFAULT_MAX_PIXELS)
            .map(drop)
            .map_err(|e| e.to_string())
    })?;
    let preprocess = stage(&mut || {
        std::hint::black_box(to_input_tensor(&view, contract));
        Ok(())
    })?;
    let pipeline = stage(&mut || {
        classifier
            .classify_image(&bytes, 5)
            .map(drop)
            .map_err(|e| e.to_string())
    })?;

    let report = Report {
        runs,
        threads: 1,
        model_load_ms,
        model_setup,
        photo,
        photo_pixels: [image.width(), image.height()],
        inference,
        decode,
        preprocess,
        pipeline,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        println!(
            "photo: {} ({}x{}), {} runs after {} warm-up, one thread",
            report.photo,
            image.width(),
            image.height(),
            runs,
            args.warmup
        );
        println!(
            "model load: {model_load_ms:.1} ms (read {:.1}, analyse {:.1}, declutter {:.1}, codegen {:.1}, plan {:.1})",
            model_setup.read_ms,
            model_setup.analyse_ms,
            model_setup.declutter_ms,
            model_setup.codegen_ms,
            model_setup.plan_ms
        );
        println!("{:<12}{:>10}{:>10}{:>10}", "stage", "median", "p90", "min");
        for (name, s) in [
            ("inference", &report.inference),
            ("decode", &report.decode),
            ("preprocess", &report.preprocess),
            ("pipeline", &report.pipeline),
        ] {
            println!(
                "{name:<12}{:>8.2}ms{:>8.2}ms{:>8.2}ms",
                s.median_ms, s.p90_ms, s.min_ms
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
