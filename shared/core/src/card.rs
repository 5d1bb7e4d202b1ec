//! The model card written by `training/train.py` (docs/contracts.md): what every part that handles a model
//! agrees on — its version, features, threshold and the checksums of its files. predict serves it, the
//! registry verifies it, drift-check reads its reference through it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::schema::FEATURE_NAMES;

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
    #[serde(default)]
    pub metrics: serde_json::Value,
    #[serde(default)]
    pub training: serde_json::Value,
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
        if card.version.is_empty() || card.version.contains('/') {
            return Err(CardError::Invalid(format!("version {:?} must be non-empty and free of '/'", card.version)));
        }
        Ok(card)
    }
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
    fn a_card_with_other_features_is_refused() {
        let mut card = committed_card();
        card["features"][13] = "V14_scaled".into();
        let err = ModelCard::from_json(&serde_json::to_vec(&card).unwrap()).unwrap_err();
        assert!(matches!(err, CardError::FeatureMismatch { .. }), "{err}");
        assert!(ModelCard::from_json(b"{}").unwrap_err().to_string().starts_with("model card is invalid"));
    }
}
