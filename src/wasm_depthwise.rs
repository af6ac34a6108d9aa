//! A float32 depthwise-convolution kernel for wasm SIMD that loads each filter vector once for
//! three output positions.
//!
//! In the browser tract runs the network's depthwise convolutions with the channel as the
//! contiguous axis, one row of output positions per kernel call. tract's wasm kernel computes one
//! position at a time, 16 channels at a time, so each multiply-add loads its filter value again
//! beside its input: two loads per multiply-add. This one computes three neighbouring positions
//! of 12 channels together (nine accumulators, which stay in V8's sixteen vector registers on
//! x86), so each filter vector loaded serves all three: four loads per three multiply-adds. The
//! channels and positions left over (fewer than 12, or than three) go to tract's kernel.
//! Depthwise convolutions are about a tenth of an inference; the README's lever table has the
//! shapes tried and what each gained.
//!
//! Registered through tract-linalg's routine registry (`inventory`) one step above tract's own
//! wasm kernel, so tract picks it wherever it would have picked its own.

use std::arch::wasm32::*;

use tract_linalg::isa::{Arch, IsaReq};
use tract_linalg::routines::{Func, Routine, RoutineFactory};

use crate::wasm_matmul::madd;

/// The kernel's name in tract's registry.
pub const KERNEL_NAME: &str = "food_wasm_depthwise_c_f32";

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
    // Positions `i..i + count`, channels from `c` on: tract's own kernel, which the blocks below
    // leave the last channels and positions to.
    let rest = |i: usize, count: usize, c: usize| unsafe {
        tract_linalg::wasm::depthwise_c_f32(
            input.offset(at(i, in_stride)).add(c),
            output.offset(at(i, out_stride)).add(c),
            kernel.add(c),
            tap_indices,
            offsets,
            bias.add(c),
            channels - c,
            k_stride,
            count,
            in_stride,
            out_stride,
        )
    };
    unsafe {
        let mut i = 0;
        while i + POSITIONS <= len {
            let x: [*const f32; POSITIONS] = std::array::from_fn(|p| input.offset(at(i + p, in_stride)));
            let y: [*mut f32; POSITIONS] = std::array::from_fn(|p| output.offset(at(i + p, out_stride)));
            let mut c = 0;
            while c + 4 * VECTORS <= channels {
                let start: [v128; VECTORS] = std::array::from_fn(|v| v128_load(bias.add(c + 4 * v).cast()));
                let mut acc = [start; POSITIONS];
                for (&tap, &offset) in tap_indices.iter().zip(offsets) {
                    let w = kernel.add(tap * k_stride + c);
                    let from = x.map(|x| x.offset(offset).add(c));
                    for v in 0..VECTORS {
                        let k = v128_load(w.add(4 * v).cast());
                        for (a, from) in acc.iter_mut().zip(from) {
                            a[v] = madd(a[v], v128_load(from.add(4 * v).cast()), k);
                        }
                    }
                }
                for (a, y) in acc.iter().zip(y) {
                    for (v, value) in a.iter().enumerate() {
                        v128_store(y.add(c + 4 * v).cast(), *value);
                    }
                }
                c += 4 * VECTORS;
            }
            rest(i, POSITIONS, c);
            i += POSITIONS;
        }
        rest(i, len - i, 0);
    }
}

/// Output positions computed together: each filter vector loaded serves all of them.
const POSITIONS: usize = 3;
/// `f32x4` vectors of channels computed together: with `POSITIONS` that is nine accumulators,
/// three filter vectors and an input, within V8's sixteen vector registers on x86.
const VECTORS: usize = 3;

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
