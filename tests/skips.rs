//! Skips are visible: a test that cannot run appends a line to the file PIXEMBED_SKIP_LOG
//! names, which `.ci/run` reads (libtest hides the output of passing tests, so a message
//! on stderr alone would never reach CI).

mod common;

use std::process::Command;

/// A GPU test that does nothing but take the GPU (or skip).
#[test]
fn takes_the_gpu() {
    let _gpu = gpu_or_skip!();
}

/// This test binary runs `takes_the_gpu` again with the GPU tests switched off: it passes,
/// and the skip log names it and the reason.
#[test]
fn a_skipped_gpu_test_is_written_to_the_skip_log() {
    let log = std::env::temp_dir().join(format!("pixembed-skips-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "takes_the_gpu", "--test-threads", "1"])
        .env("PIXEMBED_SKIP_GPU_TESTS", "1")
        .env("PIXEMBED_SKIP_LOG", &log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&log).expect("no skip log written");
    assert_eq!(text, "SKIPPED takes_the_gpu: PIXEMBED_SKIP_GPU_TESTS=1\n");
    let _ = std::fs::remove_file(&log);
}
