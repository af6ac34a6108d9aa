//! Every way classification can fail, phrased for the person who gave us the photo.

use thiserror::Error;

/// Why a photo (or the model) could not be used. Messages are shown to people as they are.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ClassifyError {
    /// Zero bytes or zero pixels: usually a failed upload or an empty file.
    #[error("the file is empty")]
    EmptyInput,

    /// The bytes are not any image format we know.
    #[error("this is not an image (the file does not start like a JPEG, PNG, WebP or GIF)")]
    NotAnImage,

    /// A real image format that this build cannot decode; named so people know what to convert.
    #[error("{0} images are not supported; please convert the photo to JPEG, PNG or WebP")]
    UnsupportedFormat(String),

    /// The header looked right but the data is cut off or damaged.
    #[error("the image is truncated or corrupt: {0}")]
    CorruptImage(String),

    /// Refused before decoding, so a decompression bomb cannot exhaust memory.
    #[error("the image is too large: {width}x{height} pixels is more than the limit of {limit} megapixels")]
    TooManyPixels { width: u32, height: u32, limit: u32 },

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

    /// `model.json` is missing fields or inconsistent.
    #[error("the model metadata is invalid: {0}")]
    BadMetadata(String),

    /// tract failed while running the network (should not happen with a validated model).
    #[error("inference failed: {0}")]
    Inference(String),
}
