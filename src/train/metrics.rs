//! Per-epoch metrics: the JSON lines of metrics.jsonl and `--json` output.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_top1: f64,
    pub test_top1: f64,
    pub test_top5: f64,
    pub images_per_sec: f64,
    pub seconds: f64,
    pub lr: f64,
    /// Fraction of binary weights whose sign flipped during the epoch (start vs end). A run
    /// where this stays near 0 is not training its binary layers.
    #[serde(default)]
    pub sign_flips: f64,
}

/// Read metrics.jsonl (lines that fail to parse are skipped with a warning).
pub fn read_jsonl(path: &std::path::Path) -> Vec<EpochMetrics> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| match serde_json::from_str(l) {
            Ok(m) => Some(m),
            Err(e) => {
                log::warn!("{}: skipping a malformed line ({e})", path.display());
                None
            }
        })
        .collect()
}

/// metrics.jsonl content for a history.
pub fn to_jsonl(history: &[EpochMetrics]) -> String {
    history
        .iter()
        .map(|m| serde_json::to_string(m).expect("metrics serialize") + "\n")
        .collect()
}
