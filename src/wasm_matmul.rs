//! Float32 matrix-product kernels for wasm SIMD shaped for V8's register allocator, and the
//! dispatch rule that makes tract use them.
//!
//! tract's wasm kernel for products is an 8×8 tile: sixteen `f32x4` accumulators, which on x86
//! (sixteen vector registers, the machines most browsers run on) leave none for the operands, so
//! V8 spills accumulators to the stack on every step of the inner loop. Our tile is 4×8: eight
//! accumulators, two operand vectors and one broadcast stay in registers. It also stores a tile
//! with whole-vector writes (transposing 4×4 blocks when the output's rows are the contiguous
//! axis) where tract's writes one float at a time. Matrix products are about 80 % of an inference.
//!
//! tract calls a kernel once per tile and does some work around each call; for products with
//! few steps of k (the expansion layers, k = 16 to 64) that work costs as much as the tile's
//! arithmetic. The same kernel is therefore also registered 16 and 32 columns wide, running two
//! or four 4×8 tiles side by side per call. The last layers have 196 and 49 columns (14×14 and
//! 7×7 positions), where a 4×8 tile computes 200 and 56 and throws the rest away: for them it is
//! also registered 28 and 52 columns wide, 4×8 tiles and a 4×4 one. Each product gets the kernel
//! that throws away the fewest columns.
//!
//! Bounds (ReLU6's clip after every expansion layer) use wasm's pseudo-minimum and -maximum,
//! ordered so that they give the bits tract's generic kernel gives, NaN and signed zeros
//! included: V8 emits one `minps`/`maxps` for each, where the IEEE `f32x4.min`/`max` cost about
//! seven instructions, which made the clip a sixth of the short-k products' time.
//!
//! Registration goes through tract-linalg's kernel and dispatch registries (`inventory`): the
//! kernels join the list of runnable kernels, and a dispatch tier above tract's own wasm tier
//! names one for every float32 product with more than one column. Matrix-vector products (the
//! heads) keep tract's kernels.

use std::arch::wasm32::*;

use tract_linalg::isa::{Arch, IsaSet};
use tract_linalg::mmm::{DynKernel, FusedKerSpec, MatMatMul, OutputStoreKer, Query, Suitable};
use tract_linalg::pack::PackedFormat;
use tract_linalg::Scaler;
use tract_onnx::prelude::DatumType;

/// The kernels' names in tract's registry (and in a plan's `Debug` text), by width.
pub const KERNEL_NAMES: [&str; 5] = [
    "food_wasm_f32_4x8",
    "food_wasm_f32_4x16",
    "food_wasm_f32_4x32",
    "food_wasm_f32_4x28",
    "food_wasm_f32_4x52",
];

/// Columns of each kernel's tile, in the order of [`KERNEL_NAMES`].
const WIDTHS: [usize; 5] = [8, 16, 32, 28, 52];

/// Rows of a tile (the packed left operand's panel width).
const MR: usize = 4;
/// Columns of one 4×8 tile, as `f32x4` vectors.
const NV: usize = 2;

/// `MR` rows of `V` vectors: a 4×8 tile, or the 4×4 one that ends a 28- or 52-column call.
type Tile<const V: usize> = [[v128; V]; MR];

/// `acc + a * b`, fused where the build has relaxed SIMD.
#[inline(always)]
pub(crate) fn madd(acc: v128, a: v128, b: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    {
        f32x4_relaxed_madd(a, b, acc)
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    {
        f32x4_add(acc, f32x4_mul(a, b))
    }
}

#[inline(always)]
fn each<const V: usize>(tile: &mut Tile<V>, mut f: impl FnMut(v128, usize, usize) -> v128) {
    for (r, row) in tile.iter_mut().enumerate() {
        for (j, acc) in row.iter_mut().enumerate() {
            *acc = f(*acc, r, j);
        }
    }
}

/// Runs one call's list of operations, as tract's kernels do, on a tile of `PV` vectors (4·`PV`
/// columns): 4×8 tiles side by side, and a 4×4 one last when `PV` is odd.
///
/// # Safety
/// `specs` must be a tile program built by tract-linalg for this kernel's geometry (its pointers
/// valid for a 4 × 4·`PV` tile, its packed panels laid out as [`kernel`] declares).
unsafe fn run_tiles<const PV: usize>(specs: &[FusedKerSpec<f32>]) -> isize {
    for sub in 0..PV / NV {
        // SAFETY: as this function's.
        unsafe { run_sub_tile::<PV, NV>(specs, sub * NV) };
    }
    if PV % NV == 1 {
        // SAFETY: as this function's.
        unsafe { run_sub_tile::<PV, 1>(specs, PV - 1) };
    }
    0
}

/// The `V` vectors of columns from vector `first` on, of a call's tile of `PV` vectors.
#[inline(always)]
unsafe fn run_sub_tile<const PV: usize, const V: usize>(specs: &[FusedKerSpec<f32>], first: usize) {
    let shifted = |out: OutputStoreKer| OutputStoreKer {
        // SAFETY: within the call's tile.
        ptr: unsafe { out.ptr.offset(out.col_byte_stride * (4 * first) as isize) },
        ..out
    };
    let mut tile: Tile<V> = [[f32x4_splat(0.0); V]; MR];
    for spec in specs {
        // SAFETY (whole match): every pointer comes from tract for a tile of this geometry.
        unsafe {
            match *spec {
                FusedKerSpec::Done => break,
                FusedKerSpec::Clear => each(&mut tile, |_, _, _| f32x4_splat(0.0)),
                FusedKerSpec::LoadTile(_, rows) => {
                    let p = rows as *const v128;
                    each(&mut tile, |_, r, j| v128_load(p.add(r * PV + first + j)))
                }
                FusedKerSpec::ScalarMin(s) => scalar(&mut tile, s, |s, x| f32x4_pmin(x, s)),
                FusedKerSpec::ScalarMax(s) => scalar(&mut tile, s, |s, x| f32x4_pmax(x, s)),
                FusedKerSpec::ScalarAdd(s) => scalar(&mut tile, s, |s, x| f32x4_add(s, x)),
                FusedKerSpec::ScalarMul(s) => scalar(&mut tile, s, |s, x| f32x4_mul(s, x)),
                FusedKerSpec::ScalarSub(s) => scalar(&mut tile, s, |s, x| f32x4_sub(s, x)),
                FusedKerSpec::ScalarSubF(s) => scalar(&mut tile, s, |s, x| f32x4_sub(x, s)),
                FusedKerSpec::LeakyRelu(s) => {
                    let (s, zero) = (f32x4_splat(s), f32x4_splat(0.0));
                    each(&mut tile, |x, _, _| {
                        v128_bitselect(x, f32x4_mul(s, x), f32x4_gt(x, zero))
                    })
                }
                FusedKerSpec::PerRowMin(p) => per_row(&mut tile, p, |s, x| f32x4_pmin(x, s)),
                FusedKerSpec::PerRowMax(p) => per_row(&mut tile, p, |s, x| f32x4_pmax(x, s)),
                FusedKerSpec::PerRowAdd(p) => per_row(&mut tile, p, |s, x| f32x4_add(s, x)),
                FusedKerSpec::PerRowMul(p) => per_row(&mut tile, p, |s, x| f32x4_mul(s, x)),
                FusedKerSpec::PerRowSub(p) => per_row(&mut tile, p, |s, x| f32x4_sub(s, x)),
                FusedKerSpec::PerRowSubF(p) => per_row(&mut tile, p, |s, x| f32x4_sub(x, s)),
                FusedKerSpec::PerColMin(p) => per_col(&mut tile, p, first, |s, x| f32x4_pmin(x, s)),
                FusedKerSpec::PerColMax(p) => per_col(&mut tile, p, first, |s, x| f32x4_pmax(x, s)),
                FusedKerSpec::PerColAdd(p) => per_col(&mut tile, p, first, |s, x| f32x4_add(s, x)),
                FusedKerSpec::PerColMul(p) => per_col(&mut tile, p, first, |s, x| f32x4_mul(s, x)),
                FusedKerSpec::PerColSub(p) => per_col(&mut tile, p, first, |s, x| f32x4_sub(s, x)),
                FusedKerSpec::PerColSubF(p) => per_col(&mut tile, p, first, |s, x| f32x4_sub(x, s)),
                FusedKerSpec::QScale(shift, policy, mult) => {
                    let scale = Scaler::from_fuse_params(shift, policy, mult).scale;
                    scalar(&mut tile, scale, |s, x| f32x4_mul(s, x))
                }
                FusedKerSpec::RoundingShiftRight(shift, _) => {
                    scalar(&mut tile, 2f32.powi(-(shift as i32)), |s, x| f32x4_mul(s, x))
                }
                FusedKerSpec::ShiftLeft(shift) => {
                    scalar(&mut tile, 2f32.powi(shift as i32), |s, x| f32x4_mul(s, x))
                }
                FusedKerSpec::AddUnicast(out) => {
                    let out = shifted(out);
                    each(&mut tile, |x, r, j| f32x4_add(x, load(&out, r, j)))
                }
                FusedKerSpec::AddRowColProducts(rows, cols) => {
                    let cols = (cols as *const v128).add(first);
                    each(&mut tile, |x, r, j| {
                        madd(x, f32x4_splat(*rows.add(r)), v128_load(cols.add(j)))
                    })
                }
                FusedKerSpec::Store(out) => store(&tile, &shifted(out)),
                FusedKerSpec::AddMatMul { k, pa, pb, .. } => {
                    let (a, b) = (pa as *const f32, pb as *const v128);
                    for i in 0..k {
                        let row = b.add(i * PV + first);
                        let cols: [v128; V] = std::array::from_fn(|j| v128_load(row.add(j)));
                        for (r, row) in tile.iter_mut().enumerate() {
                            let s = v128_load32_splat(a.add(i * MR + r) as *const u32);
                            for (acc, col) in row.iter_mut().zip(cols) {
                                *acc = madd(*acc, s, col);
                            }
                        }
                    }
                }
            }
        }
    }
}

#[inline(always)]
fn scalar<const V: usize>(tile: &mut Tile<V>, s: f32, op: impl Fn(v128, v128) -> v128) {
    let s = f32x4_splat(s);
    each(tile, |x, _, _| op(s, x))
}

#[inline(always)]
unsafe fn per_row<const V: usize>(tile: &mut Tile<V>, values: *const f32, op: impl Fn(v128, v128) -> v128) {
    // SAFETY: tract passes MR values for the tile's rows.
    each(tile, |x, r, _| op(f32x4_splat(unsafe { *values.add(r) }), x))
}

#[inline(always)]
unsafe fn per_col<const V: usize>(
    tile: &mut Tile<V>,
    values: *const f32,
    first: usize,
    op: impl Fn(v128, v128) -> v128,
) {
    // SAFETY: tract passes a value for each of the call's columns; the sub-tile's start at `first`.
    let values = unsafe { (values as *const v128).add(first) };
    each(tile, |x, _, j| op(unsafe { v128_load(values.add(j)) }, x))
}

/// Address of row `r`, column `c` of an output tile.
#[inline(always)]
unsafe fn at(out: &OutputStoreKer, r: usize, c: usize) -> *mut u8 {
    // SAFETY: within the tile tract describes.
    unsafe {
        out.ptr
            .offset(out.row_byte_stride * r as isize + out.col_byte_stride * c as isize)
    }
}

/// The four floats of row `r`, columns `4j..4j + 4` of an output tile.
#[inline(always)]
unsafe fn load(out: &OutputStoreKer, r: usize, j: usize) -> v128 {
    unsafe {
        if out.col_byte_stride == 4 {
            v128_load(at(out, r, 4 * j) as *const v128)
        } else {
            let f = |c: usize| *(at(out, r, 4 * j + c) as *const f32);
            f32x4(f(0), f(1), f(2), f(3))
        }
    }
}

/// Writes the tile: whole vectors along contiguous rows, transposed 4×4 blocks along contiguous
/// columns, single floats otherwise.
#[inline(always)]
unsafe fn store<const V: usize>(tile: &Tile<V>, out: &OutputStoreKer) {
    unsafe {
        if out.col_byte_stride == 4 {
            for (r, row) in tile.iter().enumerate() {
                for (j, v) in row.iter().enumerate() {
                    v128_store(at(out, r, 4 * j) as *mut v128, *v);
                }
            }
        } else if out.row_byte_stride == 4 {
            let [r0, r1, r2, r3] = tile;
            for (j, (((&a0, &a1), &a2), &a3)) in r0.iter().zip(r1).zip(r2).zip(r3).enumerate() {
                let t0 = i32x4_shuffle::<0, 4, 1, 5>(a0, a1);
                let t1 = i32x4_shuffle::<2, 6, 3, 7>(a0, a1);
                let t2 = i32x4_shuffle::<0, 4, 1, 5>(a2, a3);
                let t3 = i32x4_shuffle::<2, 6, 3, 7>(a2, a3);
                let columns = [
                    i32x4_shuffle::<0, 1, 4, 5>(t0, t2),
                    i32x4_shuffle::<2, 3, 6, 7>(t0, t2),
                    i32x4_shuffle::<0, 1, 4, 5>(t1, t3),
                    i32x4_shuffle::<2, 3, 6, 7>(t1, t3),
                ];
                for (c, column) in columns.into_iter().enumerate() {
                    v128_store(at(out, 0, 4 * j + c) as *mut v128, column);
                }
            }
        } else {
            for (r, row) in tile.iter().enumerate() {
                for (j, v) in row.iter().enumerate() {
                    let lanes: [f32; 4] = std::mem::transmute(*v);
                    for (c, lane) in lanes.into_iter().enumerate() {
                        *(at(out, r, 4 * j + c) as *mut f32) = lane;
                    }
                }
            }
        }
    }
}

/// A kernel as tract-linalg describes one: its tile, packings (16-byte aligned panels of 4 and NR
/// floats per step of k) and architecture.
fn kernel<const NR: usize>(name: &str, run: unsafe fn(&[FusedKerSpec<f32>]) -> isize) -> Box<dyn MatMatMul> {
    let mut kernel = DynKernel::<MR, NR, f32>::new(
        name,
        run,
        PackedFormat::new(DatumType::F32, MR, 16),
        PackedFormat::new(DatumType::F32, NR, 16),
    );
    kernel.arch = Some(Arch::Wasm32Simd128);
    kernel.mmm()
}

/// This build's choice for a float32 product of several columns: the kernel that computes the
/// fewest columns only to throw them away (a 4×8 tile over 49 columns computes 56), then the one
/// without a 4×4 tile (half as fast per column), then the widest (fewest calls). Without a known
/// column count, the 4×8 tile.
fn preferred(_: &IsaSet, accumulator: DatumType, query: &Query, _: &[Suitable]) -> Option<&'static str> {
    if accumulator != DatumType::F32 || query.n == Some(1) {
        return None;
    }
    let Some(n) = query.n else {
        return Some(KERNEL_NAMES[0]);
    };
    let cost = |width: usize| {
        (
            n.div_ceil(width) * width - n,
            !width.is_multiple_of(8),
            std::cmp::Reverse(width),
        )
    };
    KERNEL_NAMES
        .into_iter()
        .zip(WIDTHS)
        .min_by_key(|&(_, width)| cost(width))
        .map(|(name, _)| name)
}

inventory::submit! {
    tract_linalg::mmm_routines::MmmRoutine { make: || kernel::<8>(KERNEL_NAMES[0], run_tiles::<2>) }
}

inventory::submit! {
    tract_linalg::mmm_routines::MmmRoutine { make: || kernel::<16>(KERNEL_NAMES[1], run_tiles::<4>) }
}

inventory::submit! {
    tract_linalg::mmm_routines::MmmRoutine { make: || kernel::<32>(KERNEL_NAMES[2], run_tiles::<8>) }
}

inventory::submit! {
    tract_linalg::mmm_routines::MmmRoutine { make: || kernel::<28>(KERNEL_NAMES[3], run_tiles::<7>) }
}

inventory::submit! {
    tract_linalg::mmm_routines::MmmRoutine { make: || kernel::<52>(KERNEL_NAMES[4], run_tiles::<13>) }
}

inventory::submit! {
    tract_linalg::mmm_tiers::MmmTier {
        arch: Some(Arch::Wasm32Simd128),
        // tract's own wasm tier is 1: this one is asked first.
        precedence: 2,
        name: "food-classifier wasm",
        applies: |_| true,
        preferred,
    }
}
