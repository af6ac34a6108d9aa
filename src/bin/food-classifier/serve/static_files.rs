//! The built web page, served from a folder with the MIME types browsers insist on, and with the
//! brotli or gzip copies the site build made when the browser accepts them.

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio_util::io::ReaderStream;

use super::AppState;

/// Precompressed copies the site build writes beside a file, best first, with the
/// `Content-Encoding` each is sent with.
const ENCODED_COPIES: [(&str, &str); 2] = [("br", "br"), ("gz", "gzip")];

/// `GET` for everything the API routes do not claim: a file under the site folder, as its
/// brotli or gzip copy when the browser accepts one and the build made it.
pub async fn serve_file(State(state): State<AppState>, uri: Uri, request_headers: HeaderMap) -> Response {
    let Some(path) = resolve(&state.site_dir, uri.path()) else {
        return not_found();
    };
    let path = if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_dir()) {
        path.join("index.html")
    } else {
        path
    };
    let accept = request_headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(original) = open_file(&path).await else {
        return not_found();
    };
    let mut has_copies = false;
    for (suffix, encoding) in ENCODED_COPIES {
        let mut copy = path.clone().into_os_string();
        copy.push(format!(".{suffix}"));
        // A copy older than its file (the file was edited after the build) is never sent.
        let Some(copy) = open_file(Path::new(&copy))
            .await
            .filter(|copy| copy.modified >= original.modified)
        else {
            continue;
        };
        if accepts(accept, encoding) {
            return file_response(copy, &path, uri.query(), Some(encoding));
        }
        has_copies = true;
    }
    let mut response = file_response(original, &path, uri.query(), None);
    if has_copies {
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// How long a browser may keep a file: the page shell and the service worker are checked on
/// every load, or updates never arrive; a versioned URL (`?v=`, the site build's content version)
/// names one content for good, so it is kept for a year without asking; anything else is left to
/// the browser's own heuristics.
fn cache_control(path: &Path, query: Option<&str>) -> Option<&'static str> {
    if must_revalidate(path) {
        Some("no-cache")
    } else if query.is_some_and(|q| q.split('&').any(|pair| pair.starts_with("v="))) {
        Some("public, max-age=31536000, immutable")
    } else {
        None
    }
}

struct OpenFile {
    file: tokio::fs::File,
    length: u64,
    modified: Option<std::time::SystemTime>,
}

async fn open_file(path: &Path) -> Option<OpenFile> {
    let file = tokio::fs::File::open(path).await.ok()?;
    let metadata = file.metadata().await.ok().filter(|m| m.is_file())?;
    Some(OpenFile {
        file,
        length: metadata.len(),
        modified: metadata.modified().ok(),
    })
}

/// Streamed, so many downloads of the model at once hold a buffer each, not the whole file.
fn file_response(
    open: OpenFile,
    path: &Path,
    query: Option<&str>,
    encoding: Option<&'static str>,
) -> Response {
    let mut response = Body::from_stream(ReaderStream::new(open.file)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(open.length));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    if let Some(encoding) = encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if let Some(policy) = cache_control(path, query) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    // Cross-origin isolation, which the page's threaded engine needs (memory shared with its
    // workers): no window of another origin shares its process, and every subresource is ours or
    // fetched with CORS (the server comparison's API answers CORS). Workers' scripts carry it too.
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-embedder-policy"),
        HeaderValue::from_static("require-corp"),
    );
    response
}

/// Whether an `Accept-Encoding` value admits `encoding` (by name or `*`, with a q-value above 0).
fn accepts(accept_encoding: &str, encoding: &str) -> bool {
    let mut wildcard = false;
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let allowed = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .all(|q| q.trim().parse::<f32>().is_ok_and(|q| q > 0.0));
        if name.eq_ignore_ascii_case(encoding) {
            return allowed;
        }
        if name == "*" {
            wildcard = allowed;
        }
    }
    wildcard
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
    fn accept_encoding_is_read_as_browsers_and_curl_send_it() {
        let chromium = "gzip, deflate, br, zstd";
        assert!(accepts(chromium, "br") && accepts(chromium, "gzip"));
        assert!(!accepts("gzip, deflate", "br"));
        assert!(!accepts("br;q=0, gzip", "br"));
        assert!(accepts("BR;q=0.5", "br"));
        assert!(accepts("*", "gzip"));
        assert!(!accepts("*;q=0", "gzip"));
        assert!(!accepts("", "gzip"));
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
