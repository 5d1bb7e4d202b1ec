//! The fraud model: an ONNX session (ONNX Runtime through `ort`) and its model card.
//!
//! ONNX Runtime is loaded at run time (`ort`'s `load-dynamic`), from the shared library the PyPI
//! `onnxruntime` wheel ships; on Lambda it comes from a layer at `/opt/lib`. Loading happens once per
//! process, at cold start, and every failure names what was wrong: the library, the card, the checksum,
//! the feature list or the graph.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use fraudwatch_core::card::{sha256_hex, CardError, ModelCard};
use fraudwatch_core::schema::{Features, FEATURE_COUNT};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{HasSelectedOutputs, OutputSelector, RunOptions, Session};
use ort::value::TensorRef;

/// The file name of the ONNX Runtime library inside the PyPI wheel and the Lambda layer.
pub const ORT_LIBRARY_FILE: &str = "libonnxruntime.so.1";
/// Where the Lambda layer puts it.
pub const ORT_LAYER_PATH: &str = "/opt/lib/libonnxruntime.so.1";
const PROBABILITIES_OUTPUT: &str = "probabilities";

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("ONNX Runtime library not found: {0}")]
    RuntimeMissing(String),
    #[error("ONNX Runtime could not be initialised from {path}: {reason}")]
    RuntimeInit { path: PathBuf, reason: String },
    #[error(transparent)]
    Card(#[from] CardError),
    #[error("model bytes do not match the card: sha256 {actual}, card says {expected}")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("ONNX model is unusable: {0}")]
    Graph(String),
    #[error("scoring failed: {0}")]
    Inference(String),
    #[error("cannot read {path}: {reason}")]
    Io { path: PathBuf, reason: String },
}

impl From<ort::Error> for ModelError {
    fn from(e: ort::Error) -> Self {
        ModelError::Graph(e.to_string())
    }
}

/// The ONNX Runtime library to load: `ORT_DYLIB_PATH` if set, else beside the executable, else the
/// Lambda layer's path.
pub fn locate_onnx_runtime() -> Result<PathBuf, ModelError> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(ModelError::RuntimeMissing(format!("ORT_DYLIB_PATH={} is not a file", p.display())))
        };
    }
    let beside_exe = std::env::current_exe().ok().and_then(|e| e.parent().map(|d| d.join(ORT_LIBRARY_FILE)));
    let candidates: Vec<PathBuf> = beside_exe.into_iter().chain([PathBuf::from(ORT_LAYER_PATH)]).collect();
    candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        ModelError::RuntimeMissing(format!(
            "set ORT_DYLIB_PATH to {ORT_LIBRARY_FILE} (from the onnxruntime wheel); also looked at {candidates:?}"
        ))
    })
}

/// ONNX Runtime allows one environment per process: the first model load creates it under this lock (so
/// two threads loading models at once cannot both try), later loads reuse it.
static ORT_ENVIRONMENT: Mutex<Option<&'static ort::environment::Environment>> = Mutex::new(None);

/// Loads ONNX Runtime (the library and its environment) once per process; later calls reuse it, whatever
/// their argument. (Overlapping this ~25 ms with the AWS SDK's set-up at cold start was tried: no measurable
/// gain on 2 cores, as most of it is the library's own static initialisation and page faults.)
fn onnx_runtime(library: &Path) -> Result<&'static ort::environment::Environment, ModelError> {
    let mut loaded = ORT_ENVIRONMENT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(env) = *loaded {
        return Ok(env);
    }
    let init_error = |reason: String| ModelError::RuntimeInit { path: library.to_path_buf(), reason };
    let env = ort::init_from(library)
        .map_err(|e| init_error(e.to_string()))?
        .with_name("fraudwatch")
        .with_telemetry(false)
        .build()
        .map_err(|e| init_error(e.to_string()))?;
    Ok(*loaded.insert(Box::leak(Box::new(env))))
}

/// A loaded model: its ONNX session and its card.
pub struct FraudModel {
    // `Session::run` takes `&mut self`; a Lambda sandbox serves one request at a time, so the lock is
    // uncontended there and only orders concurrent callers in tests and benchmarks.
    session: Mutex<Scorer>,
    card: ModelCard,
}

/// The session and the run options every call uses.
struct Scorer {
    session: Session,
    /// Asks `Run` for `probabilities` only: the graph's other output (`label`, int64[N]) would otherwise be
    /// allocated and wrapped on every call and thrown away (4% of a one-row call, paired in benches/model.rs).
    run_options: RunOptions<HasSelectedOutputs>,
}

impl std::fmt::Debug for FraudModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FraudModel").field("version", &self.card.version).finish_non_exhaustive()
    }
}

/// The result of scoring one transaction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    pub fraud_probability: f32,
    pub is_fraud: bool,
}

impl FraudModel {
    /// Builds a model from ONNX bytes and card JSON, after checking the bytes against the card's sha256.
    pub fn from_bytes(onnx_runtime_library: &Path, model: &[u8], card_json: &[u8]) -> Result<Self, ModelError> {
        let card = ModelCard::from_json(card_json)?;
        let actual = sha256_hex(model);
        if actual != card.model_sha256 {
            return Err(ModelError::ChecksumMismatch { expected: card.model_sha256, actual });
        }
        let env = onnx_runtime(onnx_runtime_library)?;
        // One intra-op thread: a Lambda of this size has at most one vCPU; a second thread made a one-row call
        // 1.09x slower even with two cores free (benches/model.rs, paired), and a spinning pool would burn CPU.
        // Level3 = Level1 = Disable for this one-node graph (nothing to rewrite), at no measurable build cost.
        let session = Session::builder(env)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(ort::Error::from)?
            .with_intra_threads(1)
            .map_err(ort::Error::from)?
            .with_inter_threads(1)
            .map_err(ort::Error::from)?
            .commit_from_memory(model)?;
        check_graph(&session)?;
        let run_options = RunOptions::new()?.with_outputs(OutputSelector::no_default().with(PROBABILITIES_OUTPUT));
        Ok(FraudModel { session: Mutex::new(Scorer { session, run_options }), card })
    }

    /// Loads `model.onnx` and `card.json` from a directory.
    pub fn from_dir(onnx_runtime_library: &Path, dir: &Path) -> Result<Self, ModelError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| ModelError::Io { path, reason: e.to_string() })
        };
        Self::from_bytes(onnx_runtime_library, &read("model.onnx")?, &read("card.json")?)
    }

    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    pub fn version(&self) -> &str {
        &self.card.version
    }

    pub fn threshold(&self) -> f32 {
        self.card.threshold
    }

    /// Scores one transaction.
    pub fn score(&self, features: &Features) -> Result<Score, ModelError> {
        let mut out = [0f32; 1];
        self.probabilities_into(std::slice::from_ref(features), &mut out)?;
        Ok(self.decide(out[0]))
    }

    /// Scores many transactions in one model call.
    pub fn score_batch(&self, rows: &[Features]) -> Result<Vec<Score>, ModelError> {
        let mut out = vec![0f32; rows.len()];
        self.probabilities_into(rows, &mut out)?;
        Ok(out.into_iter().map(|p| self.decide(p)).collect())
    }

    fn decide(&self, fraud_probability: f32) -> Score {
        Score { fraud_probability, is_fraud: fraud_probability >= self.card.threshold }
    }

    fn probabilities_into(&self, rows: &[Features], out: &mut [f32]) -> Result<(), ModelError> {
        if rows.is_empty() {
            return Ok(());
        }
        let input = TensorRef::from_array_view(([rows.len(), FEATURE_COUNT], rows.as_flattened()))
            .map_err(|e| ModelError::Inference(e.to_string()))?;
        let mut scorer = self.session.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Scorer { session, run_options } = &mut *scorer;
        let outputs = session
            .run_with_options(ort::inputs![input], run_options)
            .map_err(|e| ModelError::Inference(e.to_string()))?;
        let (shape, values) = outputs[PROBABILITIES_OUTPUT]
            .try_extract_tensor::<f32>()
            .map_err(|e| ModelError::Inference(e.to_string()))?;
        if shape.len() != 2 || shape[0] as usize != rows.len() || shape[1] != 2 {
            return Err(ModelError::Inference(format!("unexpected output shape {shape:?}")));
        }
        for (slot, pair) in out.iter_mut().zip(values.chunks_exact(2)) {
            *slot = pair[1];
        }
        Ok(())
    }
}

/// Refuses a graph whose input or output does not fit what `score` feeds and reads.
fn check_graph(session: &Session) -> Result<(), ModelError> {
    let inputs = session.inputs();
    if inputs.len() != 1 {
        return Err(ModelError::Graph(format!("expected one input, found {}", inputs.len())));
    }
    let dtype = inputs[0].dtype();
    let columns = dtype.tensor_shape().and_then(|shape| shape.get(1).copied());
    if dtype.tensor_type() != Some(ort::value::TensorElementType::Float32) || columns != Some(FEATURE_COUNT as i64) {
        return Err(ModelError::Graph(format!("input must be float32[N, {FEATURE_COUNT}], found {dtype}")));
    }
    if !session.outputs().iter().any(|o| o.name() == PROBABILITIES_OUTPUT) {
        let names: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
        return Err(ModelError::Graph(format!("no `{PROBABILITIES_OUTPUT}` output (found {names:?})")));
    }
    Ok(())
}
