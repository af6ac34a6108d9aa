//! WebP through the `image` crate, with the decoder's working memory estimated from the kind of
//! WebP the file's chunks say it is.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

use super::{check_declared_size, rgb_peak, Decoded, ENDS_EARLY};
use crate::budget;
use crate::error::ClassifyError;

/// Bytes per pixel the decoder holds at its worst, RGB result included. Lossy: RGB output and
/// the YUV planes it is converted from. Lossy with alpha: RGBA output, YUV planes, the alpha
/// plane and its lossless decoding, then the RGB copy. Lossless: its ARGB image, a transform's
/// copy of it and the output. Animated (or unreadable chunks): canvas, frame and their buffers.
const LOSSY: u64 = 5;
const LOSSY_WITH_ALPHA: u64 = 12;
const LOSSLESS: u64 = 12;
const ANIMATED: u64 = 16;

/// The compressed data read out of the file and the decoders' tables.
const DECODER_STATE: u64 = 1_000_000;

pub(super) fn decode(bytes: &[u8], max_pixels: u64) -> Result<Decoded, ClassifyError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), ImageFormat::WebP);
    let mut limits = Limits::default();
    limits.max_alloc = Some(budget::MEMORY_BUDGET);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| image_error(e, None))?;
    let (width, height) = decoder.dimensions();
    check_declared_size(width, height, max_pixels)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let decoding = budget::pixel_bytes(width, height, working_bytes_per_pixel(bytes))
        + bytes.len() as u64
        + DECODER_STATE;
    budget::check(width, height, decoding.max(rgb_peak(width, height, orientation)))?;
    let image = DynamicImage::from_decoder(decoder)
        .map_err(|e| image_error(e, Some((width, height))))?
        .into_rgb8();
    Ok(Decoded { image, orientation })
}

/// Reads the RIFF chunk names up to the first image chunk.
fn working_bytes_per_pixel(bytes: &[u8]) -> u64 {
    let mut at = 12;
    let mut alpha = false;
    while let Some(header) = bytes.get(at..at + 8) {
        match &header[..4] {
            b"ANIM" | b"ANMF" => return ANIMATED,
            b"ALPH" => alpha = true,
            b"VP8 " if alpha => return LOSSY_WITH_ALPHA,
            b"VP8 " => return LOSSY,
            b"VP8L" => return LOSSLESS,
            _ => {}
        }
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        at = at.saturating_add(8).saturating_add(size).saturating_add(size % 2);
    }
    ANIMATED
}

/// `size` is the declared one, once known: a limit the decoder hits is then named with it.
fn image_error(error: ImageError, size: Option<(u32, u32)>) -> ClassifyError {
    match error {
        ImageError::Limits(e) => match size {
            Some((width, height)) => budget::refusal(width, height, None),
            None => ClassifyError::CorruptImage(format!("decoder limit reached: {e}")),
        },
        ImageError::Unsupported(e) => ClassifyError::UnsupportedFormat(e.to_string()),
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            ClassifyError::CorruptImage(ENDS_EARLY.into())
        }
        other => ClassifyError::CorruptImage(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn riff(chunks: &[(&[u8; 4], usize)]) -> Vec<u8> {
        let mut bytes = b"RIFF\0\0\0\0WEBP".to_vec();
        for &(name, size) in chunks {
            bytes.extend_from_slice(name);
            bytes.extend_from_slice(&(size as u32).to_le_bytes());
            bytes.resize(bytes.len() + size + size % 2, 0);
        }
        bytes
    }

    #[test]
    fn the_kind_of_webp_sets_the_estimate() {
        assert_eq!(working_bytes_per_pixel(&riff(&[(b"VP8 ", 10)])), LOSSY);
        assert_eq!(working_bytes_per_pixel(&riff(&[(b"VP8L", 10)])), LOSSLESS);
        let extended = riff(&[(b"VP8X", 10), (b"ICCP", 3), (b"ALPH", 5), (b"VP8 ", 10)]);
        assert_eq!(working_bytes_per_pixel(&extended), LOSSY_WITH_ALPHA);
        assert_eq!(
            working_bytes_per_pixel(&riff(&[(b"VP8X", 10), (b"EXIF", 4), (b"VP8 ", 1)])),
            LOSSY
        );
        assert_eq!(
            working_bytes_per_pixel(&riff(&[(b"VP8X", 10), (b"ANIM", 6)])),
            ANIMATED
        );
        assert_eq!(working_bytes_per_pixel(b"RIFF\0\0\0\0WEBPVP8"), ANIMATED);
    }
}
