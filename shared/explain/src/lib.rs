//! Reason codes: exact per-prediction TreeSHAP contributions of the served XGBoost model.
//!
//! The ONNX graph `FraudModel` serves carries no node covers, and path-dependent TreeSHAP needs them: it
//! explains a prediction against "the feature is unknown", and a tree that does not know a feature sends the
//! row down *both* children of a split on it, weighted by the share of training rows (the hessian sum,
//! `cover`) each child received. So training exports the same trees with their covers (`model/trees.json`,
//! training/README.md § TreeSHAP) and the card pins that file by sha256 (`card.explanation`).
//!
//! This crate is pure Rust (no ONNX Runtime), so drift-check can explain a window of logged traffic without
//! linking what only predict needs.
//!
//! [`Explainer::from_bytes`] refuses, with a message naming the tree and node, a trees.json that
//! * is not the bytes the card's `explanation.sha256` names, or explains another model (`model_sha256`),
//! * lists features other than [`FEATURE_NAMES`], or a split on a feature index ≥ 29,
//! * is not a forest of trees: a child index out of range, a node that leads back to one of its ancestors
//!   (a cycle), a node with two parents or none, a split whose `missing` is neither of its children,
//! * has a non-finite threshold or leaf, a cover that is not positive (zero fractions are covers divided
//!   by the parent's cover, and the path unwinding divides by them), or a tree deeper than [`MAX_DEPTH`]
//!   (the path buffer has a fixed size, so a call never allocates).
//!
//! [`Explainer::contributions`] is Lundberg, Erion & Lee (2018), *Consistent Individualized Feature
//! Attribution for Tree Ensembles*, Algorithm 2, as XGBoost's `pred_contribs=True` runs it (`TreeShap`,
//! `ExtendPath`, `UnwindPath`, `UnwoundPathSum`), in float64 where XGBoost uses float32 (they agree to
//! ~2e-6; tests/explain.rs). Every node of every tree is visited once and each of the L leaves of a tree
//! unwinds each of the ≤ D+1 elements of its path in O(D): O(T·L·D²) per prediction for T trees of depth D.
//! The bias (expected value) does not depend on the row, so it is computed once at load.

use std::path::{Path, PathBuf};

use fraudwatch_core::card::{sha256_hex, CardError, ExplanationInfo, ModelCard, CARD_FILE};
use fraudwatch_core::schema::{Features, FEATURE_COUNT, FEATURE_NAMES};
use serde::{Deserialize, Serialize};

/// The deepest tree accepted (root at depth 0). The served model's trees are depth 5 (`max_depth` in
/// `card.training.params`); XGBoost's default is 6.
pub const MAX_DEPTH: usize = 12;

/// The path of a node at depth k has at most k + 1 elements (the root's placeholder and one per split
/// above it); each level keeps its own copy, so the levels of one root-to-leaf walk fit in this many.
const PATH_CAPACITY: usize = (MAX_DEPTH + 1) * (MAX_DEPTH + 2) / 2;

/// The card's `explanation.output` this crate produces: contributions in log-odds, before the sigmoid.
pub const MARGIN_OUTPUT: &str = "log-odds margin";

/// Why trees.json cannot explain the served model.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error(transparent)]
    Card(#[from] CardError),
    #[error("model card has no usable `explanation`: {0}")]
    NoExplanation(String),
    #[error("the card names {file} (explanation.sha256 {sha256}), but it was not provided")]
    MissingFile { file: String, sha256: String },
    #[error("trees.json does not match the card: sha256 {actual}, card.explanation.sha256 says {expected}")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("trees.json explains model {found}, but the card's model_sha256 is {expected}")]
    ModelMismatch { expected: String, found: String },
    #[error("trees.json is malformed: {0}")]
    Format(String),
    #[error("trees.json lists features {found:?}, this build expects {expected:?}")]
    FeatureMismatch { expected: Vec<String>, found: Vec<String> },
    #[error("trees.json tree {tree} node {node}: {problem}")]
    Node { tree: usize, node: usize, problem: String },
    #[error("trees.json tree {tree}: {problem}")]
    Tree { tree: usize, problem: String },
    #[error("cannot read {path}: {reason}")]
    Io { path: PathBuf, reason: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TreesFile {
    model_sha256: String,
    base_margin: f64,
    feature_names: Vec<String>,
    trees: Vec<TreeFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TreeFile {
    nodes: Vec<NodeFile>,
}

/// A node as written: a leaf has `leaf`, a split has the other five.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeFile {
    cover: f32,
    leaf: Option<f32>,
    feature: Option<usize>,
    threshold: Option<f32>,
    yes: Option<usize>,
    no: Option<usize>,
    missing: Option<usize>,
}

/// A node of the flattened forest; children are indices into [`Explainer::nodes`].
#[derive(Debug, Clone, Copy)]
enum Node {
    Split {
        feature: u32,
        threshold: f32,
        yes: u32,
        no: u32,
        nan_goes_yes: bool,
        /// cover(yes) / cover(this) and cover(no) / cover(this): the share of the training rows each child
        /// received, i.e. how a tree that does not know `feature` splits a row between them.
        yes_zero_fraction: f64,
        no_zero_fraction: f64,
    },
    Leaf {
        value: f64,
    },
}

/// Exact TreeSHAP of the served model, loaded from trees.json and checked against the card.
#[derive(Clone)]
pub struct Explainer {
    /// Every tree's nodes, tree after tree, each tree's root first.
    nodes: Vec<Node>,
    roots: Vec<u32>,
    base_margin: f64,
    /// base_margin + every tree's cover-weighted mean leaf value: the prediction when no feature is known.
    bias: f64,
}

/// Not the thousands of nodes: what identifies the forest.
impl std::fmt::Debug for Explainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Explainer")
            .field("trees", &self.roots.len())
            .field("nodes", &self.nodes.len())
            .field("bias", &self.bias)
            .finish()
    }
}

/// One prediction explained: `features[i]` is what feature i moved the margin away from `bias`, so
/// `bias + Σ features = margin` (log-odds; P(fraud) = 1 / (1 + e^−margin)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contributions {
    pub features: [f64; FEATURE_COUNT],
    pub bias: f64,
    pub margin: f64,
}

/// Which way a feature pushed the prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    TowardsFraud,
    TowardsLegit,
}

impl Direction {
    /// A positive contribution raises the margin, i.e. the fraud probability. (Zero contributions are never
    /// reasons, see [`Contributions::top`].)
    pub fn of(contribution: f64) -> Self {
        if contribution > 0.0 {
            Direction::TowardsFraud
        } else {
            Direction::TowardsLegit
        }
    }
}

/// One of the features that moved a prediction most.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reason {
    pub feature: &'static str,
    /// The feature's position in [`FEATURE_NAMES`] (and in [`Features`]).
    pub index: usize,
    pub contribution: f64,
}

impl Reason {
    pub fn direction(&self) -> Direction {
        Direction::of(self.contribution)
    }
}

impl Contributions {
    /// The at most `n` features with the largest |contribution|, largest first; equal magnitudes keep feature
    /// order. A feature whose contribution is exactly 0 did not move this prediction and is never a reason, so
    /// fewer than `n` come back when fewer features moved it.
    pub fn top(&self, n: usize) -> Vec<Reason> {
        let mut order: [usize; FEATURE_COUNT] = std::array::from_fn(|i| i);
        // Stable, so ties stay in feature order.
        order.sort_by(|&a, &b| self.features[b].abs().total_cmp(&self.features[a].abs()));
        order
            .iter()
            .filter(|&&index| self.features[index] != 0.0)
            .take(n)
            .map(|&index| Reason { feature: FEATURE_NAMES[index], index, contribution: self.features[index] })
            .collect()
    }
}

impl Explainer {
    /// Loads `card.json` and the trees file its `explanation.file` names from a directory.
    pub fn from_dir(dir: &Path) -> Result<Self, ExplainError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| ExplainError::Io { path, reason: e.to_string() })
        };
        let card_json = read(CARD_FILE)?;
        let file = explanation_of(&ModelCard::from_json(&card_json)?)?.file;
        Self::from_bytes(&read(&file)?, &card_json)
    }

    /// The explainer of the model `card_json` describes: `None` when the card names no explanation (a model
    /// trained before trees.json existed: it is served without reasons); the file's bytes are required
    /// when it does.
    pub fn for_card(card_json: &[u8], trees_json: Option<&[u8]>) -> Result<Option<Self>, ExplainError> {
        let Some(explanation) = ModelCard::from_json(card_json)?.explanation else {
            return Ok(None);
        };
        let trees_json =
            trees_json.ok_or(ExplainError::MissingFile { file: explanation.file, sha256: explanation.sha256 })?;
        Self::from_bytes(trees_json, card_json).map(Some)
    }

    /// Builds the explainer from trees.json bytes and the card JSON, after the checks in the crate docs.
    pub fn from_bytes(trees_json: &[u8], card_json: &[u8]) -> Result<Self, ExplainError> {
        let card = ModelCard::from_json(card_json)?;
        let explanation = explanation_of(&card)?;
        if explanation.output != MARGIN_OUTPUT {
            return Err(ExplainError::NoExplanation(format!(
                "explanation.output is {:?}, this explainer produces {MARGIN_OUTPUT:?}",
                explanation.output
            )));
        }
        let actual = sha256_hex(trees_json);
        if actual != explanation.sha256 {
            return Err(ExplainError::ChecksumMismatch { expected: explanation.sha256, actual });
        }
        let file: TreesFile = serde_json::from_slice(trees_json).map_err(|e| ExplainError::Format(e.to_string()))?;
        if file.model_sha256 != card.model_sha256 {
            return Err(ExplainError::ModelMismatch { expected: card.model_sha256, found: file.model_sha256 });
        }
        if file.feature_names != FEATURE_NAMES {
            return Err(ExplainError::FeatureMismatch {
                expected: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
                found: file.feature_names,
            });
        }
        if !file.base_margin.is_finite() {
            return Err(ExplainError::Format(format!("base_margin {} is not finite", file.base_margin)));
        }
        if file.trees.is_empty() {
            return Err(ExplainError::Format("no trees".into()));
        }
        let mut nodes = Vec::with_capacity(file.trees.iter().map(|t| t.nodes.len()).sum());
        let mut roots = Vec::with_capacity(file.trees.len());
        let mut bias = file.base_margin;
        for (t, tree) in file.trees.iter().enumerate() {
            check_tree_shape(t, &tree.nodes)?;
            let offset = nodes.len();
            roots.push(to_u32(offset, t)?);
            for (i, node) in tree.nodes.iter().enumerate() {
                nodes.push(flatten(t, i, node, &tree.nodes, offset)?);
            }
            bias += mean_value(&nodes, roots[t]);
        }
        Ok(Explainer { nodes, roots, base_margin: file.base_margin, bias })
    }

    /// The model's raw output: base_margin + the leaf each tree sends `features` to (log-odds).
    pub fn margin(&self, features: &Features) -> f64 {
        self.roots.iter().fold(self.base_margin, |margin, &root| margin + self.leaf_value(root, features))
    }

    /// The prediction when no feature is known: what [`Contributions::features`] are measured from.
    pub fn bias(&self) -> f64 {
        self.bias
    }

    /// The number of trees in the forest.
    pub fn trees(&self) -> usize {
        self.roots.len()
    }

    /// Exact path-dependent TreeSHAP of one prediction (see the crate docs).
    pub fn contributions(&self, features: &Features) -> Contributions {
        let mut phi = [0f64; FEATURE_COUNT];
        let mut path = [PathElement::default(); PATH_CAPACITY];
        for &root in &self.roots {
            self.tree_shap(features, &mut phi, root, &mut path, 0, 1.0, true, PLACEHOLDER_FEATURE);
        }
        Contributions { features: phi, bias: self.bias, margin: self.margin(features) }
    }

    fn leaf_value(&self, root: u32, features: &Features) -> f64 {
        let mut at = root;
        loop {
            match self.nodes[at as usize] {
                Node::Leaf { value } => return value,
                Node::Split { feature, threshold, yes, no, nan_goes_yes, .. } => {
                    at = hot_child(features[feature as usize], threshold, yes, no, nan_goes_yes);
                }
            }
        }
    }

    /// XGBoost's `TreeShap`: `buf[..parent_len]` is the parent's path; this node's path goes right after it
    /// (a copy, so the cold sibling still sees the parent's), extended by the split that led here. `hot`: the
    /// row follows that split (Algorithm 2's one fraction, always 1 or 0 for a row whose features are known).
    #[allow(clippy::too_many_arguments)] // the recursion's state, as in the paper's Algorithm 2
    fn tree_shap(
        &self,
        features: &Features,
        phi: &mut [f64; FEATURE_COUNT],
        at: u32,
        buf: &mut [PathElement],
        parent_len: usize,
        zero_fraction: f64,
        hot: bool,
        feature: u32,
    ) {
        let (parent, rest) = buf.split_at_mut(parent_len);
        let path = &mut rest[..parent_len + 1];
        path[..parent_len].copy_from_slice(parent);
        extend_path(path, zero_fraction, hot, feature);
        match self.nodes[at as usize] {
            Node::Leaf { value } => add_leaf_contributions(path, value, phi),
            Node::Split { feature, threshold, yes, no, nan_goes_yes, yes_zero_fraction, no_zero_fraction } => {
                let hot_child = hot_child(features[feature as usize], threshold, yes, no, nan_goes_yes);
                let (cold_child, hot_zero, cold_zero) = if hot_child == yes {
                    (no, yes_zero_fraction, no_zero_fraction)
                } else {
                    (yes, no_zero_fraction, yes_zero_fraction)
                };
                // A feature split on again further down: undo its earlier element and fold its fractions into
                // this split's, so each feature appears once on the path.
                let mut len = path.len();
                let (mut incoming_zero, mut incoming_hot) = (1.0, true);
                if let Some(k) = path.iter().position(|e| e.feature == feature) {
                    incoming_zero = path[k].zero_fraction;
                    incoming_hot = path[k].hot;
                    unwind_path(path, k);
                    len -= 1;
                }
                self.tree_shap(features, phi, hot_child, rest, len, hot_zero * incoming_zero, incoming_hot, feature);
                self.tree_shap(features, phi, cold_child, rest, len, cold_zero * incoming_zero, false, feature);
            }
        }
    }
}

/// Element 0 of every path: stands for "no split yet" and matches no feature.
const PLACEHOLDER_FEATURE: u32 = u32::MAX;

/// One unique feature on the path from the root: the share of rows that reach here when it is unknown
/// (`zero_fraction`), whether the row does when it is known (`hot`: one fraction 1, else 0), and the
/// permutation weight of subsets of this size.
#[derive(Debug, Clone, Copy, Default)]
struct PathElement {
    feature: u32,
    zero_fraction: f64,
    hot: bool,
    weight: f64,
}

/// A path has d + 1 ≤ MAX_DEPTH + 1 elements.
const LENGTHS: usize = MAX_DEPTH + 1;
type Factors = [[f64; LENGTHS]; LENGTHS];

/// The permutation factors EXTEND and UNWIND multiply by, for a path of d + 1 elements and its element i < d,
/// computed at compile time: the inner loops then multiply instead of dividing (a division's latency is what
/// bounded them), by the same values (a correctly rounded quotient either way).
#[derive(Clone, Copy)]
enum Factor {
    /// (i + 1) / (d + 1)
    Grow,
    /// (d − i) / (d + 1)
    Shrink,
    /// (d + 1) / (i + 1)
    Ungrow,
    /// (d + 1) / (d − i)
    Unshrink,
    /// (d − i) / (i + 1) = Ungrow · Shrink
    Ratio,
}

const fn factors(factor: Factor) -> Factors {
    let mut table = [[0.0; LENGTHS]; LENGTHS];
    let mut d = 0;
    while d < LENGTHS {
        let mut i = 0;
        while i < d {
            let (d1, i1, rest) = ((d + 1) as f64, (i + 1) as f64, (d - i) as f64);
            table[d][i] = match factor {
                Factor::Grow => i1 / d1,
                Factor::Shrink => rest / d1,
                Factor::Ungrow => d1 / i1,
                Factor::Unshrink => d1 / rest,
                Factor::Ratio => rest / i1,
            };
            i += 1;
        }
        d += 1;
    }
    table
}
const GROW: Factors = factors(Factor::Grow);
const SHRINK: Factors = factors(Factor::Shrink);
const UNGROW: Factors = factors(Factor::Ungrow);
const UNSHRINK: Factors = factors(Factor::Unshrink);
const RATIO: Factors = factors(Factor::Ratio);

/// Algorithm 2's EXTEND: appends (feature, zero, hot) as the last element of `path` and updates the weights.
fn extend_path(path: &mut [PathElement], zero_fraction: f64, hot: bool, feature: u32) {
    let d = path.len() - 1;
    path[d] = PathElement { feature, zero_fraction, hot, weight: if d == 0 { 1.0 } else { 0.0 } };
    for i in (0..d).rev() {
        if hot {
            path[i + 1].weight += path[i].weight * GROW[d][i];
        }
        path[i].weight *= zero_fraction * SHRINK[d][i];
    }
}

/// Algorithm 2's UNWIND: removes element `k` (the inverse of its EXTEND); the path is one shorter after.
fn unwind_path(path: &mut [PathElement], k: usize) {
    let d = path.len() - 1;
    let PathElement { zero_fraction, hot, .. } = path[k];
    let mut next = path[d].weight;
    for i in (0..d).rev() {
        if hot {
            let w = path[i].weight;
            path[i].weight = next * UNGROW[d][i];
            next = w - path[i].weight * zero_fraction * SHRINK[d][i];
        } else {
            path[i].weight *= UNSHRINK[d][i] / zero_fraction;
        }
    }
    for i in k..d {
        let PathElement { feature, zero_fraction, hot, .. } = path[i + 1];
        path[i] = PathElement { feature, zero_fraction, hot, weight: path[i].weight };
    }
}

/// A leaf's share of every feature on its path: (one − zero fraction) · value · UNWOUNDPATHSUM for each
/// element but the placeholder. For a cold element (one fraction 0) the unwound sum is Σ_i w_i (d+1)/(z (d−i)),
/// whose 1/z cancels against the (0 − z) factor: every cold feature of the leaf gets the same −value · Σ_i w_i
/// (d+1)/(d−i), summed once here instead of once per cold feature.
fn add_leaf_contributions(path: &[PathElement], value: f64, phi: &mut [f64; FEATURE_COUNT]) {
    let d = path.len() - 1;
    let cold = -value * (0..d).map(|i| path[i].weight * UNSHRINK[d][i]).sum::<f64>();
    for e in &path[1..] {
        phi[e.feature as usize] +=
            if e.hot { value * (1.0 - e.zero_fraction) * hot_unwound_path_sum(path, e.zero_fraction) } else { cold };
    }
}

/// UNWOUNDPATHSUM of a hot element with this zero fraction: the total weight the path would have without it.
/// XGBoost's step `tmp = next·(d+1)/(i+1); total += tmp; next = w_i − tmp·z·(d−i)/(d+1)`, with `next`'s update
/// folded into one multiply-add (`w_i − next·z·(d−i)/(i+1)`): that update chains the iterations, so its latency
/// is what a leaf costs.
fn hot_unwound_path_sum(path: &[PathElement], zero_fraction: f64) -> f64 {
    let d = path.len() - 1;
    let (mut next, mut total) = (path[d].weight, 0.0);
    for i in (0..d).rev() {
        total += next * UNGROW[d][i];
        next = path[i].weight - next * (zero_fraction * RATIO[d][i]);
    }
    total
}

/// The child a known value goes to: `yes` when x < threshold in float32 (as XGBoost and ONNX Runtime
/// compare), `missing`'s side for NaN.
fn hot_child(x: f32, threshold: f32, yes: u32, no: u32, nan_goes_yes: bool) -> u32 {
    if x < threshold || (nan_goes_yes && x.is_nan()) {
        yes
    } else {
        no
    }
}

fn explanation_of(card: &ModelCard) -> Result<ExplanationInfo, ExplainError> {
    card.explanation.clone().ok_or_else(|| ExplainError::NoExplanation("the card has no `explanation` field".into()))
}

fn to_u32(index: usize, tree: usize) -> Result<u32, ExplainError> {
    u32::try_from(index).map_err(|_| ExplainError::Tree { tree, problem: "more than 2^32 nodes in the forest".into() })
}

/// Refuses anything but a tree rooted at node 0 of depth ≤ MAX_DEPTH whose children are in range: a walk from
/// the root must reach every node exactly once, and never a node on its own way down (a cycle).
fn check_tree_shape(tree: usize, nodes: &[NodeFile]) -> Result<(), ExplainError> {
    if nodes.is_empty() {
        return Err(ExplainError::Tree { tree, problem: "no nodes".into() });
    }
    let node_error = |node: usize, problem: String| ExplainError::Node { tree, node, problem };
    let mut parent: Vec<Option<usize>> = vec![None; nodes.len()];
    // (node, depth, next child to visit) for each node on the way down from the root
    let mut way_down: Vec<(usize, usize, usize)> = vec![(0, 0, 0)];
    while let Some((at, depth, next)) = way_down.last_mut() {
        let (at, depth) = (*at, *depth);
        let children = match &nodes[at] {
            NodeFile { yes: Some(yes), no: Some(no), .. } => [*yes, *no],
            _ => {
                way_down.pop();
                continue;
            }
        };
        let Some(&child) = children.get(*next) else {
            way_down.pop();
            continue;
        };
        *next += 1;
        if child >= nodes.len() {
            return Err(node_error(at, format!("child {child} is out of range (the tree has {} nodes)", nodes.len())));
        }
        if way_down.iter().any(|&(n, ..)| n == child) {
            return Err(node_error(at, format!("child {child} is one of its ancestors: the tree has a cycle")));
        }
        if let Some(p) = parent[child] {
            return Err(node_error(child, format!("has two parents, {p} and {at}")));
        }
        if depth + 1 > MAX_DEPTH {
            return Err(ExplainError::Tree { tree, problem: format!("deeper than {MAX_DEPTH} (node {child})") });
        }
        parent[child] = Some(at);
        way_down.push((child, depth + 1, 0));
    }
    match (1..nodes.len()).find(|&n| parent[n].is_none()) {
        Some(n) => Err(node_error(n, "is not reachable from the root (node 0)".into())),
        None => Ok(()),
    }
}

/// One node of tree `tree` (whose shape `check_tree_shape` accepted) with its children moved by `offset`.
fn flatten(tree: usize, i: usize, node: &NodeFile, nodes: &[NodeFile], offset: usize) -> Result<Node, ExplainError> {
    let node_error = |problem: String| ExplainError::Node { tree, node: i, problem };
    if !(node.cover.is_finite() && node.cover > 0.0) {
        return Err(node_error(format!("cover {} is not positive", node.cover)));
    }
    match *node {
        NodeFile { leaf: Some(value), feature: None, threshold: None, yes: None, no: None, missing: None, .. } => {
            if !value.is_finite() {
                return Err(node_error(format!("leaf {value} is not finite")));
            }
            Ok(Node::Leaf { value: value.into() })
        }
        NodeFile {
            leaf: None,
            feature: Some(feature),
            threshold: Some(threshold),
            yes: Some(yes),
            no: Some(no),
            missing: Some(missing),
            cover,
        } => {
            if feature >= FEATURE_COUNT {
                return Err(node_error(format!("feature {feature} is out of range (the model has {FEATURE_COUNT})")));
            }
            if !threshold.is_finite() {
                return Err(node_error(format!("threshold {threshold} is not finite")));
            }
            if yes == no || (missing != yes && missing != no) {
                return Err(node_error(format!("children yes {yes}, no {no}, missing {missing} are not two nodes")));
            }
            let cover = f64::from(cover);
            Ok(Node::Split {
                feature: feature as u32,
                threshold,
                yes: to_u32(offset + yes, tree)?,
                no: to_u32(offset + no, tree)?,
                nan_goes_yes: missing == yes,
                yes_zero_fraction: f64::from(nodes[yes].cover) / cover,
                no_zero_fraction: f64::from(nodes[no].cover) / cover,
            })
        }
        _ => Err(node_error(
            "is neither a leaf (leaf, cover) nor a split (feature, threshold, yes, no, missing, cover)".into(),
        )),
    }
}

/// The expected value of the subtree at `at`: a split's is its children's weighted by their zero fractions,
/// cover(child) / cover(split), as XGBoost's `FillNodeMeanValues` (recursion depth ≤ MAX_DEPTH, checked).
fn mean_value(nodes: &[Node], at: u32) -> f64 {
    match nodes[at as usize] {
        Node::Leaf { value } => value,
        Node::Split { yes, no, yes_zero_fraction, no_zero_fraction, .. } => {
            mean_value(nodes, yes) * yes_zero_fraction + mean_value(nodes, no) * no_zero_fraction
        }
    }
}
