//! A model's baseline: its training reference sample, what its card says about the features, its explainer's
//! attribution of the sample, and the card's numbers the quality check compares with — everything a run
//! compares traffic against, loaded and checked once.

use std::collections::BTreeMap;

use fraudwatch_core::card::{sha256_hex, CardError, ModelCard};
use fraudwatch_explain::{ExplainError, Explainer};

use crate::drift::{
    compare, AttributionBaseline, AttributionDrift, DataError, Dataset, DatasetDrift, DriftError, PREDICTION_COLUMN,
};
use crate::quality::QualityBaseline;

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error(transparent)]
    Card(#[from] CardError),
    #[error("the explanation of model {version}: {source}")]
    Explanation { version: String, source: ExplainError },
    #[error("reference bytes do not match the card: sha256 {actual}, card says {expected}")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("reference of model {version}: {source}")]
    Data { version: String, source: DataError },
    #[error("reference of model {version} has {actual} rows, its card says {expected}")]
    RowCount { version: String, expected: usize, actual: usize },
    #[error("reference of model {version} has no {PREDICTION_COLUMN} column")]
    NoPrediction { version: String },
}

/// A model's drift reference: its training sample with the model's own scores, and what its card says about
/// the features (which ones the drift alerts watch).
#[derive(Debug, Clone)]
pub struct Reference {
    pub model_version: String,
    pub data: Dataset,
    pub important_features: Vec<String>,
    pub feature_importance: BTreeMap<String, f64>,
    /// The model's explainer and the sample's attribution ranking, for attribution drift; `None` for a model
    /// whose card names no explanation (see [`Reference::with_explanation`]).
    pub attribution: Option<AttributionBaseline>,
    /// The card's threshold, calibrator and test metrics, for the quality check.
    pub quality: QualityBaseline,
}

/// A window compared with a reference: both `None` when the window held no rows (nothing is claimed), the
/// attribution also when the model has no explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowComparison {
    pub drift: Option<DatasetDrift>,
    pub attribution: Option<AttributionDrift>,
}

impl Reference {
    /// The window's drift from this reference (Evidently's tests) and its attribution drift (nDCG).
    pub fn compare(&self, window: &Dataset) -> Result<WindowComparison, DriftError> {
        if window.rows() == 0 {
            return Ok(WindowComparison { drift: None, attribution: None });
        }
        Ok(WindowComparison {
            drift: Some(compare(&self.data, window)?),
            attribution: self.attribution.as_ref().map(|baseline| baseline.compare(window)),
        })
    }

    /// A model's `reference.csv.gz`, checked against its card (sha256, row count) and required to carry
    /// the score column that prediction drift compares.
    pub fn from_artifacts(card_json: &[u8], reference: &[u8]) -> Result<Self, ReferenceError> {
        let card = ModelCard::from_json(card_json)?;
        let quality = QualityBaseline::from_card(&card);
        let actual = sha256_hex(reference);
        if actual != card.reference.sha256 {
            return Err(ReferenceError::ChecksumMismatch { expected: card.reference.sha256, actual });
        }
        let version = card.version;
        let data =
            Dataset::from_csv(reference).map_err(|source| ReferenceError::Data { version: version.clone(), source })?;
        if data.rows() != card.reference.rows {
            return Err(ReferenceError::RowCount { version, expected: card.reference.rows, actual: data.rows() });
        }
        if data.prediction().is_none() {
            return Err(ReferenceError::NoPrediction { version });
        }
        let (important_features, feature_importance) =
            card.importance.map(|i| (i.important_features, i.values)).unwrap_or_default();
        Ok(Reference {
            model_version: version,
            data,
            important_features,
            feature_importance,
            attribution: None,
            quality,
        })
    }

    /// The same reference with the model's explainer (from the card and the explanation file it names, checked
    /// against it) and the sample's attribution ranking, computed once here. A card that names no explanation
    /// leaves attribution drift unmeasured; one that names a file not given is refused.
    pub fn with_explanation(self, card_json: &[u8], explanation: Option<&[u8]>) -> Result<Self, ReferenceError> {
        let explainer = Explainer::for_card(card_json, explanation)
            .map_err(|source| ReferenceError::Explanation { version: self.model_version.clone(), source })?;
        let attribution = explainer.map(|e| AttributionBaseline::new(e, &self.data));
        Ok(Reference { attribution, ..self })
    }
}
