//! PNG through the png crate itself: each row is converted to 8-bit RGB as it is decoded, so a
//! 16-bit or RGBA image never exists at full size in its own format, and the ancillary chunks this
//! engine has no use for (text, ICC profiles) are skipped instead of inflated.

use std::io::Cursor;

use image::metadata::Orientation;
use image::RgbImage;

use super::{check_declared_size, rgb_peak, row_to_rgb, Decoded, ENDS_EARLY};
use crate::budget;
use crate::error::ClassifyError;

/// What the png crate may allocate for the chunks it keeps (palette, transparency, EXIF and
/// such, a few KB in a photo) and its output row; a metadata chunk beyond it is refused.
const CHUNK_LIMIT: usize = 4_000_000;

/// zlib's window and tables and the unfiltering buffer's slack, beyond the rows themselves.
const INFLATE_STATE: u64 = 1_000_000;

pub(super) fn decode(bytes: &[u8], max_pixels: u64) -> Result<Decoded, ClassifyError> {
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: CHUNK_LIMIT });
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    // Palettes and low bit depths expand to 8 bits, transparency to an alpha channel, exactly as
    // the `image` crate asks; 16 bits stay 16 here and are rounded to 8 row by row.
    decoder.set_transformations(png::Transformations::EXPAND);
    let header = decoder.read_header_info().map_err(png_error)?;
    let (width, height) = header.size();
    check_declared_size(width, height, max_pixels)?;
    // Before the chunks up to the image data are read: the widest row the header allows (four
    // samples, transparency included), no rotation yet.
    let deepest = if header.bit_depth == png::BitDepth::Sixteen {
        2
    } else {
        1
    };
    budget::check(
        width,
        height,
        peak(width, height, 4 * deepest, Orientation::NoTransforms),
    )?;

    let mut reader = decoder.read_info().map_err(png_error)?;
    let orientation = reader
        .info()
        .exif_metadata
        .as_deref()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let (color, depth) = reader.output_color_type();
    let channels = color.samples();
    let sixteen_bit = depth == png::BitDepth::Sixteen;
    let bytes_per_pixel = (channels * if sixteen_bit { 2 } else { 1 }) as u64;
    budget::check(width, height, peak(width, height, bytes_per_pixel, orientation))?;

    let stride = width as usize * 3;
    let mut rgb = vec![0; stride * height as usize];
    let mut pass_rgb = vec![0; stride];
    let mut line = 0;
    while let Some(decoded) = reader.next_interlaced_row().map_err(png_error)? {
        match decoded.interlace() {
            png::InterlaceInfo::Null(_) => {
                let Some(out) = rgb.get_mut(line * stride..(line + 1) * stride) else {
                    break;
                };
                row_to_rgb(decoded.data(), channels, sixteen_bit, out);
                line += 1;
            }
            png::InterlaceInfo::Adam7(pass) => {
                let samples = decoded.data().len() / bytes_per_pixel as usize;
                let pass_rgb = &mut pass_rgb[..samples * 3];
                row_to_rgb(decoded.data(), channels, sixteen_bit, pass_rgb);
                png::expand_interlaced_row(&mut rgb, stride, pass_rgb, pass, 24);
            }
        }
    }
    let image = RgbImage::from_raw(width, height, rgb)
        .ok_or_else(|| ClassifyError::CorruptImage(ENDS_EARLY.into()))?;
    Ok(Decoded { image, orientation })
}

/// The RGB image being filled, with a raw row and the previous one for unfiltering, the inflated
/// data waiting to be unfiltered (a few rows), one interlaced pass row widened to RGB, the
/// inflater and the kept chunks; or later the RGB image and its rotated copy.
fn peak(width: u32, height: u32, bytes_per_pixel: u64, orientation: Orientation) -> u64 {
    let row = u64::from(width) * bytes_per_pixel;
    let decoding = budget::pixel_bytes(width, height, 3)
        + 8 * row
        + u64::from(width) * 3
        + INFLATE_STATE
        + CHUNK_LIMIT as u64;
    decoding.max(rgb_peak(width, height, orientation))
}

/// See [`super::is_cut_short`]: the chunks, walked by their lengths, run out before `IEND`.
pub(super) fn is_cut_short(bytes: &[u8]) -> bool {
    let mut at = 8;
    while let Some(head) = bytes.get(at..at + 8) {
        if &head[4..] == b"IEND" {
            return false;
        }
        let length = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        // Length, type, data and CRC.
        at = at.saturating_add(12).saturating_add(length);
    }
    true
}

fn png_error(error: png::DecodingError) -> ClassifyError {
    match error {
        png::DecodingError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            ClassifyError::CorruptImage(ENDS_EARLY.into())
        }
        png::DecodingError::LimitsExceeded => ClassifyError::CorruptImage(format!(
            "a metadata chunk is larger than the {} MB this decoder allows",
            CHUNK_LIMIT / 1_000_000
        )),
        png::DecodingError::Format(e) => ClassifyError::CorruptImage(e.to_string()),
        other => ClassifyError::CorruptImage(other.to_string()),
    }
}
