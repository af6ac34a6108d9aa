//! Bytes to pixels: format sniffing, a memory budget checked before any pixel is allocated, EXIF
//! orientation.
//!
//! Each format's decoder reads its header first and works out what it will hold at its worst
//! moment from the declared size, colour type, bit depth and coding (and the rotated copy EXIF may
//! ask for), and checks that against [`crate::budget`] before allocating pixels. JPEGs too large
//! for the budget are decoded at 1/8 scale instead; anything else over it is refused.

mod gif;
mod jpeg;
mod png;
mod sniff;
mod webp;

use image::metadata::Orientation;
use image::{DynamicImage, ImageFormat, RgbImage};

use crate::budget;
use crate::error::{ClassifyError, SizeLimit};

pub use sniff::{sniff, Sniffed};

/// The largest image, in declared pixels, that is decoded at all: above the 200 MP of the largest
/// phone cameras. Memory is bounded by [`crate::budget::MEMORY_BUDGET`], not by this; this bounds
/// the time spent on a file that declares a huge size.
pub const DEFAULT_MAX_PIXELS: u64 = 250_000_000;

/// Why a file that stops early is refused; shared by the formats.
const ENDS_EARLY: &str = "the file ends before the image does";

/// Decodes a photo to RGB with its EXIF orientation applied (GIF: first frame).
pub fn decode_image(bytes: &[u8], max_pixels: u64) -> Result<RgbImage, ClassifyError> {
    if bytes.is_empty() {
        return Err(ClassifyError::EmptyInput);
    }
    let decoded = match sniff(bytes) {
        Sniffed::Supported(ImageFormat::Jpeg) => jpeg::decode(bytes, max_pixels)?,
        Sniffed::Supported(ImageFormat::Png) => png::decode(bytes, max_pixels)?,
        Sniffed::Supported(ImageFormat::Gif) => gif::decode(bytes, max_pixels)?,
        Sniffed::Supported(_) => webp::decode(bytes, max_pixels)?,
        Sniffed::Unsupported(name) => return Err(ClassifyError::UnsupportedFormat(name.into())),
        Sniffed::Unknown => return Err(ClassifyError::NotAnImage),
    };
    Ok(decoded.oriented())
}

/// Whether a file stops before its image does (a JPEG without its end marker, a PNG without its
/// last chunk) or its JPEG header cannot be read. Browsers disagree on such files (Firefox paints
/// a cut-off JPEG half grey where Chromium refuses it), so the page hands them to this engine's
/// decoder, which refuses them with the reason, instead of classifying a half-blank picture.
pub fn is_cut_short(bytes: &[u8]) -> bool {
    match sniff(bytes) {
        Sniffed::Supported(ImageFormat::Jpeg) => jpeg::is_cut_short(bytes),
        Sniffed::Supported(ImageFormat::Png) => png::is_cut_short(bytes),
        _ => false,
    }
}

/// Decoded pixels and the EXIF orientation still to apply to them.
struct Decoded {
    image: RgbImage,
    orientation: Orientation,
}

impl Decoded {
    fn oriented(self) -> RgbImage {
        let mut image = DynamicImage::ImageRgb8(self.image);
        image.apply_orientation(self.orientation);
        image.into_rgb8()
    }
}

/// Refuses empty and oversized images before their pixels are allocated.
pub fn check_pixel_count(width: u32, height: u32, max_pixels: u64) -> Result<(), ClassifyError> {
    if width == 0 || height == 0 {
        return Err(ClassifyError::EmptyInput);
    }
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(ClassifyError::TooManyPixels {
            width,
            height,
            limit: SizeLimit::Pixels(max_pixels),
        });
    }
    Ok(())
}

/// The size a file's header declares: a zero side there is damage (the file is not empty), and
/// more than `max_pixels` is refused.
fn check_declared_size(width: u32, height: u32, max_pixels: u64) -> Result<(), ClassifyError> {
    if width == 0 || height == 0 {
        return Err(ClassifyError::CorruptImage(format!(
            "its header declares a size of {width}x{height} pixels"
        )));
    }
    check_pixel_count(width, height, max_pixels)
}

/// Bytes held once the RGB pixels exist: the image, plus the rotated copy that an EXIF rotation
/// by a quarter turn is made into (flips and half turns happen in place).
fn rgb_peak(width: u32, height: u32, orientation: Orientation) -> u64 {
    let copies = match orientation {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => 2,
        _ => 1,
    };
    budget::pixel_bytes(width, height, 3 * copies)
}

/// Rewrites 8-bit pixels of `channels` samples (grey, grey + alpha, RGB, RGBA) held at the start
/// of `buf` as RGB in the same buffer, as the `image` crate converts them (grey is repeated,
/// alpha dropped), so no second full-size buffer is needed. `buf` holds at least three bytes per
/// pixel and is cut to exactly three.
fn to_rgb_in_place(buf: &mut Vec<u8>, pixels: usize, channels: usize) {
    match channels {
        // Growing: back to front, so no sample is overwritten before it is read.
        1 | 2 => {
            for i in (0..pixels).rev() {
                let grey = buf[i * channels];
                buf[i * 3..i * 3 + 3].fill(grey);
            }
        }
        // Shrinking: front to back.
        4 => {
            for i in 1..pixels {
                buf.copy_within(i * 4..i * 4 + 3, i * 3);
            }
        }
        _ => {}
    }
    buf.truncate(pixels * 3);
}

/// Writes one row of `channels`-sample pixels (8 or big-endian 16 bits each) as RGB, converting
/// 16 bits to 8 with the `image` crate's rounding.
fn row_to_rgb(row: &[u8], channels: usize, sixteen_bit: bool, rgb: &mut [u8]) {
    let bytes_per_sample = if sixteen_bit { 2 } else { 1 };
    let sample = |pixel: &[u8], c: usize| -> u8 {
        if sixteen_bit {
            let wide = u32::from(u16::from_be_bytes([pixel[2 * c], pixel[2 * c + 1]]));
            ((wide + 128) / 257) as u8
        } else {
            pixel[c]
        }
    };
    for (pixel, out) in row
        .chunks_exact(channels * bytes_per_sample)
        .zip(rgb.chunks_exact_mut(3))
    {
        if channels >= 3 {
            out.copy_from_slice(&[sample(pixel, 0), sample(pixel, 1), sample(pixel, 2)]);
        } else {
            out.fill(sample(pixel, 0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_nothing_are_refused_by_name() {
        assert_eq!(
            decode_image(b"%PDF-1.7", DEFAULT_MAX_PIXELS),
            Err(ClassifyError::NotAnImage)
        );
        assert_eq!(
            decode_image(b"", DEFAULT_MAX_PIXELS),
            Err(ClassifyError::EmptyInput)
        );
        assert_eq!(
            decode_image(b"<!-- logo --><svg/>", DEFAULT_MAX_PIXELS),
            Err(ClassifyError::UnsupportedFormat("SVG".into()))
        );
    }

    #[test]
    fn pixel_limit_is_checked_in_64_bits_and_named() {
        assert!(check_pixel_count(30_000, 30_000, DEFAULT_MAX_PIXELS).is_err());
        assert!(check_pixel_count(u32::MAX, u32::MAX, DEFAULT_MAX_PIXELS).is_err());
        assert!(check_pixel_count(16_320, 12_240, DEFAULT_MAX_PIXELS).is_ok());
        assert_eq!(
            check_pixel_count(0, 10, DEFAULT_MAX_PIXELS),
            Err(ClassifyError::EmptyInput)
        );
        let error = check_pixel_count(30_000, 30_000, DEFAULT_MAX_PIXELS).unwrap_err();
        assert!(error.to_string().contains("limit of 250 megapixels"), "{error}");
        assert!(matches!(
            check_declared_size(0, 0, DEFAULT_MAX_PIXELS),
            Err(ClassifyError::CorruptImage(m)) if m.contains("0x0")
        ));
    }

    #[test]
    fn pixels_become_rgb_in_place() {
        let mut grey = vec![1, 2, 0, 0, 0, 0];
        to_rgb_in_place(&mut grey, 2, 1);
        assert_eq!(grey, [1, 1, 1, 2, 2, 2]);
        let mut grey_alpha = vec![1, 9, 2, 9, 0, 0];
        to_rgb_in_place(&mut grey_alpha, 2, 2);
        assert_eq!(grey_alpha, [1, 1, 1, 2, 2, 2]);
        let mut rgba = vec![1, 2, 3, 9, 4, 5, 6, 9];
        to_rgb_in_place(&mut rgba, 2, 4);
        assert_eq!(rgba, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn sixteen_bit_rows_round_like_the_image_crate() {
        let mut rgb = [0; 6];
        row_to_rgb(
            &[0xFF, 0xFF, 0x80, 0x7F, 0x01, 0x01, 9, 9],
            4,
            true,
            &mut rgb[..3],
        );
        assert_eq!(&rgb[..3], [255, 128, 1]);
        row_to_rgb(&[7, 9], 2, false, &mut rgb);
        assert_eq!(rgb, [7, 7, 7, 0, 0, 0]);
        assert_eq!(
            rgb_peak(4032, 3024, Orientation::Rotate90),
            2 * rgb_peak(4032, 3024, Orientation::FlipHorizontal)
        );
    }

    #[test]
    fn files_that_stop_before_their_image_are_cut_short() {
        let jpeg: &[u8] = include_bytes!("../../tests/fixtures/golden/rice.jpg");
        let png: &[u8] = include_bytes!("../../tests/fixtures/resample-source.png");
        let truncated: &[u8] = include_bytes!("../../tests/fixtures/bad/truncated.jpg");
        assert!(!is_cut_short(jpeg));
        assert!(!is_cut_short(png));
        assert!(is_cut_short(truncated));
        assert!(is_cut_short(&jpeg[..jpeg.len() / 2]));
        assert!(is_cut_short(&png[..png.len() - 12]));
        assert!(is_cut_short(&jpeg[..3]));
        // Not this rule's business: the decoders name these themselves.
        assert!(!is_cut_short(b""));
        assert!(!is_cut_short(b"GIF89a"));
    }
}
