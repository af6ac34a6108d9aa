//! `eval DIR`: accuracy, per-class accuracy and confusion matrix over a labelled folder tree, and
//! how many photos the model's not-food head flagged (every folder holds food, so those are wrong).

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

/// What the model said about one photo.
#[derive(Clone, Copy)]
struct Answer {
    /// Index of the top class.
    predicted: usize,
    not_food: bool,
}

#[derive(Serialize)]
struct Report {
    images: usize,
    /// Share answered right: the true class on top and not flagged as not food.
    accuracy: f64,
    /// The same, per true class.
    per_class: BTreeMap<String, f64>,
    labels: Vec<String>,
    /// `confusion[true][predicted]` by top class, for every photo, flagged ones included.
    confusion: Vec<Vec<usize>>,
    /// Photos flagged as not food; each counts as wrong in `accuracy` and `per_class`, even where
    /// its top class is right.
    not_food: usize,
    /// The confusion matrix's extra "not food" column: flagged photos per true class (label order).
    not_food_by_class: Vec<usize>,
    /// The threshold the flags were decided with; null when the model has no not-food head.
    not_food_threshold: Option<f32>,
    /// Photos that could not be read or decoded; not counted in `images`.
    failed: Vec<String>,
    /// Right answers per true class (the diagonal less the flagged photos on it).
    #[serde(skip)]
    correct: Vec<usize>,
}

impl Report {
    fn new(
        labels: &[String],
        not_food_threshold: Option<f32>,
        outcomes: &[(usize, Result<Answer, String>)],
        paths: &[(PathBuf, usize)],
    ) -> Self {
        let n = labels.len();
        let mut confusion = vec![vec![0usize; n]; n];
        let mut not_food_by_class = vec![0usize; n];
        let mut correct = vec![0usize; n];
        let mut failed = Vec::new();
        for ((truth, outcome), (path, _)) in outcomes.iter().zip(paths) {
            match outcome {
                Ok(answer) => {
                    confusion[*truth][answer.predicted] += 1;
                    if answer.not_food {
                        not_food_by_class[*truth] += 1;
                    } else if answer.predicted == *truth {
                        correct[*truth] += 1;
                    }
                }
                Err(message) => failed.push(format!("{}: {message}", path.display())),
            }
        }
        let images: usize = confusion.iter().flatten().sum();
        let per_class = labels
            .iter()
            .enumerate()
            .filter_map(|(i, label)| {
                let total: usize = confusion[i].iter().sum();
                (total > 0).then(|| (label.clone(), correct[i] as f64 / total as f64))
            })
            .collect();
        Report {
            images,
            accuracy: if images == 0 {
                0.0
            } else {
                correct.iter().sum::<usize>() as f64 / images as f64
            },
            per_class,
            labels: labels.to_vec(),
            confusion,
            not_food: not_food_by_class.iter().sum(),
            not_food_by_class,
            not_food_threshold,
            failed,
            correct,
        }
    }

    fn print_human(&self) {
        println!("images: {}   accuracy: {:.4}", self.images, self.accuracy);
        if let Some(threshold) = self.not_food_threshold {
            println!(
                "flagged as not food: {} of {} photos (score >= {threshold:.2}), counted as wrong",
                self.not_food, self.images
            );
        }
        println!("\nper class:");
        for (i, label) in self.labels.iter().enumerate() {
            let total: usize = self.confusion[i].iter().sum();
            if let Some(acc) = self.per_class.get(label) {
                println!("  {label:<16} {acc:.4}  ({}/{total})", self.correct[i]);
            }
        }
        let flags = self.not_food_threshold.is_some();
        println!(
            "\nconfusion (rows: true class, columns: predicted, in label order{}):",
            if flags {
                "; after |: flagged as not food"
            } else {
                ""
            }
        );
        for (i, (label, row)) in self.labels.iter().zip(&self.confusion).enumerate() {
            let cells: String = row.iter().map(|c| format!("{c:>4}")).collect();
            let flagged = if flags {
                format!(" |{:>4}", self.not_food_by_class[i])
            } else {
                String::new()
            };
            println!("  {label:<16}{cells}{flagged}");
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
    let threshold = classifier.metadata().not_food.as_ref().map(|n| n.threshold);
    let report = Report::new(labels, threshold, &outcomes, &photos);
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
) -> Vec<(usize, Result<Answer, String>)> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results = Mutex::new(vec![None; photos.len()]);
    let show_progress = std::io::stderr().is_terminal();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((path, truth)) = photos.get(i) else { break };
                let answer = std::fs::read(path)
                    .map_err(|e| e.to_string())
                    .and_then(|bytes| classifier.classify_image(&bytes, 1).map_err(|e| e.to_string()))
                    .map(|r| Answer {
                        predicted: r.top().index,
                        not_food: r.not_food,
                    });
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some((*truth, answer));
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
        let food = |predicted| {
            Ok(Answer {
                predicted,
                not_food: false,
            })
        };
        let outcomes = vec![
            (0, food(0)),
            (0, food(1)),
            (1, food(1)),
            (1, Err("corrupt".to_string())),
        ];
        let report = Report::new(&labels, None, &outcomes, &paths);
        assert_eq!(report.images, 3);
        assert_eq!(report.confusion, vec![vec![1, 1], vec![0, 1]]);
        assert!((report.accuracy - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(report.per_class["A"], 0.5);
        assert_eq!(report.failed, vec!["3.jpg: corrupt".to_string()]);
        assert_eq!((report.not_food, report.not_food_by_class), (0, vec![0, 0]));
    }

    #[test]
    fn flagged_photos_keep_their_top_class_but_count_as_wrong() {
        let labels = vec!["A".to_string(), "B".to_string()];
        let paths: Vec<(PathBuf, usize)> = (0..4).map(|i| (PathBuf::from(format!("{i}.jpg")), 0)).collect();
        let answer = |predicted, not_food| Ok(Answer { predicted, not_food });
        let outcomes = vec![
            (0, answer(0, true)),
            (0, answer(0, false)),
            (1, answer(0, true)),
            (1, answer(1, false)),
        ];
        let report = Report::new(&labels, Some(0.5), &outcomes, &paths);
        assert_eq!(report.confusion, vec![vec![2, 0], vec![1, 1]]);
        assert_eq!(
            (report.not_food, report.not_food_by_class.clone()),
            (2, vec![1, 1])
        );
        assert_eq!(report.accuracy, 0.5);
        assert_eq!((report.per_class["A"], report.per_class["B"]), (0.5, 0.5));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["not_food"], 2);
        assert_eq!(json["not_food_threshold"], 0.5);
        assert!(json.get("correct").is_none());
    }
}
