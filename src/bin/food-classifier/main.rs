//! `food-classifier`: the native command line over the same core the browser runs. Native only:
//! in a wasm32 build of the package (`wasm-pack test` makes one) this binary is empty.
#![cfg_attr(target_arch = "wasm32", no_main)]
#![cfg(not(target_arch = "wasm32"))]

mod bench;
mod classify;
mod eval;
mod model;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The static (musl) build's allocator; glibc's is kept elsewhere (see Cargo.toml).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "food-classifier",
    version,
    about = "Classify food photos into the 11 Food-11 classes"
)]
struct Cli {
    /// ONNX model to use instead of the built-in one (its model.json must sit beside it).
    #[arg(long, global = true, value_name = "FILE")]
    model: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Classify one or more photos.
    Classify(classify::Args),
    /// Measure accuracy on a folder with one subfolder per class.
    Eval(eval::Args),
    /// Time warm inference (median and p90).
    Bench(bench::Args),
    /// Serve the web page and the classification API over HTTP.
    Serve(serve::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let classifier = match model::load(cli.model.as_deref()) {
        Ok(classifier) => classifier,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cli.command {
        Command::Classify(args) => classify::run(&classifier, args),
        Command::Eval(args) => eval::run(&classifier, args),
        Command::Bench(args) => bench::run(&classifier, args),
        Command::Serve(args) => serve::run(&classifier, args),
    };
    match outcome {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
