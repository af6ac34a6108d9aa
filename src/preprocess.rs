//! Pixels to the model's input tensor, exactly as training did it (torchvision on PIL):
//! shorter side to `resize_shorter_side` with antialiased bilinear, centre crop, mean/std, NCHW;
//! or, for models that want it, a straight resize to the input size and NHWC.
//!
//! Only the pixels inside the crop are ever computed, so a 12 MP photo costs one pass over
//! its rows, and the working memory is a few filtered rows whatever the image's size or shape.

use crate::error::ClassifyError;
use crate::metadata::{Crop, InputContract, Layout};

/// Borrowed interleaved 8-bit pixels, RGB (3 channels) or RGBA (4; alpha ignored).
#[derive(Debug, Clone, Copy)]
pub struct PixelView<'a> {
    data: &'a [u8],
    width: u32,
    height: u32,
    channels: usize,
}

impl<'a> PixelView<'a> {
    /// Checks that `data` holds exactly `width * height * channels` bytes.
    pub fn new(data: &'a [u8], width: u32, height: u32, channels: usize) -> Result<Self, ClassifyError> {
        assert!(channels == 3 || channels == 4, "PixelView takes RGB or RGBA");
        if width == 0 || height == 0 || data.is_empty() {
            return Err(ClassifyError::EmptyInput);
        }
        let expected = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(channels))
            .unwrap_or(usize::MAX);
        if data.len() != expected {
            return Err(ClassifyError::PixelBufferSize {
                width,
                height,
                expected,
                actual: data.len(),
            });
        }
        Ok(PixelView {
            data,
            width,
            height,
            channels,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }
}

/// Size after "shorter side to `side`", truncating the longer side as torchvision does.
pub fn resized_size(width: u32, height: u32, side: u32) -> (u32, u32) {
    let long_of =
        |short: u32, long: u32| ((f64::from(side) * f64::from(long) / f64::from(short)) as u32).max(1);
    if width <= height {
        (side, long_of(width, height))
    } else {
        (long_of(height, width), side)
    }
}

/// Offset of a centred crop, rounding halves to even like Python's `round`.
fn crop_offset(resized: u32, crop: u32) -> usize {
    let half = (f64::from(resized) - f64::from(crop)) / 2.0;
    half.round_ties_even().max(0.0) as usize
}

/// Filter taps for one axis: for each output sample, the first input index and its weights.
struct AxisTaps {
    starts: Vec<usize>,
    /// `taps` weights per output sample, zero-padded.
    weights: Vec<f32>,
    taps: usize,
}

impl AxisTaps {
    /// PIL's `ImagingResample` bilinear coefficients for outputs `offset..offset + count`
    /// of a resize from `input` to `resized` samples.
    fn bilinear(input: u32, resized: u32, offset: usize, count: usize) -> AxisTaps {
        let scale = f64::from(input) / f64::from(resized);
        let filter_scale = scale.max(1.0);
        let support = filter_scale; // triangle filter has support 1
        let taps = (support.ceil() as usize) * 2 + 1;
        let mut starts = Vec::with_capacity(count);
        let mut weights = vec![0f32; count * taps];
        for (k, out) in (offset..offset + count).enumerate() {
            let center = (out as f64 + 0.5) * scale;
            let first = ((center - support + 0.5) as i64).max(0) as usize;
            let last = ((center + support + 0.5) as i64).min(i64::from(input)) as usize;
            let row = &mut weights[k * taps..(k + 1) * taps];
            let mut total = 0.0;
            for (w, x) in row.iter_mut().zip(first..last) {
                let t = ((x as f64 - center + 0.5) / filter_scale).abs();
                let v = if t < 1.0 { 1.0 - t } else { 0.0 };
                *w = v as f32;
                total += v;
            }
            if total > 0.0 {
                row.iter_mut().for_each(|w| *w = (f64::from(*w) / total) as f32);
            }
            starts.push(first);
        }
        // The filter's width allows a tap more than an enlargement or an unscaled axis ever
        // weighs (one tap of weight 1 when unscaled): trailing taps that are zero for every
        // output are dropped, so the passes do not multiply by them.
        let used = (0..count)
            .map(|k| {
                let row = &weights[k * taps..(k + 1) * taps];
                row.iter().rposition(|&w| w != 0.0).map_or(0, |last| last + 1)
            })
            .max()
            .unwrap_or(0)
            .max(1);
        if used < taps {
            weights = weights
                .chunks_exact(taps)
                .flat_map(|row| &row[..used])
                .copied()
                .collect();
        }
        AxisTaps {
            starts,
            weights,
            taps: used,
        }
    }

    fn for_output(&self, k: usize) -> (usize, &[f32]) {
        (self.starts[k], &self.weights[k * self.taps..(k + 1) * self.taps])
    }
}

/// Builds the float tensor for `pixels` according to `contract` (its crop and layout).
pub fn to_input_tensor(pixels: &PixelView, contract: &InputContract) -> Vec<f32> {
    let (crop_w, crop_h) = contract.crop_size();
    let (resized_w, resized_h) = match contract.crop {
        Crop::Center => resized_size(pixels.width, pixels.height, contract.resize_shorter_side),
        Crop::None => (crop_w, crop_h),
    };
    let (cw, ch) = (crop_w as usize, crop_h as usize);
    let cols = AxisTaps::bilinear(pixels.width, resized_w, crop_offset(resized_w, crop_w), cw);
    let rows = AxisTaps::bilinear(pixels.height, resized_h, crop_offset(resized_h, crop_h), ch);
    let nhwc = contract.layout == Layout::Nhwc;

    // Horizontal pass, one input row at a time as the vertical pass first needs it, into a ring
    // of `rows.taps` filtered rows: the rows one output row reads are consecutive and move down
    // monotonically, so a row's slot is free again by the time a later row takes it, and memory
    // stays the same for any image height. The arithmetic is that of filtering every row first.
    let width = pixels.width as usize;
    let height = pixels.height as usize;
    let channels = pixels.channels;
    let row_len = cw * 3;
    let mut ring = vec![0f32; rows.taps * row_len];
    let mut filtered_to = 0;
    let filter_row = |y: usize, out_row: &mut [f32]| {
        let line = &pixels.data[y * width * channels..(y + 1) * width * channels];
        if channels == 4 {
            filter_line::<4>(line, &cols, out_row);
        } else {
            filter_line::<3>(line, &cols, out_row);
        }
    };

    // Vertical pass, fused with normalisation and, for NCHW, the HWC -> CHW transpose.
    let gain: [f32; 3] = std::array::from_fn(|c| contract.scale / contract.std[c]);
    let bias: [f32; 3] = std::array::from_fn(|c| contract.mean[c] / contract.std[c]);
    let plane = cw * ch;
    let mut tensor = vec![0f32; 3 * plane];
    let mut acc = vec![0f32; row_len];
    for y in 0..ch {
        let (start, weights) = rows.for_output(y);
        let end = (start + rows.taps).min(height);
        for row in filtered_to.max(start)..end {
            let slot = row % rows.taps;
            filter_row(row, &mut ring[slot * row_len..(slot + 1) * row_len]);
        }
        filtered_to = filtered_to.max(end);
        acc.fill(0.0);
        for (w, row) in weights.iter().zip(start..end) {
            let slot = row % rows.taps;
            let src = &ring[slot * row_len..(slot + 1) * row_len];
            acc.iter_mut().zip(src).for_each(|(a, s)| *a += w * s);
        }
        if nhwc {
            let out = &mut tensor[y * row_len..(y + 1) * row_len];
            for (o, a) in out.chunks_exact_mut(3).zip(acc.chunks_exact(3)) {
                for c in 0..3 {
                    o[c] = a[c] * gain[c] - bias[c];
                }
            }
        } else {
            for c in 0..3 {
                let out = &mut tensor[c * plane + y * cw..c * plane + (y + 1) * cw];
                for (o, a) in out.iter_mut().zip(acc.chunks_exact(3)) {
                    *o = a[c] * gain[c] - bias[c];
                }
            }
        }
    }
    tensor
}

/// One row of interleaved `C`-channel pixels filtered horizontally into RGB floats.
fn filter_line<const C: usize>(line: &[u8], cols: &AxisTaps, out_row: &mut [f32]) {
    let pixels: &[[u8; C]] = line.as_chunks::<C>().0;
    for (x, out) in out_row.chunks_exact_mut(3).enumerate() {
        let (start, weights) = cols.for_output(x);
        let mut acc = [0f32; 3];
        for (w, px) in weights.iter().zip(&pixels[start..]) {
            acc[0] += w * f32::from(px[0]);
            acc[1] += w * f32::from(px[1]);
            acc[2] += w * f32::from(px[2]);
        }
        out.copy_from_slice(&acc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract(side: u32, crop: usize) -> InputContract {
        InputContract {
            shape: [1, 3, crop, crop],
            layout: Layout::Nchw,
            crop: Crop::Center,
            resize_shorter_side: side,
            scale: 1.0 / 255.0,
            mean: [0.0; 3],
            std: [1.0; 3],
        }
    }

    #[test]
    fn resized_size_truncates_like_torchvision() {
        assert_eq!(resized_size(4032, 3024, 224), (298, 224));
        assert_eq!(resized_size(300, 500, 224), (224, 373));
        assert_eq!(resized_size(224, 224, 224), (224, 224));
        assert_eq!(resized_size(1, 100_000, 224), (224, 22_400_000));
    }

    #[test]
    fn crop_offset_rounds_half_to_even() {
        assert_eq!(crop_offset(225, 224), 0); // 0.5 -> 0
        assert_eq!(crop_offset(227, 224), 2); // 1.5 -> 2
        assert_eq!(crop_offset(229, 224), 2); // 2.5 -> 2
        assert_eq!(crop_offset(298, 224), 37);
    }

    #[test]
    fn taps_that_never_weigh_are_dropped() {
        let unscaled = AxisTaps::bilinear(240, 240, 8, 224);
        assert_eq!(unscaled.taps, 1);
        assert!(unscaled.weights.iter().all(|&w| w == 1.0));
        assert_eq!(unscaled.for_output(0).0, 8);
        assert_eq!(AxisTaps::bilinear(224, 240, 8, 224).taps, 2);
        // Halving weighs four input samples, one fewer than the filter's width of five.
        let halved = AxisTaps::bilinear(480, 240, 8, 224);
        assert_eq!(halved.taps, 4);
        assert_eq!(halved.for_output(0).1, [0.125, 0.375, 0.375, 0.125]);
    }

    #[test]
    fn uniform_image_stays_uniform_and_is_normalised() {
        let data = vec![51u8; 640 * 480 * 4];
        let view = PixelView::new(&data, 640, 480, 4).unwrap();
        let mut c = contract(224, 224);
        c.mean = [0.1, 0.2, 0.3];
        c.std = [0.5, 0.5, 0.5];
        let t = to_input_tensor(&view, &c);
        assert_eq!(t.len(), 3 * 224 * 224);
        for (ch, plane) in t.chunks_exact(224 * 224).enumerate() {
            let expected = (0.2 - c.mean[ch]) / 0.5;
            assert!(plane.iter().all(|v| (v - expected).abs() < 1e-5), "channel {ch}");
        }
    }

    #[test]
    fn identity_size_copies_pixels_in_chw_order() {
        // 4x4 RGB image, resize side 4 and crop 4: no resampling, just layout.
        let data: Vec<u8> = (0..48).map(|i| i as u8).collect();
        let view = PixelView::new(&data, 4, 4, 3).unwrap();
        let t = to_input_tensor(&view, &contract(4, 4));
        for y in 0..4 {
            for x in 0..4 {
                for c in 0..3 {
                    let want = f32::from(data[(y * 4 + x) * 3 + c]) / 255.0;
                    assert!((t[c * 16 + y * 4 + x] - want).abs() < 1e-6);
                }
            }
        }
    }

    #[test]
    fn centre_crop_takes_the_middle() {
        // 6x2 image, crop 2x2 from the middle columns (offset 2).
        let mut data = vec![0u8; 6 * 2 * 3];
        for y in 0..2 {
            for x in 2..4 {
                data[(y * 6 + x) * 3..(y * 6 + x) * 3 + 3].copy_from_slice(&[255, 255, 255]);
            }
        }
        let view = PixelView::new(&data, 6, 2, 3).unwrap();
        let t = to_input_tensor(&view, &contract(2, 2));
        assert!(t.iter().all(|v| (v - 1.0).abs() < 1e-6));
    }

    #[test]
    fn downscale_averages_neighbours() {
        // 4x4 checkerboard halved: every output pixel mixes black and white.
        let data: Vec<u8> = (0..16)
            .flat_map(|i| {
                let v = if (i % 4 + i / 4) % 2 == 0 { 255 } else { 0 };
                [v, v, v]
            })
            .collect();
        let view = PixelView::new(&data, 4, 4, 3).unwrap();
        let t = to_input_tensor(&view, &contract(2, 2));
        assert!(t.iter().all(|v| (v - 0.5).abs() < 0.2), "{t:?}");
    }

    #[test]
    fn extreme_aspect_ratio_only_computes_the_crop() {
        let data = vec![200u8; 3 * 40_000];
        let view = PixelView::new(&data, 1, 40_000, 3).unwrap();
        let t = to_input_tensor(&view, &contract(224, 224));
        assert_eq!(t.len(), 3 * 224 * 224);
        assert!(t.iter().all(|v| (v - 200.0 / 255.0).abs() < 1e-4));
    }

    #[test]
    fn rejects_wrong_buffer_sizes() {
        assert!(matches!(
            PixelView::new(&[0; 10], 2, 2, 4),
            Err(ClassifyError::PixelBufferSize {
                expected: 16,
                actual: 10,
                ..
            })
        ));
        assert_eq!(
            PixelView::new(&[], 0, 0, 4).unwrap_err(),
            ClassifyError::EmptyInput
        );
    }

    #[test]
    fn nhwc_is_the_same_values_with_channels_last() {
        let data: Vec<u8> = (0..5 * 3 * 3).map(|v| (v * 7 % 256) as u8).collect();
        let view = PixelView::new(&data, 5, 3, 3).unwrap();
        let nchw = to_input_tensor(&view, &contract(3, 3));
        let nhwc = to_input_tensor(
            &view,
            &InputContract {
                shape: [1, 3, 3, 3],
                layout: Layout::Nhwc,
                ..contract(3, 3)
            },
        );
        for c in 0..3 {
            for i in 0..9 {
                assert_eq!(nhwc[i * 3 + c], nchw[c * 9 + i]);
            }
        }
    }

    #[test]
    fn no_crop_resizes_the_whole_photo_to_the_input() {
        // 8x2, the two leftmost columns black, the rest white. Straight to 2x2 sees the black
        // edge; the centre crop of the same photo (columns 3 and 4) does not.
        let data: Vec<u8> = (0..2)
            .flat_map(|_| (0..8).flat_map(|x| [if x < 2 { 0 } else { 255 }; 3]))
            .collect();
        let view = PixelView::new(&data, 8, 2, 3).unwrap();
        let whole = to_input_tensor(
            &view,
            &InputContract {
                crop: Crop::None,
                ..contract(2, 2)
            },
        );
        assert!(whole[0] < 0.6 && whole[1] > 0.999, "{whole:?}");
        let middle = to_input_tensor(&view, &contract(2, 2));
        assert!(middle[0] > 0.999 && middle[1] > 0.999, "{middle:?}");
    }
}
