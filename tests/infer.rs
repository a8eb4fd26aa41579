//! Integer inference: folded thresholds reproduce the training graph exactly (including
//! negative and zero batch-norm scales), the export round-trips, bad files are refused, and
//! the CLI classifies PNG and JPEG files.

mod common;

use pixembed::data::Dataset;
use pixembed::gpu::{Gpu, Recorder, Tensor};
use pixembed::infer::{engine, fold_model, IntModel};
use pixembed::nn::{Arch, FirstLayerKind, LastLayer, Model, ModelConfig};
use pixembed::train::{RunOptions, TrainConfig, Trainer};

fn cfg(arch: Arch, first: FirstLayerKind, last: LastLayer, h: usize, c: usize) -> ModelConfig {
    common::small_model(arch, first, last, h, c)
}

fn train_cfg() -> TrainConfig {
    common::small_training(1, 3, false)
}

/// argmax of the training graph (evaluation mode) per image; ties: lowest index.
fn graph_predictions(gpu: &Gpu, model: &mut Model, data: &Dataset) -> Vec<u32> {
    let px = Tensor::from_slice(gpu, &[data.n, data.h, data.w, data.c], &data.images).unwrap();
    let mut rec = Recorder::new(gpu);
    let logits = model.forward(&mut rec, &px, false).unwrap();
    rec.submit();
    let l = logits.to_vec::<f32>(gpu).unwrap();
    let k = model.cfg.classes;
    (0..data.n)
        .map(|i| {
            let row = &l[i * k..(i + 1) * k];
            (0..k).fold(0, |b, j| if row[j] > row[b] { j } else { b }) as u32
        })
        .collect()
}

fn trained(gpu: &Gpu, c: &ModelConfig, data: &Dataset) -> Model {
    let mut t = Trainer::new(gpu, c, &train_cfg()).unwrap();
    t.run(data, data, &RunOptions::default(), |_| {}).unwrap();
    t.model
}

/// Rebuild the same trained model from its own parameters (folding consumes a model).
fn clone_model(gpu: &Gpu, m: &mut Model) -> Model {
    let mut copy = Model::new(gpu, &m.cfg, 0).unwrap();
    let mut values = Vec::new();
    m.visit(&mut |p| values.push(p.value.to_vec::<f32>(gpu).unwrap()));
    let mut it = values.into_iter();
    copy.visit(&mut |p| p.value.write(gpu, &it.next().unwrap()).unwrap());
    copy
}

fn assert_agree(gpu: &Gpu, model: &mut Model, data: &Dataset, what: &str) {
    let want = graph_predictions(gpu, model, data);
    let mut int = fold_model(gpu, clone_model(gpu, model)).unwrap();
    let got = engine::predict_dataset(gpu, &mut int, data, 64).unwrap();
    let differ = (0..data.n).filter(|&i| got.classes[i] != want[i]).count();
    assert_eq!(
        differ, 0,
        "{what}: {differ} of {} predictions differ from the training graph",
        data.n
    );
}

#[test]
fn integer_engine_agrees_with_training_graph_every_variant() {
    let gpu = gpu_or_skip!();
    let data = common::quadrant_data(11, 96, 12, 3);
    for (arch, first, last) in [
        (Arch::Resnet, FirstLayerKind::Embed, LastLayer::Binary),
        (Arch::Resnet, FirstLayerKind::Naive, LastLayer::Float),
        (Arch::Resnet, FirstLayerKind::Thermometer, LastLayer::Binary),
        (Arch::Resnet, FirstLayerKind::Int8, LastLayer::Binary),
        (Arch::Resnet, FirstLayerKind::Bitplane, LastLayer::Binary),
        (Arch::Resnet, FirstLayerKind::Float, LastLayer::Binary),
        (Arch::VggSmall, FirstLayerKind::Embed, LastLayer::Binary),
    ] {
        let mut m = trained(gpu, &cfg(arch, first, last, 12, 3), &data);
        assert_agree(gpu, &mut m, &data, &format!("{arch:?}/{first:?}/{last:?}"));
    }
}

#[test]
fn folding_handles_negative_and_zero_bn_scales() {
    let gpu = gpu_or_skip!();
    let data = common::quadrant_data(12, 64, 10, 1);
    let mut m = trained(
        gpu,
        &cfg(
            Arch::Resnet,
            FirstLayerKind::Embed,
            LastLayer::Binary,
            10,
            1,
        ),
        &data,
    );
    // Flip some scales negative, zero others, and push some channels into saturation.
    m.visit(&mut |p| {
        if p.name.ends_with("gamma") {
            let mut g = p.value.to_vec::<f32>(gpu).unwrap();
            for (i, v) in g.iter_mut().enumerate() {
                match i % 4 {
                    1 => *v = -v.abs() - 0.1,
                    2 => *v = 0.0,
                    _ => {}
                }
            }
            p.value.write(gpu, &g).unwrap();
        }
        if p.name.ends_with("beta") {
            let mut b = p.value.to_vec::<f32>(gpu).unwrap();
            if let Some(v) = b.get_mut(3) {
                *v = 50.0;
            }
            p.value.write(gpu, &b).unwrap();
        }
    });
    assert_agree(gpu, &mut m, &data, "modified scales");
    let int = fold_model(gpu, clone_model(gpu, &mut m)).unwrap();
    let mut flags = Vec::new();
    for u in &int.units {
        if let pixembed::infer::export::UnitKind::Conv { flags: f, .. }
        | pixembed::infer::export::UnitKind::Residual { flags: f, .. } = &u.kind
        {
            flags.extend(f.to_vec::<i32>(gpu).unwrap());
        }
    }
    for want in [1, -1, 0] {
        assert!(flags.contains(&want), "no channel folded with flag {want}");
    }
}

#[test]
fn export_round_trip_and_bad_files() {
    let gpu = gpu_or_skip!();
    let data = common::quadrant_data(13, 64, 10, 3);
    let mut m = trained(
        gpu,
        &cfg(
            Arch::Resnet,
            FirstLayerKind::Embed,
            LastLayer::Binary,
            10,
            3,
        ),
        &data,
    );
    let want = graph_predictions(gpu, &mut m, &data);
    let dir = std::env::temp_dir().join(format!("pixembed-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    let mut int = fold_model(gpu, clone_model(gpu, &mut m)).unwrap();
    int.save(gpu, &path).unwrap();
    let mut loaded = IntModel::load(gpu, &path).unwrap();
    let got = engine::predict_dataset(gpu, &mut loaded, &data, 32).unwrap();
    assert_eq!(got.classes, want, "loaded model predicts differently");

    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    assert!(IntModel::load(gpu, &path).is_err(), "truncated file loaded");
    std::fs::write(&path, b"garbage").unwrap();
    assert!(IntModel::load(gpu, &path).is_err());
    // A training checkpoint is not an exported model.
    let run = dir.join("run");
    let mut t = Trainer::new(
        gpu,
        &cfg(
            Arch::Resnet,
            FirstLayerKind::Embed,
            LastLayer::Binary,
            10,
            3,
        ),
        &train_cfg(),
    )
    .unwrap();
    t.run(
        &data,
        &data,
        &RunOptions {
            out: Some(run.clone()),
            ..Default::default()
        },
        |_| {},
    )
    .unwrap();
    let err = IntModel::load(gpu, &run.join("checkpoint.safetensors"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("pixembed export"), "{err}");
}

#[test]
fn infer_cli_reads_png_and_jpeg_and_reports_bad_images() {
    let gpu = gpu_or_skip!();
    let data = common::quadrant_data(14, 64, 10, 3);
    let mut m = trained(
        gpu,
        &cfg(
            Arch::Resnet,
            FirstLayerKind::Embed,
            LastLayer::Binary,
            10,
            3,
        ),
        &data,
    );
    let dir = std::env::temp_dir().join(format!("pixembed-infer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("model.safetensors");
    fold_model(gpu, clone_model(gpu, &mut m))
        .unwrap()
        .save(gpu, &model)
        .unwrap();
    let img = image::RgbImage::from_fn(40, 30, |x, y| {
        image::Rgb([(x * 6) as u8, (y * 8) as u8, 128])
    });
    img.save(dir.join("a.png")).unwrap();
    img.save(dir.join("b.jpg")).unwrap();
    image::GrayAlphaImage::from_pixel(8, 8, image::LumaA([200, 255]))
        .save(dir.join("c.png"))
        .unwrap();
    std::fs::write(dir.join("bad.png"), b"not an image").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pixembed"))
        .args(["infer", "--json", "--top", "2", "--model"])
        .arg(&model)
        .args(["a.png", "b.jpg", "bad.png", "c.png"].map(|f| dir.join(f)))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "a bad image must make the command fail"
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    for (i, l) in lines.iter().enumerate() {
        if i == 2 {
            assert!(l["error"].as_str().unwrap().contains("bad.png"), "{l}");
        } else {
            let top = l["top"].as_array().unwrap();
            assert_eq!(top.len(), 2);
            assert!(top[0]["class"].as_str().unwrap().starts_with('q'));
        }
    }
}

/// A diverged model (NaN scores) scores 0%, not 100%, and says how many images it lost.
#[test]
fn nan_scores_count_as_wrong() {
    let gpu = gpu_or_skip!();
    let data = common::quadrant_data(31, 24, 10, 1);
    let c = cfg(Arch::Resnet, FirstLayerKind::Embed, LastLayer::Float, 10, 1);
    let mut int = fold_model(gpu, Model::new(gpu, &c, 1).unwrap()).unwrap();
    let w = &int.head.w.value;
    w.write(gpu, &vec![f32::NAN; w.numel()]).unwrap();
    let p = engine::predict_dataset(gpu, &mut int, &data, 8).unwrap();
    assert_eq!((p.top1, p.top5), (0.0, 0.0), "NaN scores counted as hits");
    assert_eq!(p.non_finite, data.n);
}

/// `eval --integer` of a model on a dataset with other classes is refused before running,
/// not an out-of-bounds panic.
#[test]
fn labels_outside_the_model_are_refused() {
    let gpu = gpu_or_skip!();
    let mut data = common::quadrant_data(32, 16, 10, 1);
    // The same images, labelled as a 100-class dataset.
    data.classes = (0..100).map(|i| format!("c{i}")).collect();
    data.labels[3] = 99;
    let c = cfg(
        Arch::Resnet,
        FirstLayerKind::Embed,
        LastLayer::Binary,
        10,
        1,
    );
    let mut int = fold_model(gpu, Model::new(gpu, &c, 1).unwrap()).unwrap();
    let e = engine::predict_dataset(gpu, &mut int, &data, 8).unwrap_err();
    assert!(e.to_string().contains("classes"), "{e}");
    // Labels in range, but the class lists disagree in length: also refused.
    data.labels[3] = 1;
    assert!(engine::predict_dataset(gpu, &mut int, &data, 8).is_err());
}

/// `pixembed infer` prepares an image exactly as image-folder training data is prepared:
/// real JPEG files (colour and grey) and a 16-bit PNG of other sizes, resized by the dataset
/// loader and by the inference path, give the same pixels and so the same predictions.
#[test]
fn infer_prepares_images_as_training_does() {
    let gpu = gpu_or_skip!();
    let root = std::env::temp_dir().join(format!("pixembed-prep-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let mut files = Vec::new();
    for split in ["train", "test"] {
        let dir = root.join(split).join("a");
        std::fs::create_dir_all(&dir).unwrap();
        let colour = image::RgbImage::from_fn(37, 23, |x, y| {
            image::Rgb([(x * 7) as u8, (y * 11) as u8, ((x * y) % 251) as u8])
        });
        let p = dir.join("0.jpg");
        colour.save(&p).unwrap();
        files.push(p);
        let grey = image::GrayImage::from_fn(19, 41, |x, y| image::Luma([(x * 13 + y * 3) as u8]));
        let p = dir.join("1.jpg");
        grey.save(&p).unwrap();
        files.push(p);
        let deep = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(29, 17, |x, y| {
            image::Rgb([(x * 2111) as u16 + 77, (y * 3803) as u16 + 5, 40_000])
        });
        let p = dir.join("2.png");
        deep.save(&p).unwrap();
        files.push(p);
        // A second class, so the model is a classifier: its one image comes second in the
        // split's class-interleaved order (a/0, b/0, a/1, a/2).
        let dir = root.join(split).join("b");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("0.jpg");
        image::RgbImage::from_fn(15, 15, |x, y| {
            image::Rgb([200, (x * 17) as u8, (y * 5) as u8])
        })
        .save(&p)
        .unwrap();
        files.insert(files.len() - 2, p);
    }
    let opts = pixembed::data::FolderOptions {
        resize: Some((12, 12)),
        cache: pixembed::data::CacheLocation::Off,
        ..Default::default()
    };
    let splits = pixembed::data::load_folder(&root, &opts).unwrap();
    let test = &splits.test;
    assert_eq!((test.n, test.h, test.w, test.c), (4, 12, 12, 3));
    let mut pixels = Vec::new();
    for (i, f) in files[4..].iter().enumerate() {
        let px = pixembed::infer::image::load_for_model(f, 12, 12, 3).unwrap();
        assert_eq!(
            &px[..],
            test.image(i).unwrap(),
            "{}: pixels differ",
            f.display()
        );
        pixels.extend(px);
    }
    // The same pixels through the integer engine: the dataset's predictions and the files'.
    let c = ModelConfig {
        classes: 2,
        class_names: vec!["a".into(), "b".into()],
        ..cfg(Arch::Resnet, FirstLayerKind::Embed, LastLayer::Float, 12, 3)
    };
    let mut int = fold_model(gpu, Model::new(gpu, &c, 2).unwrap()).unwrap();
    let from_dataset = engine::predict_dataset(gpu, &mut int, test, 8).unwrap();
    let t = Tensor::from_slice(gpu, &[4, 12, 12, 3], &pixels).unwrap();
    let scores = int.scores(gpu, &t).unwrap().to_vec::<f32>(gpu).unwrap();
    let from_files: Vec<u32> = scores
        .chunks_exact(2)
        .map(|r| if r[1] > r[0] { 1 } else { 0 })
        .collect();
    assert_eq!(from_files, from_dataset.classes);
}

/// Sizes an exported file declares (input, unit channels) are checked before they size
/// anything: a clear error, not an overflow or an allocation abort.
#[test]
fn export_with_impossible_sizes_is_refused() {
    let gpu = gpu_or_skip!();
    let c = cfg(
        Arch::Resnet,
        FirstLayerKind::Embed,
        LastLayer::Binary,
        10,
        1,
    );
    let mut int = fold_model(gpu, Model::new(gpu, &c, 4).unwrap()).unwrap();
    let dir = std::env::temp_dir().join(format!("pixembed-export-huge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("model.safetensors");
    int.save(gpu, &good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    // Rewrite one metadata entry of the file.
    let edit = |key: &str, f: &dyn Fn(&mut serde_json::Value)| {
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let mut meta = header.metadata().clone().unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&meta[key]).unwrap();
        f(&mut v);
        meta.insert(key.into(), v.to_string());
        let views: Vec<_> = st.tensors();
        let out = safetensors::serialize(views, Some(meta)).unwrap();
        let p = dir.join(format!("{key}.safetensors"));
        std::fs::write(&p, out).unwrap();
        IntModel::load(gpu, &p).err().expect("loaded")
    };
    let e = edit("model_config", &|v| {
        v["input"] = serde_json::json!([1u64 << 40, 1u64 << 40, 3])
    });
    assert!(
        e.to_string().contains("too large") || e.to_string().contains("at most"),
        "{e}"
    );
    let e = edit("units", &|v| v[0]["c"] = serde_json::json!(usize::MAX / 2));
    assert!(e.to_string().contains("unit 0"), "{e}");
    let e = edit("units", &|v| v[1]["o"] = serde_json::json!(3));
    assert!(e.to_string().contains("unit 1"), "{e}");
}
