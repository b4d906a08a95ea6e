//! Audio files in every format mediaflow accepts (media-core's `inputs/audio/`, 1.5 s tones made by
//! the ffmpeg CLI): the probe reads codec, rate, channels, duration, bit rate and music tags, and
//! the transcode makes one AAC `audio.m4a` of each, checked with ffprobe and a full decode by the
//! ffmpeg CLI.

mod common;

use std::path::Path;

use common::*;
use media_core::ErrorCode;
use media_video::{Container, Probe, TranscodeOptions, VideoLimits, probe, transcode};

fn probe_audio(name: &str) -> Probe {
    probe(audio_file(name), &VideoLimits::default()).unwrap_or_else(|error| panic!("probing {name}: {error}"))
}

/// Every file: its container, codec, sample rate and channel count, as written by `make-test-data.sh`.
const FILES: [(&str, Container, &str, u32, u32); 8] = [
    ("mp3-id3.mp3", Container::Mp3, "mp3", 44_100, 1),
    ("mp3-frames.mp3", Container::Mp3, "mp3", 48_000, 2),
    ("wav-pcm.wav", Container::Wav, "pcm_s16le", 22_050, 1),
    ("flac-stereo.flac", Container::Flac, "flac", 48_000, 2),
    ("ogg-vorbis.ogg", Container::Ogg, "vorbis", 44_100, 2),
    ("ogg-opus.opus", Container::Ogg, "opus", 48_000, 1),
    ("m4a-aac.m4a", Container::M4a, "aac", 44_100, 2),
    ("aac-adts.aac", Container::Aac, "aac", 44_100, 1),
];

#[test]
fn every_audio_format_probes_with_its_stream_and_duration() {
    for (name, container, codec, sample_rate, channels) in FILES {
        let probe = probe_audio(name);
        assert_eq!(probe.container, container, "{name}");
        assert!(probe.video.is_empty() && probe.attached_pictures == 0, "{name}: {probe:?}");
        assert_eq!(probe.audio.len(), 1, "{name}");
        let audio = probe.main_audio().expect("audio");
        assert_eq!(
            (audio.codec.as_str(), audio.sample_rate, audio.channels),
            (codec, sample_rate, channels),
            "{name}"
        );
        // ffprobe (the same FFmpeg, but its own reading) is the reference for the duration: MP3 and
        // ADTS have no index, so both estimate it from the bit rate and land a little past 1.5 s.
        let duration = probe.duration_seconds.expect("duration");
        let reference = common::duration(&audio_file(name));
        assert!((duration - reference).abs() < 0.05, "{name}: {duration} s, ffprobe says {reference} s");
        assert!((duration - 1.5).abs() < 0.1, "{name}: {duration} s");
        let bit_rate = probe.bit_rate.or(audio.bit_rate).expect("a bit rate");
        assert!((16_000..2_000_000).contains(&bit_rate), "{name}: {bit_rate} b/s");
    }
    // Lossy codecs at the rates they were made with (MP3 is constant bit rate).
    assert_eq!(probe_audio("mp3-id3.mp3").audio[0].bit_rate, Some(64_000));
    assert_eq!(probe_audio("mp3-frames.mp3").audio[0].bit_rate, Some(96_000));
    assert_eq!(probe_audio("m4a-aac.m4a").audio[0].profile.as_deref(), Some("LC"));
}

#[test]
fn music_tags_are_read_from_id3_vorbis_comments_and_itunes_atoms() {
    for name in ["mp3-id3.mp3", "flac-stereo.flac", "ogg-vorbis.ogg", "m4a-aac.m4a"] {
        let probe = probe_audio(name);
        assert_eq!(
            (probe.title.as_deref(), probe.artist.as_deref(), probe.album.as_deref()),
            (Some("A 440 Hz tone"), Some("mediaflow"), Some("Test tones")),
            "{name}"
        );
    }
    let untagged = probe_audio("mp3-frames.mp3");
    assert_eq!((untagged.title, untagged.artist, untagged.album), (None, None, None));
    let json = serde_json::to_value(probe_audio("mp3-id3.mp3")).expect("serialises");
    assert_eq!((json["container"].as_str(), json["title"].as_str()), (Some("mp3"), Some("A 440 Hz tone")));
    assert_eq!(json["audio"][0]["codec"], "mp3");
}

/// Transcodes `name` with the default options (HLS on) and checks the result: one faststart AAC-LC
/// `audio.m4a`, nothing else, as long as the input, with the input's rate and channel count.
fn check_transcodes_to_m4a(name: &str) {
    let (out, work) = (temp_dir(), temp_dir());
    let input = audio_file(name);
    let source = probe(&input, &VideoLimits::default()).expect("probe");
    let options = TranscodeOptions::new(out.path(), work.path());
    let mut fractions = Vec::new();
    let outputs = transcode(&input, &source, &options, &mut |done| fractions.push(done))
        .unwrap_or_else(|error| panic!("transcoding {name}: {error}"));
    assert!(outputs.renditions.is_empty() && outputs.hls_master.is_none(), "{name}: {outputs:?}");
    let audio = outputs.audio_only.expect("audio.m4a");
    assert_eq!(audio.path, out.path().join("audio.m4a"));
    let names: Vec<_> =
        std::fs::read_dir(out.path()).expect("out").flatten().map(|e| e.file_name()).collect();
    assert_eq!(names, ["audio.m4a"], "{name}: only the audio rendition, no video or HLS");
    assert_eq!(fractions.last(), Some(&1.0), "{name}");
    assert_eq!(Some(std::fs::metadata(&audio.path).expect("m4a").len()), Some(audio.bytes));

    // ffprobe's reading of the output.
    let written = ffprobe(&audio.path, &[]);
    assert!(streams(&written, "video").is_empty(), "{name}");
    let stream = &streams(&written, "audio")[0];
    assert_eq!(
        (stream["codec_name"].as_str(), stream["profile"].as_str()),
        (Some("aac"), Some("LC")),
        "{name}"
    );
    let input_audio = source.main_audio().expect("audio");
    assert_eq!(stream["sample_rate"].as_str(), Some(input_audio.sample_rate.to_string().as_str()), "{name}");
    assert_eq!(stream["channels"].as_u64(), Some(u64::from(input_audio.channels)), "{name}");
    let (out_duration, in_duration) = (number(&written["format"]["duration"]), duration(&input));
    assert!((out_duration - in_duration).abs() < 0.1, "{name}: {out_duration} s from {in_duration} s");
    assert!((outputs.duration_seconds - 1.5).abs() < 0.1, "{name}: {}", outputs.duration_seconds);
    let boxes = top_level_boxes(&audio.path);
    assert!(boxes.iter().position(|b| b == "moov") < boxes.iter().position(|b| b == "mdat"), "{boxes:?}");
    assert_decodes_cleanly(&audio.path);

    // And our own probe of what we wrote: an M4A of AAC (the ftyp brand says audio only).
    let again = probe(&audio.path, &VideoLimits::default()).expect("the output probes");
    assert_eq!(again.container, Container::M4a, "{name}");
    assert_eq!(again.audio[0].codec, "aac", "{name}");
    assert!((again.duration_seconds.expect("duration") - 1.5).abs() < 0.1, "{name}");
    assert!(work.path().read_dir().expect("work").next().is_none(), "{name}: staging removed");
}

#[test]
fn mp3_becomes_an_aac_m4a() {
    check_transcodes_to_m4a("mp3-id3.mp3");
    check_transcodes_to_m4a("mp3-frames.mp3");
}

#[test]
fn flac_becomes_an_aac_m4a() {
    check_transcodes_to_m4a("flac-stereo.flac");
}

#[test]
fn wav_ogg_m4a_and_raw_aac_become_an_aac_m4a() {
    for name in ["wav-pcm.wav", "ogg-vorbis.ogg", "ogg-opus.opus", "m4a-aac.m4a", "aac-adts.aac"] {
        check_transcodes_to_m4a(name);
    }
}

#[test]
fn an_audio_file_has_no_poster() {
    let input = audio_file("flac-stereo.flac");
    let source = probe(&input, &VideoLimits::default()).expect("probe");
    let error = media_video::extract_poster(&input, &source, &media_core::ThumbnailOptions::default())
        .map(|_| ())
        .expect_err("no picture");
    assert_eq!(error.code(), ErrorCode::NO_VIDEO_STREAM);
}

/// Writes `bytes` to `name` in `dir`.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

#[test]
fn broken_audio_files_are_typed_errors() {
    let dir = temp_dir();
    let noise: Vec<u8> = (0u32..20_000).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let flac = std::fs::read(audio_file("flac-stereo.flac")).expect("flac");
    let m4a = std::fs::read(audio_file("m4a-aac.m4a")).expect("m4a");
    let cases = [
        // Cut inside FLAC's STREAMINFO block: nothing to decode.
        ("cut.flac", flac[..20].to_vec()),
        // The magic, then noise.
        ("noise.flac", [b"fLaC".as_slice(), &noise].concat()),
        ("noise.ogg", [b"OggS\0\x02".as_slice(), &noise].concat()),
    ];
    for (name, bytes) in cases {
        let path = write(dir.path(), name, &bytes);
        match probe(&path, &VideoLimits::default()) {
            Ok(probe) => {
                // Some demuxers accept a header and find out only while decoding: then the transcode
                // must fail with a code.
                let options = TranscodeOptions::new(dir.path().join("out"), dir.path());
                let error = transcode(&path, &probe, &options, &mut |_| {}).expect_err(name);
                assert!(
                    [ErrorCode::CORRUPT_INPUT, ErrorCode::TRUNCATED_INPUT, ErrorCode::UNSUPPORTED_CODEC]
                        .contains(&error.code()),
                    "{name}: {error:?}"
                );
            }
            Err(error) => assert!(
                [ErrorCode::CORRUPT_INPUT, ErrorCode::TRUNCATED_INPUT, ErrorCode::UNSUPPORTED_FORMAT]
                    .contains(&error.code()),
                "{name}: {error:?}"
            ),
        }
    }
    // Cut inside STREAMINFO, after the part FFmpeg's FLAC probe checks: the demuxer reports the
    // short read as EIO, which is still the input's fault, not a retry. (Named like the pipeline's
    // downloads, without an extension for FFmpeg to go by.)
    let cut = write(dir.path(), "mediaflow-source-cut", &flac[..30]);
    let error = probe(&cut, &VideoLimits::default()).map(|_| ()).expect_err("cut");
    assert_eq!((error.code(), error.is_retryable()), (ErrorCode::TRUNCATED_INPUT, false), "{error}");
    // An M4A cut before its index (ffmpeg writes `moov` last unless asked for faststart).
    let cut = write(dir.path(), "cut.m4a", &m4a[..3_000]);
    assert_eq!(
        probe(&cut, &VideoLimits::default()).map(|_| ()).expect_err("cut").code(),
        ErrorCode::TRUNCATED_INPUT
    );
}
