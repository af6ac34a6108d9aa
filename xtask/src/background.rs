//! Long jobs that mostly wait (a package download), started early and collected later, so the
//! wait overlaps with the compiles. Not for compiles themselves: on a 2-core machine two cargo
//! builds side by side took longer than one after the other (the site's relaxed and threaded wasm
//! builds: 12.3 min together, 10.9 min in turn).

use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Child, Command};

use crate::shell::{describe, root};

/// A command running in the background, its output kept in `target/logs/NAME.log` and printed
/// when it is collected. Dropped without being collected (an earlier stage failed), it is stopped.
pub struct Background {
    name: &'static str,
    log: PathBuf,
    child: Option<Child>,
}

impl Background {
    /// Starts `command` (run it under `nice` to keep the work in front of it first).
    pub fn start(name: &'static str, mut command: Command) -> Result<Self, String> {
        let log = root().join("target/logs").join(format!("{name}.log"));
        let folder = log.parent().expect("the log has a folder");
        fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        let out = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;
        eprintln!(
            "$ {} &  (in the background: {})",
            describe(&command),
            log.display()
        );
        let child = command
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        Ok(Self {
            name,
            log,
            child: Some(child),
        })
    }

    /// Waits for the job to end, prints its output, and fails unless it exited 0.
    pub fn finish(mut self) -> Result<(), String> {
        let mut child = self.child.take().expect("collected once");
        let status = child
            .wait()
            .map_err(|e| format!("cannot wait for {}: {e}", self.name))?;
        eprintln!("--- {} (ran in the background) ---", self.name);
        eprint!("{}", fs::read_to_string(&self.log).unwrap_or_default());
        eprintln!("--- end of {} ---", self.name);
        if status.success() {
            Ok(())
        } else {
            Err(format!("{} failed ({status})", self.name))
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::cmd;

    #[test]
    fn a_job_reports_its_exit_and_keeps_its_output() {
        let ok = Background::start("background-test-ok", cmd("sh", &["-c", "echo made it"])).unwrap();
        let log = ok.log.clone();
        assert_eq!(ok.finish(), Ok(()));
        assert_eq!(fs::read_to_string(&log).unwrap(), "made it\n");
        let failing = Background::start("background-test-fail", cmd("sh", &["-c", "exit 3"])).unwrap();
        let error = failing.finish().unwrap_err();
        assert!(error.starts_with("background-test-fail failed"), "{error}");
        fs::remove_file(log).unwrap();
        fs::remove_file(root().join("target/logs/background-test-fail.log")).unwrap();
    }

    #[test]
    fn a_job_dropped_uncollected_is_stopped() {
        let job = Background::start("background-test-drop", cmd("sleep", &["600"])).unwrap();
        let pid = job.child.as_ref().unwrap().id();
        drop(job);
        assert!(
            !PathBuf::from(format!("/proc/{pid}")).exists(),
            "sleep {pid} still runs"
        );
        fs::remove_file(root().join("target/logs/background-test-drop.log")).unwrap();
    }
}
