//! The divergence latch `incident/`, its evidence, and the `incidents/` archive (spec §4.2).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::event::WatchdogEvent;
use super::files::{self, ResolutionFile};
use super::fsx::{self, FsResult};
use super::layout::StateDir;

/// Kind recorded when `divergence.json` cannot be read.
pub const UNREADABLE_MARKER: &str = "unreadable_marker";

/// `evidence.json`: what was collected and what was lost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceFile {
    /// Always 1.
    pub version: u32,
    /// `running`, `finished` or `interrupted`.
    pub collection: String,
    /// Offsets of the first difference, when both states are known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// Item name → file name, or `<item>_missing` → `<class>: <reason>`, in collection order.
    pub items: Items,
}

/// The `items` object of `evidence.json`: keys in the order the items were collected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Items(Vec<(String, String)>);

impl Items {
    /// Sets `key` (in place if present, else appended).
    pub fn insert(&mut self, key: String, value: String) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl Serialize for Items {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Items;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Items, A::Error> {
                let mut items = Items::default();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    items.insert(k, v);
                }
                Ok(items)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// Where two states first differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// 0-based.
    pub first_difference: u64,
    /// 1-based.
    pub mismatch_offset: u64,
}

/// Creates the latch durably: `incident.tmp-<id>/divergence.json`, fsync, rename to
/// `incident/`, fsync of the state directory. Returns the incident directory.
pub fn latch(dir: &StateDir, event: &WatchdogEvent) -> FsResult<PathBuf> {
    let temp = dir
        .root()
        .join(format!("incident.tmp-{}", fsx::unique_id()));
    fsx::create_dir(&temp)?;
    fsx::write_new(&temp.join("divergence.json"), event.to_json().as_bytes())?;
    fsx::sync_dir(&temp)?;
    fail::fail_point!("latch.before_rename");
    let incident = dir.incident();
    fsx::rename_durable(&temp, &incident)?;
    fail::fail_point!("latch.after_rename");
    Ok(incident)
}

/// Reads the latched event; an unreadable marker yields a minimal `unreadable_marker` event.
pub fn read_divergence(dir: &StateDir) -> WatchdogEvent {
    let path = dir.incident().join("divergence.json");
    fsx::read_capped(&path, 1 << 20)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<WatchdogEvent>(&bytes).ok())
        .unwrap_or_else(|| WatchdogEvent {
            kind: UNREADABLE_MARKER.to_owned(),
            previous_safe_block: None,
            sequencer_inclusion_block: None,
            mismatch_offset: None,
            first_difference: None,
            stop: None,
            canonical_sha256: None,
            sequencer_sha256: None,
            previous_input_count: None,
            input_count: None,
            chain_id: None,
            app_address: None,
            incident_id: String::new(),
            detected_at: String::new(),
            schema_version: 1,
        })
}

/// Reads `evidence.json` of the latch, if any.
pub fn read_evidence(dir: &StateDir) -> Option<EvidenceFile> {
    let bytes = fsx::read_capped(&dir.incident().join("evidence.json"), 1 << 20).ok()?;
    files::parse(&bytes, 1).ok()
}

/// Writes the evidence items into the latched incident, recording progress in `evidence.json`.
#[derive(Debug)]
pub struct EvidenceWriter {
    dir: PathBuf,
    index: EvidenceFile,
}

impl EvidenceWriter {
    /// Starts collection (`collection: running`).
    pub fn start(incident: &Path, comparison: Option<Comparison>) -> Self {
        let mut writer = Self {
            dir: incident.to_path_buf(),
            index: EvidenceFile {
                version: 1,
                collection: "running".into(),
                comparison,
                items: Default::default(),
            },
        };
        writer.flush();
        writer
    }

    /// Writes `bytes` as the item `name` in file `file`; a failure is recorded, not returned.
    pub fn file(&mut self, name: &str, file: &str, bytes: &[u8]) {
        match fsx::write_new(&self.dir.join(file), bytes) {
            Ok(()) => self.item(name, file),
            Err(e) => self.missing(name, &format!("internal: {e}")),
        }
    }

    /// Records an item already in place.
    pub fn item(&mut self, name: &str, file: &str) {
        self.index.items.insert(name.to_owned(), file.to_owned());
        self.flush();
    }

    /// Records a lost item.
    pub fn missing(&mut self, name: &str, why: &str) {
        self.index
            .items
            .insert(format!("{name}_missing"), why.to_owned());
        self.flush();
    }

    /// The incident directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Marks collection finished.
    pub fn finish(mut self) {
        self.index.collection = "finished".into();
        self.flush();
        let _ = fsx::sync_dir(&self.dir);
    }

    fn flush(&mut self) {
        if let Err(e) =
            fsx::write_atomic(&self.dir.join("evidence.json"), &files::render(&self.index))
        {
            tracing::warn!(target: "watchdog::incident", error = %e, "cannot update evidence.json");
        }
    }
}

/// Marks an evidence collection left `running` by a crashed command as `interrupted`.
pub fn mark_interrupted(dir: &StateDir) {
    if let Some(mut evidence) = read_evidence(dir)
        && evidence.collection == "running"
    {
        evidence.collection = "interrupted".into();
        let path = dir.incident().join("evidence.json");
        let _ = fsx::write_atomic(&path, &files::render(&evidence));
    }
}

/// Archives the latch into `incidents/<id>[-n]/` with a `resolution.json`; returns the archive
/// path relative to the state directory.
pub fn archive(dir: &StateDir, id: &str, resolution: &ResolutionFile) -> FsResult<String> {
    let incidents = dir.incidents();
    if !incidents.exists() {
        fsx::create_dir(&incidents)?;
        fsx::sync_dir(dir.root())?;
    }
    let base = if id.is_empty() {
        "unreadable_marker".to_owned()
    } else {
        id.to_owned()
    };
    let mut name = base.clone();
    let mut n = 2;
    while incidents.join(&name).exists() {
        name = format!("{base}-{n}");
        n += 1;
    }
    let incident = dir.incident();
    fsx::write_atomic(
        &incident.join("resolution.json"),
        &files::render(resolution),
    )?;
    fail::fail_point!("clear.before_rename");
    fsx::rename_durable(&incident, &incidents.join(&name))?;
    fsx::sync_dir(dir.root())?;
    Ok(format!("incidents/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::event::WatchdogEvent;

    fn event() -> WatchdogEvent {
        WatchdogEvent {
            kind: "inclusion_block_regressed".into(),
            previous_safe_block: Some(10),
            sequencer_inclusion_block: Some(9),
            mismatch_offset: None,
            first_difference: None,
            stop: None,
            canonical_sha256: Some("aa".into()),
            sequencer_sha256: None,
            previous_input_count: Some(1),
            input_count: None,
            chain_id: Some(31337),
            app_address: Some("0xab".into()),
            incident_id: "20260101T000000Z-inclusion_block_regressed-00000000000000000009".into(),
            detected_at: "2026-01-01T00:00:00Z".into(),
            schema_version: 1,
        }
    }

    #[test]
    fn latch_collect_and_archive() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StateDir::new(tmp.path());
        assert!(!dir.is_latched());
        let incident = latch(&dir, &event()).unwrap();
        assert!(dir.is_latched());
        assert_eq!(read_divergence(&dir), event());
        let mut evidence = EvidenceWriter::start(&incident, None);
        evidence.file("sequencer_state", "sequencer_state.bin", b"x");
        evidence.missing("base", "internal: gone");
        evidence.finish();
        let index = read_evidence(&dir).unwrap();
        assert_eq!(index.collection, "finished");
        assert_eq!(
            index.items.get("sequencer_state"),
            Some("sequencer_state.bin")
        );
        assert_eq!(index.items.get("base_missing"), Some("internal: gone"));
        let keys: Vec<&str> = index.items.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            ["sequencer_state", "base_missing"],
            "collection order"
        );

        let resolution = ResolutionFile {
            version: 1,
            cleared_at: "2026-01-02T00:00:00Z".into(),
            block: 9,
            reason: "fixed".into(),
        };
        let first = archive(&dir, &event().incident_id, &resolution).unwrap();
        assert!(!dir.is_latched());
        latch(&dir, &event()).unwrap();
        let second = archive(&dir, &event().incident_id, &resolution).unwrap();
        assert_eq!(second, format!("{first}-2"));
    }

    #[test]
    fn unreadable_markers_still_latch() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StateDir::new(tmp.path());
        fsx::create_dir(&dir.incident()).unwrap();
        assert_eq!(read_divergence(&dir).kind, UNREADABLE_MARKER);
    }
}
