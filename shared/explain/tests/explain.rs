//! TreeSHAP of the committed model against XGBoost's own `pred_contribs=True` (model/parity-contribs.csv.gz),
//! against the served ONNX model, and the loader's refusals.

use std::path::{Path, PathBuf};

use fraudwatch_core::card::sha256_hex;
use fraudwatch_core::schema::{Features, FEATURE_COUNT, FEATURE_NAMES};
use fraudwatch_explain::{Contributions, Direction, ExplainError, Explainer};
use fraudwatch_model::{locate_onnx_runtime, FraudModel};
use serde_json::Value;

/// The fixture's tolerance per value: XGBoost computes in float32, this explainer in float64.
const TOLERANCE: f64 = 1e-5;

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../model")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(model_dir().join(name)).unwrap()
}

fn explainer() -> Explainer {
    Explainer::from_dir(&model_dir()).unwrap()
}

/// The feature columns of `model/parity.csv`, parsed as the other parity tests do (f64, then f32).
fn parity_rows() -> Vec<Features> {
    let mut reader = csv::Reader::from_path(model_dir().join("parity.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let columns: Vec<usize> = FEATURE_NAMES.iter().map(|n| headers.iter().position(|h| h == *n).unwrap()).collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            std::array::from_fn(|j| r[columns[j]].parse::<f64>().unwrap() as f32)
        })
        .collect()
}

/// XGBoost's output on the same rows: 29 contributions, the bias and `output_margin`.
struct XgboostContribs {
    features: [f64; FEATURE_COUNT],
    bias: f64,
    margin: f64,
}

fn xgboost_contribs() -> Vec<XgboostContribs> {
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(model_dir().join("parity-contribs.csv.gz")).unwrap());
    let mut reader = csv::Reader::from_reader(gz);
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let features: Vec<usize> = FEATURE_NAMES.iter().map(|n| column(n)).collect();
    let (bias, margin) = (column("bias"), column("margin"));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let value = |c: usize| r[c].parse::<f64>().unwrap();
            XgboostContribs {
                features: std::array::from_fn(|j| value(features[j])),
                bias: value(bias),
                margin: value(margin),
            }
        })
        .collect()
}

#[test]
fn contributions_equal_xgboost_pred_contribs_on_every_parity_row() {
    let explainer = explainer();
    let rows = parity_rows();
    let expected = xgboost_contribs();
    assert_eq!(rows.len(), expected.len());
    assert_eq!(rows.len(), 3000, "card.explanation.parity.rows");
    let (mut worst_feature, mut worst_bias, mut worst_sum, mut worst_margin) = (0f64, 0f64, 0f64, 0f64);
    for (r, (row, want)) in rows.iter().zip(&expected).enumerate() {
        let got = explainer.contributions(row);
        for (j, (g, w)) in got.features.iter().zip(&want.features).enumerate() {
            let diff = (g - w).abs();
            assert!(diff <= TOLERANCE, "row {r} {}: {g} vs XGBoost {w}", FEATURE_NAMES[j]);
            worst_feature = worst_feature.max(diff);
        }
        assert_eq!((got.bias, got.margin), (explainer.bias(), explainer.margin(row)), "row {r}");
        worst_bias = worst_bias.max((got.bias - want.bias).abs());
        let sum = got.bias + got.features.iter().sum::<f64>();
        assert!((sum - got.margin).abs() <= TOLERANCE, "row {r}: bias + contributions {sum} vs margin {}", got.margin);
        worst_sum = worst_sum.max((sum - got.margin).abs());
        // XGBoost sums the 200 leaves in float32 (its output_margin is bit for bit a float32 sum of these
        // trees' leaves), this explainer exactly in float64: that rounding grows with |margin|.
        let diff = (got.margin - want.margin).abs();
        assert!(
            diff <= TOLERANCE * want.margin.abs().max(1.0),
            "row {r}: margin {} vs XGBoost {}",
            got.margin,
            want.margin
        );
        worst_margin = worst_margin.max(diff);
    }
    println!(
        "max |diff| vs XGBoost pred_contribs over {} rows: contribution {worst_feature:.3e}, bias {worst_bias:.3e}, \
         margin vs output_margin {worst_margin:.3e}; max |bias + Σ contributions − margin| {worst_sum:.3e}",
        rows.len()
    );
    assert!(worst_bias <= TOLERANCE, "bias differs from XGBoost's by {worst_bias}");
}

#[test]
fn sigmoid_of_the_explained_margin_equals_the_served_onnx_probability() {
    let explainer = explainer();
    let model = FraudModel::from_dir(&locate_onnx_runtime().unwrap(), &model_dir()).unwrap();
    let mut worst = 0f64;
    for (r, row) in parity_rows().iter().enumerate() {
        let explained = 1.0 / (1.0 + (-explainer.margin(row)).exp());
        let served = f64::from(model.score(row).unwrap().fraud_probability);
        let diff = (explained - served).abs();
        assert!(diff <= 1e-6, "row {r}: sigmoid(margin) {explained} vs ONNX Runtime {served}");
        worst = worst.max(diff);
    }
    println!("max |sigmoid(margin) − ONNX Runtime fraud_probability| {worst:.3e}");
}

#[test]
fn top_reasons_are_the_largest_magnitudes_with_ties_in_feature_order_and_never_a_zero() {
    let mut features = [0.0; FEATURE_COUNT];
    features[3] = -2.0; // V4
    features[13] = 2.0; // V14, as large as V4: V4 first
    features[28] = 0.5; // Amount
    let contributions = Contributions { features, bias: -5.0, margin: -4.5 };
    let picked: Vec<(&str, usize, f64, Direction)> =
        contributions.top(4).iter().map(|r| (r.feature, r.index, r.contribution, r.direction())).collect();
    // Only three features moved this prediction: the 26 zeros are not reasons.
    assert_eq!(
        picked,
        [
            ("V4", 3, -2.0, Direction::TowardsLegit),
            ("V14", 13, 2.0, Direction::TowardsFraud),
            ("Amount", 28, 0.5, Direction::TowardsFraud),
        ]
    );
    assert_eq!(contributions.top(2).len(), 2);
    assert_eq!(serde_json::to_value(Direction::TowardsLegit).unwrap(), "towards_legit");
}

#[test]
fn top_reasons_of_a_caught_fraud_push_towards_fraud() {
    let explainer = explainer();
    let fraud = parity_rows().into_iter().find(|row| explainer.margin(row) > 5.0).expect("a confident fraud");
    let top = explainer.contributions(&fraud).top(3);
    assert_eq!(top.len(), 3);
    assert!(top.windows(2).all(|w| w[0].contribution.abs() >= w[1].contribution.abs()));
    assert_eq!(top[0].direction(), Direction::TowardsFraud, "{top:?}");
}

/// trees.json and card.json as JSON, to break one thing in them.
fn committed() -> (Value, Value) {
    (serde_json::from_slice(&read("trees.json")).unwrap(), serde_json::from_slice(&read("card.json")).unwrap())
}

/// Loads edited trees.json with a card that pins its new sha256, so the edit itself is what is checked.
fn load_repinned(trees: &Value, mut card: Value) -> ExplainError {
    let bytes = serde_json::to_vec(trees).unwrap();
    card["explanation"]["sha256"] = sha256_hex(&bytes).into();
    Explainer::from_bytes(&bytes, &serde_json::to_vec(&card).unwrap()).unwrap_err()
}

#[test]
fn trees_whose_sha256_is_not_the_cards_are_refused() {
    let mut trees = read("trees.json");
    let at = trees.len() - 2;
    trees[at] = b' ';
    let err = Explainer::from_bytes(&trees, &read("card.json")).unwrap_err();
    assert!(matches!(err, ExplainError::ChecksumMismatch { .. }), "{err}");
    assert!(err.to_string().contains("card.explanation.sha256 says 84b7f6af"), "{err}");
}

#[test]
fn trees_of_another_model_are_refused() {
    let (mut trees, card) = committed();
    trees["model_sha256"] = "00".repeat(32).into();
    let err = load_repinned(&trees, card);
    assert!(matches!(err, ExplainError::ModelMismatch { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "trees.json explains model {}, but the card's model_sha256 is 10c3ef97d60356350af1af7c005f0d6e501ca928a648ae0df7d576d180b4c46c",
            "00".repeat(32)
        )
    );
}

#[test]
fn a_child_index_out_of_range_is_refused() {
    let (mut trees, card) = committed();
    let nodes = trees["trees"][7]["nodes"].as_array().unwrap().len();
    trees["trees"][7]["nodes"][1]["no"] = nodes.into();
    let err = load_repinned(&trees, card);
    assert_eq!(
        err.to_string(),
        format!("trees.json tree 7 node 1: child {nodes} is out of range (the tree has {nodes} nodes)")
    );
}

#[test]
fn a_cycle_is_refused() {
    let (mut trees, card) = committed();
    // node 3 is a split under node 1, under the root
    assert!(trees["trees"][0]["nodes"][3].get("yes").is_some());
    trees["trees"][0]["nodes"][3]["yes"] = 1.into();
    let err = load_repinned(&trees, card);
    assert_eq!(err.to_string(), "trees.json tree 0 node 3: child 1 is one of its ancestors: the tree has a cycle");
}

#[test]
fn other_broken_trees_are_refused_by_name() {
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit, &str); 5] = [
        ("feature", |t| t["trees"][2]["nodes"][0]["feature"] = 29.into(), "tree 2 node 0: feature 29 is out of range"),
        ("names", |t| t["feature_names"][0] = "Time".into(), "trees.json lists features [\"Time\""),
        ("shared child", |t| t["trees"][0]["nodes"][2]["yes"] = 3.into(), "tree 0 node 3: has two parents, 1 and 2"),
        ("cover", |t| t["trees"][4]["nodes"][0]["cover"] = 0.0.into(), "tree 4 node 0: cover 0 is not positive"),
        ("missing", |t| t["trees"][0]["nodes"][0]["missing"] = 5.into(), "yes 1, no 2, missing 5 are not two nodes"),
    ];
    for (what, edit, message) in cases {
        let (mut trees, card) = committed();
        edit(&mut trees);
        let err = load_repinned(&trees, card).to_string();
        assert!(err.contains(message), "{what}: {err}");
    }
}

#[test]
fn a_card_without_explanation_explains_nothing_and_one_that_names_trees_needs_them() {
    let (_, mut card) = committed();
    let trees = read("trees.json");
    assert!(Explainer::for_card(&read("card.json"), Some(&trees)).unwrap().is_some());
    let err = Explainer::for_card(&read("card.json"), None).unwrap_err();
    assert!(err.to_string().starts_with("the card names trees.json (explanation.sha256 84b7f6af"), "{err}");
    card.as_object_mut().unwrap().remove("explanation");
    let card = serde_json::to_vec(&card).unwrap();
    assert!(Explainer::for_card(&card, None).unwrap().is_none(), "served without reasons");
    let err = Explainer::from_bytes(&trees, &card).unwrap_err();
    assert_eq!(err.to_string(), "model card has no usable `explanation`: the card has no `explanation` field");
}

#[test]
fn a_missing_value_takes_the_missing_side_as_xgboost_does() {
    // Every split of the served trees sends a missing value `no` (training/README.md § TreeSHAP), the side
    // +inf takes too: a NaN must explain exactly as +inf does.
    let explainer = explainer();
    let mut nan = parity_rows()[0];
    nan[13] = f32::NAN; // V14
    let mut inf = nan;
    inf[13] = f32::INFINITY;
    assert_eq!(explainer.contributions(&nan), explainer.contributions(&inf));
    assert_eq!(explainer.margin(&nan), explainer.margin(&inf));
}

#[test]
fn a_tree_deeper_than_max_depth_is_refused() {
    let (mut trees, card) = committed();
    // A chain of splits on V1, each with a leaf on its `yes` side, 11 deep.
    let depth = fraudwatch_explain::MAX_DEPTH + 1;
    let mut nodes = Vec::new();
    for d in 0..depth {
        let (leaf, next) = (nodes.len() + 1, nodes.len() + 2);
        nodes.push(serde_json::json!({"feature": 0, "threshold": d as f32, "yes": leaf, "no": next, "missing": next, "cover": 100.0}));
        nodes.push(serde_json::json!({"leaf": 0.5, "cover": 1.0}));
    }
    nodes.push(serde_json::json!({"leaf": -0.5, "cover": 99.0}));
    trees["trees"][3]["nodes"] = nodes.into();
    let err = load_repinned(&trees, card).to_string();
    assert_eq!(err, "trees.json tree 3: deeper than 10 (node 21)");
}
