//! `eval DIR`: accuracy, per-class accuracy and confusion matrix over a labelled folder tree, and
//! how many photos the model's not-food head flagged (every folder holds food, so those are wrong).
//! The rules and the report are the core's (`food_classifier::evaluation`), shared with the page.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use food_classifier::evaluation::{class_of_path, Answer, Report, Tally};
use food_classifier::Classifier;

#[derive(clap::Args)]
pub struct Args {
    /// Folder of photos in class subfolders (names matched to labels ignoring case, spaces,
    /// - _ /), or a Food-11 split folder (`evaluation/` of `<class index>_<n>.jpg` files).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// How deep below DIR photos are looked for (a data root's `test/<Class>/` fits twice over).
const MAX_DEPTH: usize = 4;

/// Every photo under `dir` whose path names a class (see `class_of_path`), by its path relative
/// to `dir`'s parent (`test/Rice/1.jpg`: what the page sees for the same folder), with that class.
fn collect_photos(dir: &Path, labels: &[String]) -> Result<Vec<(PathBuf, String, usize)>, String> {
    let base = dir.file_name().map(PathBuf::from).unwrap_or_default();
    let mut files = Vec::new();
    walk(dir, &base, MAX_DEPTH, &mut files)?;
    let mut photos = Vec::new();
    let mut skipped = Vec::new();
    for (path, relative) in files {
        let relative = relative.to_string_lossy().replace('\\', "/");
        match class_of_path(&relative, labels) {
            Some(class) => photos.push((path, relative, class)),
            None => skipped.push(relative),
        }
    }
    photos.sort();
    if !skipped.is_empty() {
        skipped.sort();
        eprintln!(
            "warning: skipped {} files whose folder or name matches no class (e.g. {})",
            skipped.len(),
            skipped[0]
        );
    }
    if photos.is_empty() {
        return Err(format!(
            "no photos found in class folders or Food-11 split folders under {}",
            dir.display()
        ));
    }
    Ok(photos)
}

fn walk(dir: &Path, relative: &Path, depth: usize, out: &mut Vec<(PathBuf, PathBuf)>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            if depth > 0 {
                walk(&path, &relative.join(&name), depth - 1, out)?;
            }
        } else if path.is_file() {
            out.push((path, relative.join(&name)));
        }
    }
    Ok(())
}

fn print_human(report: &Report) {
    println!("images: {}   accuracy: {:.4}", report.images, report.accuracy);
    if let Some(threshold) = report.not_food_threshold {
        println!(
            "flagged as not food: {} of {} photos (score >= {threshold:.2}), counted as wrong",
            report.not_food, report.images
        );
    }
    println!("\nper class:");
    for (i, label) in report.labels.iter().enumerate() {
        let total: usize = report.confusion[i].iter().sum();
        if let Some(acc) = report.per_class.get(label) {
            println!("  {label:<16} {acc:.4}  ({}/{total})", report.correct[i]);
        }
    }
    let flags = report.not_food_threshold.is_some();
    println!(
        "\nconfusion (rows: true class, columns: predicted, in label order{}):",
        if flags {
            "; after |: flagged as not food"
        } else {
            ""
        }
    );
    for (i, (label, row)) in report.labels.iter().zip(&report.confusion).enumerate() {
        let cells: String = row.iter().map(|c| format!("{c:>4}")).collect();
        let flagged = if flags {
            format!(" |{:>4}", report.not_food_by_class[i])
        } else {
            String::new()
        };
        println!("  {label:<16}{cells}{flagged}");
    }
    for failure in &report.failed {
        eprintln!("failed: {failure}");
    }
}

pub fn run(classifier: &Classifier, args: Args) -> Result<ExitCode, String> {
    let labels = &classifier.metadata().labels;
    let photos = collect_photos(&args.dir, labels)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, photos.len());
    let outcomes = classify_all(classifier, &photos, threads);
    let threshold = classifier.metadata().not_food.as_ref().map(|n| n.threshold);
    let mut tally = Tally::new(labels, threshold);
    for ((_, relative, truth), outcome) in photos.iter().zip(outcomes) {
        match outcome {
            Ok(answer) => tally.add(*truth, answer)?,
            Err(message) => tally.add_failure(relative, &message),
        }
    }
    let report = tally.report();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        print_human(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// Classifies every photo on `threads` threads, keeping input order; shows progress on a terminal.
fn classify_all(
    classifier: &Classifier,
    photos: &[(PathBuf, String, usize)],
    threads: usize,
) -> Vec<Result<Answer, String>> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results = Mutex::new(vec![None; photos.len()]);
    let show_progress = std::io::stderr().is_terminal();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((path, _, _)) = photos.get(i) else { break };
                let answer = std::fs::read(path)
                    .map_err(|e| e.to_string())
                    .and_then(|bytes| classifier.classify_image(&bytes, 1).map_err(|e| e.to_string()))
                    .map(|r| Answer {
                        predicted: r.top().index,
                        not_food: r.not_food,
                    });
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(answer);
                let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                if show_progress && (finished.is_multiple_of(25) || finished == photos.len()) {
                    eprint!("\r{finished}/{} photos", photos.len());
                    let _ = std::io::stderr().flush();
                }
            });
        }
    });
    if show_progress {
        eprintln!();
    }
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}
