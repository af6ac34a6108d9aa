//! Wall-clock time of each stage of a long command, printed as one table at the end, so a stage
//! that grows slow shows up in every CI log instead of hiding in thousands of lines of output.

use std::time::{Duration, Instant};

/// The stages run so far, in order, with their times and whether they passed.
#[derive(Default)]
pub struct Stages {
    done: Vec<(&'static str, Duration, bool)>,
}

impl Stages {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `stage` under `name` and records how long it took, whether it passed or failed.
    pub fn run(
        &mut self,
        name: &'static str,
        stage: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), String> {
        eprintln!("==> {name}");
        let start = Instant::now();
        let outcome = stage();
        self.done.push((name, start.elapsed(), outcome.is_ok()));
        outcome
    }

    /// A plain-text table: one row per stage run (the failed one marked), then the total.
    pub fn table(&self) -> String {
        let width = self
            .done
            .iter()
            .map(|(name, ..)| name.len())
            .max()
            .unwrap_or(0)
            .max(5);
        let mut out = format!("{:<width$}  {:>7}\n", "stage", "minutes");
        for (name, time, passed) in &self.done {
            let mark = if *passed { "" } else { "  FAILED" };
            out += &format!("{name:<width$}  {:>7.1}{mark}\n", minutes(*time));
        }
        let total: Duration = self.done.iter().map(|(_, time, _)| *time).sum();
        out += &format!("{:<width$}  {:>7.1}\n", "total", minutes(total));
        out
    }
}

fn minutes(time: Duration) -> f64 {
    time.as_secs_f64() / 60.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lists_each_stage_marks_the_failure_and_sums_the_total() {
        let mut stages = Stages::new();
        assert!(stages.run("fmt", || Ok(())).is_ok());
        assert_eq!(
            stages.run("clippy native", || Err("lint".into())),
            Err("lint".to_string())
        );
        let table = stages.table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[0].starts_with("stage") && lines[0].ends_with("minutes"));
        assert!(
            lines[1].starts_with("fmt ") && lines[1].ends_with("0.0"),
            "{table}"
        );
        assert!(lines[2].starts_with("clippy native") && lines[2].ends_with("0.0  FAILED"));
        assert!(lines[3].starts_with("total") && lines[3].ends_with("0.0"));
    }
}
