//! `cargo xtask audit`: builds the server and the site, then runs `benches/audit.mjs` (Lighthouse's
//! mobile and desktop presets and Chromium's installability check against `serve`), which records
//! the scores in `benches/results/audit.json`.

use crate::setup;
use crate::shell::{cmd, run};
use crate::web;

pub fn run_all() -> Result<(), String> {
    setup::web_tools()?;
    setup::chromium()?;
    setup::npm_packages()?;
    run(&mut cmd(
        "cargo",
        &["build", "--release", "--bin", "food-classifier"],
    ))?;
    web::build()?;
    run(&mut cmd("node", &["benches/audit.mjs"]))
}
