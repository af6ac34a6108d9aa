//! Admission: a classification request is let in or refused on its headers alone, before a byte
//! of its body is read, so a burst of large, slow or numerous uploads cannot fill the server's
//! memory; once in, its body and its whole answer each have a deadline.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::capacity::{Capacity, MAX_UPLOAD_BYTES};
use super::failure::{ErrorStyle, Failure};
use super::AppState;

/// How long a request may take, from its headers on.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// For the whole body to arrive (a client trickling bytes holds memory and a seat).
    pub body: Duration,
    /// For the answer, waiting for a worker included.
    pub request: Duration,
}

pub struct Gate {
    /// Requests being read, waiting for a worker or being classified.
    seated: AtomicUsize,
    seats: usize,
    /// Upload bytes held at once, one permit per byte.
    upload_bytes: Arc<Semaphore>,
    deadlines: Deadlines,
}

/// A request's place; given back however the request ends, a dropped connection included.
struct Seat<'a>(&'a AtomicUsize);

impl Drop for Seat<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gate {
    pub fn new(capacity: &Capacity, deadlines: Deadlines) -> Self {
        let permits = capacity
            .upload_budget
            .clamp(MAX_UPLOAD_BYTES, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        Self {
            seated: AtomicUsize::new(0),
            seats: capacity.workers + capacity.queue,
            upload_bytes: Arc::new(Semaphore::new(permits)),
            deadlines,
        }
    }

    fn seat(&self) -> Result<Seat<'_>, Failure> {
        if self.seated.fetch_add(1, Ordering::AcqRel) >= self.seats {
            self.seated.fetch_sub(1, Ordering::AcqRel);
            return Err(Failure::busy());
        }
        Ok(Seat(&self.seated))
    }

    /// Reserves room for a body of `bytes`, or refuses at once: a full budget is not waited on.
    fn reserve(&self, bytes: usize) -> Result<Option<OwnedSemaphorePermit>, Failure> {
        if bytes == 0 {
            return Ok(None);
        }
        let bytes = u32::try_from(bytes).map_err(|_| too_large())?;
        Arc::clone(&self.upload_bytes)
            .try_acquire_many_owned(bytes)
            .map(Some)
            .map_err(|_| Failure::busy())
    }

    async fn pass(&self, request: Request, next: Next) -> Result<Response, Failure> {
        let declared = declared_body(&request)?;
        let _seat = self.seat()?;
        let _reserved = self.reserve(declared)?;
        let (parts, body) = request.into_parts();
        let body = tokio::time::timeout(
            self.deadlines.body,
            Limited::new(body, MAX_UPLOAD_BYTES).collect(),
        )
        .await
        .map_err(|_| {
            Failure::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the upload did not arrive within {} s",
                    self.deadlines.body.as_secs()
                ),
            )
        })?
        .map_err(|error| {
            if error.downcast_ref::<LengthLimitError>().is_some() {
                too_large()
            } else {
                Failure::new(StatusCode::BAD_REQUEST, format!("the upload broke off: {error}"))
            }
        })?
        .to_bytes();
        let request = Request::from_parts(parts, Body::from(body));
        tokio::time::timeout(self.deadlines.request, next.run(request))
            .await
            .map_err(|_| {
                Failure::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "no answer within {} s; the server is overloaded",
                        self.deadlines.request.as_secs()
                    ),
                )
            })
    }
}

/// Bytes the body will take: its `Content-Length`, or the upload limit when it comes chunked.
fn declared_body(request: &Request) -> Result<usize, Failure> {
    let headers = request.headers();
    if let Some(length) = headers.get(header::CONTENT_LENGTH) {
        let length = length
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| Failure::new(StatusCode::BAD_REQUEST, "Content-Length is not a number"))?;
        return usize::try_from(length)
            .ok()
            .filter(|&n| n <= MAX_UPLOAD_BYTES)
            .ok_or_else(too_large);
    }
    Ok(if headers.contains_key(header::TRANSFER_ENCODING) {
        MAX_UPLOAD_BYTES
    } else {
        0
    })
}

fn too_large() -> Failure {
    Failure::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the upload is larger than {} MiB",
            MAX_UPLOAD_BYTES / (1024 * 1024)
        ),
    )
}

/// The middleware on every classification route; what it refuses is counted in the stats.
pub async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let style = ErrorStyle::for_path(request.uri().path());
    let started = Instant::now();
    match state.gate.pass(request, next).await {
        Ok(response) => response,
        Err(failure) => {
            state.stats.record(failure.outcome(), started.elapsed());
            failure.respond(style)
        }
    }
}
