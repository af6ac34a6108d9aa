//! A float32 depthwise-convolution kernel for wasm SIMD that loads each filter vector once for
//! two output positions.
//!
//! In the browser tract runs the network's depthwise convolutions with the channel as the
//! contiguous axis, one row of output positions per kernel call. tract's wasm kernel computes one
//! position at a time, 16 channels at a time, so each multiply-add loads its filter value again
//! beside its input: two loads per multiply-add. This one computes two neighbouring positions
//! together (eight accumulators, which stay in V8's sixteen vector registers on x86), so each
//! filter vector loaded serves both: three loads per two multiply-adds. In Chromium that made an
//! inference about 0.4 ms (1.5 %) faster; keeping a 3×3 filter in registers across a row instead
//! (channels outside, positions inside) and four positions of 8 channels were both slower than
//! tract's kernel. Depthwise convolutions are about a tenth of an inference.
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
    let taps = || tap_indices.iter().zip(offsets);
    // One position's channels from `c` on, four at a time and then one by one.
    let tail = |x: *const f32, y: *mut f32, mut c: usize| unsafe {
        while c + 4 <= channels {
            let mut acc = v128_load(bias.add(c).cast());
            for (&tap, &offset) in taps() {
                let w = v128_load(kernel.add(tap * k_stride + c).cast());
                acc = madd(acc, v128_load(x.offset(offset).add(c).cast()), w);
            }
            v128_store(y.add(c).cast(), acc);
            c += 4;
        }
        for c in c..channels {
            let mut sum = *bias.add(c);
            for (&tap, &offset) in taps() {
                sum += *kernel.add(tap * k_stride + c) * *x.offset(offset).add(c);
            }
            *y.add(c) = sum;
        }
    };
    unsafe {
        let mut i = 0;
        while i + 2 <= len {
            let (x0, x1) = (input.offset(at(i, in_stride)), input.offset(at(i + 1, in_stride)));
            let (y0, y1) = (
                output.offset(at(i, out_stride)),
                output.offset(at(i + 1, out_stride)),
            );
            let mut c = 0;
            while c + 16 <= channels {
                let start: [v128; 4] = std::array::from_fn(|v| v128_load(bias.add(c + 4 * v).cast()));
                let (mut a0, mut a1) = (start, start);
                for (&tap, &offset) in taps() {
                    let w = kernel.add(tap * k_stride + c);
                    let (p0, p1) = (x0.offset(offset).add(c), x1.offset(offset).add(c));
                    for v in 0..4 {
                        let k = v128_load(w.add(4 * v).cast());
                        a0[v] = madd(a0[v], v128_load(p0.add(4 * v).cast()), k);
                        a1[v] = madd(a1[v], v128_load(p1.add(4 * v).cast()), k);
                    }
                }
                for v in 0..4 {
                    v128_store(y0.add(c + 4 * v).cast(), a0[v]);
                    v128_store(y1.add(c + 4 * v).cast(), a1[v]);
                }
                c += 16;
            }
            tail(x0, y0, c);
            tail(x1, y1, c);
            i += 2;
        }
        if i < len {
            tail(
                input.offset(at(i, in_stride)),
                output.offset(at(i, out_stride)),
                0,
            );
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
