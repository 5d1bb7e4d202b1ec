//! The model card written by `training/train.py` (docs/contracts.md): what every part that handles a model
//! agrees on — its version, features, threshold and the checksums of its files. predict serves it, the
//! registry verifies it, drift-check reads its reference through it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::schema::FEATURE_NAMES;

/// The files of a model, as `training/train.py` writes them and the registry stores them (the explanation's
/// file is named by the card).
pub const MODEL_FILE: &str = "model.onnx";
pub const CARD_FILE: &str = "card.json";
pub const REFERENCE_FILE: &str = "reference.csv.gz";

/// Why a card is unusable.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CardError {
    #[error("model card is invalid: {0}")]
    Invalid(String),
    #[error("model card lists features {found:?}, this build expects {expected:?}")]
    FeatureMismatch { expected: Vec<String>, found: Vec<String> },
}

/// The model card written by `training/train.py` (see docs/contracts.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub name: String,
    pub version: String,
    pub created_at: String,
    pub features: Vec<String>,
    pub threshold: f32,
    pub threshold_rule: String,
    pub model_sha256: String,
    pub training_data_sha256: String,
    pub reference: ReferenceInfo,
    /// Which features the model relies on: drift-check labels their drift `important="true"`, so the alert
    /// rules follow the model instead of naming features (absent in cards written before it existed).
    #[serde(default)]
    pub importance: Option<Importance>,
    /// Maps the model's score to a probability of fraud at live prevalence (for estimating performance
    /// without labels).
    #[serde(default)]
    pub calibration: Option<Calibration>,
    /// The file that explains the model's predictions (TreeSHAP reason codes: the trees with their node covers,
    /// which the ONNX graph does not carry), pinned by sha256; absent in cards written before it existed, whose
    /// models are served without reasons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<ExplanationInfo>,
    #[serde(default)]
    pub metrics: serde_json::Value,
    #[serde(default)]
    pub training: serde_json::Value,
}

/// The card's feature importance (`training/train.py`: XGBoost total gain, shares summing to 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    #[serde(rename = "type")]
    pub kind: String,
    /// Share of the total importance per feature.
    pub values: std::collections::BTreeMap<String, f64>,
    /// The features the drift alerts watch, chosen by `rule`.
    pub important_features: Vec<String>,
    pub rule: String,
}

/// Platt scaling of the score at live prevalence: `p = 1 / (1 + exp(-(a·logit(clip(s)) + b)))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub method: String,
    pub a: f64,
    pub b: f64,
    pub clip: CalibrationClip,
    pub prevalence: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationClip {
    pub min: f64,
    pub max: f64,
}

/// The card's `explanation` (training/README.md § TreeSHAP): the trees file beside the model and how to read
/// what is computed from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplanationInfo {
    /// A file name in the model's directory (and registry version), e.g. `trees.json`.
    pub file: String,
    pub sha256: String,
    pub method: String,
    /// The scale of the contributions, e.g. `log-odds margin`.
    pub output: String,
    /// The parity fixture against the training library and the export's own checks, kept for readers.
    #[serde(default)]
    pub parity: serde_json::Value,
    #[serde(default)]
    pub checks: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceInfo {
    pub file: String,
    pub rows: usize,
    pub sha256: String,
}

impl ModelCard {
    pub fn from_json(bytes: &[u8]) -> Result<Self, CardError> {
        let card: ModelCard = serde_json::from_slice(bytes).map_err(|e| CardError::Invalid(e.to_string()))?;
        if card.features != FEATURE_NAMES {
            return Err(CardError::FeatureMismatch {
                expected: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
                found: card.features,
            });
        }
        if !(card.threshold > 0.0 && card.threshold < 1.0) {
            return Err(CardError::Invalid(format!("threshold must be in (0, 1), got {}", card.threshold)));
        }
        if !is_valid_version(&card.version) {
            return Err(CardError::Invalid(format!("version {:?} must be 1 to 64 of A-Z a-z 0-9 . _ -", card.version)));
        }
        if let Some(importance) = &card.importance {
            if let Some(unknown) = importance
                .values
                .keys()
                .chain(&importance.important_features)
                .find(|f| !FEATURE_NAMES.contains(&f.as_str()))
            {
                return Err(CardError::Invalid(format!("importance names {unknown:?}, which is not a feature")));
            }
        }
        if let Some(e) = &card.explanation {
            // The registry stores the file under the version's folder by this name: it must not reach outside
            // it, nor take the name of one of the version's other files.
            if !is_plain_file_name(&e.file) || [MODEL_FILE, CARD_FILE, REFERENCE_FILE].contains(&e.file.as_str()) {
                return Err(CardError::Invalid(format!(
                    "explanation.file {:?} must be a plain file name beside the model, not one of its other files",
                    e.file
                )));
            }
        }
        if let Some(c) = &card.calibration {
            if c.method != "platt"
                || !(c.a.is_finite()
                    && c.b.is_finite()
                    && 0.0 < c.clip.min
                    && c.clip.min < c.clip.max
                    && c.clip.max < 1.0)
            {
                return Err(CardError::Invalid(format!("calibration {c:?} is not a usable Platt scaling")));
            }
        }
        Ok(card)
    }
}

/// Whether `version` can name a model: it names S3 keys (`models/<prefix>/<version>/…`) and is a Prometheus
/// label value, which prometheus-client writes unescaped, so letters, digits, '.', '_' and '-' only, at most 64.
pub fn is_valid_version(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= 64
        && version.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A name with no directory part: not empty, no `/` or `\\`, not `.` or `..`.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != ".."
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed_card() -> serde_json::Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../model/card.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn the_committed_card_reads() {
        let card = ModelCard::from_json(&serde_json::to_vec(&committed_card()).unwrap()).unwrap();
        assert_eq!(card.features, FEATURE_NAMES);
    }

    #[test]
    fn the_committed_card_carries_importance_and_calibration() {
        let card = ModelCard::from_json(&serde_json::to_vec(&committed_card()).unwrap()).unwrap();
        let importance = card.importance.unwrap();
        assert!((importance.values.values().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(importance.important_features.contains(&"Amount".to_string()));
        assert_eq!(card.calibration.unwrap().method, "platt");
    }

    #[test]
    fn versions_are_safe_as_keys_and_labels() {
        for bad in ["", "v/1", "v\"1", "v 1", &"x".repeat(65)] {
            let mut card = committed_card();
            card["version"] = bad.into();
            assert!(ModelCard::from_json(&serde_json::to_vec(&card).unwrap()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_committed_card_pins_its_trees_file() {
        let card = ModelCard::from_json(&serde_json::to_vec(&committed_card()).unwrap()).unwrap();
        let explanation = card.explanation.unwrap();
        assert_eq!((explanation.file.as_str(), explanation.output.as_str()), ("trees.json", "log-odds margin"));
        assert_eq!(explanation.sha256.len(), 64);
    }

    #[test]
    fn an_explanation_file_outside_the_model_s_folder_is_refused() {
        for bad in ["", "../trees.json", "a/trees.json", "..", "model.onnx", "card.json"] {
            let mut card = committed_card();
            card["explanation"]["file"] = bad.into();
            let err = ModelCard::from_json(&serde_json::to_vec(&card).unwrap()).unwrap_err();
            assert!(err.to_string().contains("explanation.file"), "{bad:?}: {err}");
        }
        let mut card = committed_card();
        card.as_object_mut().unwrap().remove("explanation");
        assert_eq!(ModelCard::from_json(&serde_json::to_vec(&card).unwrap()).unwrap().explanation, None);
    }

    #[test]
    fn a_card_with_other_features_is_refused() {
        let mut card = committed_card();
        card["features"][13] = "V14_scaled".into();
        let err = ModelCard::from_json(&serde_json::to_vec(&card).unwrap()).unwrap_err();
        assert!(matches!(err, CardError::FeatureMismatch { .. }), "{err}");
        assert!(ModelCard::from_json(b"{}").unwrap_err().to_string().starts_with("model card is invalid"));
    }
}
