//! Criterion benches of the image core's stages on a 12 MP baseline JPEG: decode (DCT-scaled),
//! resize, encode, and the whole `process_image`. Set `MEDIAFLOW_BENCH_JPEG` to a real photo to
//! bench that instead of the generated one (`make bench` fetches some into `.bench/images`).
//! Then a real 24 MP Sony photo's 1024 px thumbnail made from its embedded full-HD preview and
//! from its main image (`make fixtures` fetches it into `MEDIAFLOW_PREVIEW_PHOTOS`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use image::{DynamicImage, RgbImage};
use media_core::{
    EmbeddedPreviews, ImageDecoders, Limits, OutputFormat, ThumbnailOptions, ThumbnailSource, encode,
    process_image, resize,
};

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

/// The Sony ILCE-6000 photo (6000×4000, a 1616×1080 preview in its MPF index), from
/// `MEDIAFLOW_PREVIEW_PHOTOS` (default `~/.cache/mediaflow/preview-photos`).
fn sony_with_preview() -> Vec<u8> {
    let dir = std::env::var_os("MEDIAFLOW_PREVIEW_PHOTOS")
        .filter(|value| !value.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/mediaflow/preview-photos")
        });
    let path = dir.join("sony-ilce6000.jpg");
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run `make fixtures`, or scripts/fetch.py preview-photos={})",
            path.display(),
            dir.display()
        )
    })
}

fn bench_embedded_preview(c: &mut Criterion) {
    let sony = sony_with_preview();
    let limits = Limits::default();
    let options = ThumbnailOptions { sizes: vec![1024], format: OutputFormat::Jpeg, quality: 80 };
    let via_preview = ImageDecoders::default();
    let via_main = ImageDecoders::default().with_embedded_previews(EmbeddedPreviews::Never);
    let source = |decoders: &ImageDecoders| {
        decoders.process_image(&sony, &options, &limits).expect("process").metadata.thumbnail_source
    };
    assert!(
        matches!(source(&via_preview), ThumbnailSource::EmbeddedPreview { .. }),
        "the preview is not used"
    );
    assert_eq!(source(&via_main), ThumbnailSource::MainImage);

    let mut group = c.benchmark_group("sony-6000x4000-to-1024");
    group.sample_size(20);
    group.bench_function("via_preview", |b| {
        b.iter(|| via_preview.process_image(black_box(&sony), &options, &limits).expect("process"))
    });
    group.bench_function("via_main_image", |b| {
        b.iter(|| via_main.process_image(black_box(&sony), &options, &limits).expect("process"))
    });
    group.finish();
}

criterion_group!(benches, bench_stages, bench_embedded_preview);
criterion_main!(benches);
