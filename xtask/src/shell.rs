//! Running commands from the repository root, with their failures turned into messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The workspace root (the folder holding `xtask/Cargo.toml`), found when the command runs: one
/// build cache serves every checkout on a machine, so this binary may have been compiled in another
/// checkout than the one it is run in, and a path fixed at compile time would point there.
pub fn root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let here = std::env::current_dir().unwrap_or_default();
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
        find_root(manifest_dir.as_deref(), &here)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
    })
    .clone()
}

/// The workspace above `manifest_dir` (what `cargo run` sets for xtask) or else above `here`.
fn find_root(manifest_dir: Option<&Path>, here: &Path) -> Option<PathBuf> {
    manifest_dir
        .and_then(Path::parent)
        .into_iter()
        .chain(here.ancestors())
        .find(|dir| dir.join("xtask/Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

/// A command that runs in the workspace root.
pub fn cmd(program: &str, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    command.args(args).current_dir(root());
    command
}

/// Runs `command`, echoing it first, and fails unless it exits 0.
pub fn run(command: &mut Command) -> Result<(), String> {
    eprintln!("$ {}", describe(command));
    let status = command
        .status()
        .map_err(|e| format!("cannot start {}: {e}", describe(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(command)))
    }
}

/// Runs `command` and returns its standard output, or `None` if it cannot run or fails.
pub fn output(command: &mut Command) -> Option<String> {
    let out = command.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn describe(command: &Command) -> String {
    let mut words = vec![command.get_program().to_string_lossy().into_owned()];
    words.extend(command.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two checkouts side by side, as a developer's and a CI clone's are.
    fn two_checkouts() -> (PathBuf, PathBuf, PathBuf) {
        let base = std::env::temp_dir().join(format!("xtask-root-{}", std::process::id()));
        let (mine, other) = (base.join("main"), base.join("ci-check"));
        for checkout in [&mine, &other] {
            std::fs::create_dir_all(checkout.join("xtask")).unwrap();
            std::fs::create_dir_all(checkout.join("src/deep")).unwrap();
            std::fs::write(checkout.join("xtask/Cargo.toml"), "").unwrap();
        }
        (base, mine, other)
    }

    #[test]
    fn the_root_is_the_checkout_the_command_runs_in() {
        let (base, mine, other) = two_checkouts();
        let from_cargo = find_root(Some(&mine.join("xtask")), &other.join("src"));
        assert_eq!(from_cargo, Some(mine.clone()));
        // Started by path, not by cargo: the working folder decides, from any depth inside it.
        assert_eq!(find_root(None, &other.join("src/deep")), Some(other.clone()));
        // A manifest folder that is not a workspace's xtask does not count.
        assert_eq!(find_root(Some(&base), &other), Some(other.clone()));
        assert_eq!(find_root(None, &base), None);
        std::fs::remove_dir_all(base).unwrap();
    }
}
