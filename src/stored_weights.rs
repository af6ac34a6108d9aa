//! The model file stores most weights as int8 with a float scale per channel, each behind a
//! `Cast` → `Mul` → `Reshape` chain of constants. tract folds such chains while it analyses the
//! graph, but slowly (about a quarter of model set-up); this pass folds them in the protobuf
//! first, to the same float32 values (an int8 times a float32 scale is exact in float32 either
//! way). A chain of any other shape is left for tract to fold as before.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{GraphProto, NodeProto, TensorProto};

/// Replaces every int8 weight chain of `graph` by one float32 initializer; returns how many.
pub(crate) fn fold_int8_weight_chains(graph: &mut GraphProto) -> usize {
    let producers: HashMap<&str, usize> = graph
        .node
        .iter()
        .enumerate()
        .flat_map(|(ix, node)| node.output.iter().map(move |name| (name.as_str(), ix)))
        .collect();
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for name in graph
        .node
        .iter()
        .flat_map(|n| &n.input)
        .chain(graph.output.iter().map(|o| &o.name))
    {
        *uses.entry(name.as_str()).or_default() += 1;
    }
    let initializers: HashMap<&str, &TensorProto> =
        graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect();

    let mut folded = Vec::new();
    let mut dead_nodes = Vec::new();
    let mut spent = Vec::new();
    for (reshape_ix, reshape) in graph.node.iter().enumerate() {
        let chain = || -> Option<(TensorProto, [usize; 3], [String; 3])> {
            if reshape.op_type != "Reshape" || reshape.input.len() != 2 || reshape.output.len() != 1 {
                return None;
            }
            let single_use = |name: &str| uses.get(name) == Some(&1);
            let mul_ix = *producers.get(reshape.input[0].as_str())?;
            let mul = &graph.node[mul_ix];
            if mul.op_type != "Mul" || mul.input.len() != 2 || !single_use(&reshape.input[0]) {
                return None;
            }
            let cast_ix = *producers.get(mul.input[0].as_str())?;
            let cast = &graph.node[cast_ix];
            if !is_cast_to_float(cast) || !single_use(&mul.input[0]) {
                return None;
            }
            let values = int8_values(initializers.get(cast.input[0].as_str())?)?;
            let scale = initializers.get(mul.input[1].as_str())?;
            let scaled = times_broadcast(&values, scale)?;
            let shape = int64_values(initializers.get(reshape.input[1].as_str())?)?;
            let count: i64 = shape.iter().product();
            if shape.iter().any(|&d| d < 1) || count != scaled.len() as i64 {
                return None;
            }
            let tensor = TensorProto {
                name: reshape.output[0].clone(),
                dims: shape,
                data_type: DataType::Float as i32,
                float_data: scaled,
                ..Default::default()
            };
            let constants = [
                cast.input[0].clone(),
                mul.input[1].clone(),
                reshape.input[1].clone(),
            ];
            Some((tensor, [cast_ix, mul_ix, reshape_ix], constants))
        };
        if let Some((tensor, nodes, constants)) = chain() {
            folded.push(tensor);
            dead_nodes.extend(nodes);
            spent.extend(constants);
        }
    }
    if folded.is_empty() {
        return 0;
    }
    dead_nodes.sort_unstable();
    let mut ix = 0;
    graph.node.retain(|_| {
        ix += 1;
        dead_nodes.binary_search(&(ix - 1)).is_err()
    });
    // The chains' constants go too, unless something else reads them. Older files also list
    // initializers among the graph's inputs: those entries go with them.
    let still_used: HashSet<&str> = graph
        .node
        .iter()
        .flat_map(|n| &n.input)
        .chain(graph.output.iter().map(|o| &o.name))
        .map(String::as_str)
        .collect();
    let gone: HashSet<String> = spent
        .into_iter()
        .filter(|name| !still_used.contains(name.as_str()))
        .collect();
    graph.initializer.retain(|t| !gone.contains(&t.name));
    graph.input.retain(|i| !gone.contains(&i.name));
    let count = folded.len();
    graph.initializer.extend(folded);
    count
}

fn is_cast_to_float(node: &NodeProto) -> bool {
    node.op_type == "Cast"
        && node.input.len() == 1
        && node
            .attribute
            .iter()
            .any(|a| a.name == "to" && a.i == DataType::Float as i64)
}

/// The bytes of an int8 tensor stored raw, checked against its dims, and the dims.
fn int8_values(tensor: &TensorProto) -> Option<(&[u8], Vec<usize>)> {
    let dims = dims_of(tensor)?;
    let stored_inline = tensor.data_location.unwrap_or(0) == 0;
    if tensor.data_type != DataType::Int8 as i32 || !stored_inline {
        return None;
    }
    let values = &tensor.raw_data;
    (values.len() == dims.iter().product::<usize>()).then_some((values.as_slice(), dims))
}

/// The values of an int64 tensor, from either of the fields ONNX allows.
fn int64_values(tensor: &TensorProto) -> Option<Vec<i64>> {
    if tensor.data_type != DataType::Int64 as i32 || tensor.data_location.unwrap_or(0) != 0 {
        return None;
    }
    if !tensor.int64_data.is_empty() {
        return Some(tensor.int64_data.clone());
    }
    let raw = &tensor.raw_data;
    raw.len().is_multiple_of(8).then(|| {
        raw.chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("chunks of 8")))
            .collect()
    })
}

/// The int8 `values` (with their dims) as float32 times a float32 `scale` of the same rank that
/// varies along one axis at most (a scale per channel, or one for all), broadcast as ONNX's `Mul`.
fn times_broadcast((values, dims): &(&[u8], Vec<usize>), scale: &TensorProto) -> Option<Vec<f32>> {
    let scale_dims = dims_of(scale)?;
    if scale.data_type != DataType::Float as i32 || scale.data_location.unwrap_or(0) != 0 {
        return None;
    }
    let scales: Vec<f32> = if scale.float_data.is_empty() {
        let raw = &scale.raw_data;
        if !raw.len().is_multiple_of(4) {
            return None;
        }
        raw.chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("chunks of 4")))
            .collect()
    } else {
        scale.float_data.clone()
    };
    let varying: Vec<usize> = (0..scale_dims.len())
        .filter(|&axis| scale_dims[axis] != 1)
        .collect();
    let fits = scale_dims.len() == dims.len()
        && varying.len() <= 1
        && varying.iter().all(|&axis| scale_dims[axis] == dims[axis])
        && scales.len() == scale_dims.iter().product::<usize>();
    if !fits || values.is_empty() {
        return None;
    }
    // Each scale covers a run of `inner` consecutive values, the runs cycling through the scales.
    let inner: usize = varying
        .first()
        .map_or(values.len(), |&axis| dims[axis + 1..].iter().product());
    // One exact-size extend per run: a flattened iterator would grow the vector as it goes.
    let mut scaled = Vec::with_capacity(values.len());
    for (run, &s) in values.chunks(inner).zip(scales.iter().cycle()) {
        scaled.extend(run.iter().map(|&v| f32::from(v as i8) * s));
    }
    Some(scaled)
}

fn dims_of(tensor: &TensorProto) -> Option<Vec<usize>> {
    tensor.dims.iter().map(|&d| usize::try_from(d).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::{AttributeProto, ValueInfoProto};

    fn node(op: &str, input: &[&str], output: &str) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            input: input.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            ..Default::default()
        }
    }

    fn cast_to_float(input: &str, output: &str) -> NodeProto {
        let to = AttributeProto {
            name: "to".into(),
            i: DataType::Float as i64,
            ..Default::default()
        };
        NodeProto {
            attribute: vec![to],
            ..node("Cast", &[input], output)
        }
    }

    fn tensor(name: &str, dims: &[i64], data_type: DataType, raw_data: Vec<u8>) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: data_type as i32,
            raw_data,
            ..Default::default()
        }
    }

    fn floats(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// A graph holding one weight chain, `q` [2, 3] int8 times `scale`, reshaped to [2, 3, 1, 1],
    /// read by a Conv.
    fn chain_graph(scale: TensorProto) -> GraphProto {
        let q = tensor(
            "q",
            &[2, 3],
            DataType::Int8,
            [1i8, -2, 3, -4, 5, -127].iter().map(|&v| v as u8).collect(),
        );
        let shape = TensorProto {
            int64_data: vec![2, 3, 1, 1],
            ..tensor("shape", &[4], DataType::Int64, vec![])
        };
        GraphProto {
            node: vec![
                cast_to_float("q", "q_float"),
                node("Mul", &["q_float", "scale"], "scaled"),
                node("Reshape", &["scaled", "shape"], "w"),
                node("Conv", &["x", "w"], "y"),
            ],
            initializer: vec![q, scale, shape],
            input: ["x", "q"]
                .iter()
                .map(|n| ValueInfoProto {
                    name: n.to_string(),
                    ..Default::default()
                })
                .collect(),
            output: vec![ValueInfoProto {
                name: "y".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn folds_a_per_channel_chain_to_the_values_tract_would_compute() {
        let mut graph = chain_graph(tensor("scale", &[2, 1], DataType::Float, floats(&[0.5, 0.25])));
        assert_eq!(fold_int8_weight_chains(&mut graph), 1);
        assert_eq!(graph.node.len(), 1, "only the Conv is left");
        assert_eq!(graph.node[0].input, ["x", "w"]);
        assert_eq!(graph.initializer.len(), 1);
        let w = &graph.initializer[0];
        assert_eq!(
            (w.name.as_str(), w.dims.as_slice()),
            ("w", [2, 3, 1, 1].as_slice())
        );
        assert_eq!(w.float_data, [0.5, -1.0, 1.5, -1.0, 1.25, -31.75]);
        let inputs: Vec<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            inputs,
            ["x"],
            "the spent initializer is no longer listed as an input"
        );
    }

    #[test]
    fn broadcasts_a_scale_along_the_last_axis() {
        let mut graph = chain_graph(tensor(
            "scale",
            &[1, 3],
            DataType::Float,
            floats(&[1.0, 2.0, 4.0]),
        ));
        assert_eq!(fold_int8_weight_chains(&mut graph), 1);
        let w = &graph.initializer[0];
        assert_eq!(w.float_data, [1.0, -4.0, 12.0, -4.0, 10.0, -508.0]);
    }

    #[test]
    fn leaves_chains_it_cannot_fold_exactly_to_tract() {
        let wrong_shape = tensor("scale", &[3, 1], DataType::Float, floats(&[1.0, 2.0, 3.0]));
        let short = tensor("scale", &[2, 1], DataType::Float, floats(&[1.0]));
        for scale in [wrong_shape, short] {
            let mut graph = chain_graph(scale);
            let before = graph.clone();
            assert_eq!(fold_int8_weight_chains(&mut graph), 0);
            assert_eq!(graph, before);
        }
        // An intermediate value read twice must stay computed.
        let mut graph = chain_graph(tensor("scale", &[2, 1], DataType::Float, floats(&[1.0, 1.0])));
        graph.node.push(node("Relu", &["scaled"], "other"));
        assert_eq!(fold_int8_weight_chains(&mut graph), 0);
    }
}
