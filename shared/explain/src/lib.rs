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
//! Attribution for Tree Ensembles*, Algorithm 2, as XGBoost's `pred_contribs=True` runs it (`ExtendPath`,
//! `UnwoundPathSum`), in float64 where XGBoost uses float32 (they agree to ~2e-6; tests/explain.rs), with its
//! row-independent work done once at load, as Yang (2021), *Fast TreeSHAP*, "v2", does:
//!
//! * A leaf's share of each feature on its path depends on the row only through which of those features the
//!   row *follows* to the leaf (passes every split on it the leaf's way): the zero fractions (cover ratios)
//!   and the leaf value are fixed. A leaf with k features on its path has 2^k such patterns, so at load every
//!   pattern's k shares are computed with Algorithm 2's EXTEND and UNWOUNDPATHSUM (a feature split on twice
//!   has its zero fractions multiplied and follows only if it follows both splits, which is what Algorithm 2's
//!   UNWIND then EXTEND yields) and kept: 278,492 numbers (2.2 MB) for the served 200 trees of depth 5.
//! * A prediction then walks every tree once, depth first, testing each split once and carrying the pattern
//!   down (the side the row does not take clears the split feature's bit), and at each leaf adds the k shares
//!   stored for its pattern: O(T·L·D) work with no division instead of Algorithm 2's O(T·L·D²). On this
//!   machine that is 22 µs of CPU per prediction where the recursion took 110 µs (and the first draft of it,
//!   dividing in its inner loops, 270 µs), for 3.4 ms instead of 1.7 ms at load and 2.2 MB of memory.
//!
//! The bias (expected value) does not depend on the row either, so it is computed once at load.

use std::path::{Path, PathBuf};

use fraudwatch_core::card::{sha256_hex, CardError, ExplanationInfo, ModelCard, CARD_FILE};
use fraudwatch_core::schema::{Features, FEATURE_COUNT, FEATURE_NAMES};
use serde::{Deserialize, Serialize};

/// The deepest tree accepted (root at depth 0). The served model's trees are depth 5 (`max_depth` in
/// `card.training.params`); XGBoost's default is 6.
pub const MAX_DEPTH: usize = 10;

/// Most leaf shares kept (2^k · k per leaf with k features on its path): 64 MiB of them, against a trees file
/// that would make the loader allocate without bound. The served model needs 278,492.
pub const MAX_SHARES: usize = 8 << 20;

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
    #[error("trees.json needs more than {MAX_SHARES} TreeSHAP leaf shares (its leaves have too many features on their paths)")]
    TooLarge,
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

/// A node of one tree as loaded; children are indices into the tree's nodes.
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
    /// Every tree's nodes depth first (a split's `yes` subtree right after it), tree after tree: a row walks
    /// them once, in order.
    steps: Vec<Step>,
    /// Every leaf of every tree ([`Step::Leaf`]).
    leaves: Vec<Leaf>,
    /// Each leaf's features, in the order of their first split on its path ([`Leaf::features`]).
    features: Vec<u8>,
    /// Each leaf's shares ([`Leaf::shares`]): for every pattern p of the features the row follows (bit j: it
    /// follows feature j), the leaf's share of each of its k features, at `p·k..(p+1)·k`.
    shares: Vec<f64>,
    trees: usize,
    base_margin: f64,
    /// base_margin + every tree's cover-weighted mean leaf value: the prediction when no feature is known.
    bias: f64,
}

/// Not the thousands of leaves: what identifies the forest.
impl std::fmt::Debug for Explainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Explainer")
            .field("trees", &self.trees)
            .field("leaves", &self.leaves.len())
            .field("shares", &self.shares.len())
            .field("bias", &self.bias)
            .finish()
    }
}

/// A node in the depth-first walk.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Its `yes` subtree follows it, its `no` subtree starts at `no`; `slot` is the bit its feature has in the
    /// patterns of every leaf below it (the feature's place among the features first split on above them).
    Split {
        test: SplitTest,
        slot: u8,
        no: u32,
    },
    Leaf(u32),
}

/// A split: which side a row goes to.
#[derive(Debug, Clone, Copy)]
struct SplitTest {
    threshold: f32,
    feature: u8,
    nan_goes_yes: bool,
}

impl SplitTest {
    /// `yes` when x < threshold in float32 (as XGBoost and ONNX Runtime compare), `missing`'s side for NaN.
    fn goes_yes(&self, features: &Features) -> bool {
        let x = features[usize::from(self.feature)];
        // `|` and `&`, not `||` and `&&`: no branch on the row's value.
        (x < self.threshold) | (self.nan_goes_yes & x.is_nan())
    }
}

/// A leaf, ready for rows: its value and where its features and shares start in the [`Explainer`]'s lists.
#[derive(Debug, Clone, Copy)]
struct Leaf {
    value: f64,
    features: u32,
    feature_count: u8,
    shares: u32,
}

impl Leaf {
    /// Every one of the leaf's features followed: the row reaches this leaf.
    fn all_followed(&self) -> u32 {
        (1 << self.feature_count) - 1
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
        let mut planner = Planner::default();
        let mut bias = file.base_margin;
        for (t, tree) in file.trees.iter().enumerate() {
            check_tree_shape(t, &tree.nodes)?;
            let nodes = tree
                .nodes
                .iter()
                .enumerate()
                .map(|(i, n)| flatten(t, i, n, &tree.nodes))
                .collect::<Result<Vec<_>, _>>()?;
            bias += mean_value(&nodes, 0);
            planner.plan(&nodes, 0, &mut Vec::with_capacity(MAX_DEPTH))?;
        }
        let Planner { steps, leaves, features, shares } = planner;
        let (trees, base_margin) = (file.trees.len(), file.base_margin);
        Ok(Explainer { steps, leaves, features, shares, trees, base_margin, bias })
    }

    /// The model's raw output: base_margin + the leaf each tree sends `features` to (log-odds).
    pub fn margin(&self, features: &Features) -> f64 {
        let mut margin = self.base_margin;
        self.walk(features, |leaf, followed| {
            if followed == leaf.all_followed() {
                margin += leaf.value;
            }
        });
        margin
    }

    /// The prediction when no feature is known: what [`Contributions::features`] are measured from.
    pub fn bias(&self) -> f64 {
        self.bias
    }

    /// The number of trees in the forest.
    pub fn trees(&self) -> usize {
        self.trees
    }

    /// Exact path-dependent TreeSHAP of one prediction (see the crate docs): each leaf's stored shares for the
    /// features this row follows to it. The leaf it follows every split to is the one the row reaches: its
    /// value is the tree's output.
    pub fn contributions(&self, features: &Features) -> Contributions {
        let mut phi = [0f64; FEATURE_COUNT];
        let mut margin = self.base_margin;
        self.walk(features, |leaf, followed| {
            if followed == leaf.all_followed() {
                margin += leaf.value;
            }
            let k = usize::from(leaf.feature_count);
            let shares = &self.shares[leaf.shares as usize + followed as usize * k..][..k];
            for (&feature, share) in self.features[leaf.features as usize..][..k].iter().zip(shares) {
                phi[usize::from(feature)] += share;
            }
        });
        Contributions { features: phi, bias: self.bias, margin }
    }

    /// Visits every leaf of every tree with the pattern of its features the row follows (bit j set: the row
    /// passes every split on the leaf's feature j the leaf's way), testing each split once: the walk goes down
    /// `yes` first, keeping where `no` starts and the pattern there on a stack no deeper than the tree.
    fn walk(&self, features: &Features, mut leaf: impl FnMut(&Leaf, u32)) {
        let mut pending = [(0u32, 0u32); MAX_DEPTH];
        let (mut depth, mut at, mut followed) = (0, 0, u32::MAX);
        while let Some(step) = self.steps.get(at) {
            match *step {
                Step::Split { test, slot, no } => {
                    // The side the row does not take clears the feature's bit; selected with masks, not branches
                    // (which way a row goes is what a branch predictor cannot guess).
                    let off = !(1u32 << slot);
                    let yes = u32::from(test.goes_yes(features)).wrapping_neg();
                    pending[depth] = (no, followed & (off | !yes));
                    depth += 1;
                    followed &= off | yes;
                    at += 1;
                }
                Step::Leaf(i) => {
                    let visited = &self.leaves[i as usize];
                    leaf(visited, followed & visited.all_followed());
                    if depth == 0 {
                        // The tree is done; the next one starts here.
                        (at, followed) = (at + 1, u32::MAX);
                    } else {
                        depth -= 1;
                        let (no, pattern) = pending[depth];
                        (at, followed) = (no as usize, pattern);
                    }
                }
            }
        }
    }
}

/// Builds the depth-first steps and the leaves of one tree after another, with the leaves' features and shares.
#[derive(Default)]
struct Planner {
    steps: Vec<Step>,
    leaves: Vec<Leaf>,
    features: Vec<u8>,
    shares: Vec<f64>,
}

/// A split on the way down to a node: its feature and the zero fraction of the side the way takes.
#[derive(Clone, Copy)]
struct WayDown {
    feature: u8,
    zero_fraction: f64,
}

impl Planner {
    /// Plans the subtree at `at` depth first, `way` being the splits from the tree's root (≤ MAX_DEPTH, checked).
    fn plan(&mut self, nodes: &[Node], at: usize, way: &mut Vec<WayDown>) -> Result<(), ExplainError> {
        match nodes[at] {
            Node::Leaf { value } => {
                let leaf = u32::try_from(self.leaves.len()).map_err(|_| ExplainError::TooLarge)?;
                self.steps.push(Step::Leaf(leaf));
                self.plan_leaf(value, way)
            }
            Node::Split { feature, threshold, yes, no, nan_goes_yes, yes_zero_fraction, no_zero_fraction } => {
                let feature = feature as u8; // < FEATURE_COUNT, checked
                let mut above: Vec<u8> = Vec::with_capacity(way.len());
                for step in way.iter() {
                    if !above.contains(&step.feature) {
                        above.push(step.feature);
                    }
                }
                let slot = above.iter().position(|&f| f == feature).unwrap_or(above.len()) as u8;
                let at_split = self.steps.len();
                let test = SplitTest { threshold, feature, nan_goes_yes };
                self.steps.push(Step::Split { test, slot, no: 0 });
                way.push(WayDown { feature, zero_fraction: yes_zero_fraction });
                self.plan(nodes, yes as usize, way)?;
                way.pop();
                let no_at = u32::try_from(self.steps.len()).map_err(|_| ExplainError::TooLarge)?;
                self.steps[at_split] = Step::Split { test, slot, no: no_at };
                way.push(WayDown { feature, zero_fraction: no_zero_fraction });
                self.plan(nodes, no as usize, way)?;
                way.pop();
                Ok(())
            }
        }
    }

    /// A leaf's features (a feature split on twice once, its zero fractions multiplied) and, for every pattern
    /// of followed features, Algorithm 2's path for it and the leaf's share of each feature.
    fn plan_leaf(&mut self, value: f64, way: &[WayDown]) -> Result<(), ExplainError> {
        let mut unique: Vec<(u8, f64)> = Vec::with_capacity(way.len());
        for step in way {
            match unique.iter_mut().find(|(f, _)| *f == step.feature) {
                Some((_, zero_fraction)) => *zero_fraction *= step.zero_fraction,
                None => unique.push((step.feature, step.zero_fraction)),
            }
        }
        let k = unique.len();
        let first_share = self.shares.len();
        if first_share + (k << k) > MAX_SHARES {
            return Err(ExplainError::TooLarge);
        }
        self.shares.resize(first_share + (k << k), 0.0);
        let mut path = [PathElement::default(); LENGTHS];
        for pattern in 0..1usize << k {
            path[0] = PathElement { zero_fraction: 1.0, hot: true, weight: 1.0 };
            for (j, &(_, zero_fraction)) in unique.iter().enumerate() {
                extend_path(&mut path[..j + 2], zero_fraction, pattern >> j & 1 == 1);
            }
            let shares = &mut self.shares[first_share + pattern * k..][..k];
            leaf_shares(&path[..k + 1], value, shares);
        }
        self.leaves.push(Leaf {
            value,
            features: self.features.len() as u32,
            feature_count: k as u8,
            shares: first_share as u32,
        });
        self.features.extend(unique.iter().map(|&(f, _)| f));
        Ok(())
    }
}

/// One feature on a leaf's path (element 0 stands for "no split yet"): the share of rows that reach the leaf
/// when it is unknown (`zero_fraction`), whether the row does when it is known (`hot`: Algorithm 2's one
/// fraction, 1 or 0 for a row whose features are known), and the permutation weight of subsets of this size.
#[derive(Debug, Clone, Copy, Default)]
struct PathElement {
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

/// Algorithm 2's EXTEND: appends (zero, hot) as the last element of `path` and updates the weights.
fn extend_path(path: &mut [PathElement], zero_fraction: f64, hot: bool) {
    let d = path.len() - 1;
    path[d] = PathElement { zero_fraction, hot, weight: 0.0 };
    for i in (0..d).rev() {
        if hot {
            path[i + 1].weight += path[i].weight * GROW[d][i];
        }
        path[i].weight *= zero_fraction * SHRINK[d][i];
    }
}

/// A leaf's share of every feature on its path (`shares[j]` for element j + 1): (one − zero fraction) · value ·
/// UNWOUNDPATHSUM. For a cold element (one fraction 0) the unwound sum is Σ_i w_i (d+1)/(z (d−i)), whose 1/z
/// cancels against the (0 − z) factor: every cold feature of the leaf gets the same −value · Σ_i w_i (d+1)/(d−i).
fn leaf_shares(path: &[PathElement], value: f64, shares: &mut [f64]) {
    let d = path.len() - 1;
    let cold = -value * (0..d).map(|i| path[i].weight * UNSHRINK[d][i]).sum::<f64>();
    for (e, share) in path[1..].iter().zip(shares) {
        *share =
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

fn explanation_of(card: &ModelCard) -> Result<ExplanationInfo, ExplainError> {
    card.explanation.clone().ok_or_else(|| ExplainError::NoExplanation("the card has no `explanation` field".into()))
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

/// One node of tree `tree` (whose shape `check_tree_shape` accepted), checked.
fn flatten(tree: usize, i: usize, node: &NodeFile, nodes: &[NodeFile]) -> Result<Node, ExplainError> {
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
                yes: yes as u32,
                no: no as u32,
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
fn mean_value(nodes: &[Node], at: usize) -> f64 {
    match nodes[at] {
        Node::Leaf { value } => value,
        Node::Split { yes, no, yes_zero_fraction, no_zero_fraction, .. } => {
            mean_value(nodes, yes as usize) * yes_zero_fraction + mean_value(nodes, no as usize) * no_zero_fraction
        }
    }
}
