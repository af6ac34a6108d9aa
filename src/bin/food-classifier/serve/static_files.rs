//! The built web page, served from a folder with the MIME types browsers insist on.

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio_util::io::ReaderStream;

use super::AppState;

/// `GET` for everything the API routes do not claim: a file under the site folder.
pub async fn serve_file(State(state): State<AppState>, uri: Uri) -> Response {
    let Some(path) = resolve(&state.site_dir, uri.path()) else {
        return not_found();
    };
    let path = if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_dir()) {
        path.join("index.html")
    } else {
        path
    };
    // Streamed, so many downloads of the model at once hold a buffer each, not the whole file.
    let Ok(file) = tokio::fs::File::open(&path).await else {
        return not_found();
    };
    let Some(length) = file
        .metadata()
        .await
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
    else {
        return not_found();
    };
    let mut response = Body::from_stream(ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&path)),
    );
    if must_revalidate(&path) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// Maps a URL path onto the site folder; `None` for anything that would step outside it, and for
/// hidden files (`.git`, `.env`, editor swap files), which a site folder may hold but never serves.
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let relative = Path::new(url_path.trim_start_matches('/'));
    let mut path = root.to_path_buf();
    for component in relative.components() {
        match component {
            Component::Normal(part) => {
                let name = part.to_string_lossy();
                if name.contains('\\') || name.starts_with('.') {
                    return None;
                }
                path.push(part);
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(path)
}

/// The page shell and the service worker must be checked on every load, or updates never arrive.
fn must_revalidate(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("index.html" | "sw.js" | "manifest.webmanifest")
    )
}

fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_site() {
        let root = Path::new("/site");
        assert_eq!(
            resolve(root, "/js/app.js"),
            Some(PathBuf::from("/site/js/app.js"))
        );
        assert_eq!(resolve(root, "/"), Some(PathBuf::from("/site")));
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/js/../../etc/passwd"), None);
        assert_eq!(resolve(root, "/..\\secret"), None);
        assert_eq!(resolve(root, "/.git/config"), None);
        assert_eq!(resolve(root, "/js/.app.js.swp"), None);
    }

    #[test]
    fn browsers_get_the_types_they_require() {
        assert_eq!(content_type(Path::new("pkg/core_bg.wasm")), "application/wasm");
        assert_eq!(
            content_type(Path::new("js/app.mjs")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("manifest.webmanifest")),
            "application/manifest+json"
        );
        assert!(must_revalidate(Path::new("dist/sw.js")));
        assert!(!must_revalidate(Path::new("dist/js/app.js")));
    }
}
