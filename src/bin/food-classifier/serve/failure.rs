//! A request that failed: its status and the plain message the client reads, as text for the
//! lab's clients or as `{"error": ...}` for the JSON API.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::stats::Outcome;

pub struct Failure {
    status: StatusCode,
    message: String,
}

/// How a route answers errors: the lab's endpoints in plain text, everything under `/api/` in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ErrorStyle {
    Text,
    Json,
}

impl ErrorStyle {
    pub fn for_path(path: &str) -> Self {
        if path.starts_with("/api/") {
            Self::Json
        } else {
            Self::Text
        }
    }
}

impl Failure {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// Every worker is busy and the waiting line is full, or the upload budget is spent.
    pub fn busy() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is busy classifying other photos; please retry in a moment",
        )
    }

    pub fn outcome(&self) -> Outcome {
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            Outcome::Busy
        } else {
            Outcome::Error
        }
    }

    pub fn respond(self, style: ErrorStyle) -> Response {
        let status = self.status;
        let mut response = match style {
            ErrorStyle::Text => (status, format!("{}\n", self.message)).into_response(),
            ErrorStyle::Json => (status, Json(serde_json::json!({ "error": self.message }))).into_response(),
        };
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_answers_errors_in_json() {
        assert_eq!(ErrorStyle::for_path("/api/classify"), ErrorStyle::Json);
        assert_eq!(ErrorStyle::for_path("/predict"), ErrorStyle::Text);
        assert_eq!(ErrorStyle::for_path("/apix"), ErrorStyle::Text);
    }
}
