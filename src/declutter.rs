//! tract's graph simplification with its axis search narrowed to the layouts the kernels ask for.
//!
//! tract's own `ChangeAxes` pass does two things. It applies the layout each operator asks for
//! (in wasm, depthwise convolutions ask for their channels last: the wasm engine's fastest path).
//! And it tries to remove every axis of length one of every wire, constants included, exploring
//! the graph for each attempt and copying the weight tensor it starts from, again in every round
//! of the optimiser. On our network those attempts change one thing, the not-food head's weight
//! shape (1×1280 instead of 1280, the same product), while they take about a third of the
//! declutter time. This pass keeps the first and skips the second: the graph the engine runs is
//! otherwise the same, layout included, and its set-up is shorter.

use std::collections::HashSet;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::change_axes::AxisChange;
use tract_onnx::tract_core::optim::change_axes::change_axes;
use tract_onnx::tract_core::optim::{Optimizer, OptimizerSession, TypedPass};

/// The name tract's declutter gives the pass this one replaces.
const AXIS_SEARCH: &str = "ChangeAxes";

/// Runs tract's declutter passes on `model`, with `KernelLayouts` in place of its axis search.
pub(crate) fn declutter(model: &mut TypedModel) -> TractResult<()> {
    let mut optimizer = Optimizer::declutter();
    let search = optimizer
        .passes
        .iter()
        .position(|pass| format!("{pass:?}") == AXIS_SEARCH)
        .ok_or_else(|| TractError::msg(format!("tract's declutter has no {AXIS_SEARCH} pass to replace")))?;
    optimizer.passes[search] = Box::<KernelLayouts>::default();
    optimizer.optimize(model)
}

/// Applies the axis changes operators suggest (their preferred layouts), each tried once a round.
#[derive(Clone, Default)]
struct KernelLayouts {
    tried: HashSet<AxisChange>,
    resume_at: usize,
}

/// The optimiser names every patch after its pass's `Debug` text: the name alone, not the set of
/// changes tried so far.
impl std::fmt::Debug for KernelLayouts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KernelLayouts")
    }
}

impl TypedPass for KernelLayouts {
    fn reset(&mut self) -> TractResult<()> {
        self.tried.clear();
        self.resume_at = 0;
        Ok(())
    }

    fn next(
        &mut self,
        _session: &mut OptimizerSession,
        model: &TypedModel,
    ) -> TractResult<Option<TypedModelPatch>> {
        let mut explored = HashSet::new();
        let mut locked = model.output_outlets()?.to_vec();
        locked.extend(model.input_outlets()?.iter());
        for node in model.nodes.iter().skip(self.resume_at) {
            for (io, op) in node.op.suggested_axis_changes()? {
                let change = AxisChange {
                    outlet: io.as_outlet(node),
                    op,
                };
                if !self.tried.insert(change.clone()) {
                    continue;
                }
                if let Some((patch, _)) = change_axes(model, &change, &locked, &[], &mut explored)? {
                    self.resume_at = node.id;
                    return Ok(Some(patch));
                }
            }
        }
        Ok(None)
    }
}
