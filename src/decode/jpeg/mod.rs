//! JPEG: the markers before the first scan are read first (frame size and coding, EXIF
//! orientation, whether the file reaches its end marker), then the image is decoded at full size
//! when that fits the memory budget, or at 1/8 of it ([`reduced`]: each 8 × 8 block's average)
//! when it does not. The model sees 224 × 224 pixels, so a 108 MP photo loses nothing by it.

mod reduced;

use image::metadata::Orientation;
use image::RgbImage;
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::errors::{DecodeErrors, UnsupportedSchemes};

use super::{check_declared_size, rgb_peak, to_rgb_in_place, Decoded, ENDS_EARLY};
use crate::budget;
use crate::error::ClassifyError;

pub(super) fn decode(bytes: &[u8], max_pixels: u64) -> Result<Decoded, ClassifyError> {
    let header = read_header(bytes)?;
    if let Some(variant) = header.frame.unsupported_variant() {
        return Err(ClassifyError::UnsupportedJpegVariant(variant));
    }
    if !header.ends {
        return Err(corrupt(ENDS_EARLY));
    }
    let (width, height) = header.frame.size();
    check_declared_size(width, height, max_pixels)?;
    let repaired = header.repaired(bytes);
    let input = repaired.as_deref().unwrap_or(bytes);
    let copy = repaired.as_ref().map_or(0, |fixed| fixed.len() as u64);
    let full = copy + header.full_size_peak();
    if budget::fits(full) {
        return decode_full_size(input, &header);
    }
    // The reduced decoder has no CMYK conversion matching the full-size one: such JPEGs are
    // refused rather than decoded differently.
    if header.frame.components.len() == 4 {
        return Err(budget::refusal(width, height, Some(full)));
    }
    budget::check(width, height, copy + header.reduced_peak())?;
    Ok(Decoded {
        image: reduced::decode(input, &header.frame)?,
        orientation: header.orientation,
    })
}

/// See [`super::is_cut_short`]: no end marker after the first scan, or no readable header.
pub(super) fn is_cut_short(bytes: &[u8]) -> bool {
    read_header(bytes).map_or(true, |header| !header.ends)
}

fn corrupt(why: &str) -> ClassifyError {
    ClassifyError::CorruptImage(why.into())
}

/// What the markers up to the first scan say.
#[derive(Debug)]
struct Header {
    frame: Frame,
    /// Components in the first scan: fewer than the frame's means the decoder keeps every
    /// coefficient until the last scan, as for a progressive JPEG.
    first_scan_components: usize,
    orientation: Orientation,
    /// Whether an end-of-image marker follows the first scan. The decoders fill a cut-off scan
    /// with grey instead of failing, so a file without one is refused as truncated.
    ends: bool,
    /// Bytes to change before decoding, where browsers (libjpeg) read past what the full-size
    /// decoder refuses: `(offset, value)`.
    repairs: Vec<(usize, u8)>,
}

/// The frame header (SOFn).
#[derive(Debug)]
struct Frame {
    marker: u8,
    precision: u8,
    width: u16,
    height: u16,
    components: Vec<Component>,
}

/// A component of the frame header.
#[derive(Debug, Clone, Copy)]
struct Component {
    id: u8,
    /// Horizontal and vertical sampling factors, 1 to 4.
    h: u8,
    v: u8,
    /// Which quantisation table it uses.
    table: u8,
}

/// A marker found by [`next_marker`], with its segment when it has one.
struct Segment<'a> {
    marker: u8,
    /// Where its length field starts (for a standalone marker: just after the marker).
    length_at: usize,
    /// The length field's value; `None` for a standalone marker.
    length: Option<usize>,
    /// The segment after its length field (empty for a standalone marker or a bad length).
    body: &'a [u8],
    /// Where to look for the next marker.
    next: usize,
}

/// The next marker at or after `at`, as libjpeg finds it: stray bytes before a marker and fill
/// bytes (0xFF) within one are skipped. A length too short to count itself comes back with an
/// empty body for the caller to judge; a segment running past the end is the file ending early.
fn next_marker(bytes: &[u8], at: usize) -> Result<Segment<'_>, ClassifyError> {
    let ff = bytes
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
        .ok_or_else(|| corrupt(ENDS_EARLY))?;
    let mut marker_at = at + ff + 1;
    while bytes.get(marker_at) == Some(&0xFF) {
        marker_at += 1;
    }
    let marker = *bytes.get(marker_at).ok_or_else(|| corrupt(ENDS_EARLY))?;
    let length_at = marker_at + 1;
    if !has_length(marker) {
        return Ok(Segment {
            marker,
            length_at,
            length: None,
            body: &[],
            next: length_at,
        });
    }
    let length = bytes
        .get(length_at..length_at + 2)
        .map(|pair| usize::from(u16::from_be_bytes([pair[0], pair[1]])))
        .ok_or_else(|| corrupt(ENDS_EARLY))?;
    let end = length_at + length.max(2);
    let body = bytes.get(length_at + 2..end).ok_or_else(|| corrupt(ENDS_EARLY))?;
    Ok(Segment {
        marker,
        length_at,
        length: Some(length),
        body,
        next: end,
    })
}

/// Markers followed by a segment length; the others (TEM, RSTn, SOI, EOI, reserved) stand alone.
fn has_length(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF | 0xDA..=0xFE)
}

/// Frame headers: SOF0 to SOF15 less DHT (C4), JPG (C8) and DAC (CC).
fn is_frame_header(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF)
}

/// Walks the segments before the first scan by their lengths, as libjpeg does, so an EXIF
/// thumbnail's markers are never mistaken for the image's. After the first scan starts, the
/// end-of-image marker is looked for byte by byte: entropy-coded data escapes every 0xFF, so
/// 0xFFD9 there can only be that marker (a stray 0xFFxx inside damaged scan data does not make
/// the walk jump past the end).
fn read_header(bytes: &[u8]) -> Result<Header, ClassifyError> {
    let mut frame = None;
    let mut orientation = None;
    let mut repairs = Vec::new();
    let mut adobe_transform_at = None;
    let mut at = 2;
    loop {
        let segment = next_marker(bytes, at)?;
        at = segment.next;
        let Some(length) = segment.length else {
            if segment.marker == 0xD9 {
                // The image ends before any of its data.
                return Err(corrupt(ENDS_EARLY));
            }
            continue;
        };
        if length < 2 {
            // Browsers skip such a comment or application segment as if it were empty; the
            // full-size decoder refuses it, so it becomes an empty one.
            if matches!(segment.marker, 0xE0..=0xEF | 0xFE) {
                repairs.extend([(segment.length_at, 0), (segment.length_at + 1, 2)]);
                continue;
            }
            return Err(ClassifyError::CorruptImage(format!(
                "a marker segment has an invalid length of {length}"
            )));
        }
        let body = segment.body;
        match segment.marker {
            marker if is_frame_header(marker) => {
                if frame.is_some() {
                    return Err(corrupt("the file has more than one frame header"));
                }
                frame = Some(Frame::parse(marker, body)?);
            }
            // The decoder reads orientation from the last EXIF segment; so does this.
            0xE1 if body.len() > 6 && body.starts_with(b"Exif\0\0") => {
                orientation = Orientation::from_exif_chunk(&body[6..]);
            }
            // Adobe's colour transform: 0 (none), 1 (YCbCr) or 2 (YCCK); libjpeg reads any other
            // value as YCbCr or YCCK by the number of components, the full-size decoder refuses it.
            0xEE if body.len() >= 12 && body.starts_with(b"Adobe") && body[11] > 2 => {
                adobe_transform_at = Some(segment.length_at + 2 + 11);
            }
            0xDA => {
                let frame = frame.ok_or_else(|| corrupt("the image data starts before the frame header"))?;
                if let Some(transform_at) = adobe_transform_at {
                    repairs.push((transform_at, if frame.components.len() == 4 { 2 } else { 1 }));
                }
                return Ok(Header {
                    first_scan_components: usize::from(body.first().copied().unwrap_or(0)),
                    orientation: orientation.unwrap_or(Orientation::NoTransforms),
                    ends: bytes[at..].windows(2).any(|pair| pair == [0xFF, 0xD9]),
                    repairs,
                    frame,
                });
            }
            _ => {}
        }
    }
}

impl Frame {
    fn parse(marker: u8, segment: &[u8]) -> Result<Frame, ClassifyError> {
        let short = || corrupt("the frame header is cut short");
        let &[precision, h1, h0, w1, w0, count, ref components @ ..] = segment else {
            return Err(short());
        };
        let components = components.get(..usize::from(count) * 3).ok_or_else(short)?;
        let components: Vec<Component> = components
            .chunks_exact(3)
            .map(|c| Component {
                id: c[0],
                h: c[1] >> 4,
                v: c[1] & 0x0F,
                table: c[2] & 0x03,
            })
            .collect();
        // The standard allows 8 or 12 bits for DCT coding, 2 to 16 for lossless: anything else
        // is damage, not a variant.
        let lossless = marker & 0x03 == 0x03;
        if !(precision == 8 || precision == 12 || lossless && (2..=16).contains(&precision)) {
            return Err(ClassifyError::CorruptImage(format!(
                "the frame header declares {precision}-bit samples"
            )));
        }
        let valid = |factor: u8| (1..=4).contains(&factor);
        if components.is_empty() || !components.iter().all(|c| valid(c.h) && valid(c.v)) {
            return Err(corrupt(
                "the frame header has no components or invalid sampling factors",
            ));
        }
        Ok(Frame {
            marker,
            precision,
            width: u16::from_be_bytes([w1, w0]),
            height: u16::from_be_bytes([h1, h0]),
            components,
        })
    }

    fn size(&self) -> (u32, u32) {
        (u32::from(self.width), u32::from(self.height))
    }

    /// What of the JPEG standard this frame uses that the decoders do not implement, in words.
    fn unsupported_variant(&self) -> Option<String> {
        let mut features = Vec::new();
        if self.marker & 0x08 != 0 {
            features.push("arithmetic coding".to_string());
        }
        if self.marker & 0x04 != 0 {
            features.push("hierarchical".to_string());
        }
        if self.marker & 0x03 == 0x03 {
            features.push("lossless".to_string());
        } else if self.precision != 8 {
            features.push(format!("{}-bit samples", self.precision));
        }
        (!features.is_empty()).then(|| features.join(", "))
    }

    fn progressive(&self) -> bool {
        self.marker == 0xC2
    }

    fn max_sampling(&self) -> (u64, u64) {
        let h = self.components.iter().map(|c| c.h).max().unwrap_or(1);
        let v = self.components.iter().map(|c| c.v).max().unwrap_or(1);
        (u64::from(h), u64::from(v))
    }

    /// The 8 × 8 blocks of each component, padded to whole MCUs as both decoders allocate them.
    fn blocks(&self) -> impl Iterator<Item = u64> + '_ {
        let (h_max, v_max) = self.max_sampling();
        let mcus_across = u64::from(self.width).div_ceil(8 * h_max);
        let mcus_down = u64::from(self.height).div_ceil(8 * v_max);
        self.components
            .iter()
            .map(move |c| mcus_across * u64::from(c.h) * mcus_down * u64::from(c.v))
    }

    /// The decoders' working rows: an MCU row of every component held a few times over
    /// (coefficients, upsampled and colour-converted samples), generously.
    fn row_bytes(&self) -> u64 {
        let (h_max, v_max) = self.max_sampling();
        let padded_width = u64::from(self.width).div_ceil(8 * h_max) * 8 * h_max;
        padded_width * 8 * v_max * self.components.len() as u64 * 16
    }
}

impl Header {
    /// The bytes with the repairs made, as browsers read them; `None` when none are needed.
    fn repaired(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        if self.repairs.is_empty() {
            return None;
        }
        let mut fixed = bytes.to_vec();
        for &(at, value) in &self.repairs {
            fixed[at] = value;
        }
        Some(fixed)
    }

    /// Coefficients of the whole image, 2 bytes each, which the full-size decoder keeps until
    /// the last scan of a progressive JPEG, or of a sequential one whose first scan does not hold
    /// every component.
    fn coefficient_bytes(&self) -> u64 {
        if self.frame.progressive() || self.first_scan_components < self.frame.components.len() {
            self.frame.blocks().sum::<u64>() * 64 * 2
        } else {
            0
        }
    }

    /// The full-size decoder's worst moment: its pixel buffer (3 bytes a pixel, 4 for a
    /// 4-component JPEG, grey widened to RGB in it), coefficients, working rows; or later the
    /// RGB image and its rotated copy.
    fn full_size_peak(&self) -> u64 {
        let (width, height) = self.frame.size();
        let channels = if self.frame.components.len() == 4 { 4 } else { 3 };
        let decoding =
            budget::pixel_bytes(width, height, channels) + self.coefficient_bytes() + self.frame.row_bytes();
        decoding.max(rgb_peak(width, height, self.orientation))
    }

    /// The reduced decoder's worst moment: one DC coefficient per block (2 bytes), the RGB image
    /// at 1/8 and its rotated copy.
    fn reduced_peak(&self) -> u64 {
        let (width, height) = reduced::size(self.frame.size());
        self.frame.blocks().sum::<u64>() * 2 + rgb_peak(width, height, self.orientation)
    }
}

/// Full size, with the options and output colours the `image` crate uses for zune-jpeg, so these
/// pixels are the ones every earlier version of this engine classified.
fn decode_full_size(bytes: &[u8], header: &Header) -> Result<Decoded, ClassifyError> {
    let options = DecoderOptions::default()
        .set_strict_mode(false)
        .set_max_width(usize::MAX)
        .set_max_height(usize::MAX);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(zune_error)?;
    let (width, height) = header.frame.size();
    if decoder.dimensions() != Some((width as usize, height as usize)) {
        return Err(corrupt("the frame header cannot be read consistently"));
    }
    let output = match decoder.input_colorspace() {
        Some(space @ (ColorSpace::RGB | ColorSpace::RGBA | ColorSpace::Luma | ColorSpace::LumaA)) => space,
        _ => ColorSpace::RGB,
    };
    decoder.set_options(decoder.options().jpeg_set_out_colorspace(output));
    let channels = output.num_components();
    let pixels = width as usize * height as usize;
    let mut buf = vec![0; pixels * channels.max(3)];
    decoder.decode_into(&mut buf).map_err(zune_error)?;
    to_rgb_in_place(&mut buf, pixels, channels);
    let image = RgbImage::from_raw(width, height, buf)
        .ok_or_else(|| corrupt("the decoder returned too few pixels"))?;
    Ok(Decoded {
        image,
        orientation: header.orientation,
    })
}

fn zune_error(error: DecodeErrors) -> ClassifyError {
    match error {
        DecodeErrors::ExhaustedData => corrupt(ENDS_EARLY),
        DecodeErrors::Unsupported(scheme) => ClassifyError::UnsupportedJpegVariant(
            match scheme {
                UnsupportedSchemes::ExtendedSequentialHuffman => "extended sequential coding",
                UnsupportedSchemes::LosslessHuffman => "lossless",
                _ => "arithmetic coding",
            }
            .into(),
        ),
        DecodeErrors::Format(why)
        | DecodeErrors::HuffmanDecode(why)
        | DecodeErrors::DqtError(why)
        | DecodeErrors::SosError(why)
        | DecodeErrors::SofError(why)
        | DecodeErrors::MCUError(why) => ClassifyError::CorruptImage(why),
        DecodeErrors::FormatStatic(why) => corrupt(why),
        other => ClassifyError::CorruptImage(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SOI, an APP1 holding `FF D9` (like an EXIF thumbnail), a frame, a scan with escaped and
    /// stray `FF` bytes, and optionally EOI.
    fn jpeg(scan: &[u8], end: bool) -> Vec<u8> {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0xFF, 0xDA];
        jpeg.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 8, 0, 16, 0, 16, 1, 1, 0x11, 0]);
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 1, 1, 0, 0, 63, 0]);
        jpeg.extend_from_slice(scan);
        if end {
            jpeg.extend_from_slice(&[0xFF, 0xD9]);
        }
        jpeg
    }

    #[test]
    fn the_end_marker_counts_after_the_first_scan_only() {
        let scan = [
            0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xAE, 0x01, 0xFF, 0xC4, 0x7F,
        ];
        let header = read_header(&jpeg(&scan, true)).unwrap();
        assert!(header.ends);
        assert_eq!((header.frame.width, header.frame.height), (16, 16));
        assert_eq!(header.first_scan_components, 1);
        assert!(!read_header(&jpeg(&scan, false)).unwrap().ends);
        assert_eq!(
            read_header(&[0xFF, 0xD8, 0xFF, 0xE0, 0xFF]).unwrap_err(),
            corrupt(ENDS_EARLY)
        );
    }

    #[test]
    fn stray_bytes_and_empty_comments_are_skipped_like_libjpeg() {
        let mut bytes = jpeg(&[0x12], true);
        // Garbage before the frame header, then a comment whose length does not count itself.
        bytes.splice(10..10, [0x00, 0x17, 0xFF, 0xFF, 0xFE, 0x00, 0x00]);
        let header = read_header(&bytes).unwrap();
        assert!(header.ends);
        assert_eq!(header.repairs, [(15, 0), (16, 2)]);
        let fixed = header.repaired(&bytes).unwrap();
        assert_eq!(fixed[15..17], [0, 2]);
        assert_eq!(fixed.len(), bytes.len());
        assert!(read_header(&jpeg(&[0x12], true))
            .unwrap()
            .repaired(&bytes)
            .is_none());
    }

    fn component(h: u8, v: u8) -> Component {
        Component {
            id: 1,
            h,
            v,
            table: 0,
        }
    }

    #[test]
    fn unsupported_variants_are_named() {
        let frame = |marker, precision| Frame {
            marker,
            precision,
            width: 8,
            height: 8,
            components: vec![component(1, 1)],
        };
        assert_eq!(frame(0xC0, 8).unsupported_variant(), None);
        assert_eq!(frame(0xC2, 8).unsupported_variant(), None);
        assert_eq!(frame(0xC9, 8).unsupported_variant().unwrap(), "arithmetic coding");
        assert_eq!(frame(0xC3, 16).unsupported_variant().unwrap(), "lossless");
        assert_eq!(frame(0xC1, 12).unsupported_variant().unwrap(), "12-bit samples");
        assert_eq!(
            frame(0xCF, 8).unsupported_variant().unwrap(),
            "arithmetic coding, hierarchical, lossless"
        );
        let header = |precision| [precision, 0, 8, 0, 8, 1, 1, 0x11, 0];
        assert!(Frame::parse(0xC1, &header(12)).is_ok());
        assert!(Frame::parse(0xC3, &header(16)).is_ok());
        assert!(matches!(
            Frame::parse(0xC0, &header(35)),
            Err(ClassifyError::CorruptImage(why)) if why.contains("35-bit")
        ));
    }

    #[test]
    fn photos_too_large_for_the_budget_at_full_size_are_decoded_reduced() {
        let path = |width: u16, height: u16, marker: u8, orientation: Orientation| {
            let header = Header {
                frame: Frame {
                    marker,
                    precision: 8,
                    width,
                    height,
                    components: vec![component(2, 2), component(1, 1), component(1, 1)],
                },
                first_scan_components: 3,
                orientation,
                ends: true,
                repairs: Vec::new(),
            };
            if budget::fits(header.full_size_peak()) {
                "full size"
            } else if budget::fits(header.reduced_peak()) {
                "reduced"
            } else {
                "refused"
            }
        };
        let (baseline, progressive) = (0xC0, 0xC2);
        let (upright, rotated) = (Orientation::NoTransforms, Orientation::Rotate90);
        assert_eq!(path(4032, 3024, baseline, upright), "full size"); // 12 MP
        assert_eq!(path(4032, 3024, progressive, rotated), "full size");
        assert_eq!(path(6000, 4000, baseline, upright), "full size"); // 24 MP
        assert_eq!(path(6000, 4000, baseline, rotated), "reduced");
        assert_eq!(path(7296, 5472, baseline, upright), "full size"); // 40 MP
        assert_eq!(path(8000, 6000, baseline, upright), "reduced"); // 48 MP
        assert_eq!(path(12_000, 9_000, progressive, rotated), "reduced"); // 108 MP
        assert_eq!(path(16_320, 12_240, baseline, upright), "reduced"); // 200 MP
        assert_eq!(path(65_535, 65_535, progressive, rotated), "refused");
    }
}
