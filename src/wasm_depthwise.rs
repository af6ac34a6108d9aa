//! A float32 depthwise-convolution kernel for wasm SIMD that keeps a 3×3 filter in registers.
//!
//! In the browser tract runs the network's depthwise convolutions with the channel as the
//! contiguous axis, one row of output positions per kernel call. tract's wasm kernel walks the
//! positions outside and the taps inside, so every multiply-add loads its filter value again
//! beside its input: two loads per multiply-add. This one walks four channels at a time outside
//! and the positions inside: a 3×3 filter's nine vectors (and the bias) are loaded once per row
//! and stay in registers, so each multiply-add loads only its input. Depthwise convolutions are
//! about a tenth of an inference. Other filter sizes (the edge zones of a padded convolution)
//! and the last channels of a count that is not a multiple of four take the plain loop.
//!
//! Registered through tract-linalg's routine registry (`inventory`) one step above tract's own
//! wasm kernel, so tract picks it wherever it would have picked its own.

use std::arch::wasm32::*;

use tract_linalg::isa::{Arch, IsaReq};
use tract_linalg::routines::{Func, Routine, RoutineFactory};

use crate::wasm_matmul::madd;

/// The kernel's name in tract's registry.
pub const KERNEL_NAME: &str = "food_wasm_depthwise_c_f32";

/// Taps of the filter the register-resident path is written for: 3×3.
const TAPS: usize = 9;

/// `len` output positions of a depthwise convolution over `channels` contiguous channels, in
/// tract's `DepthwiseCF32` contract: position `i`'s output at `output + i * out_stride` is the bias
/// plus, for each tap `t`, `kernel[tap_indices[t] * k_stride + c] * input[i * in_stride +
/// offsets[t] + c]`.
///
/// # Safety
/// As tract's contract says: every input, filter and bias value named above must be readable,
/// and `channels` values writable at each output position.
#[allow(clippy::too_many_arguments)]
pub unsafe fn depthwise_c(
    input: *const f32,
    output: *mut f32,
    kernel: *const f32,
    tap_indices: &[usize],
    offsets: &[isize],
    bias: *const f32,
    channels: usize,
    k_stride: usize,
    len: usize,
    in_stride: isize,
    out_stride: isize,
) {
    let at = |i: usize, stride: isize| i as isize * stride;
    let mut c = 0;
    unsafe {
        if let (Ok(taps), Ok(offsets)) = (
            <&[usize; TAPS]>::try_from(tap_indices),
            <&[isize; TAPS]>::try_from(offsets),
        ) {
            while c + 4 <= channels {
                let filter: [v128; TAPS] =
                    std::array::from_fn(|t| v128_load(kernel.add(taps[t] * k_stride + c).cast()));
                let start = v128_load(bias.add(c).cast());
                for i in 0..len {
                    let x = input.offset(at(i, in_stride)).add(c);
                    let mut acc = start;
                    for t in 0..TAPS {
                        acc = madd(acc, v128_load(x.offset(offsets[t]).cast()), filter[t]);
                    }
                    v128_store(output.offset(at(i, out_stride)).add(c).cast(), acc);
                }
                c += 4;
            }
        }
        for i in 0..len {
            let x = input.offset(at(i, in_stride));
            let y = output.offset(at(i, out_stride));
            let mut k = c;
            while k + 4 <= channels {
                let mut acc = v128_load(bias.add(k).cast());
                for (&tap, &offset) in tap_indices.iter().zip(offsets) {
                    let w = v128_load(kernel.add(tap * k_stride + k).cast());
                    acc = madd(acc, v128_load(x.offset(offset).add(k).cast()), w);
                }
                v128_store(y.add(k).cast(), acc);
                k += 4;
            }
            for k in k..channels {
                let mut sum = *bias.add(k);
                for (&tap, &offset) in tap_indices.iter().zip(offsets) {
                    sum += *kernel.add(tap * k_stride + k) * *x.offset(offset).add(k);
                }
                *y.add(k) = sum;
            }
        }
    }
}

inventory::submit! {
    Routine {
        func: Func::DepthwiseC,
        arch: Some(Arch::Wasm32Simd128),
        isa: IsaReq::ANY,
        // tract's own wasm kernel has no boost: this one ranks above it.
        boost: 1,
        round_trip: false,
        factory: RoutineFactory::DepthwiseCF32 { name: KERNEL_NAME, run: depthwise_c },
    }
}
