//! The model registry in S3: immutable versions and a `champion` pointer that says which one serves.
//!
//! ```text
//! <prefix>/<version>/model.onnx
//! <prefix>/<version>/card.json
//! <prefix>/<version>/reference.csv.gz
//! <prefix>/<version>/trees.json  the file card.explanation names (TreeSHAP reason codes), when it names one
//! <prefix>/champion      {"version", "model_sha256", "promoted_at", "previous": [older champions, newest first]}
//! ```
//!
//! Every write and every read checks the files against each other (card parses, the card's sha256s match
//! the bytes, the card's version matches the path), and the pointer pins the champion's
//! model sha256, so a file replaced in S3 — even a consistent model + card pair — is refused, never served.
//! Version files are written with `If-None-Match: *` and the pointer with `If-Match: <etag>`, so versions
//! stay immutable and two concurrent promotions cannot silently drop each other's history.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

use crate::card::{is_valid_version, sha256_hex, CardError, ModelCard};
use crate::config::{optional, parse_s3_uri, ConfigError, EnvSource};
use crate::store::{ObjectStore, PutOutcome, ReplaceOutcome, S3Store, StoreError, VersionedObject};

/// The variable naming the registry; unset means "no registry" (predict serves its embedded model).
pub const MODEL_REGISTRY_URI: &str = "MODEL_REGISTRY_URI";
pub use crate::card::{CARD_FILE, MODEL_FILE, REFERENCE_FILE};
/// The pointer's object name under the prefix; no version may take this name.
pub const CHAMPION_POINTER: &str = "champion";

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read {path}: {source}")]
    ReadLocal { path: PathBuf, source: std::io::Error },
    #[error("{location}: {source}")]
    InvalidCard { location: String, source: CardError },
    #[error("{location}: the card says version {card_version:?}, but it belongs to version {path_version:?}")]
    VersionMismatch { location: String, card_version: String, path_version: String },
    #[error("{version:?} is not a valid version name (1 to 64 of A-Z a-z 0-9 . _ -, not {CHAMPION_POINTER:?})")]
    InvalidVersionName { version: String },
    #[error("checksum mismatch, refusing {location}: its sha256 is {actual}, {expected_by} says {expected}")]
    ChecksumMismatch { location: String, expected_by: &'static str, expected: String, actual: String },
    #[error("unknown version {version:?}: {location} does not exist")]
    UnknownVersion { version: String, location: String },
    #[error("{location} is missing although the version's card exists")]
    MissingFile { location: String },
    #[error(
        "{location} is missing: the version's card names it (explanation.file), so the version is incomplete; a \
         version pushed before `fraudctl model push` uploaded it is completed by pushing its directory again"
    )]
    MissingExplanation { location: String },
    #[error("{location} already exists with different bytes: versions are immutable, push a new version instead")]
    VersionConflict { location: String },
    #[error("no champion: {location} does not exist; promote a version first")]
    NoChampion { location: String },
    #[error("champion pointer {location} is broken ({reason}); `fraudctl model promote <version>` replaces it")]
    BrokenPointer { location: String, reason: String },
    #[error("nothing to roll back to: champion {version} has no previous champion")]
    NoPreviousChampion { version: String },
    #[error("champion pointer {location} changed while this command ran; run it again")]
    ConcurrentUpdate { location: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the registry lives: `s3://<bucket>/<prefix>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryUri {
    pub bucket: String,
    pub prefix: String,
}

impl RegistryUri {
    /// Parses `uri`; errors name `var`, where the value came from.
    pub fn parse(var: &str, uri: &str) -> Result<Self, ConfigError> {
        let (bucket, prefix) = parse_s3_uri(var, uri)?;
        Ok(RegistryUri { bucket, prefix })
    }

    /// `MODEL_REGISTRY_URI`, or `None` when it is unset.
    pub fn from_env(env: &impl EnvSource) -> Result<Option<Self>, ConfigError> {
        optional(env, MODEL_REGISTRY_URI).map(|uri| Self::parse(MODEL_REGISTRY_URI, &uri)).transpose()
    }
}

impl std::fmt::Display for RegistryUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// The `champion` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChampionPointer {
    pub version: String,
    /// Pins the champion's model: a card or model replaced in S3 after promotion no longer matches.
    pub model_sha256: String,
    pub promoted_at: String,
    /// Earlier champions, newest first, without repeats; `rollback` returns to the first.
    pub previous: Vec<String>,
}

/// One version as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionSummary {
    pub version: String,
    pub created_at: String,
    pub model_sha256: String,
    pub champion: bool,
}

/// What `push` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub version: String,
    /// The same bytes were already there: nothing was written.
    pub already_present: bool,
}

/// What `promote` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub pointer: ChampionPointer,
    /// Why the pointer it replaced was unreadable; that pointer's history is lost.
    pub replaced_broken_pointer: Option<String>,
}

/// The champion, checked: its card and model bytes agree with each other and with the pointer.
#[derive(Debug, Clone)]
pub struct Champion {
    pub pointer: ChampionPointer,
    pub card: ModelCard,
    pub card_json: Vec<u8>,
    pub model: Vec<u8>,
    /// The file `card.explanation` names (trees.json), checked against it; `None` when the card names none.
    pub explanation: Option<Vec<u8>>,
}

/// What drift-check compares with: the champion's card, drift reference and explanation file, checked.
#[derive(Debug, Clone)]
pub struct ChampionReference {
    pub card_json: Vec<u8>,
    pub reference: Vec<u8>,
    pub explanation: Option<Vec<u8>>,
}

/// The pointer object as read, kept even when it does not parse so `promote` can replace it.
struct PointerObject {
    etag: String,
    parsed: Result<ChampionPointer, String>,
}

pub struct Registry {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

impl Registry {
    /// The registry at `uri`, read and written through `s3`.
    pub fn new(s3: aws_sdk_s3::Client, uri: RegistryUri) -> Self {
        Self::in_store(Arc::new(S3Store::new(s3, uri.bucket)), uri.prefix)
    }

    /// The registry under `prefix` (no trailing `/`; empty at the root) of `store`.
    pub fn in_store(store: Arc<dyn ObjectStore>, prefix: impl Into<String>) -> Self {
        Registry { store, prefix: prefix.into() }
    }

    /// Uploads a directory holding `model.onnx`, `card.json`, `reference.csv.gz` and the explanation file the
    /// card names (`trees.json`) as the card's version, after checking the files against the card. The same
    /// bytes again are a no-op (and complete a version an interrupted or older push left without a file);
    /// different bytes under an existing version are refused.
    pub async fn push(&self, dir: &Path) -> Result<Pushed, RegistryError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| RegistryError::ReadLocal { path, source })
        };
        let (model, card_json, reference) = (read(MODEL_FILE)?, read(CARD_FILE)?, read(REFERENCE_FILE)?);
        let location = |name: &str| dir.join(name).display().to_string();
        let card = ModelCard::from_json(&card_json)
            .map_err(|source| RegistryError::InvalidCard { location: location(CARD_FILE), source })?;
        check_version_name(&card.version)?;
        check_sha256(location(MODEL_FILE), &sha256_hex(&model), "card.json", &card.model_sha256)?;
        check_sha256(location(REFERENCE_FILE), &sha256_hex(&reference), "card.json", &card.reference.sha256)?;
        let explanation = match &card.explanation {
            Some(e) => {
                let bytes = read(&e.file)?;
                check_sha256(location(&e.file), &sha256_hex(&bytes), "card.json", &e.sha256)?;
                Some((e.file.as_str(), bytes))
            }
            None => None,
        };
        // The card goes last: it is what makes a version visible to list/show/promote, so an interrupted
        // push leaves nothing promotable, and pushing the same directory again completes it.
        let files = [(MODEL_FILE, &model), (REFERENCE_FILE, &reference)]
            .into_iter()
            .chain(explanation.as_ref().map(|(name, bytes)| (*name, bytes)))
            .chain([(CARD_FILE, &card_json)]);
        let mut already_present = true;
        for (name, bytes) in files {
            already_present &= !self.put_immutable(&self.version_key(&card.version, name), bytes).await?;
        }
        Ok(Pushed { version: card.version, already_present })
    }

    /// Every complete version (one with a card), oldest first, with the champion marked.
    pub async fn list(&self) -> Result<Vec<VersionSummary>, RegistryError> {
        let champion = match self.pointer_object().await? {
            Some(object) => Some(self.valid_pointer(object.parsed)?.version),
            None => None,
        };
        let root = self.key("");
        let card_suffix = format!("/{CARD_FILE}");
        let mut versions = Vec::new();
        self.store
            .for_each_object(&root, &mut |object| {
                let version = object.key.strip_prefix(&root).and_then(|rest| rest.strip_suffix(&card_suffix));
                if let Some(version) = version.filter(|v| !v.contains('/')) {
                    versions.push(version.to_string());
                }
            })
            .await?;
        let mut summaries = Vec::with_capacity(versions.len());
        for version in versions {
            let (card, _) = self.card(&version).await?;
            summaries.push(VersionSummary {
                champion: champion.as_deref() == Some(version.as_str()),
                version,
                created_at: card.created_at,
                model_sha256: card.model_sha256,
            });
        }
        summaries.sort_by(|a, b| (&a.created_at, &a.version).cmp(&(&b.created_at, &b.version)));
        Ok(summaries)
    }

    /// A version's card, after downloading and checking its model, reference and explanation file against it.
    pub async fn show(&self, version: &str) -> Result<ModelCard, RegistryError> {
        self.verified_version(version).await
    }

    /// Makes `version` the champion (after checking all its files); the old champion heads `previous`.
    /// A pointer that does not parse is replaced, since nothing can serve from it anyway.
    pub async fn promote(&self, version: &str) -> Result<Promotion, RegistryError> {
        let card = self.verified_version(version).await?;
        let (etag, previous, replaced_broken_pointer) = match self.pointer_object().await? {
            None => (None, Vec::new(), None),
            Some(PointerObject { parsed: Ok(current), .. }) if current.version == version => {
                return Ok(Promotion { pointer: current, replaced_broken_pointer: None });
            }
            Some(PointerObject { etag, parsed: Ok(current) }) => {
                let history = std::iter::once(current.version).chain(current.previous);
                (Some(etag), history.filter(|v| v != version).collect(), None)
            }
            Some(PointerObject { etag, parsed: Err(reason) }) => (Some(etag), Vec::new(), Some(reason)),
        };
        let pointer = ChampionPointer {
            version: card.version,
            model_sha256: card.model_sha256,
            promoted_at: now_rfc3339(),
            previous,
        };
        self.write_pointer(&pointer, etag).await?;
        Ok(Promotion { pointer, replaced_broken_pointer })
    }

    /// Makes the previous champion the champion again (after checking its files) and drops the current
    /// one from the history.
    pub async fn rollback(&self) -> Result<ChampionPointer, RegistryError> {
        let object = self.pointer_object().await?.ok_or_else(|| self.no_champion())?;
        let current = self.valid_pointer(object.parsed)?;
        let Some((target, older)) = current.previous.split_first() else {
            return Err(RegistryError::NoPreviousChampion { version: current.version });
        };
        let card = self.verified_version(target).await?;
        let pointer = ChampionPointer {
            version: card.version,
            model_sha256: card.model_sha256,
            promoted_at: now_rfc3339(),
            previous: older.to_vec(),
        };
        self.write_pointer(&pointer, Some(object.etag)).await?;
        Ok(pointer)
    }

    /// The champion's card, model bytes and explanation file, checked against each other and the pointer.
    pub async fn champion(&self) -> Result<Champion, RegistryError> {
        let (pointer, card, card_json) = self.champion_card().await?;
        let model = self.verified_file(&pointer.version, MODEL_FILE, &card.model_sha256).await?;
        let explanation = self.verified_explanation(&pointer.version, &card).await?;
        Ok(Champion { pointer, card, card_json, model, explanation })
    }

    /// The champion's card (JSON), drift reference (`reference.csv.gz`) and explanation file, checked against
    /// each other.
    pub async fn champion_reference(&self) -> Result<ChampionReference, RegistryError> {
        let (pointer, card, card_json) = self.champion_card().await?;
        let reference = self.verified_file(&pointer.version, REFERENCE_FILE, &card.reference.sha256).await?;
        let explanation = self.verified_explanation(&pointer.version, &card).await?;
        Ok(ChampionReference { card_json, reference, explanation })
    }

    /// The pointer and the card it names, whose model sha256 must be the one the pointer pinned.
    async fn champion_card(&self) -> Result<(ChampionPointer, ModelCard, Vec<u8>), RegistryError> {
        let object = self.pointer_object().await?.ok_or_else(|| self.no_champion())?;
        let pointer = self.valid_pointer(object.parsed)?;
        let (card, card_json) = self.card(&pointer.version).await?;
        let card_location = self.location(&self.version_key(&pointer.version, CARD_FILE));
        check_sha256(card_location, &card.model_sha256, "the champion pointer", &pointer.model_sha256)?;
        Ok((pointer, card, card_json))
    }

    /// A version's card, checked, after downloading its model, reference and explanation file and checking
    /// them too.
    async fn verified_version(&self, version: &str) -> Result<ModelCard, RegistryError> {
        let (card, _) = self.card(version).await?;
        self.verified_file(version, MODEL_FILE, &card.model_sha256).await?;
        self.verified_file(version, REFERENCE_FILE, &card.reference.sha256).await?;
        self.verified_explanation(version, &card).await?;
        Ok(card)
    }

    /// The explanation file the card names, checked; `None` when it names none. A card that names one whose
    /// file is missing is an incomplete version, never served as if it had no explanation.
    async fn verified_explanation(&self, version: &str, card: &ModelCard) -> Result<Option<Vec<u8>>, RegistryError> {
        let Some(e) = &card.explanation else { return Ok(None) };
        match self.verified_file(version, &e.file, &e.sha256).await {
            Err(RegistryError::MissingFile { location }) => Err(RegistryError::MissingExplanation { location }),
            other => other.map(Some),
        }
    }

    /// A version's parsed card and its bytes; the card must name the version it is stored under.
    async fn card(&self, version: &str) -> Result<(ModelCard, Vec<u8>), RegistryError> {
        check_version_name(version)?;
        let key = self.version_key(version, CARD_FILE);
        let location = self.location(&key);
        let Some(bytes) = self.store.get_if_exists(&key).await? else {
            return Err(RegistryError::UnknownVersion { version: version.into(), location });
        };
        let card = ModelCard::from_json(&bytes)
            .map_err(|source| RegistryError::InvalidCard { location: location.clone(), source })?;
        if card.version != version {
            return Err(RegistryError::VersionMismatch {
                location,
                card_version: card.version,
                path_version: version.into(),
            });
        }
        Ok((card, bytes))
    }

    async fn verified_file(&self, version: &str, name: &str, expected: &str) -> Result<Vec<u8>, RegistryError> {
        let key = self.version_key(version, name);
        let location = self.location(&key);
        let bytes = self
            .store
            .get_if_exists(&key)
            .await?
            .ok_or_else(|| RegistryError::MissingFile { location: location.clone() })?;
        check_sha256(location, &sha256_hex(&bytes), "card.json", expected)?;
        Ok(bytes)
    }

    async fn pointer_object(&self) -> Result<Option<PointerObject>, RegistryError> {
        let key = self.key(CHAMPION_POINTER);
        let Some(VersionedObject { body: bytes, etag }) = self.store.get_versioned(&key).await? else {
            return Ok(None);
        };
        let etag = etag.ok_or_else(|| StoreError {
            operation: "GetObject",
            bucket: self.store.bucket().to_string(),
            key: key.clone(),
            reason: "no ETag in the response, so the pointer cannot be updated safely".into(),
        })?;
        let parsed = serde_json::from_slice::<ChampionPointer>(&bytes)
            .map_err(|e| format!("not a champion pointer: {e}"))
            .and_then(|p| match check_version_name(&p.version) {
                Ok(()) => Ok(p),
                Err(e) => Err(e.to_string()),
            });
        Ok(Some(PointerObject { etag, parsed }))
    }

    fn valid_pointer(&self, parsed: Result<ChampionPointer, String>) -> Result<ChampionPointer, RegistryError> {
        parsed.map_err(|reason| RegistryError::BrokenPointer {
            location: self.location(&self.key(CHAMPION_POINTER)),
            reason,
        })
    }

    fn no_champion(&self) -> RegistryError {
        RegistryError::NoChampion { location: self.location(&self.key(CHAMPION_POINTER)) }
    }

    /// Writes the pointer only if it is still the one read (`etag`), or still absent.
    async fn write_pointer(&self, pointer: &ChampionPointer, etag: Option<String>) -> Result<(), RegistryError> {
        let key = self.key(CHAMPION_POINTER);
        let json = serde_json::to_vec_pretty(pointer).expect("a pointer serialises");
        let written = match etag {
            None => self.store.put_if_absent(&key, json, JSON).await? == PutOutcome::Created,
            Some(etag) => self.store.put_if_match(&key, json, JSON, &etag).await? == ReplaceOutcome::Replaced,
        };
        if !written {
            return Err(RegistryError::ConcurrentUpdate { location: self.location(&key) });
        }
        Ok(())
    }

    /// Creates `key` with `bytes` unless it exists; an existing object must hold the same bytes.
    /// Returns whether it wrote.
    async fn put_immutable(&self, key: &str, bytes: &[u8]) -> Result<bool, RegistryError> {
        if self.store.put_if_absent(key, bytes.to_vec(), content_type(key)).await? == PutOutcome::Created {
            return Ok(true);
        }
        match self.store.get_if_exists(key).await? {
            Some(existing) if existing == bytes => Ok(false),
            _ => Err(RegistryError::VersionConflict { location: self.location(key) }),
        }
    }

    /// `<prefix>/<rest>`, or `<rest>` at the bucket root.
    fn key(&self, rest: &str) -> String {
        if self.prefix.is_empty() {
            rest.to_string()
        } else {
            format!("{}/{rest}", self.prefix)
        }
    }

    fn version_key(&self, version: &str, name: &str) -> String {
        self.key(&format!("{version}/{name}"))
    }

    fn location(&self, key: &str) -> String {
        self.store.location(key)
    }
}

const JSON: &str = "application/json";

/// What a registry file is, by its name: the card, the pointer and trees.json are JSON, the reference gzip'd CSV.
fn content_type(key: &str) -> &'static str {
    if key.ends_with(".json") {
        JSON
    } else if key.ends_with(".gz") {
        "application/gzip"
    } else {
        "application/octet-stream"
    }
}

fn check_version_name(version: &str) -> Result<(), RegistryError> {
    if !is_valid_version(version) || version == CHAMPION_POINTER {
        return Err(RegistryError::InvalidVersionName { version: version.into() });
    }
    Ok(())
}

fn check_sha256(
    location: String,
    actual: &str,
    expected_by: &'static str,
    expected: &str,
) -> Result<(), RegistryError> {
    if actual != expected {
        return Err(RegistryError::ChecksumMismatch {
            location,
            expected_by,
            expected: expected.into(),
            actual: actual.into(),
        });
    }
    Ok(())
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&Rfc3339).expect("the current time formats as RFC 3339")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uri_comes_from_model_registry_uri_and_errors_name_it() {
        assert_eq!(RegistryUri::from_env(&[("OTHER", "x")]).unwrap(), None);
        let uri = RegistryUri::from_env(&[(MODEL_REGISTRY_URI, "s3://b/models/fraud-detector/")]).unwrap().unwrap();
        assert_eq!(uri, RegistryUri { bucket: "b".into(), prefix: "models/fraud-detector".into() });
        assert_eq!(uri.to_string(), "s3://b/models/fraud-detector");
        let err = RegistryUri::from_env(&[(MODEL_REGISTRY_URI, "b/models")]).unwrap_err();
        assert_eq!(err.var, MODEL_REGISTRY_URI);
    }

    #[test]
    fn version_names_cannot_escape_their_folder_or_take_the_pointer_name() {
        for bad in ["", "a/b", CHAMPION_POINTER] {
            assert!(matches!(check_version_name(bad), Err(RegistryError::InvalidVersionName { .. })), "{bad:?}");
        }
        assert!(check_version_name("v2").is_ok());
    }
}
