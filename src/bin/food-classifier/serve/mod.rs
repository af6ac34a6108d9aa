//! `serve`: the web page and the lab-compatible classification API on one local HTTP server.

mod admission;
mod capacity;
mod connections;
mod failure;
mod pool;
mod routes;
mod static_files;
mod stats;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, Method};
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use food_classifier::Classifier;
use tower_http::cors::{Any, CorsLayer};

use admission::{Deadlines, Gate};
use capacity::{Capacity, MAX_UPLOAD_BYTES};
use pool::InferencePool;
use stats::Stats;

#[derive(clap::Args)]
pub struct Args {
    /// Folder with the built web page (`cargo xtask demo` builds it into `dist`).
    #[arg(long, value_name = "DIR", default_value = "dist")]
    dir: PathBuf,
    /// Address to listen on; the default keeps the server private to this machine.
    #[arg(long, default_value = "127.0.0.1")]
    addr: IpAddr,
    /// Port to listen on; 0 picks a free one (the URL is printed on stdout).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Photos classified at once (default: one per CPU core).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Requests that may wait for a worker; beyond that the server answers 503 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = 64)]
    queue: usize,
    /// Memory the server may use, in MiB: workers and the upload bytes held at once are cut to
    /// fit it (set it a little under a container's limit). Default: no cap, one worker per core
    /// and up to 64 MiB of uploads held.
    #[arg(long, value_name = "MIB")]
    max_memory: Option<u64>,
    /// Seconds a client has to send a request's headers; a connection idle or half-sent that
    /// long is closed.
    #[arg(long, value_name = "S", default_value_t = 10)]
    header_timeout: u64,
    /// Seconds an upload has to arrive in full (answered 408 after).
    #[arg(long, value_name = "S", default_value_t = 30)]
    body_timeout: u64,
    /// Seconds for a classification answer, the wait for a worker included (answered 503 after).
    #[arg(long, value_name = "S", default_value_t = 60)]
    request_timeout: u64,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    site_dir: Arc<PathBuf>,
    gate: Arc<Gate>,
    pool: Arc<InferencePool>,
    stats: Arc<Stats>,
}

pub fn run(classifier: &Classifier, args: Args) -> Result<ExitCode, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(serve(classifier.clone(), args))
}

async fn serve(classifier: Classifier, args: Args) -> Result<ExitCode, String> {
    if !args.dir.is_dir() {
        eprintln!(
            "warning: {} is not a folder; the page will answer 404 (build it with `cargo xtask demo`)",
            args.dir.display()
        );
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let capacity = Capacity::plan(cores, args.workers, args.queue, args.max_memory)?;
    let deadlines = Deadlines {
        body: Duration::from_secs(args.body_timeout),
        request: Duration::from_secs(args.request_timeout),
    };
    let state = AppState {
        site_dir: Arc::new(args.dir),
        gate: Arc::new(Gate::new(&capacity, deadlines)),
        pool: Arc::new(InferencePool::new(classifier, capacity.workers)),
        stats: Arc::new(Stats::new()),
    };
    // Pages from other origins (a URL the person typed into their page) may call the API.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE]);
    // Everything that classifies passes the admission gate before its body is read.
    let classifying = Router::new()
        .route("/predict", post(routes::predict))
        .route("/api/classify", post(routes::classify))
        .route("/test", get(routes::test_photo))
        .route_layer(middleware::from_fn_with_state(state.clone(), admission::admit));
    let api = Router::new()
        .merge(classifying)
        .route("/api/stats", get(routes::stats))
        .layer(cors);
    let app = Router::new()
        .merge(api)
        .route("/healthz", get(routes::healthz))
        .fallback(get(static_files::serve_file))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .with_state(state);

    let stop = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.addr, args.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", args.addr, args.port))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{local}");
    eprintln!(
        "{} inference worker(s), up to {} waiting, up to {} MiB of uploads held; worst case {} MiB",
        capacity.workers,
        capacity.queue,
        capacity.upload_budget / (1024 * 1024),
        capacity.worst_case_mib()
    );
    connections::serve(listener, app, Duration::from_secs(args.header_timeout), stop).await;
    eprintln!("shut down cleanly");
    Ok(ExitCode::SUCCESS)
}

/// Starts listening for Ctrl-C and SIGTERM (what Kubernetes sends) now, before the port opens, so
/// a stop asked for right after start-up is not lost; the future resolves on the first of them.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let listen = |kind| signal(kind).map_err(|e| format!("cannot listen for signals: {e}"));
        let mut terminate = listen(SignalKind::terminate())?;
        let mut interrupt = listen(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => {},
                _ = interrupt.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
