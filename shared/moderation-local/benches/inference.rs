//! open_nsfw's cost per picture: preprocessing (resize, crop, JPEG round trip) and one forward
//! pass, on a synthetic 1024×768 picture (the time does not depend on the content). Run on one
//! core, as on a 1-vCPU Lambda: `taskset -c 0 cargo bench -p moderation-local`.
//! benches/compare-onnxruntime.sh puts these numbers next to onnxruntime's.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use image::{Rgb, RgbImage};
use moderation_local::{OpenNsfw, model_path_from_env, preprocess};

fn inference(c: &mut Criterion) {
    let path = model_path_from_env();
    let model = OpenNsfw::load(&path)
        .unwrap_or_else(|e| panic!("{e} (model at {}: run `make fixtures`)", path.display()));
    let image =
        RgbImage::from_fn(1024, 768, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, ((x ^ y) % 256) as u8]));
    let input = preprocess(&image).expect("preprocess");
    let mut group = c.benchmark_group("open_nsfw");
    group.sample_size(20);
    group.bench_function("preprocess 1024x768", |b| b.iter(|| preprocess(black_box(&image))));
    group.bench_function("forward pass", |b| b.iter(|| model.score(black_box(&input))));
    group.finish();
    let mut group = c.benchmark_group("open_nsfw load");
    group.sample_size(10);
    group.bench_function("load and optimise", |b| b.iter(|| OpenNsfw::load(black_box(&path))));
    group.finish();
}

criterion_group!(benches, inference);
criterion_main!(benches);
