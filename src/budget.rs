//! How much memory one classification may take, and the check each decoder makes against it
//! before it allocates any pixels.

use crate::error::{ClassifyError, SizeLimit};

/// Peak heap memory one classification may use, in bytes: decoding, preprocessing and inference
/// together, on top of the encoded photo it is handed and the loaded model.
///
/// Why 150 MB: the server classifies one photo per core, and its pod (2 cores, 512 MiB) must hold
/// the process with its model (about 60 MB) plus two classifications at once with room to spare;
/// a browser tab gives the wasm engine far less than a server has. A 12 MP phone photo takes
/// about 43 MB (73 MB when its EXIF says to turn it), so photos decode at full size up to about
/// 40 MP (24 MP turned); larger JPEGs (the 108 and 200 MP of phone cameras) decode at 1/8 scale,
/// 12 to 19 MB, which loses nothing the model sees at 224 × 224. Anything else that would need
/// more is refused with this limit in its message. `tests/corpus.rs` measures the real peak of
/// nasty inputs and mutated photos against it.
pub const MEMORY_BUDGET: u64 = 150_000_000;

/// The largest model file the engine loads, in bytes. tract holds the file and the optimised
/// network (about twice the weights) at once while loading; a browser tab's wasm memory tops out
/// at 4 GiB and phones give far less. The largest of the lab's models (VGG16, 528 MB of float
/// weights) is over it; MobileNets, ResNet50 (98 MB) and EfficientNets fit.
pub const MAX_MODEL_BYTES: u64 = 256_000_000;

/// Refuses a model file of `len` bytes before it is read, when it is over [`MAX_MODEL_BYTES`].
pub fn check_model_size(len: u64) -> Result<(), ClassifyError> {
    if len > MAX_MODEL_BYTES {
        return Err(ClassifyError::BadModel(format!(
            "the file is {} MB; the engine loads models up to {} MB",
            len.div_ceil(1_000_000),
            MAX_MODEL_BYTES / 1_000_000
        )));
    }
    Ok(())
}

/// What preprocessing and inference allocate besides the decoded pixels (the input tensor and
/// tract's activations: under 7 MB measured), kept back from what a decoder may hold.
const PIPELINE_RESERVE: u64 = 16_000_000;

/// Whether a decoder that holds at most `decode_peak` bytes at once stays within the budget.
pub(crate) fn fits(decode_peak: u64) -> bool {
    decode_peak.saturating_add(PIPELINE_RESERVE) <= MEMORY_BUDGET
}

/// Refuses a `width` × `height` image whose decoder would hold more than the budget allows.
pub(crate) fn check(width: u32, height: u32, decode_peak: u64) -> Result<(), ClassifyError> {
    if fits(decode_peak) {
        Ok(())
    } else {
        Err(refusal(width, height, Some(decode_peak)))
    }
}

/// The refusal of an image over the budget, with what the whole classification would need when
/// the decoder's peak is known (`None`: a decoder found out part way).
pub(crate) fn refusal(width: u32, height: u32, decode_peak: Option<u64>) -> ClassifyError {
    ClassifyError::TooManyPixels {
        width,
        height,
        limit: SizeLimit::Memory {
            needed: decode_peak.map(|peak| peak.saturating_add(PIPELINE_RESERVE)),
            budget: MEMORY_BUDGET,
        },
    }
}

/// Bytes of `width` × `height` pixels at `bytes_per_pixel`, saturating so no header overflows it.
pub(crate) fn pixel_bytes(width: u32, height: u32, bytes_per_pixel: u64) -> u64 {
    (u64::from(width) * u64::from(height)).saturating_mul(bytes_per_pixel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_kept_back_from_decoders() {
        assert!(fits(MEMORY_BUDGET - PIPELINE_RESERVE));
        assert!(!fits(MEMORY_BUDGET - PIPELINE_RESERVE + 1));
        assert!(!fits(u64::MAX));
        assert_eq!(
            check(7071, 7071, 150_000_000),
            Err(ClassifyError::TooManyPixels {
                width: 7071,
                height: 7071,
                limit: SizeLimit::Memory {
                    needed: Some(150_000_000 + PIPELINE_RESERVE),
                    budget: MEMORY_BUDGET
                }
            })
        );
        assert_eq!(pixel_bytes(u32::MAX, u32::MAX, 8), u64::MAX);
        assert_eq!(pixel_bytes(4032, 3024, 3), 36_578_304);
    }

    #[test]
    fn models_over_the_limit_are_refused_before_loading() {
        assert!(check_model_size(MAX_MODEL_BYTES).is_ok());
        let error = check_model_size(528_000_000).unwrap_err().to_string();
        assert!(
            error.contains("528 MB") && error.contains("up to 256 MB"),
            "{error}"
        );
    }
}
