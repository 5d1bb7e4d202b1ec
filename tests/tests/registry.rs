//! The model registry against a real S3 server (s3s-fs): push, promote, roll back, and predict's real
//! cold-start path serving the champion — or refusing loudly when the registry cannot be trusted.

use std::path::PathBuf;

use aws_sdk_s3::primitives::ByteStream;
use fraudwatch_core::aws::{PREDICT_STARTUP_S3, STARTUP_S3};
use fraudwatch_core::card::{sha256_hex, ModelCard};
use fraudwatch_core::registry::{Registry, RegistryError, RegistryUri, CARD_FILE, MODEL_FILE, REFERENCE_FILE};
use fraudwatch_explain::Explainer;
use fraudwatch_model::FraudModel;
use fraudwatch_tests::{budgeted_s3, committed_model_as, repo_root, S3Server, StalledServer};
use predict::config::{PredictConfig, StartupError};

const BUCKET: &str = "fraudwatch-models";
const PREFIX: &str = "models/fraud-detector";

fn registry_uri() -> String {
    format!("s3://{BUCKET}/{PREFIX}")
}

fn v1_dir() -> PathBuf {
    repo_root().join("model")
}

/// v2: the committed model and reference with another version and threshold in the card.
fn v2_dir() -> tempfile::TempDir {
    committed_model_as("v2", Some(0.75)).unwrap()
}

async fn start() -> (S3Server, Registry) {
    let server = S3Server::start().await.unwrap();
    server.create_bucket(BUCKET).await.unwrap();
    let registry = Registry::new(server.client(), RegistryUri::parse("test", &registry_uri()).unwrap());
    (server, registry)
}

const TREES_FILE: &str = "trees.json";

/// predict's cold start as `main` runs it: configuration from the environment, then `load_model`.
async fn cold_start_explained(server: &S3Server) -> Result<(FraudModel, Option<Explainer>), StartupError> {
    let env = [("PREDICTION_LOG_QUEUE_URL", "http://127.0.0.1:1/queue"), ("MODEL_REGISTRY_URI", &registry_uri())];
    let config = PredictConfig::from_env(&env).unwrap();
    predict::load_model(&config.model_source, &config.onnx_runtime, &server.client()).await
}

async fn cold_start(server: &S3Server) -> Result<FraudModel, StartupError> {
    cold_start_explained(server).await.map(|(model, _)| model)
}

async fn overwrite(server: &S3Server, version_file: &str, bytes: Vec<u8>) {
    let key = format!("{PREFIX}/{version_file}");
    server.client().put_object().bucket(BUCKET).key(key).body(ByteStream::from(bytes)).send().await.unwrap();
}

fn registry_error(e: StartupError) -> RegistryError {
    match e {
        StartupError::Registry(e) => e,
        other => panic!("expected a registry error, got {other}"),
    }
}

#[tokio::test]
async fn a_cold_start_serves_the_champion_and_rollback_restores_the_previous_one() {
    let (server, registry) = start().await;
    let v2 = v2_dir();
    assert!(!registry.push(&v1_dir()).await.unwrap().already_present);
    assert!(!registry.push(v2.path()).await.unwrap().already_present);
    assert!(registry.push(&v1_dir()).await.unwrap().already_present, "the same bytes again are a no-op");

    // Configured but nothing promoted: the cold start fails instead of quietly serving the embedded model.
    let err = registry_error(cold_start(&server).await.unwrap_err());
    assert!(matches!(err, RegistryError::NoChampion { .. }), "{err}");

    registry.promote("v1").await.unwrap();
    let promoted = registry.promote("v2").await.unwrap().pointer;
    assert_eq!((promoted.version.as_str(), promoted.previous.as_slice()), ("v2", ["v1".to_string()].as_slice()));
    assert_eq!(promoted.model_sha256, sha256_hex(&std::fs::read(v1_dir().join(MODEL_FILE)).unwrap()));
    let listed: Vec<(String, bool)> =
        registry.list().await.unwrap().into_iter().map(|v| (v.version, v.champion)).collect();
    assert_eq!(listed, [("v1".to_string(), false), ("v2".to_string(), true)]);

    let (model, explainer) = cold_start_explained(&server).await.unwrap();
    assert_eq!((model.version(), model.threshold()), ("v2", 0.75));
    assert!(model.score(&[0.0; 29]).is_ok(), "the champion is a working ONNX session");
    let explainer = explainer.expect("the champion's trees.json came with it");
    assert_eq!(explainer.bias(), Explainer::from_dir(&v1_dir()).unwrap().bias());
    let champion = registry.champion_reference().await.unwrap();
    assert_eq!(champion.reference, std::fs::read(v1_dir().join(REFERENCE_FILE)).unwrap());
    assert_eq!(champion.explanation.unwrap(), std::fs::read(v1_dir().join(TREES_FILE)).unwrap());
    let reference = drift_check::reference_from_registry(&registry).await.unwrap();
    assert_eq!(reference.model_version, "v2", "drift-check compares with the champion's own reference");
    assert!(reference.attribution.is_some(), "and explains the window with the champion's trees");
    assert!(String::from_utf8(champion.card_json).unwrap().contains("\"v2\""));

    let rolled_back = registry.rollback().await.unwrap();
    assert_eq!((rolled_back.version.as_str(), rolled_back.previous.len()), ("v1", 0));
    assert_eq!(cold_start(&server).await.unwrap().version(), "v1");
    let err = registry.rollback().await.unwrap_err();
    assert!(matches!(err, RegistryError::NoPreviousChampion { .. }), "{err}");
}

#[tokio::test]
async fn versions_are_immutable_and_pushes_are_checked() {
    let (server, registry) = start().await;
    registry.push(&v1_dir()).await.unwrap();

    // Same version, another threshold: refused, and the stored card is untouched.
    let changed = v2_dir();
    let mut card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(changed.path().join(CARD_FILE)).unwrap()).unwrap();
    card["version"] = "v1".into();
    std::fs::write(changed.path().join(CARD_FILE), serde_json::to_vec(&card).unwrap()).unwrap();
    let err = registry.push(changed.path()).await.unwrap_err();
    assert!(matches!(err, RegistryError::VersionConflict { .. }), "{err}");
    let committed = ModelCard::from_json(&std::fs::read(v1_dir().join(CARD_FILE)).unwrap()).unwrap();
    assert_eq!(registry.show("v1").await.unwrap(), committed);

    // A model that is not the one the card describes never reaches S3.
    let tampered = v2_dir();
    let mut model = std::fs::read(tampered.path().join(MODEL_FILE)).unwrap();
    *model.last_mut().unwrap() ^= 1;
    std::fs::write(tampered.path().join(MODEL_FILE), model).unwrap();
    let err = registry.push(tampered.path()).await.unwrap_err();
    assert!(matches!(err, RegistryError::ChecksumMismatch { .. }), "{err}");
    assert!(server.keys(BUCKET, &format!("{PREFIX}/v2/")).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_tampered_champion_is_refused() {
    let (server, registry) = start().await;
    registry.push(&v1_dir()).await.unwrap();
    registry.promote("v1").await.unwrap();
    let mut model = std::fs::read(v1_dir().join(MODEL_FILE)).unwrap();
    *model.last_mut().unwrap() ^= 1;

    overwrite(&server, "v1/model.onnx", model.clone()).await;
    let err = registry_error(cold_start(&server).await.unwrap_err());
    assert!(matches!(err, RegistryError::ChecksumMismatch { .. }), "{err}");
    assert!(err.to_string().contains("v1/model.onnx"), "{err}");
    assert!(matches!(registry.show("v1").await.unwrap_err(), RegistryError::ChecksumMismatch { .. }));

    // A consistent model + card pair swapped in after promotion still differs from what was promoted.
    let mut card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(v1_dir().join(CARD_FILE)).unwrap()).unwrap();
    card["model_sha256"] = sha256_hex(&model).into();
    overwrite(&server, "v1/card.json", serde_json::to_vec(&card).unwrap()).await;
    let err = registry.champion().await.unwrap_err();
    assert!(matches!(err, RegistryError::ChecksumMismatch { expected_by: "the champion pointer", .. }), "{err}");
}

#[tokio::test]
async fn unknown_versions_and_broken_pointers_are_named() {
    let (server, registry) = start().await;
    registry.push(&v1_dir()).await.unwrap();

    let err = registry.promote("v9").await.unwrap_err();
    assert!(matches!(err, RegistryError::UnknownVersion { .. }), "{err}");
    assert!(err.to_string().contains("unknown version \"v9\""), "{err}");

    registry.promote("v1").await.unwrap();
    overwrite(&server, "champion", b"{not json".to_vec()).await;
    let err = registry_error(cold_start(&server).await.unwrap_err());
    assert!(matches!(err, RegistryError::BrokenPointer { .. }), "{err}");
    assert!(err.to_string().contains(&format!("s3://{BUCKET}/{PREFIX}/champion")), "{err}");
    assert!(matches!(registry.rollback().await.unwrap_err(), RegistryError::BrokenPointer { .. }));
    assert!(matches!(registry.list().await.unwrap_err(), RegistryError::BrokenPointer { .. }));

    // Promoting is the repair: it replaces the unreadable pointer and says so.
    let repaired = registry.promote("v1").await.unwrap();
    assert!(repaired.replaced_broken_pointer.is_some());
    assert_eq!(cold_start(&server).await.unwrap().version(), "v1");
}

#[tokio::test]
async fn a_champion_whose_trees_are_missing_or_tampered_fails_the_cold_start_and_a_push_completes_it() {
    let (server, registry) = start().await;
    registry.push(&v1_dir()).await.unwrap();
    assert!(server.keys(BUCKET, &format!("{PREFIX}/v1/{TREES_FILE}")).await.unwrap().len() == 1, "push uploads it");
    registry.promote("v1").await.unwrap();

    // A version pushed before `fraudctl model push` uploaded trees.json: its card names the file.
    server.client().delete_object().bucket(BUCKET).key(format!("{PREFIX}/v1/{TREES_FILE}")).send().await.unwrap();
    let err = registry_error(cold_start(&server).await.unwrap_err());
    assert!(matches!(err, RegistryError::MissingExplanation { .. }), "{err}");
    assert!(err.to_string().contains("v1/trees.json is missing: the version's card names it"), "{err}");
    assert!(err.to_string().contains("pushing its directory again"), "{err}");
    let err = drift_check::reference_from_registry(&registry).await.unwrap_err();
    assert!(err.to_string().contains("v1/trees.json is missing"), "drift-check refuses it too: {err}");

    // Pushing the same directory again completes the version.
    assert!(!registry.push(&v1_dir()).await.unwrap().already_present);
    let (_, explainer) = cold_start_explained(&server).await.unwrap();
    assert!(explainer.is_some());

    let mut trees = std::fs::read(v1_dir().join(TREES_FILE)).unwrap();
    trees[10] ^= 1;
    overwrite(&server, "v1/trees.json", trees).await;
    let err = registry_error(cold_start(&server).await.unwrap_err());
    assert!(
        matches!(err, RegistryError::ChecksumMismatch { .. }) && err.to_string().contains("v1/trees.json"),
        "{err}"
    );
    assert!(matches!(registry.show("v1").await.unwrap_err(), RegistryError::ChecksumMismatch { .. }));
}

#[tokio::test]
async fn a_champion_whose_card_names_no_explanation_is_served_without_reasons() {
    let (server, registry) = start().await;
    let old = committed_model_as("v0", None).unwrap();
    let mut card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(old.path().join(CARD_FILE)).unwrap()).unwrap();
    card.as_object_mut().unwrap().remove("explanation");
    std::fs::write(old.path().join(CARD_FILE), serde_json::to_vec(&card).unwrap()).unwrap();
    std::fs::remove_file(old.path().join(TREES_FILE)).unwrap();
    registry.push(old.path()).await.unwrap();
    assert!(server.keys(BUCKET, &format!("{PREFIX}/v0/{TREES_FILE}")).await.unwrap().is_empty());
    registry.promote("v0").await.unwrap();

    let (model, explainer) = cold_start_explained(&server).await.unwrap();
    assert_eq!((model.version(), explainer.is_none()), ("v0", true));
    let reference = drift_check::reference_from_registry(&registry).await.unwrap();
    assert!(reference.attribution.is_none(), "attribution drift is not measured for it");
}

#[tokio::test]
async fn a_stalled_registry_fails_predict_s_cold_start_inside_lambda_s_init_phase() {
    let stalled = StalledServer::start().unwrap();
    let env = [("PREDICTION_LOG_QUEUE_URL", "http://127.0.0.1:1/queue"), ("MODEL_REGISTRY_URI", &registry_uri())];
    let config = PredictConfig::from_env(&env).unwrap();
    let config = &config;
    let cold_start = |s3| async move {
        let started = std::time::Instant::now();
        let err = predict::load_model(&config.model_source, &config.onnx_runtime, &s3).await.unwrap_err();
        (err, started.elapsed())
    };
    // The client main builds, against a registry that accepts connections and never answers: its first read gives
    // up on its own budget, naming the registry.
    let (err, took) = cold_start(budgeted_s3(&stalled.endpoint(), PREDICT_STARTUP_S3)).await;
    assert!(matches!(err, StartupError::Registry(RegistryError::Store(_))), "{err}");
    assert!(took <= PREDICT_STARTUP_S3.operation + std::time::Duration::from_millis(500), "took {took:?}");
    assert!(err.to_string().contains(&registry_uri()), "{err}");
    // Whatever the reads' budget (here drift-check's 30 s one), the whole read stops at the deadline, inside the
    // 10 s init phase.
    let (err, took) = cold_start(budgeted_s3(&stalled.endpoint(), STARTUP_S3)).await;
    assert!(matches!(err, StartupError::RegistryStalled { .. }), "{err}");
    assert!(took >= predict::REGISTRY_READ_DEADLINE, "took {took:?}");
    assert!(took <= predict::REGISTRY_READ_DEADLINE + std::time::Duration::from_millis(500), "took {took:?}");
    assert!(err.to_string().contains(&registry_uri()), "{err}");
}
