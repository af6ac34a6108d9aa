//! The server under test: the real binary on a free loopback port, in empty folders, and the
//! raw HTTP/1.1 the tests speak to it.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::model_files::write_model;

pub const RICE: &[u8] = include_bytes!("../fixtures/golden/rice.jpg");
pub const SOUP: &[u8] = include_bytes!("../fixtures/golden/soup.jpg");
pub const NOT_AN_IMAGE: &[u8] = include_bytes!("../fixtures/bad/not-an-image.txt");
pub const BOUNDARY: &str = "food-classifier-test-boundary";

/// An empty folder under the system temp dir, removed afterwards.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
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

    pub fn entries(&self) -> Vec<String> {
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
pub struct Server {
    pub child: Child,
    _stdout: BufReader<ChildStdout>,
    pub addr: String,
    pub site: TempDir,
    pub cwd: TempDir,
    pub tmp: TempDir,
}

impl Server {
    pub fn start(extra: &[&str]) -> Self {
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

    pub fn get(&self, path: &str) -> Reply {
        self.send(&format!("GET {path} HTTP/1.1\r\n"), &[], b"")
    }

    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Reply {
        self.send(
            &format!("POST {path} HTTP/1.1\r\n"),
            &[("Content-Type", content_type)],
            body,
        )
    }

    pub fn post_file(&self, path: &str, file_name: &str, photo: &[u8]) -> Reply {
        self.post(
            path,
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            &form(file_name, photo),
        )
    }

    pub fn send(&self, request_line: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
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
        // A server that answers before reading the body may reset the connection after its
        // answer; what arrived before the reset is the answer.
        if let Err(error) = stream.read_to_end(&mut raw) {
            assert!(
                error.kind() == std::io::ErrorKind::ConnectionReset && !raw.is_empty(),
                "{error} after {} bytes",
                raw.len()
            );
        }
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
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn parse(raw: &[u8]) -> Self {
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

    pub fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}:");
        self.head
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(str::trim)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
}

pub fn form(file_name: &str, photo: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(photo);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub fn assert_nothing_written(server: &Server) {
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
pub fn model_dir(label: &str, onnx: &[u8], metadata: &str) -> (TempDir, String) {
    let dir = TempDir::new(label);
    let path = write_model(&dir.0, onnx, metadata);
    (dir, path)
}

/// Checks the lab app's exact answer for a food photo: `Rice (0.93), Inference Time : 0.0123 seconds`.
pub fn assert_lab_answer(text: &str, label: &str) {
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
