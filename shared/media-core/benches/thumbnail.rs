//! Criterion benches of the image core's stages on a 12 MP baseline JPEG: decode (DCT-scaled),
//! resize, encode, and the whole `process_image`. Set `MEDIAFLOW_BENCH_JPEG` to a real photo to
//! bench that instead of the generated one (`scripts/fetch-bench-images.sh` fetches some).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use image::{DynamicImage, RgbImage};
use media_core::{Limits, OutputFormat, ThumbnailOptions, encode, process_image, resize};

/// A 4000×3000 photo-like JPEG: smooth gradients plus fine texture, so the entropy decoder has
/// realistic work (a flat image would flatter every stage).
fn twelve_megapixel_jpeg() -> Vec<u8> {
    if let Ok(path) = std::env::var("MEDIAFLOW_BENCH_JPEG") {
        return std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    }
    let image = RgbImage::from_fn(4000, 3000, |x, y| {
        let texture = ((x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 23) as u8;
        image::Rgb([(x / 16) as u8 ^ texture, (y / 12) as u8, ((x + y) / 28) as u8 ^ (texture / 2)])
    });
    encode(&DynamicImage::ImageRgb8(image), OutputFormat::Jpeg, 90).expect("encoding the bench input")
}

fn bench_stages(c: &mut Criterion) {
    let jpeg = twelve_megapixel_jpeg();
    let limits = Limits::default();
    let header = media_core::inspect_image(&jpeg, &limits).expect("bench input is a JPEG");
    let options = ThumbnailOptions { sizes: vec![256], format: OutputFormat::Jpeg, quality: 80 };

    let mut group = c.benchmark_group("12mp-jpeg");
    group.sample_size(30);
    group.bench_function("read_header", |b| b.iter(|| media_core::inspect_image(black_box(&jpeg), &limits)));
    group.bench_function("process_image_256_jpeg", |b| {
        b.iter(|| process_image(black_box(&jpeg), &options, &limits).expect("process"))
    });
    let webp = ThumbnailOptions { format: OutputFormat::Webp, ..options.clone() };
    group.bench_function("process_image_256_webp", |b| {
        b.iter(|| process_image(black_box(&jpeg), &webp, &limits).expect("process"))
    });
    let both = ThumbnailOptions::default();
    group.bench_function("process_image_256_1024_jpeg", |b| {
        b.iter(|| process_image(black_box(&jpeg), &both, &limits).expect("process"))
    });
    group.finish();

    // The DCT-scaled decode leaves 500×375 for a 256 px box; these are the stages after it.
    let decoded = image::load_from_memory(&jpeg).expect("decode").resize_exact(
        header.width / 8,
        header.height / 8,
        image::imageops::FilterType::Triangle,
    );
    let decoded = DynamicImage::ImageRgb8(decoded.into_rgb8());
    let mut group = c.benchmark_group("stages");
    group.bench_function("resize_500x375_to_256x192", |b| b.iter(|| resize(black_box(&decoded), 256, 192)));
    let thumb = resize(&decoded, 256, 192).expect("resize");
    group.bench_function("encode_jpeg_256x192_q80", |b| {
        b.iter(|| encode(black_box(&thumb), OutputFormat::Jpeg, 80))
    });
    group.bench_function("encode_webp_256x192_q80", |b| {
        b.iter(|| encode(black_box(&thumb), OutputFormat::Webp, 80))
    });
    group.finish();
}

criterion_group!(benches, bench_stages);
criterion_main!(benches);
