//! What predict's handler test binaries share: the app as production builds it, with a log sink that keeps what
//! it is handed.

use std::sync::Mutex;

use fraudwatch_core::log_record::PredictionLogRecord;
use fraudwatch_model::locate_onnx_runtime;
use predict::api::App;
use predict::log_sink::{Delivery, PredictionLogSink};

/// Keeps what the handler hands over for logging, so tests can check it (the SQS path itself is
/// exercised against a real SQS server in the `tests` crate).
#[derive(Default)]
pub struct KeptRecords(pub Mutex<Vec<PredictionLogRecord>>);

impl PredictionLogSink for KeptRecords {
    async fn submit(&self, records: &[PredictionLogRecord]) -> Delivery {
        self.0.lock().unwrap().extend_from_slice(records);
        Delivery { queued: records.len(), ..Delivery::default() }
    }
}

/// The app as production builds it from the embedded model: with its explainer.
pub fn app() -> App<KeptRecords> {
    let model = predict::embedded_model(&locate_onnx_runtime().unwrap()).unwrap();
    App::new(model, KeptRecords::default()).with_explainer(Some(predict::embedded_explainer().unwrap()))
}
