//! The HTTP API: the lab app's `/predict` and `/test`, a JSON `/api/classify`, and `/api/stats`.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use food_classifier::{Classification, ClassifyError};
use serde::{Deserialize, Serialize};

use super::failure::{ErrorStyle, Failure};
use super::pool::PoolError;
use super::stats::Outcome;
use super::AppState;
use crate::model::SAMPLE_PHOTO;

/// How many classes `/api/classify` returns unless `?top=` says otherwise.
const DEFAULT_TOP: usize = 5;

impl From<PoolError> for Failure {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Classify(error) => Failure::new(classify_status(&error), error.to_string()),
            PoolError::Crashed(why) => Failure::new(StatusCode::INTERNAL_SERVER_ERROR, why),
        }
    }
}

/// 415 for what is not a usable image format, 422 for an image we cannot use, 500 for our faults.
fn classify_status(error: &ClassifyError) -> StatusCode {
    match error {
        ClassifyError::EmptyInput
        | ClassifyError::NotAnImage
        | ClassifyError::UnsupportedFormat(_)
        | ClassifyError::UnsupportedJpegVariant(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ClassifyError::CorruptImage(_)
        | ClassifyError::TooManyPixels { .. }
        | ClassifyError::PixelBufferSize { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        ClassifyError::BadModel(_)
        | ClassifyError::UnsupportedOperator { .. }
        | ClassifyError::BadMetadata(_)
        | ClassifyError::Inference(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The lab app's answer: `Rice (0.93), Inference Time : 0.0123 seconds`. A photo the model
/// judged not food gets the same shape with its not-food score, `Not food (0.97), ...`, so the
/// lab's clients still parse it and never see a food class asserted for it.
fn lab_answer(classification: &Classification) -> String {
    let (label, score) = match classification.not_food_score {
        Some(score) if classification.not_food => ("Not food", score),
        _ => {
            let top = classification.top();
            (top.label.as_str(), top.probability)
        }
    };
    format!(
        "{label} ({score:.2}), Inference Time : {:.4} seconds",
        classification.timings.inference_ms / 1000.0
    )
}

/// Runs one classification request and counts it in the stats, however it ends.
async fn timed<T>(
    state: &AppState,
    work: impl std::future::Future<Output = Result<T, Failure>>,
) -> (Result<T, Failure>, f64) {
    let started = Instant::now();
    let result = work.await;
    let elapsed = started.elapsed();
    let outcome = result.as_ref().map_or_else(Failure::outcome, |_| Outcome::Ok);
    state.stats.record(outcome, elapsed);
    (result, elapsed.as_secs_f64() * 1000.0)
}

/// The bytes of the form field `file`, read into memory (never onto disk).
async fn file_field(multipart: Result<Multipart, MultipartRejection>) -> Result<Bytes, Failure> {
    let mut multipart = multipart.map_err(|e| Failure::new(e.status(), e.body_text()))?;
    let bad_form = |e: axum::extract::multipart::MultipartError| Failure::new(e.status(), e.body_text());
    while let Some(field) = multipart.next_field().await.map_err(bad_form)? {
        if field.name() == Some("file") {
            return field.bytes().await.map_err(bad_form);
        }
    }
    Err(Failure::new(
        StatusCode::BAD_REQUEST,
        "send the photo in the multipart form field 'file'",
    ))
}

/// `POST /predict`: the lab app's endpoint, same form field and same text answer.
pub async fn predict(
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let work = async {
        let photo = file_field(multipart).await?;
        Ok(state.pool.classify(photo, 1).await?)
    };
    match timed(&state, work).await {
        (Ok(classification), _) => lab_answer(&classification).into_response(),
        (Err(failure), _) => failure.respond(ErrorStyle::Text),
    }
}

/// `GET /test`: classifies the bundled photo; the lab's readiness probe.
pub async fn test_photo(State(state): State<AppState>) -> Response {
    let work = async { Ok(state.pool.classify(Bytes::from_static(SAMPLE_PHOTO), 1).await?) };
    match timed(&state, work).await {
        (Ok(classification), _) => lab_answer(&classification).into_response(),
        (Err(failure), _) => failure.respond(ErrorStyle::Text),
    }
}

#[derive(Deserialize)]
pub struct TopQuery {
    top: Option<usize>,
}

#[derive(Serialize)]
struct ApiAnswer<'a> {
    model: &'a str,
    #[serde(flatten)]
    classification: Classification,
    /// Time in the server for this request: reading the upload, waiting for a worker, classifying.
    server_ms: f64,
}

/// `POST /api/classify[?top=K]`: the photo as multipart field `file` or as the raw body; JSON answer.
pub async fn classify(
    State(state): State<AppState>,
    query: Result<Query<TopQuery>, QueryRejection>,
    request: Request,
) -> Response {
    let Ok(Query(query)) = query else {
        let failure = Failure::new(
            StatusCode::BAD_REQUEST,
            "top must be a whole number of classes, for example ?top=3",
        );
        state.stats.record(failure.outcome(), Duration::ZERO);
        return failure.respond(ErrorStyle::Json);
    };
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let top = query.top.unwrap_or(DEFAULT_TOP);
    let work = async {
        let photo = if is_form {
            file_field(Multipart::from_request(request, &state).await).await?
        } else {
            Bytes::from_request(request, &state)
                .await
                .map_err(|e| Failure::new(e.status(), e.body_text()))?
        };
        Ok(state.pool.classify(photo, top).await?)
    };
    match timed(&state, work).await {
        (Ok(classification), server_ms) => Json(ApiAnswer {
            model: state.pool.model_name(),
            classification,
            server_ms,
        })
        .into_response(),
        (Err(failure), _) => failure.respond(ErrorStyle::Json),
    }
}

/// `GET /api/stats`: counters and latency percentiles since start.
pub async fn stats(State(state): State<AppState>) -> Response {
    Json(state.stats.snapshot()).into_response()
}

/// `GET /healthz`: the process is up (liveness; `/test` is the readiness probe).
pub async fn healthz() -> &'static str {
    "ok\n"
}

#[cfg(test)]
mod tests {
    use food_classifier::{Prediction, Timings};

    use super::*;

    fn rice(not_food_score: Option<f32>, not_food: bool) -> Classification {
        Classification {
            predictions: vec![Prediction {
                index: 7,
                label: "Rice".into(),
                probability: 0.9312,
            }],
            not_food,
            not_food_score,
            timings: Timings {
                decode_ms: 3.0,
                preprocess_ms: 1.0,
                inference_ms: 12.34,
            },
            width: 640,
            height: 480,
        }
    }

    #[test]
    fn answers_in_the_lab_format() {
        let food = "Rice (0.93), Inference Time : 0.0123 seconds";
        assert_eq!(lab_answer(&rice(None, false)), food);
        assert_eq!(lab_answer(&rice(Some(0.2), false)), food);
        assert_eq!(
            lab_answer(&rice(Some(0.968), true)),
            "Not food (0.97), Inference Time : 0.0123 seconds"
        );
    }

    #[test]
    fn bad_photos_are_client_errors() {
        assert_eq!(
            classify_status(&ClassifyError::NotAnImage),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            classify_status(&ClassifyError::CorruptImage("eof".into())),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            classify_status(&ClassifyError::Inference("x".into())),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
