//! What a handful of hostile requests can do to the server: nothing. Half-sent headers, bodies
//! announced too large or trickled, bad query strings, hidden files, and decompression bombs and
//! large uploads in parallel against a stated memory limit.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::harness::*;

/// Sends `bytes` on a fresh connection and reads until the server closes it; what came back and
/// how long the server kept the connection open. Gives up after `patience`.
fn send_and_wait_for_close(server: &Server, bytes: &[u8], patience: Duration) -> (Vec<u8>, Duration) {
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream.set_read_timeout(Some(patience)).unwrap();
    let started = Instant::now();
    stream.write_all(bytes).unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "the connection was still open after {:?} ({e}); received {:?}",
                started.elapsed(),
                String::from_utf8_lossy(&received)
            ),
        }
    }
    (received, started.elapsed())
}

#[test]
fn idle_and_half_sent_connections_are_closed() {
    let server = Server::start(&["--header-timeout", "1"]);
    let patience = Duration::from_secs(15);
    let (nothing, _) = send_and_wait_for_close(&server, b"", patience);
    assert!(nothing.is_empty());
    let half = format!(
        "POST /predict HTTP/1.1\r\nHost: {}\r\nContent-Type: multi",
        server.addr
    );
    let (answer, _) = send_and_wait_for_close(&server, half.as_bytes(), patience);
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"),
        "{answer:?}"
    );
    // A kept-alive connection that goes quiet after its first answer is closed too.
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    let (answer, _) = send_and_wait_for_close(&server, request.as_bytes(), patience);
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn an_announced_oversized_upload_is_refused_before_its_body() {
    let server = Server::start(&[]);
    for (path, json) in [("/predict", false), ("/api/classify", true)] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
            server.addr,
            17 * 1024 * 1024
        );
        // Not one byte of the body is sent: the answer must come on the headers alone.
        let (raw, _) = send_and_wait_for_close(&server, head.as_bytes(), Duration::from_secs(15));
        let reply = Reply::parse(&raw);
        assert_eq!(reply.status, 413, "{path}: {}", reply.text());
        assert!(reply.text().contains("larger than 16 MiB"), "{}", reply.text());
        if json {
            assert!(reply.json()["error"].is_string());
        }
    }
}

#[test]
fn a_trickled_upload_gets_408_and_its_place_back() {
    let server = Server::start(&["--body-timeout", "1", "--workers", "1", "--queue", "0"]);
    let head = format!(
        "POST /api/classify HTTP/1.1\r\nHost: {}\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n",
        server.addr
    );
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&RICE[..1000]);
    let (raw, _) = send_and_wait_for_close(&server, &bytes, Duration::from_secs(15));
    let reply = Reply::parse(&raw);
    assert_eq!(reply.status, 408, "{}", reply.text());
    assert!(reply.json()["error"]
        .as_str()
        .unwrap()
        .contains("did not arrive within 1 s"));
    // The only seat is free again.
    let rice = server.post_file("/predict", "rice.jpg", RICE);
    assert_eq!(rice.status, 200, "{}", rice.text());
}

#[test]
fn the_json_api_answers_bad_queries_in_json() {
    let server = Server::start(&[]);
    let reply = server.post_file("/api/classify?top=abc", "rice.jpg", RICE);
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["error"].as_str().unwrap().contains("top must be"),
        "{}",
        reply.text()
    );
}

#[test]
fn hidden_files_in_the_site_folder_are_not_served() {
    let server = Server::start(&[]);
    fs::write(server.site.0.join(".env"), "SECRET=1").unwrap();
    fs::create_dir_all(server.site.0.join(".git")).unwrap();
    fs::write(server.site.0.join(".git/config"), "[core]").unwrap();
    for path in ["/.env", "/.git/config", "/pkg/../.env"] {
        let reply = server.get(path);
        assert_eq!(reply.status, 404, "{path}");
        assert!(!reply.text().contains("SECRET") && !reply.text().contains("[core]"));
    }
    assert_eq!(server.get("/pkg/engine.wasm").status, 200);
}

/// The most memory the process has held since it started, from Linux's `/proc`.
#[cfg(target_os = "linux")]
fn peak_resident_mib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kib / 1024
}

#[cfg(target_os = "linux")]
#[test]
fn bombs_and_big_uploads_at_once_stay_under_the_stated_memory() {
    use std::thread;

    /// Tiny files that declare huge images (from tests/fixtures/corpus, where their origin is given).
    const GIF_SCREEN_BOMB: &[u8] = include_bytes!("../fixtures/corpus/gif-35-bytes-7071x7071-screen.gif");
    const PNG_16_BIT_7000: &[u8] = include_bytes!("../fixtures/corpus/png-7000x7000-rgba16-zeros.png");
    const PNG_ICCP_BOMB: &[u8] = include_bytes!("../fixtures/corpus/png-224-iccp-bomb.png");
    const LIMIT_MIB: u64 = 448;
    let server = Server::start(&["--max-memory", &LIMIT_MIB.to_string(), "--workers", "2"]);
    assert_eq!(server.get("/test").status, 200);
    let idle = peak_resident_mib(server.child.id());
    let junk = vec![0x5Au8; 15 * 1024 * 1024];
    let bombs = [GIF_SCREEN_BOMB, PNG_16_BIT_7000, PNG_ICCP_BOMB];
    let server = &server;
    let statuses: Vec<u16> = thread::scope(|scope| {
        let mut handles = Vec::new();
        for i in 0..20 {
            let bomb = bombs[i % bombs.len()];
            handles.push(scope.spawn(move || server.post("/api/classify", "image/png", bomb).status));
        }
        for _ in 0..40 {
            let junk = &junk;
            handles.push(scope.spawn(move || server.post("/api/classify", "image/jpeg", junk).status));
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Each is refused (415/422) or turned away while the server is full (503); none crashes it.
    assert!(
        statuses.iter().all(|s| [200, 415, 422, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&503), "nothing was turned away: {statuses:?}");
    assert_eq!(server.get("/healthz").status, 200);
    let peak = peak_resident_mib(server.child.id());
    eprintln!("serve --max-memory {LIMIT_MIB}: {idle} MiB idle, {peak} MiB at peak");
    assert!(
        peak < LIMIT_MIB,
        "peak {peak} MiB over the stated {LIMIT_MIB} MiB"
    );
}
