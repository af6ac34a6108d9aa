//! Bytes to pixels: format sniffing, a pixel limit checked before any allocation, EXIF orientation.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage};

use crate::error::ClassifyError;

/// Phone cameras top out around 50 MP; anything beyond is refused as a likely decompression bomb.
pub const DEFAULT_MAX_PIXELS: u64 = 50_000_000;

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// One of the formats this build decodes.
    Supported(ImageFormat),
    /// A recognised image format we do not decode, by its common name.
    Unsupported(&'static str),
    /// Not an image at all.
    Unknown,
}

/// Recognises formats by their magic bytes, including HEIC/AVIF/TIFF/SVG so they can be named.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Sniffed::Supported(ImageFormat::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Sniffed::Supported(ImageFormat::Png);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Sniffed::Supported(ImageFormat::Gif);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Sniffed::Supported(ImageFormat::WebP);
    }
    if let Some(name) = iso_media_brand(bytes) {
        return Sniffed::Unsupported(name);
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Sniffed::Unsupported("TIFF");
    }
    if looks_like_svg(bytes) {
        return Sniffed::Unsupported("SVG");
    }
    match image::guess_format(bytes) {
        Ok(ImageFormat::Bmp) => Sniffed::Unsupported("BMP"),
        Ok(ImageFormat::Ico) => Sniffed::Unsupported("ICO"),
        Ok(ImageFormat::Hdr) => Sniffed::Unsupported("HDR"),
        Ok(ImageFormat::OpenExr) => Sniffed::Unsupported("OpenEXR"),
        Ok(ImageFormat::Qoi) => Sniffed::Unsupported("QOI"),
        Ok(ImageFormat::Dds) => Sniffed::Unsupported("DDS"),
        Ok(ImageFormat::Farbfeld) => Sniffed::Unsupported("Farbfeld"),
        _ if bytes.starts_with(b"\xFF\x0A") || bytes.get(4..8) == Some(b"JXL ") => {
            Sniffed::Unsupported("JPEG XL")
        }
        _ => Sniffed::Unknown,
    }
}

/// HEIF-family files are ISO media boxes: `....ftyp<brand>`.
fn iso_media_brand(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() < 12 || &bytes[4..8] != b"ftyp" {
        return None;
    }
    let box_len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let brands_end = box_len.clamp(12, bytes.len());
    let mut brands =
        std::iter::once(&bytes[8..12]).chain(bytes.get(16..brands_end).unwrap_or_default().chunks_exact(4));
    if brands.clone().any(|b| b == b"avif" || b == b"avis") {
        return Some("AVIF");
    }
    if brands.any(|b| {
        matches!(
            b,
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1"
        )
    }) {
        return Some("HEIC");
    }
    None
}

fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    (text.starts_with("<svg") || text.starts_with("<?xml") || text.starts_with("<!DOCTYPE svg"))
        && text.contains("<svg")
}

/// Decodes a photo to RGB with its EXIF orientation applied (GIF: first frame).
pub fn decode_image(bytes: &[u8], max_pixels: u64) -> Result<RgbImage, ClassifyError> {
    if bytes.is_empty() {
        return Err(ClassifyError::EmptyInput);
    }
    let format = match sniff(bytes) {
        Sniffed::Supported(format) => format,
        Sniffed::Unsupported(name) => return Err(ClassifyError::UnsupportedFormat(name.into())),
        Sniffed::Unknown => return Err(ClassifyError::NotAnImage),
    };
    if format == ImageFormat::Jpeg && !jpeg_has_end_marker(bytes) {
        return Err(ClassifyError::CorruptImage(
            "the file ends before the image does".into(),
        ));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    // RGBA at the pixel limit plus the decoder's own buffers.
    limits.max_alloc = Some(max_pixels.saturating_mul(8));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(to_classify_error)?;
    let (width, height) = decoder.dimensions();
    check_pixel_count(width, height, max_pixels)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(to_classify_error)?;
    image.apply_orientation(orientation);
    Ok(image.into_rgb8())
}

/// The JPEG decoder fills a cut-off scan with grey instead of failing, so look for the end-of-image
/// marker ourselves: segments are skipped by their length (an EXIF thumbnail's marker does not
/// count), scan data byte by byte (it escapes 0xFF as 0xFF00).
fn jpeg_has_end_marker(bytes: &[u8]) -> bool {
    let mut i = 2;
    while i + 1 < bytes.len() {
        if bytes[i] != 0xFF {
            i += 1;
            continue;
        }
        match bytes[i + 1] {
            0xD9 => return true,
            0x00 | 0x01 | 0xD0..=0xD7 => i += 2,
            0xFF => i += 1,
            _ => {
                let Some(len) = bytes.get(i + 2..i + 4) else {
                    return false;
                };
                i += 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
            }
        }
    }
    false
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
            limit: (max_pixels / 1_000_000) as u32,
        });
    }
    Ok(())
}

fn to_classify_error(error: ImageError) -> ClassifyError {
    match error {
        ImageError::Unsupported(e) => ClassifyError::UnsupportedFormat(e.to_string()),
        ImageError::Limits(e) => ClassifyError::CorruptImage(format!("decoder limit reached: {e}")),
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            ClassifyError::CorruptImage("the file ends before the image does".into())
        }
        other => ClassifyError::CorruptImage(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_supported_formats() {
        assert_eq!(
            sniff(b"\xFF\xD8\xFF\xE0rest"),
            Sniffed::Supported(ImageFormat::Jpeg)
        );
        assert_eq!(sniff(b"GIF89a...."), Sniffed::Supported(ImageFormat::Gif));
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Sniffed::Supported(ImageFormat::WebP)
        );
    }

    #[test]
    fn names_unsupported_formats() {
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        assert_eq!(sniff(heic), Sniffed::Unsupported("HEIC"));
        let avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf";
        assert_eq!(sniff(avif), Sniffed::Unsupported("AVIF"));
        let avif_minor = b"\0\0\0\x18ftypmif1\0\0\0\0avifmif1";
        assert_eq!(sniff(avif_minor), Sniffed::Unsupported("AVIF"));
        assert_eq!(sniff(b"II*\0\x08\0\0\0"), Sniffed::Unsupported("TIFF"));
        assert_eq!(
            sniff(b"\xEF\xBB\xBF <?xml version=\"1.0\"?><svg>"),
            Sniffed::Unsupported("SVG")
        );
        assert_eq!(
            sniff(b"BM\x36\0\0\0\0\0\0\0\x36\0\0\0"),
            Sniffed::Unsupported("BMP")
        );
    }

    #[test]
    fn text_is_not_an_image() {
        assert_eq!(sniff(b"hello, world"), Sniffed::Unknown);
        assert_eq!(sniff(b"<html><body>no</body></html>"), Sniffed::Unknown);
        assert_eq!(
            decode_image(b"%PDF-1.7", DEFAULT_MAX_PIXELS),
            Err(ClassifyError::NotAnImage)
        );
        assert_eq!(
            decode_image(b"", DEFAULT_MAX_PIXELS),
            Err(ClassifyError::EmptyInput)
        );
    }

    #[test]
    fn jpeg_end_marker_is_found_after_the_scan_only() {
        // SOI, APP1 whose payload holds an FFD9 (like an EXIF thumbnail), SOS, scan data, EOI.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0x00, 0x00];
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        assert!(!jpeg_has_end_marker(&jpeg));
        jpeg.extend_from_slice(&[0xFF, 0xD9]);
        assert!(jpeg_has_end_marker(&jpeg));
        assert!(!jpeg_has_end_marker(&[0xFF, 0xD8, 0xFF, 0xE0, 0xFF]));
    }

    #[test]
    fn pixel_limit_is_checked_in_64_bits() {
        assert!(check_pixel_count(30_000, 30_000, DEFAULT_MAX_PIXELS).is_err());
        assert!(check_pixel_count(u32::MAX, u32::MAX, DEFAULT_MAX_PIXELS).is_err());
        assert!(check_pixel_count(4000, 3000, DEFAULT_MAX_PIXELS).is_ok());
        assert_eq!(
            check_pixel_count(0, 10, DEFAULT_MAX_PIXELS),
            Err(ClassifyError::EmptyInput)
        );
    }
}
