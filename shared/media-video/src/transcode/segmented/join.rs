//! Joining segments: playlists over every segment's chunks, and each rung remuxed with the audio
//! into one faststart MP4.

use std::path::Path;
use std::time::Instant;

use ffmpeg_next::format::context::{Input, Output};
use ffmpeg_next::{Dictionary, Packet, Rational, codec, encoder};

use crate::hls::{
    AAC_LC_CODEC_STRING, AudioGroup, MeasuredBitRates, PlaylistEntry, Variant, master_playlist_with_audio,
    measure_bit_rates_in, vod_media_playlist,
};
use crate::transcode::publish::{Staged, publish};
use crate::transcode::segmented::{AudioTrackOutputs, SegmentOutputs, staging_dir, ticks};
use crate::transcode::{Deadline, Rendition, TranscodeOptions, TranscodeOutputs};
use crate::{Probe, VideoError};

/// The `GROUP-ID` of the audio rendition in the master playlist.
const AUDIO_GROUP_ID: &str = "audio";

/// Joins the outputs of [`transcode_segment`](super::transcode_segment) for every segment of a
/// plan (in order) and of [`transcode_audio_track`](super::transcode_audio_track) (`None` for a
/// video without sound), whose files are all in `parts_dir/hls/`, into the outputs of a serial
/// [`transcode()`](crate::transcode()) in `options.out_dir`:
/// - `hls/<label>.m3u8` (VOD) over the segments' chunks, `hls/audio.m3u8`, and `hls/master.m3u8`
///   with the audio as the variants' `EXT-X-MEDIA` rendition and measured bit rates (video plus
///   audio);
/// - `<label>.mp4`: the rung's chunks and the audio remuxed (not re-encoded) into a faststart MP4.
///
/// When `parts_dir` is not `options.out_dir`, the chunk and init files are copied (hard-linked
/// where possible) into `options.out_dir/hls/`, so the output folder is complete either way. The
/// same inputs give byte-identical outputs, so running a join twice is harmless.
///
/// Errors: `invalid-options` when segments are missing, out of order, do not meet, or were made
/// with other options; `io-error` for missing files; `encode-failed` when the segments' encoder
/// headers differ (they cannot share one MP4 track) or remuxing fails.
pub fn join_segments(
    parts_dir: &Path,
    probe: &Probe,
    segments: &[SegmentOutputs],
    audio: Option<&AudioTrackOutputs>,
    options: &TranscodeOptions,
) -> Result<TranscodeOutputs, VideoError> {
    crate::init();
    options.validate()?;
    let deadline = Deadline(options.deadline);
    deadline.check("starting")?;
    check_segments(segments, audio)?;
    let started = Instant::now();
    let staging = staging_dir(options)?;
    let scratch = tempfile::Builder::new()
        .prefix(".media-video-join-")
        .tempdir_in(&options.work_dir)
        .map_err(|error| VideoError::io(&options.work_dir, error))?;
    let folders = JoinFolders {
        copy_files: !same_directory(&parts_dir.join("hls"), &options.out_dir.join("hls")),
        parts_hls: parts_dir.join("hls"),
        staging_hls: staging.path().join("hls"),
        scratch: scratch.path(),
    };
    let audio_track = audio.map(|audio| join_audio(audio, &folders)).transpose()?;
    let video_end_seconds = segments.last().map_or(0.0, |segment| segment.end_seconds);
    let duration_seconds = video_end_seconds.max(audio.map_or(0.0, |audio| audio.duration_seconds));
    let rungs = JoinedRungs {
        segments,
        audio: audio_track.as_ref(),
        timeline_offset: segments.first().map_or(0.0, |segment| segment.timeline_offset_seconds),
        frame_rate: probe.main_video().and_then(|video| video.frame_rate),
        duration_seconds,
        staging: staging.path(),
    };
    let mut renditions = Vec::new();
    let mut variants = Vec::new();
    for rung_index in 0..segments[0].rungs.len() {
        deadline.check("joining")?;
        let (variant, rendition) = join_rung(&rungs, rung_index, &folders)?;
        variants.push(variant);
        renditions.push(rendition);
    }
    let staging_hls = &folders.staging_hls;
    let audio_group = audio.map(|audio| AudioGroup {
        group_id: AUDIO_GROUP_ID.into(),
        name: "Audio".into(),
        uri: "audio.m3u8".into(),
        channels: audio.channels,
        language: probe.main_audio().and_then(|stream| stream.language.clone()),
    });
    let master = staging_hls.join("master.m3u8");
    write_file(&master, master_playlist_with_audio(&variants, audio_group.as_ref()).as_bytes())?;
    deadline.check("publishing")?;
    let staged = Staged { renditions, hls_master: Some(master), audio_only: None, duration_seconds };
    let outputs = publish(staged, staging.path(), &options.out_dir)?;
    tracing::info!(
        segments = segments.len(),
        renditions = outputs.renditions.len(),
        duration_seconds,
        ms = started.elapsed().as_millis() as u64,
        "segments joined"
    );
    Ok(outputs)
}

/// Where a join reads and writes.
struct JoinFolders<'a> {
    /// The parts' chunk and init files.
    parts_hls: std::path::PathBuf,
    /// The playlists (and the copied chunks) before they are published.
    staging_hls: std::path::PathBuf,
    /// Concatenated fragmented MP4s, removed once remuxed.
    scratch: &'a Path,
    /// Whether the parts' files must be copied into the output (it is another folder).
    copy_files: bool,
}

/// The joined audio track: its bit rates and its chunks concatenated into one fragmented MP4.
struct JoinedAudio {
    rates: MeasuredBitRates,
    fragmented: std::path::PathBuf,
}

/// What every rung of a join shares.
struct JoinedRungs<'a> {
    segments: &'a [SegmentOutputs],
    audio: Option<&'a JoinedAudio>,
    timeline_offset: f64,
    frame_rate: Option<f64>,
    duration_seconds: f64,
    staging: &'a Path,
}

/// Writes the audio's media playlist, copies its files when needed, measures its bit rates and
/// concatenates its chunks for the MP4s' remux.
fn join_audio(audio: &AudioTrackOutputs, folders: &JoinFolders<'_>) -> Result<JoinedAudio, VideoError> {
    let entries: Vec<PlaylistEntry> = audio
        .chunks
        .iter()
        .map(|chunk| PlaylistEntry {
            map_uri: audio.init_uri.clone(),
            duration_seconds: chunk.duration_seconds,
            uri: chunk.uri.clone(),
        })
        .collect();
    let playlist = folders.staging_hls.join("audio.m3u8");
    write_file(&playlist, vod_media_playlist(&entries).as_bytes())?;
    let files: Vec<&str> =
        [audio.init_uri.as_str()].into_iter().chain(audio.chunks.iter().map(|c| c.uri.as_str())).collect();
    if folders.copy_files {
        link_files(&folders.parts_hls, &folders.staging_hls, &files)?;
    }
    let rates = measure_bit_rates_in(&playlist, &folders.parts_hls)?;
    let fragmented = folders.scratch.join("audio.mp4");
    concatenate(&folders.parts_hls, &files, &fragmented)?;
    Ok(JoinedAudio { rates, fragmented })
}

/// A rung's media playlist over every segment's chunks.
struct RungPlaylist {
    /// Its entries.
    entries: Vec<PlaylistEntry>,
    /// The init files they map: a new `EXT-X-MAP` where a segment's encoder headers differ from
    /// the previous one's.
    maps: Vec<String>,
    /// Every file the entries name, init files included.
    files: Vec<String>,
}

/// The playlist of rung `rung_index` over every segment's chunks.
fn rung_entries(
    segments: &[SegmentOutputs],
    rung_index: usize,
    parts_hls: &Path,
) -> Result<RungPlaylist, VideoError> {
    let mut entries = Vec::new();
    let mut current_map: Option<(String, Vec<u8>)> = None;
    let mut maps = Vec::new();
    let mut files: Vec<String> = Vec::new();
    for segment in segments {
        let rung = &segment.rungs[rung_index];
        let init = std::fs::read(parts_hls.join(&rung.init_uri))
            .map_err(|error| VideoError::io(parts_hls.join(&rung.init_uri), error))?;
        if current_map.as_ref().is_none_or(|(_, bytes)| *bytes != init) {
            current_map = Some((rung.init_uri.clone(), init));
            maps.push(rung.init_uri.clone());
            files.push(rung.init_uri.clone());
        }
        let map_uri = current_map.as_ref().map(|(uri, _)| uri.clone()).unwrap_or_default();
        for chunk in &rung.chunks {
            entries.push(PlaylistEntry {
                map_uri: map_uri.clone(),
                duration_seconds: chunk.duration_seconds,
                uri: chunk.uri.clone(),
            });
            files.push(chunk.uri.clone());
        }
    }
    Ok(RungPlaylist { entries, maps, files })
}

/// Rung `rung_index`: its media playlist and master-playlist variant, and its chunks remuxed
/// with the audio into a faststart MP4.
fn join_rung(
    rungs: &JoinedRungs<'_>,
    rung_index: usize,
    folders: &JoinFolders<'_>,
) -> Result<(Variant, Rendition), VideoError> {
    let first = &rungs.segments[0].rungs[rung_index];
    let label = &first.label;
    let RungPlaylist { entries, maps, files } = rung_entries(rungs.segments, rung_index, &folders.parts_hls)?;
    let playlist = folders.staging_hls.join(format!("{label}.m3u8"));
    write_file(&playlist, vod_media_playlist(&entries).as_bytes())?;
    let file_names: Vec<&str> = files.iter().map(String::as_str).collect();
    if folders.copy_files {
        link_files(&folders.parts_hls, &folders.staging_hls, &file_names)?;
    }
    let video_rates = measure_bit_rates_in(&playlist, &folders.parts_hls)?;
    let bit_rates = match rungs.audio {
        Some(audio) => MeasuredBitRates {
            peak: video_rates.peak + audio.rates.peak,
            average: video_rates.average + audio.rates.average,
        },
        None => video_rates,
    };
    let codecs = match rungs.audio {
        Some(_) => format!("{},{AAC_LC_CODEC_STRING}", first.codecs),
        None => first.codecs.clone(),
    };
    let variant = Variant {
        uri: format!("{label}.m3u8"),
        bit_rates,
        width: first.width,
        height: first.height,
        codecs: codecs.clone(),
        frame_rate: rungs.frame_rate,
    };
    if maps.len() > 1 {
        return Err(VideoError::encode(
            format!("joining the {label} MP4"),
            "the segments' H.264 headers differ, so they cannot share one MP4 track",
        ));
    }
    let fragmented = folders.scratch.join(format!("{label}.fragmented.mp4"));
    concatenate(&folders.parts_hls, &file_names, &fragmented)?;
    let path = rungs.staging.join(format!("{label}.mp4"));
    let audio_part = rungs.audio.map(|audio| audio.fragmented.as_path());
    remux_mp4(&fragmented, audio_part, rungs.timeline_offset, &path)?;
    std::fs::remove_file(&fragmented).map_err(|error| VideoError::io(&fragmented, error))?;
    let bytes = std::fs::metadata(&path).map_err(|error| VideoError::io(&path, error))?.len();
    let rendition = Rendition {
        label: label.clone(),
        width: first.width,
        height: first.height,
        bytes,
        bit_rate: (bytes as f64 * 8.0 / rungs.duration_seconds.max(0.001)).round() as u64,
        codecs,
        hls_playlist: Some(playlist),
        path,
    };
    Ok((variant, rendition))
}

/// Refuses segment lists that would not make a whole, consistent video.
fn check_segments(segments: &[SegmentOutputs], audio: Option<&AudioTrackOutputs>) -> Result<(), VideoError> {
    let invalid = |reason: String| Err(VideoError::InvalidOptions(reason));
    let Some(first) = segments.first() else {
        return invalid("no segments to join".into());
    };
    if first.rungs.is_empty() {
        return invalid("segment 0 has no renditions".into());
    }
    for (position, segment) in segments.iter().enumerate() {
        if segment.index as usize != position {
            return invalid(format!(
                "segment {position} is missing (found segment {} in its place): pass every segment in order",
                segment.index
            ));
        }
        let sizes = |segment: &SegmentOutputs| -> Vec<(String, u32, u32)> {
            segment.rungs.iter().map(|rung| (rung.label.clone(), rung.width, rung.height)).collect()
        };
        if sizes(segment) != sizes(first) {
            return invalid(format!("segment {position} has other renditions than segment 0"));
        }
        if let Some(rung) = segment.rungs.iter().find(|rung| rung.chunks.is_empty()) {
            return invalid(format!("segment {position} has no chunks for {}", rung.label));
        }
        if (segment.timeline_offset_seconds - first.timeline_offset_seconds).abs() > 1e-9 {
            return invalid(format!("segment {position} was transcoded with other options than segment 0"));
        }
        if let Some(next) = segments.get(position + 1)
            && (next.start_seconds - segment.end_seconds).abs() > 1e-3
        {
            return invalid(format!(
                "segment {position} ends at {:.3} s but segment {} starts at {:.3} s",
                segment.end_seconds,
                position + 1,
                next.start_seconds
            ));
        }
    }
    if let Some(audio) = audio {
        if (audio.timeline_offset_seconds - first.timeline_offset_seconds).abs() > 1e-9 {
            return invalid("the audio track was transcoded with other options than the segments".into());
        }
        if audio.chunks.is_empty() {
            return invalid("the audio track has no chunks".into());
        }
    }
    Ok(())
}

/// Whether two paths name the same existing directory.
fn same_directory(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), VideoError> {
    std::fs::write(path, bytes).map_err(|error| VideoError::io(path, error))
}

/// Hard-links (or copies, across file systems) each of `names` from `from` into `to`.
fn link_files(from: &Path, to: &Path, names: &[&str]) -> Result<(), VideoError> {
    for name in names {
        let (source, target) = (from.join(name), to.join(name));
        if std::fs::hard_link(&source, &target).is_err() {
            std::fs::copy(&source, &target).map_err(|error| VideoError::io(&source, error))?;
        }
    }
    Ok(())
}

/// Writes the files `names` of `directory`, one after the other, to `target`: an init segment and
/// its chunks make one fragmented MP4.
fn concatenate(directory: &Path, names: &[&str], target: &Path) -> Result<(), VideoError> {
    let mut output = std::fs::File::create(target).map_err(|error| VideoError::io(target, error))?;
    for name in names {
        let source = directory.join(name);
        let mut input = std::fs::File::open(&source).map_err(|error| VideoError::io(&source, error))?;
        std::io::copy(&mut input, &mut output).map_err(|error| VideoError::io(target, error))?;
    }
    Ok(())
}

/// Opens a fragmented MP4 this module wrote, timing fragments by their `tfdt`.
fn open_fragmented(path: &Path) -> Result<Input, VideoError> {
    let url = path
        .to_str()
        .filter(|text| !text.contains('\0'))
        .ok_or_else(|| VideoError::InvalidOptions(format!("path {} is not UTF-8", path.display())))?;
    let mut options = Dictionary::new();
    options.set("format_whitelist", "mov");
    options.set("protocol_whitelist", "file");
    options.set("use_tfdt", "1");
    ffmpeg_next::format::input_with_dictionary(&format!("file:{url}"), options)
        .map_err(|error| VideoError::encode(format!("reading {}", path.display()), error))
}

/// One input of a remux: its stream, the output stream it goes to, and the next packet.
struct RemuxInput {
    input: Input,
    input_time_base: Rational,
    output_stream: usize,
    shift: i64,
    next: Option<Packet>,
    /// The latest interval between decode timestamps, and the latest decode timestamp: the
    /// demuxer leaves packets of fragments without durations, and the muxer needs the last one's.
    last_interval: i64,
    last_dts: Option<i64>,
}

impl RemuxInput {
    fn advance(&mut self, path: &Path) -> Result<(), VideoError> {
        let mut packet = Packet::empty();
        self.next = match packet.read(&mut self.input) {
            Ok(()) => Some(packet),
            Err(ffmpeg_next::Error::Eof) => None,
            Err(error) => return Err(VideoError::encode(format!("reading {}", path.display()), error)),
        };
        Ok(())
    }

    /// The next packet's decode time in seconds (for interleaving).
    fn next_seconds(&self) -> Option<f64> {
        let packet = self.next.as_ref()?;
        let ticks = packet.dts().or(packet.pts()).unwrap_or(0) - self.shift;
        Some(ticks as f64 * f64::from(self.input_time_base))
    }
}

/// Remuxes the single-stream fragmented MP4 `video` and, when given, `audio` into a faststart MP4
/// at `target`, moving timestamps `offset_seconds` earlier (back onto the output timeline).
fn remux_mp4(
    video: &Path,
    audio: Option<&Path>,
    offset_seconds: f64,
    target: &Path,
) -> Result<(), VideoError> {
    let url = target
        .to_str()
        .filter(|text| !text.contains('\0'))
        .ok_or_else(|| VideoError::InvalidOptions(format!("path {} is not UTF-8", target.display())))?;
    let failed = |operation: &str, error: ffmpeg_next::Error| {
        VideoError::encode(format!("{operation} {}", target.display()), error)
    };
    let mut output: Output =
        ffmpeg_next::format::output_as(&url, "mp4").map_err(|error| failed("creating", error))?;
    let mut inputs = Vec::new();
    for (path, kind) in [(Some(video), "video"), (audio, "audio")] {
        let Some(path) = path else { continue };
        let input = open_fragmented(path)?;
        let stream = input.streams().next().ok_or_else(|| {
            VideoError::encode(format!("reading {}", path.display()), format!("no {kind} stream"))
        })?;
        let input_time_base = stream.time_base();
        let mut output_stream = output
            .add_stream(encoder::find(codec::Id::None))
            .map_err(|error| failed("adding a stream to", error))?;
        output_stream.set_parameters(stream.parameters());
        output_stream.set_time_base(input_time_base);
        // SAFETY: the new stream's codec parameters are allocated with it; clearing the tag lets
        // the mp4 muxer choose its own (`avc1`, `mp4a`).
        unsafe { (*(*output_stream.as_mut_ptr()).codecpar).codec_tag = 0 };
        let output_index = output_stream.index();
        inputs.push((
            path.to_owned(),
            RemuxInput {
                input,
                input_time_base,
                output_stream: output_index,
                shift: ticks(offset_seconds, input_time_base),
                next: None,
                last_interval: 0,
                last_dts: None,
            },
        ));
    }
    let mut options = Dictionary::new();
    options.set("movflags", "+faststart");
    output.write_header_with(options).map_err(|error| failed("writing the header of", error))?;
    let output_time_bases: Vec<Rational> = (0..inputs.len())
        .map(|index| output.stream(index).map_or(Rational::new(1, 1), |stream| stream.time_base()))
        .collect();
    for (path, input) in &mut inputs {
        input.advance(path)?;
    }
    loop {
        let earliest = inputs
            .iter()
            .enumerate()
            .filter_map(|(index, (_, input))| input.next_seconds().map(|seconds| (index, seconds)))
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
            .map(|(index, _)| index);
        let Some(index) = earliest else { break };
        let (path, input) = &mut inputs[index];
        if let Some(mut packet) = input.next.take() {
            packet.set_pts(packet.pts().map(|pts| pts - input.shift));
            packet.set_dts(packet.dts().map(|dts| dts - input.shift));
            if let (Some(dts), Some(last)) = (packet.dts(), input.last_dts)
                && dts > last
            {
                input.last_interval = dts - last;
            }
            input.last_dts = packet.dts().or(input.last_dts);
            if packet.duration() <= 0 {
                packet.set_duration(input.last_interval);
            }
            packet.set_stream(input.output_stream);
            packet.rescale_ts(input.input_time_base, output_time_bases[input.output_stream]);
            packet.set_position(-1);
            packet.write_interleaved(&mut output).map_err(|error| failed("writing", error))?;
        }
        input.advance(path)?;
    }
    output.write_trailer().map_err(|error| failed("finishing", error))?;
    Ok(())
}
