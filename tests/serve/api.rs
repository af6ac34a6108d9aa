//! What a client sees: the page, the lab's answers, JSON, not-food, bad uploads, load shedding
//! and a clean stop.

use std::io::Read;
use std::process::Command;
use std::thread;

use crate::common::{flagging_metadata, metadata, two_output_onnx, SHIPPED_ONNX};
use crate::harness::*;

#[test]
fn serves_the_page_with_browser_ready_types() {
    let server = Server::start(&[]);
    let page = server.get("/");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert!(page.text().contains("<title>food</title>"));

    let wasm = server.get("/pkg/engine.wasm");
    // Cross-origin isolated, so the page may run the threaded engine; its workers' scripts too.
    for response in [&page, &wasm] {
        assert_eq!(response.header("cross-origin-opener-policy"), Some("same-origin"));
        assert_eq!(
            response.header("cross-origin-embedder-policy"),
            Some("require-corp")
        );
    }
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.header("cache-control"), None);
    // The site build's versioned URL names one content: kept for a year, and the same bytes.
    let versioned = server.get("/pkg/engine.wasm?v=0123456789abcdef");
    assert_eq!(versioned.status, 200);
    assert_eq!(
        versioned.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(versioned.body, wasm.body);
    assert_eq!(server.get("/?v=1").header("cache-control"), Some("no-cache"));

    assert_eq!(server.get("/missing.js").status, 404);
    assert_eq!(server.get("/../../etc/passwd").status, 404);
    // The page itself is same-origin only; CORS is for the API.
    let page_cors = server.send("GET / HTTP/1.1\r\n", &[("Origin", "http://example.test")], b"");
    assert_eq!(page_cors.header("access-control-allow-origin"), None);
}

#[test]
fn sends_the_precompressed_copy_the_browser_accepts() {
    let server = Server::start(&[]);
    let wasm = std::fs::read(server.site.0.join("pkg/engine.wasm")).unwrap();
    let (br, gz) = (b"brotli bytes".to_vec(), b"gzip bytes".to_vec());
    std::fs::write(server.site.0.join("pkg/engine.wasm.br"), &br).unwrap();
    std::fs::write(server.site.0.join("pkg/engine.wasm.gz"), &gz).unwrap();
    let get = |accept: &str| {
        server.send(
            "GET /pkg/engine.wasm HTTP/1.1\r\n",
            &[("Accept-Encoding", accept)],
            b"",
        )
    };
    for (accept, encoding, body) in [
        ("gzip, deflate, br, zstd", Some("br"), &br),
        ("gzip, deflate", Some("gzip"), &gz),
        ("br;q=0, gzip", Some("gzip"), &gz),
        ("identity", None, &wasm),
    ] {
        let reply = get(accept);
        assert_eq!(reply.status, 200, "{accept}");
        assert_eq!(reply.header("content-encoding"), encoding, "{accept}");
        assert_eq!(reply.header("content-type"), Some("application/wasm"), "{accept}");
        assert_eq!(reply.header("vary"), Some("accept-encoding"), "{accept}");
        assert_eq!(&reply.body, body, "{accept}");
    }
    // A file without copies is sent as it is, with no Vary.
    let index = server.send("GET / HTTP/1.1\r\n", &[("Accept-Encoding", "gzip, br")], b"");
    assert_eq!(index.header("content-encoding"), None);
    assert_eq!(index.header("vary"), None);
    // The file edited after the build: its older copies are stale and never sent.
    std::fs::write(server.site.0.join("pkg/engine.wasm"), b"\0asm\x01\0\0\0 edited").unwrap();
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for copy in ["pkg/engine.wasm.br", "pkg/engine.wasm.gz"] {
        let file = std::fs::File::options()
            .write(true)
            .open(server.site.0.join(copy))
            .unwrap();
        file.set_modified(an_hour_ago).unwrap();
    }
    let edited = get("gzip, deflate, br");
    assert_eq!(edited.header("content-encoding"), None);
    assert_eq!(edited.body, b"\0asm\x01\0\0\0 edited");
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
    let (_model, path) = model_dir("two-output", &two_output_onnx(), &flagging_metadata());
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
    // Asked to stop the moment it says it listens: the signal must not be lost to start-up.
    let mut server = Server::start(&[]);
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
