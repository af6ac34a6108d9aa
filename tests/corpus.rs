//! Nasty inputs through the core's classify path (bytes -> decode -> preprocess -> inference),
//! each with its peak heap memory measured by a counting allocator and held to the budget: the
//! committed corpus (`tests/fixtures/corpus/README.md`), truncated and bit-flipped photos,
//! photo-sized and bomb-sized files made here, and photos mutated by proptest. Every input must
//! classify or be refused with the error its kind calls for, without a panic.
//!
//! The peak is counted per thread, from the call to its return, so tests running side by side do
//! not add up, and the classifier (its model loaded once, before any measurement) is not counted.
//! `PROPTEST_CASES` sets how many mutated photos the property test tries (64 by default).
#![cfg(not(target_arch = "wasm32"))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use food_classifier::budget::MEMORY_BUDGET;
use food_classifier::decode::{decode_image, DEFAULT_MAX_PIXELS};
use food_classifier::{Classification, Classifier, ClassifyError, SizeLimit};
use image::{DynamicImage, ImageFormat};
use proptest::prelude::*;

/// The system allocator, counting this thread's live heap bytes and their peak.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(bytes: isize) {
    // `try_with`: a thread being torn down still allocates after its locals are gone.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + bytes;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as the moment both blocks exist, which is what a moving realloc costs.
        count(new_size as isize);
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        count(-(if moved.is_null() { new_size } else { layout.size() } as isize));
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `work` and returns what it gave with the most heap bytes it held at once beyond what this
/// thread held before.
fn peak_of<T>(work: impl FnOnce() -> T) -> (T, u64) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let out = work();
    let peak = PEAK.with(Cell::get) - before;
    (out, peak.max(0) as u64)
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo("tests/fixtures").join(name)).unwrap()
}

fn classifier() -> &'static Classifier {
    static CLASSIFIER: OnceLock<Classifier> = OnceLock::new();
    CLASSIFIER.get_or_init(|| {
        let onnx = std::fs::read(repo("models/food11-mobilenetv2.onnx")).unwrap();
        let meta = std::fs::read_to_string(repo("models/model.json")).unwrap();
        Classifier::from_bytes(&onnx, &meta).unwrap()
    })
}

/// One input through the whole classify path, with its peak; panics if it went over budget.
fn classify(name: &str, bytes: &[u8]) -> Result<Classification, ClassifyError> {
    let classifier = classifier();
    let (result, peak) = peak_of(|| classifier.classify_image(bytes, 3));
    eprintln!(
        "{name}: peak {:.1} MB, {}",
        peak as f64 / 1e6,
        match &result {
            Ok(c) => format!("{} ({}x{})", c.top().label, c.width, c.height),
            Err(e) => e.to_string(),
        }
    );
    assert!(
        peak < MEMORY_BUDGET,
        "{name}: {peak} bytes at peak, over the budget of {MEMORY_BUDGET}"
    );
    if let Err(error) = &result {
        assert!(!error.to_string().is_empty(), "{name}: an empty message");
    }
    result
}

#[derive(Debug)]
enum Expect {
    /// Classifies, at this size (the size the photo is shown at, after EXIF orientation).
    Classifies(u32, u32),
    Corrupt(&'static str),
    UnsupportedVariant(&'static str),
    OverMemoryBudget,
    OverPixelLimit,
}

fn check(name: &str, bytes: &[u8], expect: Expect) {
    let result = classify(name, bytes);
    let as_expected = match (&result, &expect) {
        (Ok(c), Expect::Classifies(w, h)) => (c.width, c.height) == (*w, *h),
        (Err(ClassifyError::CorruptImage(why)), Expect::Corrupt(words)) => why.contains(words),
        (Err(ClassifyError::UnsupportedJpegVariant(what)), Expect::UnsupportedVariant(words)) => {
            what == words
        }
        (
            Err(ClassifyError::TooManyPixels {
                limit: SizeLimit::Memory { .. },
                ..
            }),
            Expect::OverMemoryBudget,
        ) => true,
        (
            Err(ClassifyError::TooManyPixels {
                limit: SizeLimit::Pixels(_),
                ..
            }),
            Expect::OverPixelLimit,
        ) => true,
        _ => false,
    };
    assert!(as_expected, "{name}: expected {expect:?}, got {result:?}");
}

#[test]
fn corpus_files_give_their_expected_outcome_within_the_budget() {
    let cases = [
        ("gif-35-bytes-7071x7071-screen.gif", Expect::OverMemoryBudget),
        ("png-7000x7000-rgba16-zeros.png", Expect::OverMemoryBudget),
        ("png-224-iccp-bomb.png", Expect::Classifies(224, 224)),
        ("png-adam7-rgb16.png", Expect::Classifies(61, 37)),
        ("gif-0x0-screen.gif", Expect::Corrupt("0x0")),
        ("jpeg-stray-ff-7997b6b2.jpg", Expect::Classifies(658, 97)),
        ("jpeg-stray-ff-5482a546.jpg", Expect::Classifies(100, 100)),
        (
            "jpeg-arithmetic-coded.jpg",
            Expect::UnsupportedVariant("arithmetic coding"),
        ),
        ("jpeg-bad-comment-length.jpg", Expect::Classifies(36, 28)),
        ("gif-unknown-extension-block.gif", Expect::Classifies(1, 1)),
        ("jpeg-progressive-rice.jpg", Expect::Classifies(224, 224)),
        ("jpeg-restarts-egg.jpg", Expect::Classifies(299, 224)),
        ("jpeg-progressive-grey-restarts.jpg", Expect::Classifies(224, 224)),
        ("jpeg-444-soup.jpg", Expect::Classifies(224, 224)),
        ("webp-lossy-rice.webp", Expect::Classifies(224, 224)),
        ("webp-lossy-6000x4000.webp", Expect::Classifies(6000, 4000)),
        ("webp-lossy-alpha-3000x2000.webp", Expect::Classifies(3000, 2000)),
    ];
    for (name, expect) in cases {
        check(name, &fixture(&format!("corpus/{name}")), expect);
    }
}

/// A tiny deterministic generator (xorshift64*), so every run mutates the same bytes.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Real photos in every format the engine decodes: golden JPEGs, the EXIF-rotated one, and one
/// photo re-encoded as grey JPEG, PNG (RGB and 16-bit RGBA), GIF and lossless WebP.
fn real_photos() -> Vec<(String, Vec<u8>)> {
    let mut photos: Vec<(String, Vec<u8>)> = [
        "golden/egg.jpg",
        "golden/noodles-pasta.jpg",
        "exif-rotated-bread.jpg",
    ]
    .into_iter()
    .map(|name| (name.to_string(), fixture(name)))
    .collect();
    let rice = image::load_from_memory(&fixture("golden/rice.jpg")).unwrap();
    let grey = DynamicImage::ImageLuma8(rice.to_luma8());
    let deep = DynamicImage::ImageRgba16(rice.to_rgba16());
    photos.push(("rice-grey.jpg".into(), encoded(&grey, ImageFormat::Jpeg)));
    photos.push(("rice.png".into(), encoded(&rice, ImageFormat::Png)));
    photos.push(("rice-rgba16.png".into(), encoded(&deep, ImageFormat::Png)));
    photos.push(("rice.gif".into(), encoded(&rice, ImageFormat::Gif)));
    photos.push(("rice.webp".into(), encoded(&rice, ImageFormat::WebP)));
    photos
}

#[test]
fn truncated_and_bit_flipped_photos_are_refused_or_classified_within_the_budget() {
    let mut random = Xorshift(0x5EED_F00D);
    for (name, photo) in real_photos() {
        check(&name, &photo, {
            // The bread photo is stored 224 x 299 and turned upright by its EXIF orientation.
            let (w, h) = match name.as_str() {
                "exif-rotated-bread.jpg" | "golden/egg.jpg" => (299, 224),
                _ => (224, 224),
            };
            Expect::Classifies(w, h)
        });
        // Cut anywhere, a photo must be refused: the decoders would otherwise fill the rest grey.
        let jpeg = name.ends_with(".jpg");
        let mut cuts = vec![
            0,
            1,
            2,
            7,
            20,
            100,
            photo.len() / 3,
            photo.len() / 2,
            photo.len() * 9 / 10,
        ];
        if jpeg {
            // Only the end marker is missing: the check for it is what refuses this.
            cuts.push(photo.len() - 2);
        }
        for len in cuts {
            let result = classify(&format!("{name} cut to {len} bytes"), &photo[..len]);
            let refused = match result {
                Err(ClassifyError::EmptyInput) => len == 0,
                Err(ClassifyError::NotAnImage) => len < 12,
                Err(ClassifyError::CorruptImage(_)) => true,
                _ => false,
            };
            assert!(refused, "{name} cut to {len} bytes: {result:?}");
        }
        // Flipped bits anywhere give a classification or an error, never a panic.
        for round in 0..24 {
            let mut flipped = photo.clone();
            for _ in 0..1 + round % 4 {
                let at = random.below(flipped.len());
                flipped[at] ^= 1 << random.below(8);
            }
            let _ = classify(&format!("{name} with flipped bits, round {round}"), &flipped);
        }
    }
}

/// A baseline 4:2:0 JPEG of a flat grey picture of any size, written directly: with one-symbol
/// Huffman codes every 8 × 8 block is two zero bits (no change of DC, end of block), so a 200 MP
/// phone-sized photo is about 1 MB, made in milliseconds. `orientation` adds an EXIF segment.
fn flat_jpeg(width: u16, height: u16, orientation: Option<u16>) -> Vec<u8> {
    let mut jpeg = vec![0xFF, 0xD8];
    let mut segment = |marker: u8, body: &[u8]| {
        jpeg.extend_from_slice(&[0xFF, marker]);
        jpeg.extend_from_slice(&(body.len() as u16 + 2).to_be_bytes());
        jpeg.extend_from_slice(body);
    };
    if let Some(orientation) = orientation {
        // Exif header, little-endian TIFF header, one IFD entry: Orientation (0x0112), SHORT.
        let mut exif = b"Exif\0\0II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
        exif.extend_from_slice(&orientation.to_le_bytes());
        exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        segment(0xE1, &exif);
    }
    let mut quantisation = vec![0];
    quantisation.extend_from_slice(&[1; 64]);
    segment(0xDB, &quantisation);
    let mut frame = vec![8];
    frame.extend_from_slice(&height.to_be_bytes());
    frame.extend_from_slice(&width.to_be_bytes());
    frame.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0]);
    segment(0xC0, &frame);
    // DC table 0 and AC table 0: symbol 0 coded "0", symbol 1 coded "10".
    for class in [0x00, 0x10] {
        let mut table = vec![class, 1, 1];
        table.extend_from_slice(&[0; 14]);
        table.extend_from_slice(&[0, 1]);
        segment(0xC4, &table);
    }
    segment(0xDA, &[3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]);
    let mcus = u64::from(width).div_ceil(16) * u64::from(height).div_ceil(16);
    let bits = mcus * 6 * 2;
    jpeg.resize(jpeg.len() + bits.div_ceil(8) as usize, 0);
    if bits % 8 != 0 {
        *jpeg.last_mut().unwrap() = 0xFF >> (bits % 8);
    }
    jpeg.extend_from_slice(&[0xFF, 0xD9]);
    jpeg
}

#[test]
fn phone_photos_up_to_200_mp_classify_within_the_budget() {
    let cases = [
        // Up to 40 MP at full size (24 MP when EXIF turns it a quarter: the turned copy would not
        // fit); beyond, at 1/8.
        ("12 MP", 4032, 3024, None, Expect::Classifies(4032, 3024)),
        (
            "12 MP turned by EXIF",
            4032,
            3024,
            Some(6),
            Expect::Classifies(3024, 4032),
        ),
        ("24 MP", 6000, 4000, None, Expect::Classifies(6000, 4000)),
        (
            "24 MP turned by EXIF",
            6000,
            4000,
            Some(6),
            Expect::Classifies(500, 750),
        ),
        ("40 MP", 7296, 5472, None, Expect::Classifies(7296, 5472)),
        ("48 MP", 8000, 6000, None, Expect::Classifies(1000, 750)),
        ("108 MP", 12_000, 9_000, None, Expect::Classifies(1500, 1125)),
        (
            "108 MP turned by EXIF",
            12_000,
            9_000,
            Some(8),
            Expect::Classifies(1125, 1500),
        ),
        ("200 MP", 16_320, 12_240, None, Expect::Classifies(2040, 1530)),
        ("65535 x 65535", 65_535, 65_535, None, Expect::OverPixelLimit),
    ];
    for (name, width, height, orientation, expect) in cases {
        check(
            &format!("flat JPEG, {name}"),
            &flat_jpeg(width, height, orientation),
            expect,
        );
    }
}

#[test]
fn a_real_photo_too_large_for_full_size_classifies_as_it_does_small() {
    // A golden photo enlarged 30 times (6720 x 6720, 45 MP): over the budget at full size, so it
    // is decoded at 1/8 (840 x 840) and must get the small photo's answer.
    let small = fixture("golden/rice.jpg");
    let photo = image::load_from_memory(&small).unwrap();
    let large = photo.resize_exact(6720, 6720, image::imageops::FilterType::Triangle);
    let large = encoded(&large, ImageFormat::Jpeg);
    let expected = classify("rice.jpg", &small).unwrap();
    let result = classify("rice.jpg enlarged to 45 MP", &large).unwrap();
    assert_eq!((result.width, result.height), (840, 840));
    assert_eq!(result.top().label, expected.top().label);
    assert!(
        (result.top().probability - expected.top().probability).abs() < 0.1,
        "{result:?}"
    );
}

/// A PNG of a repeating pattern, written a row at a time so even a large one is cheap to make.
fn patterned_png(width: u32, height: u32, colour: png::ColorType, depth: png::BitDepth) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(colour);
    encoder.set_depth(depth);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().unwrap();
    let bytes_per_pixel = colour.samples() * if depth == png::BitDepth::Sixteen { 2 } else { 1 };
    let row: Vec<u8> = (0..width as usize * bytes_per_pixel)
        .map(|i| (i % 251) as u8)
        .collect();
    let mut stream = writer.stream_writer().unwrap();
    for _ in 0..height {
        stream.write_all(&row).unwrap();
    }
    stream.finish().unwrap();
    drop(writer);
    out
}

#[test]
fn large_pngs_classify_or_are_refused_within_the_budget() {
    use png::{BitDepth, ColorType};
    let cases = [
        (
            "6000x6000 RGB",
            6000,
            6000,
            ColorType::Rgb,
            BitDepth::Eight,
            Expect::Classifies(6000, 6000),
        ),
        (
            "8000x5000 grey",
            8000,
            5000,
            ColorType::Grayscale,
            BitDepth::Eight,
            Expect::Classifies(8000, 5000),
        ),
        (
            "4000x3000 RGBA 16-bit",
            4000,
            3000,
            ColorType::Rgba,
            BitDepth::Sixteen,
            Expect::Classifies(4000, 3000),
        ),
        (
            "8000x6000 RGB",
            8000,
            6000,
            ColorType::Rgb,
            BitDepth::Eight,
            Expect::OverMemoryBudget,
        ),
    ];
    for (name, width, height, colour, depth, expect) in cases {
        check(
            &format!("PNG, {name}"),
            &patterned_png(width, height, colour, depth),
            expect,
        );
    }
}

#[test]
fn large_gifs_and_webps_classify_or_are_refused_within_the_budget() {
    let pattern = DynamicImage::ImageRgb8(image::RgbImage::from_fn(2500, 2000, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    }));
    check(
        "lossless WebP, 2500x2000",
        &encoded(&pattern, ImageFormat::WebP),
        Expect::Classifies(2500, 2000),
    );
    let mut alpha = pattern.to_rgba8();
    alpha.pixels_mut().for_each(|p| p[3] = 128);
    let alpha = DynamicImage::ImageRgba8(alpha);
    check(
        "lossless WebP with alpha, 2500x2000",
        &encoded(&alpha, ImageFormat::WebP),
        Expect::Classifies(2500, 2000),
    );
    // A 65535 x 65535 GIF screen around a 1 x 1 frame: refused from its header.
    let mut screen = fixture("corpus/gif-35-bytes-7071x7071-screen.gif");
    screen[6..10].copy_from_slice(&[0xFF; 4]);
    check("GIF, 65535x65535 screen", &screen, Expect::OverPixelLimit);
}

/// The `image` crate's pixels for the same file, which this engine's decoders must match.
fn image_crate_rgb(bytes: &[u8]) -> image::RgbImage {
    image::load_from_memory(bytes).unwrap().into_rgb8()
}

#[test]
fn the_decoders_give_the_pixels_the_image_crate_gives() {
    use png::{BitDepth, ColorType};
    let mut files: Vec<(String, Vec<u8>)> = real_photos()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("exif"))
        .collect();
    for (colour, depth) in [
        (ColorType::Grayscale, BitDepth::Eight),
        (ColorType::GrayscaleAlpha, BitDepth::Eight),
        (ColorType::Rgba, BitDepth::Eight),
        (ColorType::Grayscale, BitDepth::Sixteen),
        (ColorType::GrayscaleAlpha, BitDepth::Sixteen),
        (ColorType::Rgb, BitDepth::Sixteen),
        (ColorType::Rgba, BitDepth::Sixteen),
    ] {
        files.push((
            format!("PNG {colour:?} {depth:?}"),
            patterned_png(97, 31, colour, depth),
        ));
    }
    for name in [
        "jpeg-progressive-rice.jpg",
        "jpeg-restarts-egg.jpg",
        "jpeg-progressive-grey-restarts.jpg",
        "jpeg-444-soup.jpg",
        "png-adam7-rgb16.png",
        "png-224-iccp-bomb.png",
        "jpeg-stray-ff-7997b6b2.jpg",
        "webp-lossy-rice.webp",
        "webp-lossy-alpha-3000x2000.webp",
    ] {
        files.push((name.into(), fixture(&format!("corpus/{name}"))));
    }
    for (name, bytes) in files {
        let ours = decode_image(&bytes, DEFAULT_MAX_PIXELS).unwrap();
        assert!(
            ours == image_crate_rgb(&bytes),
            "{name}: pixels differ from the image crate's"
        );
    }
    // A GIF frame smaller than its screen and away from its corner, clipped at the edge.
    let small = DynamicImage::ImageRgb8(image::RgbImage::from_fn(5, 4, |x, y| {
        image::Rgb([x as u8 * 40, y as u8 * 60, 200])
    }));
    let mut gif = encoded(&small, ImageFormat::Gif);
    gif[6..10].copy_from_slice(&[7, 0, 6, 0]);
    let descriptor = first_image_descriptor(&gif);
    gif[descriptor + 1..descriptor + 5].copy_from_slice(&[3, 0, 1, 0]);
    let ours = decode_image(&gif, DEFAULT_MAX_PIXELS).unwrap();
    assert!(
        ours == image_crate_rgb(&gif),
        "offset GIF frame: pixels differ from the image crate's"
    );
    assert_eq!(ours.dimensions(), (7, 6));
}

/// Where a GIF's first image descriptor starts: after the screen descriptor, the global colour
/// table and any extension blocks.
fn first_image_descriptor(gif: &[u8]) -> usize {
    let mut at = 13;
    if gif[10] & 0x80 != 0 {
        at += 3 << ((gif[10] & 0x07) + 1);
    }
    while gif[at] == 0x21 {
        at += 2;
        while gif[at] != 0 {
            at += usize::from(gif[at]) + 1;
        }
        at += 1;
    }
    assert_eq!(gif[at], 0x2C, "no image descriptor where one should be");
    at
}

fn mutation_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

/// How a photo is damaged: bytes overwritten, bits flipped, a run inserted or removed, the end
/// cut off. Positions are fractions of the length so every strategy fits every photo.
#[derive(Debug, Clone)]
enum Mutation {
    Overwrite(f64, u8),
    FlipBit(f64, u8),
    Insert(f64, Vec<u8>),
    Remove(f64, usize),
    Truncate(f64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0.0..1.0, any::<u8>()).prop_map(|(at, byte)| Mutation::Overwrite(at, byte)),
        (0.0..1.0, 0..8u8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        (0.0..1.0, proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, run)| Mutation::Insert(at, run)),
        (0.0..1.0, 1..64usize).prop_map(|(at, len)| Mutation::Remove(at, len)),
        (0.0..1.0).prop_map(Mutation::Truncate),
    ]
}

fn mutate(photo: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = photo.to_vec();
    for mutation in mutations {
        let at = |fraction: f64, len: usize| ((fraction * len as f64) as usize).min(len.saturating_sub(1));
        match mutation {
            Mutation::Overwrite(f, byte) if !bytes.is_empty() => {
                let i = at(*f, bytes.len());
                bytes[i] = *byte;
            }
            Mutation::FlipBit(f, bit) if !bytes.is_empty() => {
                let i = at(*f, bytes.len());
                bytes[i] ^= 1 << bit;
            }
            Mutation::Insert(f, run) => {
                let i = at(*f, bytes.len() + 1);
                bytes.splice(i..i, run.iter().copied());
            }
            Mutation::Remove(f, len) if !bytes.is_empty() => {
                let i = at(*f, bytes.len());
                bytes.drain(i..(i + len).min(bytes.len()));
            }
            Mutation::Truncate(f) => bytes.truncate((f * bytes.len() as f64) as usize),
            _ => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: mutation_cases(), ..ProptestConfig::default() })]

    #[test]
    fn mutated_photos_classify_or_fail_cleanly_within_the_budget(
        photo in 0..8usize,
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        static PHOTOS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
        let photos = PHOTOS.get_or_init(real_photos);
        let (name, bytes) = &photos[photo % photos.len()];
        let _ = classify(&format!("{name}, {mutations:?}"), &mutate(bytes, &mutations));
    }

    /// The same for a 48 MP JPEG, decoded at 1/8: damage anywhere, or in its first 600 bytes
    /// (the EXIF, table and frame headers) as often.
    #[test]
    fn mutated_large_jpegs_classify_or_fail_cleanly_within_the_budget(
        in_header in any::<bool>(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        static PHOTO: OnceLock<Vec<u8>> = OnceLock::new();
        let photo = PHOTO.get_or_init(|| flat_jpeg(8000, 6000, Some(6)));
        let mutated = if in_header {
            [mutate(&photo[..600], &mutations).as_slice(), &photo[600..]].concat()
        } else {
            mutate(photo, &mutations)
        };
        let _ = classify(&format!("48 MP JPEG, {mutations:?}"), &mutated);
    }
}
