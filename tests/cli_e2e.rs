//! The command line end to end on the bundled Fashion-MNIST sample (always present, so this
//! test always runs): `train --json --out D`, `eval` (equals the training summary),
//! `export`, `eval --integer --against` (every prediction agrees, equal accuracy), `infer`
//! on test images written as PNG (equal to the training graph's predictions for them),
//! `summary` (the exported file's size to the byte), the table picture `train` and `plot
//! table` draw, and `train --resume D` with no data flags.

mod common;

use pixembed::data::Dataset;
use pixembed::gpu::Gpu;
use pixembed::nn::Model;
use pixembed::train::checkpoint;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/fashion-mnist-sample");

fn run(args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_pixembed"))
        .args(args)
        .output()
        .expect("binary runs");
    assert!(
        o.status.success(),
        "pixembed {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The JSON objects a command printed, one per line.
fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pixembed-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The training graph's predictions of a checkpoint on `data`.
fn graph_predictions(gpu: &Gpu, ckpt: &Path, data: &Dataset) -> Vec<u32> {
    let loaded = checkpoint::load(ckpt).unwrap();
    let mut model = Model::new(gpu, &loaded.model, 0).unwrap();
    loaded.restore(gpu, &mut model).unwrap();
    pixembed::train::predict(gpu, &mut model, data, 64).unwrap()
}

#[test]
fn train_eval_export_infer_resume_on_the_bundled_sample() {
    let gpu = gpu_or_skip!();
    let dir = temp_dir("cli");
    let run_dir = dir.join("run");
    let (d, o) = (run_dir.to_str().unwrap(), dir.join("model.safetensors"));
    let model_file = o.to_str().unwrap();
    let data = [
        "--data",
        SAMPLE,
        "--limit-train",
        "512",
        "--limit-test",
        "96",
    ];

    // train: one epoch of a small ResNet, JSON lines (one per epoch) then a summary.
    let mut args = vec![
        "train",
        "--json",
        "--out",
        d,
        "--model",
        "resnet",
        "--depth",
        "8",
        "--width",
        "8",
        "--epochs",
        "1",
        "--batch",
        "32",
        "--lr",
        "0.01",
        "--augment",
        "none",
    ];
    args.extend(data);
    let lines = json_lines(&run(&args));
    assert_eq!(lines.len(), 2, "one epoch line and a summary: {lines:?}");
    assert_eq!(lines[0]["epoch"], 1);
    let summary = &lines[1]["summary"];
    assert_eq!(summary["epochs"], 1);
    let train_top1 = summary["final_test_top1"].as_f64().unwrap();
    assert!(run_dir.join("checkpoint.safetensors").is_file());

    // eval of the run directory: the same test accuracy as the training summary.
    let mut args = vec!["eval", "--json", "--model", d];
    args.extend(data);
    let e = json_lines(&run(&args));
    let eval_top1 = e[0]["top1"].as_f64().unwrap();
    assert_eq!(e[0]["n"], 96);
    assert!(
        (eval_top1 - train_top1).abs() < 1e-9,
        "eval {eval_top1} vs training summary {train_top1}"
    );

    // export, then the integer engine: every prediction agrees with the training graph.
    run(&["export", "--model", d, "--out", model_file]);
    let mut args = vec![
        "eval",
        "--json",
        "--integer",
        "--model",
        model_file,
        "--against",
        d,
    ];
    args.extend(data);
    let e = json_lines(&run(&args));
    assert_eq!(e[0]["agree"], e[0]["n"], "integer vs graph: {}", e[0]);
    assert_eq!(e[1]["top1"].as_f64().unwrap(), eval_top1);

    // summary of the run and of the exported file: the file size `export` wrote, to the byte.
    let written = std::fs::metadata(&o).unwrap().len();
    for m in [d, model_file] {
        let s: serde_json::Value =
            serde_json::from_slice(&run(&["summary", "--json", m]).stdout).unwrap();
        assert_eq!(s["totals"]["file_bytes"], written, "summary {m}");
        assert_eq!(s["layers"][0]["name"], "first");
    }
    let text = String::from_utf8(run(&["summary", d]).stdout).unwrap();
    assert!(
        text.contains(&format!(
            "exported file: {} bytes",
            pixembed::insight::summary::grouped(written)
        )),
        "{text}"
    );

    // The embed run drew its table (codes beside the float table); `plot table` draws it too.
    let (pw, ph) = pixembed::insight::plot::PANEL;
    for png in [run_dir.join("table.png"), dir.join("plot.png")] {
        if !png.exists() {
            run(&["plot", "table", d, "--out", png.to_str().unwrap()]);
        }
        let img = image::open(&png).unwrap();
        assert_eq!(
            (img.width(), img.height()),
            (2 * pw, ph),
            "{}",
            png.display()
        );
    }

    // infer on the first test images written as PNG: the graph's predictions.
    let splits = pixembed::data::load_idx(Path::new(SAMPLE), Some(8), Some(8)).unwrap();
    let test = &splits.test;
    let mut files = Vec::new();
    for i in 0..test.n {
        let px = test.image(i).unwrap().to_vec();
        let p = dir.join(format!("test{i}.png"));
        image::GrayImage::from_raw(28, 28, px)
            .unwrap()
            .save(&p)
            .unwrap();
        files.push(p.to_str().unwrap().to_string());
    }
    let mut args = vec!["infer", "--json", "--top", "1", "--model", model_file];
    args.extend(files.iter().map(|s| s.as_str()));
    let inferred: Vec<String> = json_lines(&run(&args))
        .iter()
        .map(|l| l["top"][0]["class"].as_str().unwrap().to_string())
        .collect();
    let want: Vec<String> = graph_predictions(gpu, &run_dir.join("checkpoint.safetensors"), test)
        .iter()
        .map(|&k| test.classes[k as usize].clone())
        .collect();
    assert_eq!(inferred, want, "infer vs the training graph");

    // resume with no data flags: the run's own settings and data, to a second epoch.
    let lines = json_lines(&run(&["train", "--json", "--resume", d, "--epochs", "2"]));
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["epoch"], 2);
    assert_eq!(lines[1]["summary"]["epochs"], 2);
    let mut args = vec!["eval", "--json", "--model", d];
    args.extend(data);
    let e = json_lines(&run(&args));
    assert_eq!(
        e[0]["top1"].as_f64().unwrap(),
        lines[1]["summary"]["final_test_top1"].as_f64().unwrap(),
        "eval after resume vs its summary"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
