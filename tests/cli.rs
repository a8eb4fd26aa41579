//! The command line: info, argument errors, bad data, and the benchmarks' argument errors
//! and output shapes.

mod common;

use std::process::Command;

fn pixembed(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pixembed"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn info_json_reports_the_selected_adapter() {
    gpu_or_skip!();
    let o = pixembed(&["info", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["selected"]["name"]
        .as_str()
        .is_some_and(|n| !n.is_empty()));
    assert!(v["adapters"].as_array().is_some_and(|a| !a.is_empty()));
    assert!(
        v["limits"]["max_storage_buffer_binding_size"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[test]
fn unknown_adapter_lists_the_adapters_that_exist() {
    gpu_or_skip!();
    let o = pixembed(&["--adapter", "no-such-gpu-xyz", "info"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("no adapter matches") && e.contains("adapters present"),
        "{e}"
    );
}

#[test]
fn bad_arguments_are_clear_errors() {
    for (args, want) in [
        (vec!["train", "--no-such-option"], "unexpected argument"),
        (vec!["train", "--first-layer", "magic"], "invalid value"),
        (vec!["--backend", "glide", "info"], "unknown backend"),
        (
            vec!["bench", "first-layer", "--shape", "12x12x7"],
            "C = 1 or 3",
        ),
        (
            vec!["bench", "first-layer", "--shape", "huge"],
            "expected cifar",
        ),
        (vec!["bench", "network", "--input", "32x32"], "HxWxC"),
        (vec!["bench", "frobnicate"], "unrecognized subcommand"),
    ] {
        let o = pixembed(&args);
        assert!(!o.status.success(), "{args:?} succeeded");
        let e = stderr(&o);
        assert!(e.contains(want), "{args:?}: {e}");
        assert!(!e.contains("panicked"), "{args:?} panicked: {e}");
    }
}

#[test]
fn missing_or_bad_data_is_a_clear_error() {
    gpu_or_skip!();
    let dir = std::env::temp_dir().join(format!("pixembed-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let o = pixembed(&["train", "--data", "/no/such/dataset"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/no/such/dataset"), "{}", stderr(&o));
    std::fs::write(dir.join("train-images-idx3-ubyte"), [0u8, 0, 8, 1, 0, 0]).unwrap();
    let o = pixembed(&["train", "--data", dir.to_str().unwrap(), "--dataset", "idx"]);
    assert!(!o.status.success());
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let o = pixembed(&["train", "--model", "resnet", "--depth", "21"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("6n+2"), "{}", stderr(&o));
}

#[test]
fn first_layer_bench_variants_share_output_layout() {
    let gpu = gpu_or_skip!();
    let shape: pixembed::bench::first_layer::Shape = "12x10x3".parse().unwrap();
    let rows = pixembed::bench::first_layer::run(gpu, shape, 2, 40, 1, true).unwrap();
    // Table variants have one row per implementation, one of them marked as chosen.
    let mut names: Vec<&str> = rows.iter().map(|r| r.variant.as_str()).collect();
    names.dedup();
    assert_eq!(
        names,
        [
            "float",
            "float-split",
            "int8",
            "naive",
            "bitplane",
            "thermometer",
            "embed"
        ]
    );
    for v in &names[2..] {
        let picked = rows
            .iter()
            .filter(|r| r.variant == *v && r.implementation.starts_with('*'))
            .count();
        assert_eq!(picked, 1, "{v}: one implementation is marked as chosen");
    }
    for r in &rows {
        assert_eq!(
            r.output,
            vec![2, 12, 10, 2, 2],
            "{}: output layout differs",
            r.variant
        );
        assert!(r.timing.median_s > 0.0 && r.macs > 0 && r.bytes > 0);
    }
    // By default, only the chosen implementation of each variant runs.
    let chosen = pixembed::bench::first_layer::run(gpu, shape, 1, 40, 1, false).unwrap();
    let names: Vec<&str> = chosen.iter().map(|r| r.variant.as_str()).collect();
    assert_eq!(
        names,
        ["float", "int8", "naive", "bitplane", "thermometer", "embed"]
    );
    assert!(chosen[1..]
        .iter()
        .all(|r| r.implementation.starts_with('*')));
    assert!(chosen.iter().all(|r| r.output == vec![1, 12, 10, 2, 2]));
    let err = pixembed::bench::first_layer::run(gpu, shape, 0, 64, 1, false).unwrap_err();
    assert!(err.to_string().contains("--batch"), "{err}");
}

/// Settings that used to be ignored silently (an unknown forced implementation) or to train
/// with learning rate 0 forever (`--warmup inf`) are refused with a message.
#[test]
fn unknown_settings_are_refused() {
    for var in ["PIXEMBED_BINCONV", "PIXEMBED_FIRST_TABLE"] {
        let o = Command::new(env!("CARGO_BIN_EXE_pixembed"))
            .env(var, "fastest-please")
            .args(["info"])
            .output()
            .unwrap();
        assert!(!o.status.success(), "{var} accepted");
        let e = stderr(&o);
        assert!(e.contains(var) && e.contains("expected"), "{e}");
    }
    for (args, want) in [
        (vec!["train", "--warmup", "inf"], "--warmup"),
        (vec!["train", "--warmup", "NaN"], "--warmup"),
        (vec!["train", "--batch", "1"], "--batch"),
    ] {
        let o = pixembed(&args);
        assert!(!o.status.success(), "{args:?} accepted");
        let e = stderr(&o);
        assert!(e.contains(want) && !e.contains("panicked"), "{args:?}: {e}");
    }
}
