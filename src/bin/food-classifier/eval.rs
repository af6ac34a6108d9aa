//! `eval DIR`: accuracy, per-class accuracy and confusion matrix over a labelled folder tree.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use food_classifier::Classifier;
use serde::Serialize;

#[derive(clap::Args)]
pub struct Args {
    /// Folder with one subfolder per class (names matched to labels ignoring case, spaces, - _ /).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// Folder and label names compare equal when they differ only in case, spaces, `-`, `_`, `/`.
fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '/'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Every photo under `dir` with the index of its class; folders that name no class are reported.
fn collect_photos(dir: &Path, labels: &[String]) -> Result<Vec<(PathBuf, usize)>, String> {
    let wanted: Vec<String> = labels.iter().map(|l| normalise(l)).collect();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut photos = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let folder = entry.file_name().to_string_lossy().into_owned();
        let Some(class) = wanted.iter().position(|w| *w == normalise(&folder)) else {
            eprintln!("warning: skipping folder {folder:?}: it matches no class");
            continue;
        };
        let files = std::fs::read_dir(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for file in files.flatten() {
            let hidden = file.file_name().to_string_lossy().starts_with('.');
            if file.path().is_file() && !hidden {
                photos.push((file.path(), class));
            }
        }
    }
    photos.sort();
    if photos.is_empty() {
        return Err(format!(
            "no photos found in class folders under {}",
            dir.display()
        ));
    }
    Ok(photos)
}

#[derive(Serialize)]
struct Report {
    images: usize,
    accuracy: f64,
    per_class: BTreeMap<String, f64>,
    labels: Vec<String>,
    /// `confusion[true][predicted]`.
    confusion: Vec<Vec<usize>>,
    /// Photos that could not be read or decoded; not counted in `images`.
    failed: Vec<String>,
}

impl Report {
    fn new(
        labels: &[String],
        outcomes: &[(usize, Result<usize, String>)],
        paths: &[(PathBuf, usize)],
    ) -> Self {
        let n = labels.len();
        let mut confusion = vec![vec![0usize; n]; n];
        let mut failed = Vec::new();
        for ((truth, outcome), (path, _)) in outcomes.iter().zip(paths) {
            match outcome {
                Ok(predicted) => confusion[*truth][*predicted] += 1,
                Err(message) => failed.push(format!("{}: {message}", path.display())),
            }
        }
        let images: usize = confusion.iter().flatten().sum();
        let correct: usize = (0..n).map(|i| confusion[i][i]).sum();
        let per_class = labels
            .iter()
            .enumerate()
            .filter_map(|(i, label)| {
                let total: usize = confusion[i].iter().sum();
                (total > 0).then(|| (label.clone(), confusion[i][i] as f64 / total as f64))
            })
            .collect();
        Report {
            images,
            accuracy: if images == 0 {
                0.0
            } else {
                correct as f64 / images as f64
            },
            per_class,
            labels: labels.to_vec(),
            confusion,
            failed,
        }
    }

    fn print_human(&self) {
        println!("images: {}   accuracy: {:.4}", self.images, self.accuracy);
        println!("\nper class:");
        for (i, label) in self.labels.iter().enumerate() {
            let total: usize = self.confusion[i].iter().sum();
            if let Some(acc) = self.per_class.get(label) {
                println!("  {label:<16} {acc:.4}  ({}/{total})", self.confusion[i][i]);
            }
        }
        println!("\nconfusion (rows: true class, columns: predicted, in label order):");
        for (label, row) in self.labels.iter().zip(&self.confusion) {
            let cells: Vec<String> = row.iter().map(|c| format!("{c:>4}")).collect();
            println!("  {label:<16}{}", cells.join(""));
        }
        for failure in &self.failed {
            eprintln!("failed: {failure}");
        }
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
    let report = Report::new(labels, &outcomes, &photos);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        report.print_human();
    }
    Ok(ExitCode::SUCCESS)
}

/// Classifies every photo on `threads` threads, keeping input order; shows progress on a terminal.
fn classify_all(
    classifier: &Classifier,
    photos: &[(PathBuf, usize)],
    threads: usize,
) -> Vec<(usize, Result<usize, String>)> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results = Mutex::new(vec![None; photos.len()]);
    let show_progress = std::io::stderr().is_terminal();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((path, truth)) = photos.get(i) else { break };
                let predicted = std::fs::read(path)
                    .map_err(|e| e.to_string())
                    .and_then(|bytes| classifier.classify_image(&bytes, 1).map_err(|e| e.to_string()))
                    .map(|r| r.top().index);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some((*truth, predicted));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_match_labels_loosely() {
        assert_eq!(normalise("Noodles-Pasta"), normalise("Noodles/Pasta"));
        assert_eq!(normalise("dairy_product"), normalise("Dairy product"));
        assert_eq!(normalise("VEGETABLE-FRUIT"), normalise("Vegetable/Fruit"));
        assert_ne!(normalise("Egg"), normalise("Eggs"));
    }

    #[test]
    fn report_counts_confusion_and_skips_failures() {
        let labels = vec!["A".to_string(), "B".to_string()];
        let paths: Vec<(PathBuf, usize)> = (0..4).map(|i| (PathBuf::from(format!("{i}.jpg")), 0)).collect();
        let outcomes = vec![
            (0, Ok(0)),
            (0, Ok(1)),
            (1, Ok(1)),
            (1, Err("corrupt".to_string())),
        ];
        let report = Report::new(&labels, &outcomes, &paths);
        assert_eq!(report.images, 3);
        assert_eq!(report.confusion, vec![vec![1, 1], vec![0, 1]]);
        assert!((report.accuracy - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(report.per_class["A"], 0.5);
        assert_eq!(report.failed, vec!["3.jpg: corrupt".to_string()]);
    }
}
