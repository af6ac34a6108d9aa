//! `cargo xtask audit`: builds the server and the site, then runs `benches/audit.mjs` (Lighthouse's
//! mobile and desktop presets and Chromium's installability check against `serve`), which records
//! the scores in `benches/results/audit.json`.

use crate::shell::{cmd, run};
use crate::web;

pub fn run_all() -> Result<(), String> {
    web::build_server_and_site()?;
    run(&mut cmd("node", &["benches/audit.mjs"]))
}
