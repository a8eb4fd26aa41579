//! No run loses work: a training run killed with SIGKILL in the middle of an epoch resumes
//! from its last checkpoint and ends bit for bit where an uninterrupted run ends; a resumed
//! run trains on its own stored data, and `--epochs` extends a finished run.

mod common;

use pixembed::train::checkpoint;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pixembed-recovery-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One IDX file: magic (0, 0, type 0x08 = u8, number of dimensions), big-endian sizes, data.
fn write_idx(path: &Path, dims: &[u32], data: &[u8]) {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
}

/// Four-quadrant data (10x10 grey) as an IDX dataset: `train` training and 32 test images.
fn idx_dataset(dir: &Path, train: usize) {
    for (split, n, seed) in [("train", train, 1), ("t10k", 32, 2)] {
        let d = common::quadrant_data(seed, n, 10, 1);
        write_idx(
            &dir.join(format!("{split}-images-idx3-ubyte")),
            &[n as u32, 10, 10],
            &d.images,
        );
        let labels: Vec<u8> = d.labels.iter().map(|&l| l as u8).collect();
        write_idx(
            &dir.join(format!("{split}-labels-idx1-ubyte")),
            &[n as u32],
            &labels,
        );
    }
}

fn train_args<'a>(data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        data,
        "--limit-train",
        "160",
        "--depth",
        "8",
        "--width",
        "8",
        "--embed-dim",
        "4",
        "--batch",
        "8",
        "--epochs",
        "2",
        "--seed",
        "5",
        "--lr",
        "0.01",
        "--json",
        "--out",
        out,
    ]
}

fn pixembed(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pixembed"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn ok(o: &std::process::Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Every tensor of two checkpoints, bit for bit, and their positions.
fn assert_same_checkpoint(a: &Path, b: &Path) {
    let (a, b) = (checkpoint::load(a).unwrap(), checkpoint::load(b).unwrap());
    assert_eq!(a.progress, b.progress, "positions differ");
    assert_eq!(a.train, b.train, "training settings differ");
    let (ma, mb) = (a.tensor_map(), b.tensor_map());
    assert_eq!(ma.len(), mb.len());
    for (name, (shape, va)) in ma {
        let (sb, vb) = &mb[name];
        assert_eq!(shape, sb, "{name}: shape");
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert!(bits(va) == bits(vb), "{name} differs");
    }
    let h = |l: &checkpoint::Loaded| {
        l.history
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| (m.epoch, m.train_loss.to_bits(), m.train_top1, m.test_top1))
            .collect::<Vec<_>>()
    };
    assert_eq!(h(&a), h(&b), "metrics differ");
}

/// metrics.jsonl without the fields that are timings (images_per_sec, seconds).
fn metrics_without_timings(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    text.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let m = v.as_object_mut().unwrap();
            m.retain(|k, _| k != "images_per_sec" && k != "seconds");
            v
        })
        .collect()
}

#[test]
fn killed_mid_epoch_resume_equals_uninterrupted_run() {
    gpu_or_skip!();
    let root = temp_dir("kill");
    let data = root.join("quadrants");
    std::fs::create_dir_all(&data).unwrap();
    idx_dataset(&data, 200);
    let (full, killed) = (root.join("full"), root.join("killed"));
    let data_s = data.to_str().unwrap();

    // The uninterrupted run.
    ok(
        &pixembed(&train_args(data_s, full.to_str().unwrap())),
        "the uninterrupted run",
    );

    // The same run, checkpointing every step, killed once a checkpoint lies inside epoch 1.
    let mut args = train_args(data_s, killed.to_str().unwrap());
    args.extend(["--checkpoint-steps", "1"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_pixembed"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let ckpt = killed.join(checkpoint::FILE_NAME);
    let stopped_at = loop {
        if let Ok(l) = checkpoint::load(&ckpt) {
            if l.progress.epoch == 0 && l.progress.batch >= 3 {
                child.kill().unwrap();
                break l.progress.batch;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before it could be killed mid-epoch");
        }
        assert!(start.elapsed() < Duration::from_secs(300), "no checkpoint");
        std::thread::sleep(Duration::from_millis(5));
    };
    child.wait().unwrap();
    let at_kill = checkpoint::load(&ckpt).unwrap();
    assert_eq!(at_kill.progress.epoch, 0);
    assert!(
        at_kill.progress.batch >= stopped_at && at_kill.progress.batch < 20,
        "not mid-epoch: {:?}",
        at_kill.progress
    );

    // Resume with no data options: the stored ones (160 of the 200 images) are used.
    let o = pixembed(&["train", "--resume", killed.to_str().unwrap(), "--json"]);
    ok(&o, "the resumed run");
    assert_same_checkpoint(&full, &killed);
    assert_eq!(
        metrics_without_timings(&killed),
        metrics_without_timings(&full)
    );

    // Other data than the run's is refused, before any training.
    let o = pixembed(&[
        "train",
        "--resume",
        killed.to_str().unwrap(),
        "--limit-train",
        "100",
    ]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("--limit-train 100 differs from the run's 160"),
        "{e}"
    );

    // --epochs extends the finished run by one epoch.
    let o = pixembed(&[
        "train",
        "--resume",
        killed.to_str().unwrap(),
        "--epochs",
        "3",
        "--json",
    ]);
    ok(&o, "the extended run");
    let l = checkpoint::load(&killed).unwrap();
    assert_eq!((l.progress.epoch, l.train.epochs), (3, 3));
    assert_eq!(l.history.unwrap().len(), 3);
    let o = pixembed(&[
        "train",
        "--resume",
        killed.to_str().unwrap(),
        "--epochs",
        "2",
    ]);
    assert!(
        !o.status.success(),
        "shortening below the completed epochs was accepted"
    );
}
