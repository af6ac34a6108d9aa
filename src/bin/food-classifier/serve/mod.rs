//! `serve`: the web page and the lab-compatible classification API on one local HTTP server.

mod pool;
mod routes;
mod static_files;
mod stats;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, Method};
use axum::routing::{get, post};
use axum::Router;
use food_classifier::Classifier;
use tower_http::cors::{Any, CorsLayer};

use pool::InferencePool;
use stats::Stats;

/// Uploads larger than this are refused with 413 (phone photos are well under it).
const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

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
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    site_dir: Arc<PathBuf>,
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
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let state = AppState {
        site_dir: Arc::new(args.dir),
        pool: Arc::new(InferencePool::new(classifier, workers, args.queue)),
        stats: Arc::new(Stats::new()),
    };
    // Pages from other origins (a URL the person typed into their page) may call the API.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE]);
    let api = Router::new()
        .route("/predict", post(routes::predict))
        .route("/api/classify", post(routes::classify))
        .route("/api/stats", get(routes::stats))
        .layer(cors);
    let app = Router::new()
        .merge(api)
        .route("/test", get(routes::test_photo))
        .route("/healthz", get(routes::healthz))
        .fallback(get(static_files::serve_file))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .with_state(state);

    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.addr, args.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", args.addr, args.port))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{local}");
    eprintln!("{workers} inference worker(s), up to {} waiting", args.queue);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    eprintln!("shut down cleanly");
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C or SIGTERM (what Kubernetes sends), letting requests in flight finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
