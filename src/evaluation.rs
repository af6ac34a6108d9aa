//! Accuracy over a labelled folder, the same for the command line's `eval` and the page's folder
//! evaluation: which class a photo's path names, and the tally of answers into one report, so the
//! two give the same figures for the same photos.

use std::collections::BTreeMap;

use serde::Serialize;

/// The split folders of Food-11 itself, whose photos are named `<class index>_<n>.jpg`.
pub const FOOD11_SPLITS: [&str; 3] = ["training", "validation", "evaluation"];

/// Folder and label names compare equal when they differ only in case, spaces, `-`, `_`, `/`.
pub fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '/'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The class a photo's path names (relative, `/`-separated): its folder matched to a label
/// loosely (`Noodles-Pasta/1.jpg`), or Food-11's own naming, `<class index>_<n>.<ext>` in a
/// `training`, `validation` or `evaluation` folder (`evaluation/3_12.jpg` is Egg). `None` for
/// anything else, hidden files included, so unrelated files in a picked folder are left out.
pub fn class_of_path(path: &str, labels: &[String]) -> Option<usize> {
    let mut parts = path.rsplit(['/', '\\']);
    let file = parts.next()?;
    let folder = parts.next()?;
    if file.is_empty() || file.starts_with('.') {
        return None;
    }
    let wanted = normalise(folder);
    if let Some(class) = labels.iter().position(|l| normalise(l) == wanted) {
        return Some(class);
    }
    if !FOOD11_SPLITS.contains(&folder.to_lowercase().as_str()) {
        return None;
    }
    let (index, rest) = file.split_once('_')?;
    let (number, extension) = rest.rsplit_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(index) || !digits(number) || extension.is_empty() {
        return None;
    }
    index.parse::<usize>().ok().filter(|&i| i < labels.len())
}

/// What the model said about one photo.
#[derive(Clone, Copy, Debug)]
pub struct Answer {
    /// Index of the top class.
    pub predicted: usize,
    pub not_food: bool,
}

/// The evaluation's figures, printed by `eval --json` and exported by the page in this shape.
#[derive(Serialize, Debug)]
pub struct Report {
    pub images: usize,
    /// Share answered right: the true class on top and not flagged as not food.
    pub accuracy: f64,
    /// The same, per true class (classes with photos only).
    pub per_class: BTreeMap<String, f64>,
    pub labels: Vec<String>,
    /// `confusion[true][predicted]` by top class, for every photo, flagged ones included.
    pub confusion: Vec<Vec<usize>>,
    /// Photos flagged as not food; each counts as wrong in `accuracy` and `per_class`, even where
    /// its top class is right.
    pub not_food: usize,
    /// The confusion matrix's extra "not food" column: flagged photos per true class (label order).
    pub not_food_by_class: Vec<usize>,
    /// The threshold the flags were decided with; null when the model has no not-food head.
    pub not_food_threshold: Option<f32>,
    /// `path: message` for photos that could not be read or decoded; not counted in `images`.
    pub failed: Vec<String>,
    /// Right answers per true class (the diagonal less the flagged photos on it).
    #[serde(skip)]
    pub correct: Vec<usize>,
}

/// Answers added one at a time (a folder is streamed, never held), summed into a [`Report`].
#[derive(Clone, Debug)]
pub struct Tally {
    labels: Vec<String>,
    not_food_threshold: Option<f32>,
    confusion: Vec<Vec<usize>>,
    not_food_by_class: Vec<usize>,
    correct: Vec<usize>,
    failed: Vec<String>,
}

impl Tally {
    pub fn new(labels: &[String], not_food_threshold: Option<f32>) -> Self {
        let n = labels.len();
        Tally {
            labels: labels.to_vec(),
            not_food_threshold,
            confusion: vec![vec![0; n]; n],
            not_food_by_class: vec![0; n],
            correct: vec![0; n],
            failed: Vec::new(),
        }
    }

    /// Counts one answer for a photo of class `truth`; an index outside the labels is refused.
    pub fn add(&mut self, truth: usize, answer: Answer) -> Result<(), String> {
        let n = self.labels.len();
        if truth >= n || answer.predicted >= n {
            return Err(format!(
                "class index {} is out of range: the model has {n} classes",
                truth.max(answer.predicted)
            ));
        }
        self.confusion[truth][answer.predicted] += 1;
        if answer.not_food {
            self.not_food_by_class[truth] += 1;
        } else if answer.predicted == truth {
            self.correct[truth] += 1;
        }
        Ok(())
    }

    /// Records a photo that could not be classified, by its path relative to the folder.
    pub fn add_failure(&mut self, path: &str, message: &str) {
        self.failed.push(format!("{path}: {message}"));
    }

    pub fn report(&self) -> Report {
        let images: usize = self.confusion.iter().flatten().sum();
        let per_class = self
            .labels
            .iter()
            .enumerate()
            .filter_map(|(i, label)| {
                let total: usize = self.confusion[i].iter().sum();
                (total > 0).then(|| (label.clone(), self.correct[i] as f64 / total as f64))
            })
            .collect();
        let correct: usize = self.correct.iter().sum();
        Report {
            images,
            accuracy: if images == 0 {
                0.0
            } else {
                correct as f64 / images as f64
            },
            per_class,
            labels: self.labels.clone(),
            confusion: self.confusion.clone(),
            not_food: self.not_food_by_class.iter().sum(),
            not_food_by_class: self.not_food_by_class.clone(),
            not_food_threshold: self.not_food_threshold,
            failed: self.failed.clone(),
            correct: self.correct.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn food11() -> Vec<String> {
        [
            "Bread",
            "Dairy product",
            "Dessert",
            "Egg",
            "Fried food",
            "Meat",
            "Noodles/Pasta",
            "Rice",
            "Seafood",
            "Soup",
            "Vegetable/Fruit",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn folder_names_match_labels_loosely() {
        assert_eq!(normalise("Noodles-Pasta"), normalise("Noodles/Pasta"));
        assert_eq!(normalise("dairy_product"), normalise("Dairy product"));
        assert_eq!(normalise("VEGETABLE-FRUIT"), normalise("Vegetable/Fruit"));
        assert_ne!(normalise("Egg"), normalise("Eggs"));
    }

    #[test]
    fn a_path_names_its_class_by_folder_or_by_food11_naming() {
        let labels = food11();
        assert_eq!(class_of_path("test/Noodles-Pasta/a.jpg", &labels), Some(6));
        assert_eq!(class_of_path("dairy_product/b.png", &labels), Some(1));
        assert_eq!(class_of_path(r"test\Rice\c.jpg", &labels), Some(7));
        assert_eq!(class_of_path("food-11/evaluation/3_12.jpg", &labels), Some(3));
        assert_eq!(class_of_path("Training/10_0.JPG", &labels), Some(10));
        // a class folder wins over the file name; Food-11 naming only inside its split folders
        assert_eq!(class_of_path("Rice/3_12.jpg", &labels), Some(7));
        assert_eq!(class_of_path("holiday/3_12.jpg", &labels), None);
        // not Food-11 names, or out of range
        for path in [
            "evaluation/11_1.jpg",
            "evaluation/3.jpg",
            "evaluation/x_1.jpg",
            "evaluation/3_a.jpg",
            "evaluation/3_1",
            "Rice/.DS_Store",
            "Eggs/1.jpg",
            "1.jpg",
            "Rice/",
        ] {
            assert_eq!(class_of_path(path, &labels), None, "{path}");
        }
    }

    #[test]
    fn report_counts_confusion_and_failures() {
        let labels = vec!["A".to_string(), "B".to_string()];
        let mut tally = Tally::new(&labels, None);
        let food = |predicted| Answer {
            predicted,
            not_food: false,
        };
        tally.add(0, food(0)).unwrap();
        tally.add(0, food(1)).unwrap();
        tally.add(1, food(1)).unwrap();
        tally.add_failure("B/3.jpg", "corrupt");
        let report = tally.report();
        assert_eq!(report.images, 3);
        assert_eq!(report.confusion, vec![vec![1, 1], vec![0, 1]]);
        assert!((report.accuracy - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(report.per_class["A"], 0.5);
        assert_eq!(report.failed, vec!["B/3.jpg: corrupt".to_string()]);
        assert_eq!((report.not_food, report.not_food_by_class), (0, vec![0, 0]));
    }

    #[test]
    fn flagged_photos_keep_their_top_class_but_count_as_wrong() {
        let labels = vec!["A".to_string(), "B".to_string()];
        let mut tally = Tally::new(&labels, Some(0.5));
        let answer = |predicted, not_food| Answer { predicted, not_food };
        for (truth, a) in [
            (0, answer(0, true)),
            (0, answer(0, false)),
            (1, answer(0, true)),
            (1, answer(1, false)),
        ] {
            tally.add(truth, a).unwrap();
        }
        let report = tally.report();
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

    #[test]
    fn class_indices_outside_the_labels_are_refused_not_counted() {
        let labels = vec!["A".to_string(), "B".to_string()];
        let mut tally = Tally::new(&labels, None);
        let error = tally
            .add(
                2,
                Answer {
                    predicted: 0,
                    not_food: false,
                },
            )
            .unwrap_err();
        assert!(error.contains("out of range"), "{error}");
        assert!(tally
            .add(
                0,
                Answer {
                    predicted: 7,
                    not_food: false
                }
            )
            .is_err());
        assert_eq!(tally.report().images, 0);
    }

    #[test]
    fn an_empty_tally_reports_zero_not_nan() {
        let report = Tally::new(&food11(), Some(0.5)).report();
        assert_eq!((report.images, report.accuracy), (0, 0.0));
        assert!(report.per_class.is_empty());
    }
}
