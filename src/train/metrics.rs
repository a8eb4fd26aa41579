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

/// Read metrics.jsonl (none when the file does not exist). A line that does not parse is an
/// error naming it: the file is left as it is, never rewritten without it.
pub fn read_jsonl(path: &std::path::Path) -> crate::Result<Vec<EpochMetrics>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(crate::Error::io(path, e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                crate::Error::data(
                    path,
                    format!(
                        "line {} is not a metrics record ({e}); fix or move the file and retry",
                        i + 1
                    ),
                )
            })
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
