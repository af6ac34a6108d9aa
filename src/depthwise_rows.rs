//! Channel-last depthwise convolutions split over the thread pool by bands of output rows, with
//! the clip that follows each of them (ReLU6) applied to every row while it is still in cache.
//!
//! tract splits a channel-last depthwise layer over its pool by blocks of 16 channels, each block
//! walking every output position: on two threads the network's depthwise layers took 3.9 ms where
//! one thread took 2.3 (each call then covers 16 or 32 channels, and the kernel's fast path wants
//! whole rows of channels). Bands of output rows keep every call at the full channel count. The
//! clip tract runs afterwards as its own pass over the
//! whole tensor (split over the pool too) costs another 0.6 ms; here it runs on each finished row.
//!
//! The layer replaces tract's convolution before code generation, only for float32 depthwise
//! convolutions with the channels last (the layout the wasm engine's kernel asks for) and
//! constant weights; every other convolution keeps tract's path. Each row still runs on the
//! host's depthwise kernel where it has one (ours in wasm), or on a plain loop.

use std::sync::Arc;

use tract_linalg::routines::DepthwiseCF32;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{ensure, EvalContext, EvalOp, Op, StaticName, TypedOp};
use tract_onnx::tract_core::ops::binary::{BinMiniOp, TypedBinOp};
use tract_onnx::tract_core::ops::cnn::Conv;
use tract_onnx::tract_core::ops::math::{Max, Min};

/// A depthwise convolution over an `[n,] h, w, c` tensor whose weights live in the operator.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DepthwiseRows {
    /// Input height and width.
    input_hw: [usize; 2],
    /// Output height and width.
    output_hw: [usize; 2],
    channels: usize,
    /// Whether the tensors have a leading batch axis (of 1) before `h, w, c`.
    batch_axis: bool,
    kernel_hw: [usize; 2],
    strides: [usize; 2],
    dilations: [usize; 2],
    pad_before: [usize; 2],
    /// The filters as `[tap][channel]`, taps in row-major order.
    weights: Arc<Tensor>,
    /// One value per channel.
    bias: Arc<Tensor>,
    /// The clip fused after the convolution, as the bits of its lower and upper bound.
    bounds: Option<(u32, u32)>,
}

/// Replaces every depthwise convolution of `model` that this operator runs (see the module's
/// text) with it, taking in the `max` then `min` by constants that follows it, if any.
pub(crate) fn install(model: &mut TypedModel) -> TractResult<()> {
    let candidates: Vec<usize> = model
        .nodes()
        .iter()
        .filter(|node| node.op_as::<Conv>().is_some())
        .map(|node| node.id)
        .collect();
    for id in candidates {
        let Some(op) = DepthwiseRows::for_conv(model, id)? else {
            continue;
        };
        let (op, last) = fuse_clip(model, id, op)?;
        let conv = model.node(id);
        let mut patch = TypedModelPatch::new("depthwise rows");
        let input = patch.tap_model(model, conv.inputs[0])?;
        let wire = patch.wire_node(&conv.name, op, &[input])?[0];
        patch.shunt_outside(model, last, wire)?;
        patch.apply(model)?;
    }
    Ok(())
}

/// The `max` and `min` by constant scalars right after node `id`, each the only reader of what it
/// reads, fused into `op`; returns the operator and the outlet it replaces.
fn fuse_clip(model: &TypedModel, id: usize, op: DepthwiseRows) -> TractResult<(DepthwiseRows, OutletId)> {
    let conv_out = OutletId::new(id, 0);
    let by_scalar =
        |from: OutletId, is_op: fn(&dyn BinMiniOp) -> bool| -> TractResult<Option<(OutletId, f32)>> {
            let readers = &model.outlet_successors(from);
            if readers.len() != 1 || model.output_outlets()?.contains(&from) {
                return Ok(None);
            }
            let node = model.node(readers[0].node);
            let Some(bin) = node.op_as::<TypedBinOp>() else {
                return Ok(None);
            };
            if !is_op(&*bin.0) || node.inputs.len() != 2 {
                return Ok(None);
            }
            let other = node.inputs[1 - readers[0].slot];
            let fact = model.outlet_fact(other)?;
            let scalar = fact
                .konst
                .as_ref()
                .filter(|k| k.len() == 1 && k.datum_type() == f32::datum_type())
                .map(|k| k.try_as_plain_ram()?.as_slice::<f32>().map(|s| s[0]))
                .transpose()?;
            // The output keeps the convolution's shape: a scalar broadcasts to nothing bigger.
            let same_shape =
                model.outlet_fact(OutletId::new(node.id, 0))?.shape == model.outlet_fact(from)?.shape;
            Ok(scalar
                .filter(|_| same_shape)
                .map(|s| (OutletId::new(node.id, 0), s)))
        };
    let Some((after_max, lower)) = by_scalar(conv_out, |op| op.is::<Max>())? else {
        return Ok((op, conv_out));
    };
    let Some((after_min, upper)) = by_scalar(after_max, |op| op.is::<Min>())? else {
        return Ok((op, conv_out));
    };
    if lower.is_nan() || upper.is_nan() || lower > upper {
        return Ok((op, conv_out));
    }
    Ok((
        DepthwiseRows {
            bounds: Some((lower.to_bits(), upper.to_bits())),
            ..op
        },
        after_min,
    ))
}

impl DepthwiseRows {
    /// The operator for the convolution at node `id`, or `None` when it is not one it runs.
    fn for_conv(model: &TypedModel, id: usize) -> TractResult<Option<DepthwiseRows>> {
        let node = model.node(id);
        let conv = node
            .op_as::<Conv>()
            .ok_or_else(|| TractError::msg("not a convolution"))?;
        let spec = &conv.pool_spec;
        let format = spec.data_format;
        let input = model.outlet_fact(node.inputs[0])?;
        let (Some(kernel), Some(bias)) = (
            model.outlet_fact(node.inputs[1])?.konst.clone(),
            model.outlet_fact(node.inputs[2])?.konst.clone(),
        ) else {
            return Ok(None);
        };
        let Some(shape) = input.shape.as_concrete() else {
            return Ok(None);
        };
        let channels = spec.input_channels;
        let depthwise = conv.group == channels && spec.output_channels == channels && channels > 0;
        if !depthwise
            || conv.q_params.is_some()
            || !format.c_is_last()
            || spec.kernel_shape.len() != 2
            || input.datum_type != f32::datum_type()
            || kernel.datum_type() != f32::datum_type()
            || bias.datum_type() != f32::datum_type()
            || !(bias.len() == channels || bias.len() == 1)
            || kernel.len() != channels * spec.kernel_shape.iter().product::<usize>()
            || format.has_n() && shape[0] != 1
        {
            return Ok(None);
        }
        let data = format.shape(shape)?;
        let input_hw = [data.hw_dims()[0], data.hw_dims()[1]];
        let padding = spec.computed_padding(&input_hw);
        let output_hw = [padding[0].convoluted, padding[1].convoluted];
        let [kh, kw] = [spec.kernel_shape[0], spec.kernel_shape[1]];
        // The filters as [h][w][o][i] whatever their stored format, i being 1 (one per group).
        let fmt = conv.kernel_fmt;
        let view = kernel.to_plain_array_view::<f32>()?;
        let k_shape = kernel.shape();
        let axes = [
            fmt.h_axis(),
            fmt.h_axis() + 1,
            fmt.o_axis(k_shape),
            fmt.i_axis(k_shape),
        ];
        let hwoi = view.permuted_axes(axes.as_slice());
        let weights: Vec<f32> = hwoi.iter().copied().collect();
        let bias = bias.try_as_plain_ram()?.as_slice::<f32>()?;
        let bias: Vec<f32> = if bias.len() == 1 {
            vec![bias[0]; channels]
        } else {
            bias.to_vec()
        };
        let pair = |v: &[usize]| [v[0], v[1]];
        Ok(Some(DepthwiseRows {
            input_hw,
            output_hw,
            channels,
            batch_axis: format.has_n(),
            kernel_hw: [kh, kw],
            strides: pair(&spec.strides()),
            dilations: pair(&spec.dilations()),
            pad_before: [padding[0].pad_before, padding[1].pad_before],
            weights: Arc::new(tensor1(&weights).into_shape(&[kh * kw, channels])?),
            bias: Arc::new(tensor1(&bias)),
            bounds: None,
        }))
    }

    fn output_shape(&self) -> TVec<usize> {
        let mut shape: TVec<usize> = if self.batch_axis { tvec![1] } else { tvec![] };
        shape.extend([self.output_hw[0], self.output_hw[1], self.channels]);
        shape
    }

    /// The taps along `axis` (0: rows, 1: columns) that output row or column `out` reads inside
    /// the image, as (filter index, input index) pairs.
    fn taps(&self, axis: usize, out: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let start = (out * self.strides[axis]) as isize - self.pad_before[axis] as isize;
        (0..self.kernel_hw[axis]).filter_map(move |k| {
            let at = start + (k * self.dilations[axis]) as isize;
            (at >= 0 && (at as usize) < self.input_hw[axis]).then_some((k, at as usize))
        })
    }

    /// The first and past-the-last output columns whose every tap lies inside the image.
    fn interior_columns(&self) -> (usize, usize) {
        let (s, pad, span) = (
            self.strides[1],
            self.pad_before[1],
            (self.kernel_hw[1] - 1) * self.dilations[1],
        );
        let first = pad.div_ceil(s).min(self.output_hw[1]);
        let last = (self.input_hw[1] + pad)
            .checked_sub(span + 1)
            .map_or(0, |x| x / s + 1);
        (first, last.clamp(first, self.output_hw[1]))
    }

    /// Output row `oy` into `out` (`output_hw[1] * channels` values); `taps` is room for a
    /// call's taps, reused from row to row (a thread's allocations would meet the other thread's
    /// at the allocator's lock).
    fn row(&self, operands: &Operands, oy: usize, out: &mut [f32], taps: &mut Taps) {
        let c = self.channels;
        let w = self.input_hw[1];
        let rows: TVec<(usize, usize)> = self.taps(0, oy).collect();
        let (first, last) = self.interior_columns();
        // Every column outside [first, last) alone, with the taps it has; the columns inside in
        // one call, offsets counted from each column's leftmost tap.
        let mut run = |ox: usize, len: usize, cols: &[(usize, usize)], from: usize| {
            taps.indices.clear();
            taps.offsets.clear();
            for &(ky, iy) in &rows {
                for &(kx, ix) in cols {
                    taps.indices.push(ky * self.kernel_hw[1] + kx);
                    taps.offsets.push(((iy * w + ix - from) * c) as isize);
                }
            }
            let out = &mut out[ox * c..(ox + len) * c];
            operands.positions(from * c, self.strides[1] * c, taps, out);
        };
        for ox in (0..first).chain(last..self.output_hw[1]) {
            let cols: TVec<(usize, usize)> = self.taps(1, ox).collect();
            let from = cols.first().map_or(0, |&(_, ix)| ix);
            run(ox, 1, &cols, from);
        }
        if last > first {
            let cols: TVec<(usize, usize)> = self.taps(1, first).collect();
            run(first, last - first, &cols, cols[0].1);
        }
        if let Some((lower, upper)) = self.bounds {
            let (lower, upper) = (f32::from_bits(lower), f32::from_bits(upper));
            // Compare-and-select, which vectorises to one instruction per bound in wasm (its
            // pseudo-minimum and -maximum); `f32::max` and `min` do not without relaxed SIMD. The
            // same values as tract's clip for every number; a NaN stays NaN where tract's would
            // give the lower bound.
            for x in out.iter_mut() {
                let raised = if *x < lower { lower } else { *x };
                *x = if upper < raised { upper } else { raised };
            }
        }
    }
}

/// One kernel call's taps: each tap's filter index and input offset.
struct Taps {
    indices: Vec<usize>,
    offsets: Vec<isize>,
}

/// What every row of one evaluation reads: the image, the filters as `[tap][channel]`, the bias,
/// and the host's depthwise kernel (looked up once: the lookup walks tract's registry).
struct Operands<'a> {
    input: &'a [f32],
    weights: &'a [f32],
    bias: &'a [f32],
    channels: usize,
    kernel: Option<DepthwiseCF32>,
}

impl Operands<'_> {
    /// `out.len() / channels` output positions: position `i` is the bias plus, for each tap `t`,
    /// `weights[taps.indices[t] * channels + ch] * input[start + i * in_stride + taps.offsets[t] +
    /// ch]`. Every index is inside the image: the caller builds the taps from positions inside it.
    fn positions(&self, start: usize, in_stride: usize, taps: &Taps, out: &mut [f32]) {
        let c = self.channels;
        let len = out.len() / c;
        if taps.indices.is_empty() {
            for position in out.chunks_exact_mut(c) {
                position.copy_from_slice(&self.bias[..c]);
            }
            return;
        }
        if let Some(kernel) = self.kernel {
            // SAFETY: every tap of every position reads inside `input` (see above), the weights
            // hold every tap's `c` values, the bias `c` values, and `out` holds `len` positions.
            unsafe {
                kernel(
                    self.input.as_ptr().add(start),
                    out.as_mut_ptr(),
                    self.weights.as_ptr(),
                    &taps.indices,
                    &taps.offsets,
                    self.bias.as_ptr(),
                    c,
                    c,
                    len,
                    in_stride as isize,
                    c as isize,
                )
            };
            return;
        }
        for (i, position) in out.chunks_exact_mut(c).enumerate() {
            position.copy_from_slice(&self.bias[..c]);
            for (&tap, &offset) in taps.indices.iter().zip(&taps.offsets) {
                let from = start + i * in_stride + offset as usize;
                let x = &self.input[from..from + c];
                let k = &self.weights[tap * c..(tap + 1) * c];
                for ((o, x), k) in position.iter_mut().zip(x).zip(k) {
                    *o += k * x;
                }
            }
        }
    }
}

impl Op for DepthwiseRows {
    fn name(&self) -> StaticName {
        "DepthwiseRows".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{:?} -> {:?} kernel {:?} strides {:?} dilations {:?} pad {:?} channels {} clip {:?}",
            self.input_hw,
            self.output_hw,
            self.kernel_hw,
            self.strides,
            self.dilations,
            self.pad_before,
            self.channels,
            self.bounds.map(|(l, u)| (f32::from_bits(l), f32::from_bits(u))),
        )])
    }

    fn as_typed(&self) -> Option<&dyn TypedOp> {
        Some(self)
    }
}

impl EvalOp for DepthwiseRows {
    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = inputs[0].try_as_plain_ram()?.as_slice::<f32>()?;
        let expected = self.input_hw[0] * self.input_hw[1] * self.channels;
        ensure!(
            input.len() == expected,
            "depthwise input of {} values, {expected} expected",
            input.len()
        );
        let operands = Operands {
            input,
            weights: self.weights.try_as_plain_ram()?.as_slice::<f32>()?,
            bias: self.bias.try_as_plain_ram()?.as_slice::<f32>()?,
            channels: self.channels,
            kernel: tract_linalg::routines::depthwise_c_f32(),
        };
        // SAFETY: every output position is written below (the border columns one by one, the
        // others in one call per row) before the tensor is read.
        let mut output = unsafe { Tensor::uninitialized::<f32>(&self.output_shape())? };
        let row_len = self.output_hw[1] * self.channels;
        let taps = self.kernel_hw[0] * self.kernel_hw[1];
        {
            let mut view = output.try_as_plain_ram_mut()?;
            let out = view.as_slice_mut::<f32>()?;
            let total = out.len();
            if total > 0 {
                tract_linalg::multithread::par_chunks_mut(out, row_len, total, |first, rows| {
                    let mut room = Taps {
                        indices: Vec::with_capacity(taps),
                        offsets: Vec::with_capacity(taps),
                    };
                    for (i, row) in rows.chunks_exact_mut(row_len).enumerate() {
                        self.row(&operands, first + i, row, &mut room);
                    }
                    Ok(())
                })?;
            }
        }
        Ok(tvec!(output.into_tvalue()))
    }

    fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        Ok(Some(self.eval(&EvalContext::out_of_plan(), inputs)?))
    }
}

impl TypedOp for DepthwiseRows {
    fn as_op(&self) -> &dyn Op {
        self
    }

    fn as_op_mut(&mut self) -> &mut dyn Op {
        self
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(
            inputs.len() == 1 && inputs[0].datum_type == f32::datum_type(),
            "a depthwise convolution takes one float32 input"
        );
        Ok(tvec!(f32::fact(self.output_shape())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::ops::cnn::{KernelFormat, PaddingSpec, PoolSpec};
    use tract_onnx::tract_core::ops::math::{max, min};
    use tract_onnx::tract_core::ops::nn::DataFormat;

    /// A channel-last depthwise convolution (then `max`/`min` by scalars when `clip`), as tract
    /// builds one from an ONNX file.
    #[derive(Clone, Copy)]
    struct Case {
        hw: [usize; 2],
        channels: usize,
        kernel: [usize; 2],
        strides: [usize; 2],
        dilations: [usize; 2],
        pads: ([usize; 2], [usize; 2]),
        clip: Option<(f32, f32)>,
        format: DataFormat,
        kernel_fmt: KernelFormat,
    }

    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.0) - 1.0)
            .collect()
    }

    fn model(case: &Case) -> TractResult<TypedModel> {
        let c = case.channels;
        let mut shape: TVec<usize> = tvec![];
        if case.format.has_n() {
            shape.push(1);
        }
        if case.format.c_is_last() {
            shape.extend([case.hw[0], case.hw[1], c]);
        } else {
            shape.extend([c, case.hw[0], case.hw[1]]);
        }
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact(&shape))?;
        let [kh, kw] = case.kernel;
        // The same filters in every layout: OIHW values, their axes moved to the case's layout.
        let oihw = tensor1(&values(c * kh * kw, 1)).into_shape(&[c, 1, kh, kw])?;
        let kernel = match case.kernel_fmt {
            KernelFormat::OIHW => oihw,
            KernelFormat::HWIO => oihw.permute_axes(&[2, 3, 1, 0])?,
            KernelFormat::OHWI => oihw.permute_axes(&[0, 2, 3, 1])?,
        };
        let k = model.add_const("kernel", kernel)?;
        let b = model.add_const("bias", tensor1(&values(c, 2)))?;
        let conv = Conv {
            pool_spec: PoolSpec {
                data_format: case.format,
                kernel_shape: case.kernel.iter().copied().collect(),
                padding: PaddingSpec::Explicit(
                    case.pads.0.iter().copied().collect(),
                    case.pads.1.iter().copied().collect(),
                ),
                dilations: Some(case.dilations.iter().copied().collect()),
                strides: Some(case.strides.iter().copied().collect()),
                input_channels: c,
                output_channels: c,
            },
            kernel_fmt: case.kernel_fmt,
            group: c,
            q_params: None,
        };
        let mut wire = model.wire_node("conv", conv, &[x, k, b])?[0];
        if let Some((lower, upper)) = case.clip {
            let scalar = |v: f32| tensor0(v).broadcast_into_rank(shape.len());
            let lo = model.add_const("lower", scalar(lower)?)?;
            let hi = model.add_const("upper", scalar(upper)?)?;
            wire = model.wire_node("max", max(), &[wire, lo])?[0];
            wire = model.wire_node("min", min(), &[wire, hi])?[0];
        }
        model.select_output_outlets(&[wire])?;
        Ok(model)
    }

    /// tract's output and ours for `case`, and how many of our operators the plan holds. tract's
    /// own depthwise path reads its filters as OIHW only, so its output is computed from them in
    /// that layout, the same values.
    fn run_both(case: &Case) -> TractResult<(Vec<f32>, Vec<f32>, usize)> {
        let run = |case: &Case, install_ours: bool| -> TractResult<(Vec<f32>, usize)> {
            let mut typed = model(case)?;
            let input_shape = typed
                .outlet_fact(typed.input_outlets()?[0])?
                .shape
                .as_concrete()
                .unwrap()
                .to_vec();
            let input = tensor1(&values(input_shape.iter().product(), 3)).into_shape(&input_shape)?;
            typed.declutter()?;
            if install_ours {
                install(&mut typed)?;
            }
            let optimized = typed.into_optimized()?;
            let ours = optimized
                .nodes()
                .iter()
                .filter(|n| n.op_is::<DepthwiseRows>())
                .count();
            // The convolution replaced does not linger, weights and all, beside ours.
            let convolutions = optimized
                .nodes()
                .iter()
                .filter(|n| n.op.name().contains("Conv"))
                .count();
            assert_eq!(convolutions + ours, 1, "{optimized}");
            // Nor does the clip ours takes in.
            if ours > 0 {
                let clips = optimized
                    .nodes()
                    .iter()
                    .filter(|n| ["Max", "Min"].iter().any(|op| n.op.name().contains(op)))
                    .count();
                assert_eq!(clips, 0, "{optimized}");
            }
            let out = optimized.into_runnable()?.run(tvec!(input.into()))?;
            Ok((
                out[0].to_plain_array_view::<f32>()?.iter().copied().collect(),
                ours,
            ))
        };
        let (reference, _) = run(
            &Case {
                kernel_fmt: KernelFormat::OIHW,
                ..*case
            },
            false,
        )?;
        let (ours, count) = run(case, true)?;
        Ok((reference, ours, count))
    }

    fn check(case: Case) {
        let (reference, ours, count) = run_both(&case).unwrap();
        assert_eq!(count, 1, "the convolution was not replaced");
        assert_eq!(reference.len(), ours.len());
        for (i, (a, b)) in reference.iter().zip(&ours).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
                "value {i}: tract {a}, ours {b}"
            );
        }
    }

    fn case(hw: [usize; 2], channels: usize, strides: [usize; 2], pads: ([usize; 2], [usize; 2])) -> Case {
        Case {
            hw,
            channels,
            kernel: [3, 3],
            strides,
            dilations: [1, 1],
            pads,
            clip: Some((0.0, 6.0)),
            format: DataFormat::NHWC,
            kernel_fmt: KernelFormat::OIHW,
        }
    }

    #[test]
    fn matches_tract_on_mobilenet_layers() {
        check(case([14, 14], 96, [1, 1], ([1, 1], [1, 1])));
        check(case([14, 14], 144, [2, 2], ([1, 1], [1, 1])));
        check(case([7, 7], 960, [1, 1], ([1, 1], [1, 1])));
    }

    #[test]
    fn matches_tract_on_odd_geometry() {
        // Channels no kernel block divides, unequal padding, a rectangle, odd sizes.
        check(case([9, 13], 19, [2, 1], ([0, 2], [1, 0])));
        check(case([5, 4], 7, [1, 2], ([2, 2], [2, 2])));
        check(Case {
            kernel: [5, 3],
            dilations: [2, 1],
            ..case([11, 8], 16, [1, 1], ([4, 1], [4, 1]))
        });
        check(Case {
            kernel: [1, 1],
            ..case([3, 3], 5, [1, 1], ([0, 0], [0, 0]))
        });
        // Padding wider than the kernel: border positions with no tap at all give the bias.
        check(Case {
            kernel: [2, 2],
            ..case([3, 3], 4, [1, 1], ([3, 3], [3, 3]))
        });
    }

    #[test]
    fn matches_tract_without_batch_axis_or_clip() {
        check(Case {
            format: DataFormat::HWC,
            ..case([6, 6], 24, [1, 1], ([1, 1], [1, 1]))
        });
        check(Case {
            clip: None,
            ..case([6, 5], 12, [2, 2], ([1, 1], [1, 1]))
        });
        check(Case {
            clip: Some((-0.5, 0.25)),
            ..case([6, 5], 12, [1, 1], ([1, 1], [1, 1]))
        });
    }

    #[test]
    fn reads_filters_in_every_layout() {
        // Each tensor holds other values at each filter position, so a misread layout shows.
        for kernel_fmt in [KernelFormat::HWIO, KernelFormat::OHWI] {
            check(Case {
                kernel_fmt,
                kernel: [3, 2],
                ..case([7, 6], 10, [1, 1], ([1, 0], [1, 1]))
            });
        }
    }

    #[test]
    fn leaves_channels_first_convolutions_to_tract() {
        let (_, _, count) = run_both(&Case {
            format: DataFormat::NCHW,
            ..case([8, 8], 16, [1, 1], ([1, 1], [1, 1]))
        })
        .unwrap();
        assert_eq!(count, 0);
    }
}
