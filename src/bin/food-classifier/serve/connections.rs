//! The accept loop: HTTP/1 connections served by hyper with a deadline for each request's
//! headers (a client that opens a connection and sends nothing, or half its headers, is cut off),
//! and a graceful stop that lets requests in flight finish.

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// How long requests in flight get to finish once a stop is asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `stop` resolves, then drains the open connections.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    stop: impl Future<Output = ()>,
) {
    let (stopping, stop_seen) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        while connections.try_join_next().is_some() {}
        match accepted {
            Ok((stream, _)) => {
                let app = app.clone();
                let stop_seen = stop_seen.clone();
                connections.spawn(connection(stream, app, header_timeout, stop_seen));
            }
            // Out of file descriptors or a connection reset before it was accepted: wait a
            // moment rather than spin, and go on.
            Err(error) => {
                eprintln!("accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let _ = stopping.send(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        eprintln!(
            "{} connection(s) still open after {} s; closing them",
            connections.len(),
            DRAIN_TIMEOUT.as_secs()
        );
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    app: Router,
    header_timeout: Duration,
    mut stop_seen: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let app = app.clone();
        async move { app.oneshot(request.map(Body::new)).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stop_seen.changed() => connection.as_mut().graceful_shutdown(),
    }
    let _ = connection.await;
}
