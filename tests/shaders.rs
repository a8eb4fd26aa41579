//! Every shader in shaders/ parses and validates with naga, with no GPU. New files are
//! covered automatically (the registry embeds the whole folder).

use pixembed::gpu::registry::{shader_names, shader_source, validate_wgsl};

#[test]
fn every_shader_validates() {
    let names: Vec<_> = shader_names().collect();
    assert!(!names.is_empty(), "no shaders embedded");
    let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "wgsl")
        })
        .count();
    assert_eq!(names.len(), on_disk, "registry and shaders/ disagree");
    let mut failures = Vec::new();
    for &name in &names {
        let src = shader_source(name).unwrap();
        // A helper (stem starting with `_`) may use names that its includers define: it is
        // then validated as part of every file that includes it, and must have one.
        if name.starts_with('_') && validate_wgsl(&src).is_err() {
            let included = names
                .iter()
                .any(|&n| n != name && shader_source(n).unwrap().contains(&src));
            if !included {
                failures.push(format!("{name}: helper included by no shader"));
            }
            continue;
        }
        if let Err(e) = validate_wgsl(&src) {
            failures.push(format!("{name}:\n{e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "invalid shaders:\n{}",
        failures.join("\n")
    );
}

#[test]
fn invalid_wgsl_is_rejected() {
    assert!(validate_wgsl("fn f() -> u32 { return 1.5; }").is_err());
    assert!(validate_wgsl("@compute @workgroup_size(1) fn main() {}").is_ok());
}
