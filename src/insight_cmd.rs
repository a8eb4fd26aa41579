//! `pixembed summary`, `plot table` and `study first-layer`: parse, call the library, print.

use crate::args::{load_data, DeviceArgs, PlotTableArgs, StudyArgs, SummaryArgs};
use anyhow::Result;
use pixembed::gpu::Gpu;
use pixembed::insight::plot;
use pixembed::insight::study::{self, Event, StudySettings};
use pixembed::insight::summary::{self, Source};

fn source(
    path: &Option<std::path::PathBuf>,
    cfg: impl FnOnce() -> pixembed::nn::ModelConfig,
) -> Source {
    match path {
        Some(p) => Source::Path(p.clone()),
        None => Source::Config(cfg()),
    }
}

pub fn summary(dev: &DeviceArgs, a: &SummaryArgs) -> Result<()> {
    let gpu = Gpu::new(&dev.request())?;
    let s = summary::summarize(&gpu, &source(&a.path, || a.described.config()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print!("{}", s.render());
    }
    Ok(())
}

pub fn plot_table(dev: &DeviceArgs, a: &PlotTableArgs) -> Result<()> {
    let gpu = Gpu::new(&dev.request())?;
    let src = source(&a.path, || a.described.config());
    let (w, h) = plot::write_table(&gpu, &src, a.compare, &a.out)?;
    println!("wrote {} ({w}x{h})", a.out.display());
    Ok(())
}

pub fn study_first_layer(dev: &DeviceArgs, a: &StudyArgs) -> Result<()> {
    let data = a.data.settings(true)?;
    let train = a.recipe.config(&data, a.data.is_default_run());
    train.validate()?;
    let gpu = Gpu::new(&dev.request())?;
    let splits = load_data(&data)?;
    let tr = &splits.train;
    let model = a
        .net
        .config(a.data.default_arch(), [tr.h, tr.w, tr.c], &tr.classes);
    let variants = if a.variants.is_empty() {
        study::ALL_VARIANTS.to_vec()
    } else {
        a.variants.clone()
    };
    let mut argv = std::env::args();
    argv.next();
    let command = std::iter::once("pixembed".to_string())
        .chain(argv)
        .collect::<Vec<_>>()
        .join(" ");
    let settings = StudySettings {
        model,
        train,
        data,
        variants,
        seeds: a.seeds,
        bench_batch: a.bench_batch,
        bench_reps: a.bench_reps,
        command,
    };
    eprintln!(
        "study: {} variants x {} seeds on {} ({} train / {} test images) on {}",
        settings.variants.len(),
        settings.seeds,
        splits.name,
        tr.n,
        splits.test.n,
        gpu.summary().name
    );
    let study = study::run(&gpu, &settings, &splits, &a.out, true, &mut |e| match e {
        Event::Training {
            variant,
            seed,
            index,
            total,
            resumed,
        } => eprintln!(
            "[{index}/{total}] {variant} seed {seed}: {}",
            if *resumed {
                "resuming from its checkpoint"
            } else {
                "training"
            }
        ),
        Event::Skipped {
            variant,
            seed,
            index,
            total,
        } => {
            eprintln!(
                "[{index}/{total}] {variant} seed {seed}: done before with these settings, skipped"
            )
        }
        Event::Benchmarking => eprintln!("timing the first layers"),
    })?;
    print!("{}", study.markdown());
    println!("wrote {}/study.md, study.json, study.png", a.out.display());
    Ok(())
}
