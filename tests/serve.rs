//! `food-classifier serve` end to end: the real binary on loopback, spoken to over plain TCP.

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::{metadata, two_output_onnx, SHIPPED_ONNX, TEST_HEAD};

const RICE: &[u8] = include_bytes!("fixtures/golden/rice.jpg");
const SOUP: &[u8] = include_bytes!("fixtures/golden/soup.jpg");
const NOT_AN_IMAGE: &[u8] = include_bytes!("fixtures/bad/not-an-image.txt");
const BOUNDARY: &str = "food-classifier-test-boundary";

/// An empty folder under the system temp dir, removed afterwards.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "food-classifier-serve-{}-{n}-{label}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A running server whose working directory and TMPDIR are empty folders we can inspect.
struct Server {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    addr: String,
    site: TempDir,
    cwd: TempDir,
    tmp: TempDir,
}

impl Server {
    fn start(extra: &[&str]) -> Self {
        let site = TempDir::new("site");
        fs::write(site.0.join("index.html"), "<!doctype html><title>food</title>").unwrap();
        fs::create_dir_all(site.0.join("pkg")).unwrap();
        fs::write(site.0.join("pkg/engine.wasm"), b"\0asm\x01\0\0\0").unwrap();
        let (cwd, tmp) = (TempDir::new("cwd"), TempDir::new("tmp"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_food-classifier"))
            .args(["serve", "--port", "0", "--dir"])
            .arg(&site.0)
            .args(extra)
            .current_dir(&cwd.0)
            .env("TMPDIR", &tmp.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start food-classifier serve");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        Self {
            child,
            _stdout: stdout,
            addr,
            site,
            cwd,
            tmp,
        }
    }

    fn get(&self, path: &str) -> Reply {
        self.send(&format!("GET {path} HTTP/1.1\r\n"), &[], b"")
    }

    fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Reply {
        self.send(
            &format!("POST {path} HTTP/1.1\r\n"),
            &[("Content-Type", content_type)],
            body,
        )
    }

    fn post_file(&self, path: &str, file_name: &str, photo: &[u8]) -> Reply {
        self.post(
            path,
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            &form(file_name, photo),
        )
    }

    fn send(&self, request_line: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let mut head = format!(
            "{request_line}Host: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        // The server may answer (413) and stop reading before the whole body is sent.
        let _ = stream.write_all(body);
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        Reply::parse(&raw)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The parts of an HTTP/1.1 response the tests look at.
struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn parse(raw: &[u8]) -> Self {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        Self {
            status,
            head,
            body: raw[split + 4..].to_vec(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}:");
        self.head
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(str::trim)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
}

fn form(file_name: &str, photo: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(photo);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn assert_nothing_written(server: &Server) {
    assert_eq!(
        server.cwd.entries(),
        Vec::<String>::new(),
        "files appeared in the working dir"
    );
    assert_eq!(
        server.tmp.entries(),
        Vec::<String>::new(),
        "files appeared in TMPDIR"
    );
    assert_eq!(
        server.site.entries(),
        ["index.html", "pkg"],
        "the site folder changed"
    );
}

/// `onnx` with `metadata` beside it, for `serve --model`.
fn model_dir(label: &str, onnx: &[u8], metadata: &str) -> (TempDir, String) {
    let dir = TempDir::new(label);
    fs::write(dir.0.join("model.onnx"), onnx).unwrap();
    fs::write(dir.0.join("model.json"), metadata).unwrap();
    let path = dir.0.join("model.onnx").to_string_lossy().into_owned();
    (dir, path)
}

/// Checks the lab app's exact answer for a food photo: `Rice (0.93), Inference Time : 0.0123 seconds`.
fn assert_lab_answer(text: &str, label: &str) {
    let parts = text
        .strip_prefix(&format!("{label} ("))
        .and_then(|rest| rest.split_once("), Inference Time : "))
        .and_then(|(probability, rest)| Some((probability, rest.strip_suffix(" seconds")?)));
    let (probability, seconds) =
        parts.unwrap_or_else(|| panic!("{text:?} is not `{label} (0.93), Inference Time : 0.0123 seconds`"));
    let decimal = |s: &str, places: usize| {
        s.split_once('.').is_some_and(|(whole, fraction)| {
            !whole.is_empty()
                && fraction.len() == places
                && whole.chars().chain(fraction.chars()).all(|c| c.is_ascii_digit())
        })
    };
    assert!(
        probability.len() == 4 && decimal(probability, 2) && decimal(seconds, 4),
        "{text:?}"
    );
}

#[test]
fn serves_the_page_with_browser_ready_types() {
    let server = Server::start(&[]);
    let page = server.get("/");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert!(page.text().contains("<title>food</title>"));

    let wasm = server.get("/pkg/engine.wasm");
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.header("cache-control"), None);

    assert_eq!(server.get("/missing.js").status, 404);
    assert_eq!(server.get("/../../etc/passwd").status, 404);
    // The page itself is same-origin only; CORS is for the API.
    let page_cors = server.send("GET / HTTP/1.1\r\n", &[("Origin", "http://example.test")], b"");
    assert_eq!(page_cors.header("access-control-allow-origin"), None);
}

#[test]
fn answers_like_the_lab_app_and_as_json() {
    let server = Server::start(&[]);

    let lab = server.post_file("/predict", "rice.jpg", RICE);
    assert_eq!(lab.status, 200, "{}", lab.text());
    assert_lab_answer(&lab.text(), "Rice");

    let probe = server.get("/test");
    assert_eq!(probe.status, 200);
    assert!(probe.text().starts_with("Rice ("), "{}", probe.text());

    let api = server.post_file("/api/classify?top=3", "rice.jpg", RICE);
    assert_eq!(api.status, 200, "{}", api.text());
    let answer = api.json();
    assert_eq!(answer["model"], "food11-mobilenetv2");
    let predictions = answer["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), 3);
    assert_eq!(predictions[0]["label"], "Rice");
    assert!(
        predictions[0]["probability"].as_f64().unwrap() > predictions[1]["probability"].as_f64().unwrap()
    );
    assert!(answer["timings"]["inference_ms"].as_f64().unwrap() > 0.0);
    assert!(answer["server_ms"].as_f64().unwrap() > 0.0);
    assert!(answer["width"].as_u64().unwrap() > 0 && answer["height"].as_u64().unwrap() > 0);

    let raw = server.post("/api/classify", "image/jpeg", RICE);
    assert_eq!(raw.status, 200, "{}", raw.text());
    assert_eq!(raw.json()["predictions"].as_array().unwrap().len(), 5);
    assert_eq!(raw.json()["predictions"][0]["label"], "Rice");

    let preflight = server.send(
        "OPTIONS /api/classify HTTP/1.1\r\n",
        &[
            ("Origin", "http://example.test"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    );
    assert!(preflight.status < 300, "{}", preflight.status);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));

    let stats = server.get("/api/stats").json();
    assert_eq!(stats["requests"], 4);
    assert_eq!(stats["errors"], 0);
    assert!(stats["latency_ms"]["p99"].as_f64().unwrap() >= stats["latency_ms"]["p50"].as_f64().unwrap());
    assert_nothing_written(&server);
}

#[test]
fn a_not_food_photo_is_said_so_in_both_formats() {
    let (_model, path) = model_dir(
        "two-output",
        &two_output_onnx(),
        &metadata(Some((TEST_HEAD, 0.5))),
    );
    let server = Server::start(&["--model", &path]);

    // A food photo: the lab answer is exactly as with a model that has no head.
    let rice = server.post_file("/predict", "rice.jpg", RICE);
    assert_eq!(rice.status, 200, "{}", rice.text());
    assert_lab_answer(&rice.text(), "Rice");

    let soup = server.post_file("/api/classify?top=2", "soup.jpg", SOUP).json();
    assert_eq!(soup["not_food"], true, "{soup}");
    let score = soup["not_food_score"].as_f64().unwrap();
    assert!((0.5..=1.0).contains(&score), "{score}");
    assert_eq!(soup["predictions"].as_array().unwrap().len(), 2);
    assert_eq!(soup["predictions"][0]["label"], "Soup");

    // Same shape as the food answer, with the not-food score where the probability goes.
    let lab = server.post_file("/predict", "soup.jpg", SOUP).text();
    assert_lab_answer(&lab.replacen("Not food (", "Soup (", 1), "Soup");
    assert!(
        lab.starts_with(&format!("Not food ({score:.2}), Inference Time : ")),
        "{lab}"
    );

    let rice = server.post("/api/classify", "image/jpeg", RICE).json();
    assert_eq!(rice["not_food"], false);
    assert!(rice["not_food_score"].as_f64().unwrap() < 0.5);
    assert_nothing_written(&server);
}

#[test]
fn without_a_not_food_head_the_api_reports_no_score() {
    // Today's shipped model has one output; its model.json's section (if any) is left out here.
    let (_model, path) = model_dir("one-output", SHIPPED_ONNX, &metadata(None));
    let server = Server::start(&["--model", &path]);
    let answer = server.post_file("/api/classify", "soup.jpg", SOUP).json();
    assert_eq!(answer["not_food"], false, "{answer}");
    assert!(answer["not_food_score"].is_null(), "{answer}");
    assert_lab_answer(&server.post_file("/predict", "soup.jpg", SOUP).text(), "Soup");
}

#[test]
fn refuses_bad_uploads_with_clear_answers() {
    let server = Server::start(&[]);

    let text_file = server.post_file("/predict", "not-an-image.txt", NOT_AN_IMAGE);
    assert_eq!(text_file.status, 415);
    assert!(
        text_file.text().starts_with("this is not an image"),
        "{}",
        text_file.text()
    );

    let api = server.post("/api/classify", "text/plain", NOT_AN_IMAGE);
    assert_eq!(api.status, 415);
    assert!(api.json()["error"].as_str().unwrap().contains("not an image"));

    let no_field = server.post(
        "/predict",
        &format!("multipart/form-data; boundary={BOUNDARY}"),
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"\r\n\r\nx\r\n--{BOUNDARY}--\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(no_field.status, 400);
    assert!(no_field.text().contains("'file'"), "{}", no_field.text());

    let oversized = vec![0xAB; 16 * 1024 * 1024 + 1];
    assert_eq!(server.post("/api/classify", "image/jpeg", &oversized).status, 413);
    assert_eq!(server.post_file("/predict", "huge.jpg", &oversized).status, 413);

    // Still serving normally, and no upload went anywhere near the disk.
    assert!(server
        .post_file("/predict", "rice.jpg", RICE)
        .text()
        .starts_with("Rice ("));
    let stats = server.get("/api/stats").json();
    assert_eq!(
        (stats["requests"].as_u64(), stats["errors"].as_u64()),
        (Some(6), Some(5))
    );
    assert_nothing_written(&server);
}

#[test]
fn sheds_load_with_503_and_recovers() {
    let server = Server::start(&["--workers", "1", "--queue", "0"]);
    let mut busy = None;
    // One worker and no queue: of eight simultaneous uploads, all but one are refused unless
    // they happen to arrive one after another; a few rounds make that practically certain.
    for _ in 0..20 {
        let replies: Vec<Reply> = thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| server.post_file("/predict", "rice.jpg", RICE)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(replies.iter().all(|r| r.status == 200 || r.status == 503));
        if let Some(reply) = replies.into_iter().find(|r| r.status == 503) {
            busy = Some(reply);
            break;
        }
    }
    let busy = busy.expect("no request was refused with 503");
    assert_eq!(busy.header("retry-after"), Some("1"));
    assert!(busy.text().contains("busy"), "{}", busy.text());

    let after = server.post_file("/predict", "rice.jpg", RICE);
    assert_eq!(after.status, 200);
    assert!(after.text().starts_with("Rice ("));
    assert!(
        server.get("/api/stats").json()["busy_rejections"]
            .as_u64()
            .unwrap()
            >= 1
    );
}

#[test]
fn stops_cleanly_on_sigterm() {
    let mut server = Server::start(&[]);
    assert_eq!(server.get("/healthz").status, 200);
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let mut stderr = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("shut down cleanly"), "{stderr}");
}
