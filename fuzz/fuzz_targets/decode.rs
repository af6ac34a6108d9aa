//! Any bytes through the decoder: a picture or an error, never a panic. Run with
//! `-malloc_limit_mb=150` so that a single allocation over the memory budget counts as a crash.
#![no_main]

use food_classifier::decode::{decode_image, DEFAULT_MAX_PIXELS};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = decode_image(data, DEFAULT_MAX_PIXELS);
});
