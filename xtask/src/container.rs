//! `cargo xtask container`: builds the server image from nothing pulled (a static musl binary and
//! the built site on `FROM scratch`) with podman, runs it as Kubernetes would (non-root, read-only
//! root filesystem, no capabilities, a memory limit), and tests it from outside: readiness, bad
//! input, a short load test, and a clean exit on SIGTERM. Prints the image size and the figures.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use crate::setup;
use crate::shell::{cmd, output, root, run};

const TARGET: &str = "x86_64-unknown-linux-musl";
const IMAGE: &str = "localhost/food-classifier:latest";
/// The image-size goal, reported (not enforced) with what the image holds.
const IMAGE_GOAL_MB: f64 = 30.0;
/// What the pod is given in `k8s/deployment.yaml`, applied to the container here too.
const MEMORY_LIMIT: &str = "512m";
/// The load test: clients posting the sample photo back to back, for this long.
const LOAD_CLIENTS: usize = 8;
const LOAD_SECONDS: u64 = 10;

pub fn run_all() -> Result<(), String> {
    setup::web_tools()?;
    setup::container_tools()?;
    let context = build_context()?;
    let conf = podman_conf()?;
    podman(&conf, &["build", "--quiet", "-t", IMAGE, "-f"])
        .arg(root().join("Dockerfile"))
        .arg(&context)
        .status()
        .map_err(|e| format!("podman build: {e}"))?
        .success()
        .then_some(())
        .ok_or("podman build failed")?;
    let size = output(&mut podman(
        &conf,
        &["image", "inspect", "--format", "{{.Size}}", IMAGE],
    ))
    .and_then(|s| s.trim().parse::<f64>().ok())
    .ok_or("cannot read the image size")?
        / 1e6;
    let binary_mb = file_mb(&context.join("food-classifier"));
    eprintln!(
        "image {IMAGE}: {size:.1} MB (server {binary_mb:.1} MB, site {:.1} MB); goal under {IMAGE_GOAL_MB} MB: {}",
        size - binary_mb,
        if size <= IMAGE_GOAL_MB { "met" } else { "missed" }
    );
    let container = Container::start(&conf)?;
    let outcome = container.check(&context);
    let stopped = container.stop();
    outcome.and(stopped)
}

fn file_mb(path: &Path) -> f64 {
    fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1e6)
}

/// `target/container/`: the static binary (without the built-in model: the site has it) and the
/// built site as `www/`.
fn build_context() -> Result<PathBuf, String> {
    let installed = output(&mut cmd("rustup", &["target", "list", "--installed"])).unwrap_or_default();
    if !installed.lines().any(|l| l.trim() == TARGET) {
        run(&mut cmd("rustup", &["target", "add", TARGET]))?;
    }
    run(cmd(
        "cargo",
        &[
            "build",
            "--release",
            "--locked",
            "--target",
            TARGET,
            "--bin",
            "food-classifier",
            "--no-default-features",
            "--features",
            "cli",
        ],
    )
    .env("CARGO_PROFILE_RELEASE_STRIP", "symbols"))?;
    crate::web::build()?;
    let context = root().join("target/container");
    if context.exists() {
        fs::remove_dir_all(&context).map_err(|e| format!("{}: {e}", context.display()))?;
    }
    fs::create_dir_all(&context).map_err(|e| e.to_string())?;
    let binary = root().join("target").join(TARGET).join("release/food-classifier");
    fs::copy(&binary, context.join("food-classifier")).map_err(|e| format!("{}: {e}", binary.display()))?;
    crate::web::copy_dir(&root().join("dist"), &context.join("www"))?;
    Ok(context)
}

/// The settings podman needs on these machines: rlimits cannot be set, so none are asked for.
fn podman_conf() -> Result<PathBuf, String> {
    let conf = root().join("target/container-podman.conf");
    fs::write(&conf, "[containers]\ndefault_ulimits = []\n").map_err(|e| e.to_string())?;
    Ok(conf)
}

fn podman(conf: &Path, args: &[&str]) -> Command {
    let mut command = cmd("podman", &["--runtime", "runc", "--cgroup-manager", "cgroupfs"]);
    command.args(args).env("CONTAINERS_CONF", conf);
    command
}

struct Container {
    name: String,
    conf: PathBuf,
    addr: String,
}

impl Container {
    /// Runs the image as `k8s/deployment.yaml` does and waits for its readiness probe.
    fn start(conf: &Path) -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let name = format!("food-classifier-check-{}", std::process::id());
        let publish = format!("127.0.0.1:{port}:8080");
        run(&mut podman(
            conf,
            &[
                "run",
                "--detach",
                "--name",
                &name,
                "--read-only",
                "--user",
                "65532:65532",
                "--cap-drop",
                "ALL",
                "--security-opt",
                "no-new-privileges",
                "--memory",
                MEMORY_LIMIT,
                "--publish",
                &publish,
                IMAGE,
            ],
        ))?;
        let container = Self {
            name,
            conf: conf.to_path_buf(),
            addr: format!("127.0.0.1:{port}"),
        };
        let started = Instant::now();
        loop {
            match request(&container.addr, "GET", "/test", "", &[]) {
                Ok((200, body)) => {
                    eprintln!(
                        "ready after {:.1} s: {}",
                        started.elapsed().as_secs_f64(),
                        body.trim()
                    );
                    return Ok(container);
                }
                _ if started.elapsed() < Duration::from_secs(60) => thread::sleep(Duration::from_millis(250)),
                other => {
                    let logs = container.logs();
                    let _ = container.stop();
                    return Err(format!("not ready after 60 s ({other:?}); logs:\n{logs}"));
                }
            }
        }
    }

    fn check(&self, context: &Path) -> Result<(), String> {
        self.compressed_site()?;
        self.bad_input()?;
        let outside = load_test_outside(context)?;
        let inside = load_test(&self.addr, "container")?;
        eprintln!("container / outside, answers per second: {:.2}", inside / outside);
        let format = "user {{.Config.User}}, read-only root {{.HostConfig.ReadonlyRootfs}}, \
                      capabilities dropped {{.HostConfig.CapDrop}}, memory limit {{.HostConfig.Memory}}";
        let settings = output(&mut podman(
            &self.conf,
            &["inspect", "--format", format, &self.name],
        ));
        eprintln!("ran with {}", settings.unwrap_or_default().trim());
        Ok(())
    }

    /// The wasm comes as its brotli copy to a browser that accepts it, as gzip to one that does not.
    fn compressed_site(&self) -> Result<(), String> {
        for (accept, encoding) in [("gzip, deflate, br", "br"), ("gzip, deflate", "gzip")] {
            let (status, head, _) = exchange(
                &self.addr,
                "GET",
                "/pkg/food_classifier_bg.wasm",
                &[("Accept-Encoding", accept)],
                &[],
            )?;
            if status != 200 || !head.contains(&format!("content-encoding: {encoding}")) {
                return Err(format!(
                    "Accept-Encoding {accept:?}: {status}, no {encoding} copy:\n{head}"
                ));
            }
        }
        eprintln!("site: the wasm is sent as brotli or gzip, whichever the browser accepts");
        Ok(())
    }

    /// Every corpus and bad-input fixture gets an answer (never a 5xx) and the server stays up.
    fn bad_input(&self) -> Result<(), String> {
        let mut files = Vec::new();
        for dir in ["tests/fixtures/corpus", "tests/fixtures/bad"] {
            for entry in fs::read_dir(root().join(dir)).map_err(|e| format!("{dir}: {e}"))? {
                let path = entry.map_err(|e| e.to_string())?.path();
                if path.extension().is_some_and(|e| e != "md" && e != "py") {
                    files.push(path);
                }
            }
        }
        files.sort();
        let mut answers = Vec::new();
        for path in &files {
            let body = fs::read(path).map_err(|e| e.to_string())?;
            let (status, text) = request(
                &self.addr,
                "POST",
                "/api/classify",
                "application/octet-stream",
                &body,
            )?;
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if status >= 500 {
                return Err(format!("{name}: {status} {text}"));
            }
            answers.push(format!("{status} {name}"));
        }
        let (status, _) = request(&self.addr, "GET", "/healthz", "", &[])?;
        if status != 200 {
            return Err(format!("/healthz answered {status} after the bad input"));
        }
        eprintln!(
            "bad input: {} files, no 5xx, still healthy\n  {}",
            files.len(),
            answers.join("\n  ")
        );
        Ok(())
    }

    /// What the server printed, stdout and stderr.
    fn logs(&self) -> String {
        podman(&self.conf, &["logs", &self.name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
            .unwrap_or_default()
    }

    /// SIGTERM, as Kubernetes stops a pod: the server must drain and exit 0 on its own.
    fn stop(&self) -> Result<(), String> {
        let stopped = run(&mut podman(&self.conf, &["stop", "--time", "20", &self.name]));
        let code = output(&mut podman(
            &self.conf,
            &["inspect", "--format", "{{.State.ExitCode}}", &self.name],
        ));
        let logs = self.logs();
        let _ = run(&mut podman(&self.conf, &["rm", "--force", &self.name]));
        stopped?;
        match code.as_deref().map(str::trim) {
            Some("0") if logs.contains("shut down cleanly") => {
                eprintln!("stopped by SIGTERM: exit 0, shut down cleanly");
                Ok(())
            }
            other => Err(format!("after SIGTERM: exit code {other:?}; logs:\n{logs}")),
        }
    }
}

/// Clients posting the sample photo to `/predict` back to back: throughput and latency.
fn load_test(addr: &str, label: &str) -> Result<f64, String> {
    let photo = fs::read(root().join("www/samples/rice.jpg")).map_err(|e| e.to_string())?;
    let (form_type, form) = multipart(&photo);
    let latencies = Mutex::new(Vec::new());
    let failures = Mutex::new(Vec::new());
    let busy = AtomicBool::new(false);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(LOAD_SECONDS);
    thread::scope(|scope| {
        for _ in 0..LOAD_CLIENTS {
            scope.spawn(|| {
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    match request(addr, "POST", "/predict", &form_type, &form) {
                        Ok((200, _)) => latencies.lock().unwrap().push(sent.elapsed()),
                        Ok((503, _)) => busy.store(true, Ordering::Relaxed),
                        other => failures.lock().unwrap().push(format!("{other:?}")),
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let failures = failures.into_inner().unwrap();
    if !failures.is_empty() {
        return Err(format!(
            "load test: {} failed requests, first {}",
            failures.len(),
            failures[0]
        ));
    }
    let mut latencies = latencies.into_inner().unwrap();
    latencies.sort();
    let percentile = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    eprintln!(
        "load test, {label}: {LOAD_CLIENTS} clients for {LOAD_SECONDS} s: {} answers, {:.1}/s, p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms{}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        percentile(0.5),
        percentile(0.9),
        percentile(0.99),
        if busy.load(Ordering::Relaxed) { ", some 503 (queue full)" } else { "" }
    );
    if latencies.is_empty() {
        return Err("load test: no request succeeded".into());
    }
    Ok(latencies.len() as f64 / elapsed)
}

/// The image's own binary and site run on the host, to tell the container's cost from the binary's.
fn load_test_outside(context: &Path) -> Result<f64, String> {
    let mut server = Command::new(context.join("food-classifier"))
        .arg("--model")
        .arg(context.join("www/models/food11-mobilenetv2.onnx"))
        .args(["serve", "--port", "0", "--max-memory", "448", "--dir"])
        .arg(context.join("www"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the static binary: {e}"))?;
    let mut line = String::new();
    let stdout = server.stdout.take().ok_or("no stdout")?;
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
        .map_err(|e| e.to_string())?;
    let outcome = match line.trim().strip_prefix("listening on http://") {
        Some(addr) => {
            request(addr, "GET", "/test", "", &[]).and_then(|_| load_test(addr, "same binary outside"))
        }
        None => Err(format!("the static binary printed {line:?}")),
    };
    let _ = server.kill();
    let _ = server.wait();
    outcome
}

fn multipart(photo: &[u8]) -> (String, Vec<u8>) {
    let boundary = "food-classifier-container-check";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rice.jpg\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(photo);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// One HTTP/1.1 request on its own connection: the status and the body as text.
fn request(
    addr: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> Result<(u16, String), String> {
    let headers: &[(&str, &str)] = if content_type.is_empty() {
        &[]
    } else {
        &[("Content-Type", content_type)]
    };
    exchange(addr, method, path, headers, body).map(|(status, _, body)| (status, body))
}

/// One HTTP/1.1 request with `headers`: the status, the head (lower-cased) and the body as text.
fn exchange(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, String, String), String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    if let Err(error) = stream.read_to_end(&mut raw) {
        if raw.is_empty() {
            return Err(error.to_string());
        }
    }
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP answer: {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    Ok((status, head.to_ascii_lowercase(), body.to_string()))
}
