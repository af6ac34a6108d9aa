//! Every way classification can fail, phrased for the person who gave us the photo.

use std::fmt;

use thiserror::Error;

/// Why a photo (or the model) could not be used. Messages are shown to people as they are.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ClassifyError {
    /// Zero bytes: usually a failed upload or an empty file.
    #[error("the file is empty")]
    EmptyInput,

    /// The bytes are not any image format we know.
    #[error("this is not an image (the file does not start like a JPEG, PNG, WebP or GIF)")]
    NotAnImage,

    /// A real image format that this build cannot decode; named so people know what to convert.
    #[error("{0} images are not supported; please convert the photo to JPEG, PNG or WebP")]
    UnsupportedFormat(String),

    /// A JPEG coded in a way this decoder does not implement (arithmetic coding, lossless,
    /// hierarchical, more than 8 bits per sample). Named, because the file is not damaged and
    /// some programs show it: saving it again as an ordinary JPEG fixes it.
    #[error(
        "unsupported JPEG variant ({0}); please save the photo again as an ordinary JPEG, or as PNG or WebP"
    )]
    UnsupportedJpegVariant(String),

    /// The header looked right but the data is cut off or damaged.
    #[error("the image is truncated or corrupt: {0}")]
    CorruptImage(String),

    /// Refused before decoding, so a decompression bomb cannot exhaust memory.
    #[error("the image is too large: {width}x{height} pixels {limit}")]
    TooManyPixels {
        width: u32,
        height: u32,
        limit: SizeLimit,
    },

    /// RGBA pixel buffers handed in by a browser must match the stated size.
    #[error("the pixel buffer holds {actual} bytes but {width}x{height} RGBA needs {expected}")]
    PixelBufferSize {
        width: u32,
        height: u32,
        expected: usize,
        actual: usize,
    },

    /// The ONNX file could not be loaded or does not match its metadata.
    #[error("the model could not be loaded: {0}")]
    BadModel(String),

    /// The ONNX graph uses an operator the engine cannot run; named so the person knows what to
    /// change in their export.
    #[error("the model uses the ONNX operator {op} (node \"{node}\"), which this engine cannot run")]
    UnsupportedOperator { op: String, node: String },

    /// `model.json` is missing fields or inconsistent.
    #[error("the model metadata is invalid: {0}")]
    BadMetadata(String),

    /// tract failed while running the network (should not happen with a validated model).
    #[error("inference failed: {0}")]
    Inference(String),
}

/// The limit a too-large image is over; its message follows "the image is too large: WxH pixels".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeLimit {
    /// More pixels than any photo is accepted with.
    Pixels(u64),
    /// Decoding would take more memory than one classification may use, in bytes. `needed` is
    /// the estimate made from the header, or `None` when a decoder hit its limit part way.
    Memory { needed: Option<u64>, budget: u64 },
}

impl fmt::Display for SizeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let megabytes = |bytes: u64| bytes.div_ceil(1_000_000);
        match *self {
            SizeLimit::Pixels(limit) if limit >= 1_000_000 => {
                let tenths = limit / 100_000;
                let whole = tenths / 10;
                match tenths % 10 {
                    0 => write!(f, "is more than the limit of {whole} megapixels"),
                    tenth => write!(f, "is more than the limit of {whole}.{tenth} megapixels"),
                }
            }
            SizeLimit::Pixels(limit) => write!(f, "is more than the limit of {limit} pixels"),
            SizeLimit::Memory {
                needed: Some(needed),
                budget,
            } => write!(
                f,
                "would need about {} MB of memory to decode, more than the limit of {} MB per photo",
                megabytes(needed),
                megabytes(budget)
            ),
            SizeLimit::Memory { needed: None, budget } => write!(
                f,
                "need more memory to decode than the limit of {} MB per photo",
                megabytes(budget)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn too_large(limit: SizeLimit) -> String {
        ClassifyError::TooManyPixels {
            width: 30_000,
            height: 30_000,
            limit,
        }
        .to_string()
    }

    #[test]
    fn size_limits_are_named_in_the_message() {
        assert_eq!(
            too_large(SizeLimit::Pixels(250_000_000)),
            "the image is too large: 30000x30000 pixels is more than the limit of 250 megapixels"
        );
        assert!(too_large(SizeLimit::Pixels(12_500_000)).ends_with("limit of 12.5 megapixels"));
        assert!(too_large(SizeLimit::Pixels(1_000)).ends_with("limit of 1000 pixels"));
        assert_eq!(
            too_large(SizeLimit::Memory {
                needed: Some(539_000_001),
                budget: 150_000_000
            }),
            "the image is too large: 30000x30000 pixels would need about 540 MB of memory to \
             decode, more than the limit of 150 MB per photo"
        );
        assert!(too_large(SizeLimit::Memory {
            needed: None,
            budget: 150_000_000
        })
        .ends_with("than the limit of 150 MB per photo"));
    }
}
