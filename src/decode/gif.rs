//! GIF through the gif crate itself: the first frame is decoded at its own size and placed on
//! the logical screen in RGB, so a file declaring a huge screen around a tiny frame is refused
//! from its header instead of allocating the screen four times over.

use std::io::Cursor;
use std::num::NonZeroU64;

use image::metadata::Orientation;
use image::RgbImage;

use super::{check_declared_size, Decoded, ENDS_EARLY};
use crate::budget;
use crate::error::ClassifyError;

/// The LZW decoder's tables and the reader's buffer.
const DECODER_STATE: u64 = 1_000_000;

pub(super) fn decode(bytes: &[u8], max_pixels: u64) -> Result<Decoded, ClassifyError> {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    // Browsers skip extension blocks they do not know; so does this.
    options.allow_unknown_blocks(true);
    options.set_memory_limit(
        NonZeroU64::new(budget::MEMORY_BUDGET).map_or(gif::MemoryLimit::Unlimited, gif::MemoryLimit::Bytes),
    );
    let mut decoder = options.read_info(Cursor::new(bytes)).map_err(gif_error)?;
    let (width, height) = (u32::from(decoder.width()), u32::from(decoder.height()));
    check_declared_size(width, height, max_pixels)?;
    let frame = decoder
        .next_frame_info()
        .map_err(gif_error)?
        .ok_or_else(|| ClassifyError::CorruptImage("the GIF has no image in it".into()))?;
    let (left, top) = (usize::from(frame.left), usize::from(frame.top));
    let (frame_width, frame_height) = (usize::from(frame.width), usize::from(frame.height));
    if frame_width == 0 || frame_height == 0 {
        return Err(ClassifyError::CorruptImage(format!(
            "its first frame declares a size of {frame_width}x{frame_height} pixels"
        )));
    }
    // The screen in RGB, and the frame in RGBA plus the palette indices it is expanded from.
    let frame_bytes = budget::pixel_bytes(u32::from(frame.width), u32::from(frame.height), 5);
    budget::check(
        width,
        height,
        budget::pixel_bytes(width, height, 3) + frame_bytes + DECODER_STATE,
    )?;
    let mut rgba = vec![0; decoder.buffer_size()];
    decoder.read_into_buffer(&mut rgba).map_err(gif_error)?;
    drop(decoder);

    // As the `image` crate composes the first frame: placed at its offset and clipped to the
    // screen, transparent (black once alpha is dropped) around it.
    let mut image = RgbImage::new(width, height);
    let (screen_width, screen_height) = (width as usize, height as usize);
    let columns = frame_width.min(screen_width.saturating_sub(left));
    if columns > 0 {
        let screen = image.as_mut();
        for (y, frame_row) in rgba.chunks_exact(frame_width * 4).enumerate() {
            let screen_y = top + y;
            if screen_y >= screen_height {
                break;
            }
            let start = (screen_y * screen_width + left) * 3;
            for (out, pixel) in screen[start..start + columns * 3]
                .chunks_exact_mut(3)
                .zip(frame_row.chunks_exact(4))
            {
                out.copy_from_slice(&pixel[..3]);
            }
        }
    }
    Ok(Decoded {
        image,
        orientation: Orientation::NoTransforms,
    })
}

fn gif_error(error: gif::DecodingError) -> ClassifyError {
    match error {
        gif::DecodingError::UnexpectedEof => ClassifyError::CorruptImage(ENDS_EARLY.into()),
        gif::DecodingError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            ClassifyError::CorruptImage(ENDS_EARLY.into())
        }
        other => ClassifyError::CorruptImage(other.to_string()),
    }
}
