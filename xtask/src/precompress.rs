//! Brotli and gzip copies beside the site's text and wasm files, made once at build time, so
//! `serve` sends each browser the smallest file it accepts without compressing on every request.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Files worth compressing: code, text and the model (its int8 weights still shrink by a tenth:
/// 0.25 MB of a first visit; the page's download progress counts to the size the build records in
/// `js/asset-versions.js`, not to a compressed copy's length). Photos and icons are compressed
/// already.
const COMPRESSIBLE: &[&str] = &[
    "wasm",
    "onnx",
    "js",
    "mjs",
    "css",
    "html",
    "json",
    "webmanifest",
    "svg",
    "txt",
];

/// Writes `NAME.br` and `NAME.gz` for every compressible file under `dist` that they make smaller,
/// on one thread per core, the largest files first (brotli over one wasm build takes half a
/// minute, and there are three). Returns the bytes before and after brotli, for the build's
/// summary line.
pub fn site(dist: &Path) -> Result<(u64, u64), String> {
    let mut files = Vec::new();
    crate::web::list_files(dist, dist, &mut files)?;
    let mut files: Vec<(u64, String)> = files
        .into_iter()
        .filter(|file| {
            Path::new(file)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| COMPRESSIBLE.contains(&e))
        })
        .map(|file| (fs::metadata(dist.join(&file)).map_or(0, |m| m.len()), file))
        .collect();
    files.sort_unstable_by(|a, b| b.cmp(a));
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let worker = || -> Result<(u64, u64), String> {
        let (mut before, mut after) = (0, 0);
        while let Some((_, file)) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
            let (plain, brotli) = compress_file(dist, file)?;
            before += plain;
            after += brotli;
        }
        Ok((before, after))
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads).map(|_| scope.spawn(worker)).collect();
        workers.into_iter().try_fold((0, 0), |(before, after), handle| {
            let (plain, brotli) = handle.join().map_err(|_| "a compression thread panicked")??;
            Ok((before + plain, after + brotli))
        })
    })
}

/// Writes the brotli and gzip copies of one file beside it where they are smaller; returns its
/// size and the size a brotli-accepting browser is sent.
fn compress_file(dist: &Path, file: &str) -> Result<(u64, u64), String> {
    let path = dist.join(file);
    let bytes = fs::read(&path).map_err(|e| format!("{file}: {e}"))?;
    let key = format!(
        "{:016x}-{}",
        crate::web::fnv1a(crate::web::FNV_OFFSET, &bytes),
        bytes.len()
    );
    let br = cached(&key, "br", || brotli(&bytes))?;
    let gz = cached(&key, "gz", || gzip(&bytes))?;
    let sent = br.len().min(bytes.len()) as u64;
    for (encoded, suffix) in [(br, "br"), (gz, "gz")] {
        if encoded.len() < bytes.len() {
            let out = dist.join(format!("{file}.{suffix}"));
            fs::write(&out, encoded).map_err(|e| format!("{}: {e}", out.display()))?;
        }
    }
    Ok((bytes.len() as u64, sent))
}

/// Brotli at its best setting takes minutes over the wasm, so each result is kept under
/// `target/precompressed/`, keyed by the content it was made from.
fn cached(
    key: &str,
    suffix: &str,
    make: impl FnOnce() -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    let dir = crate::shell::root().join("target/precompressed");
    let path = dir.join(format!("{key}.{suffix}"));
    if let Ok(bytes) = fs::read(&path) {
        return Ok(bytes);
    }
    let bytes = make()?;
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Written aside and renamed into place, so a thread compressing another file with the same
    // content, or an interrupted build, never reads half a copy.
    let partial = dir.join(format!(
        "{key}.{suffix}.{:?}.partial",
        std::thread::current().id()
    ));
    fs::write(&partial, &bytes).map_err(|e| format!("{}: {e}", partial.display()))?;
    fs::rename(&partial, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bytes)
}

fn brotli(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 24,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).map_err(|e| format!("brotli: {e}"))?;
    Ok(out)
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).map_err(|e| format!("gzip: {e}"))?;
    encoder.finish().map_err(|e| format!("gzip: {e}"))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn both_copies_decode_to_the_original() {
        let text: Vec<u8> = (0..20_000)
            .flat_map(|i: u32| format!("line {}\n", i % 97).into_bytes())
            .collect();
        let mut unbrotli = Vec::new();
        brotli::BrotliDecompress(&mut &brotli(&text).unwrap()[..], &mut unbrotli).unwrap();
        assert_eq!(unbrotli, text);
        let mut ungzip = Vec::new();
        flate2::read::GzDecoder::new(&gzip(&text).unwrap()[..])
            .read_to_end(&mut ungzip)
            .unwrap();
        assert_eq!(ungzip, text);
    }
}
