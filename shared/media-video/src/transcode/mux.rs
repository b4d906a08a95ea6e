//! Muxers: faststart MP4 (and M4A) files and HLS variant playlists, fed the same encoded packets.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use ffmpeg_next::format::context::Output;
use ffmpeg_next::packet::{Mut as _, Ref as _};
use ffmpeg_next::{Dictionary, Packet, Rational, codec, ffi};

use crate::VideoError;
use crate::transcode::HlsSegmentFormat;

/// How an HLS variant is segmented.
#[derive(Debug, Clone)]
pub(crate) struct HlsVariantOptions {
    /// File name stem of the playlist, init segment and segments (`720p`).
    pub stem: String,
    /// fMP4 or MPEG-TS segments.
    pub segment_format: HlsSegmentFormat,
    /// Target segment duration; segments are cut at the first keyframe after it.
    pub segment_seconds: u32,
}

/// A stream of a muxer and the time base its packets arrive in.
#[derive(Debug, Clone, Copy)]
struct Slot {
    index: usize,
    encoder_time_base: Rational,
    stream_time_base: Rational,
}

/// One output file (or HLS variant) being written.
pub(crate) struct Muxer {
    output: Output,
    path: PathBuf,
    video: Option<Slot>,
    audio: Option<Slot>,
    /// Which rendition's video this muxer carries.
    pub(crate) rendition: Option<usize>,
    /// For fragmented MP4: where fragments are cut, and the timeline shift.
    chunks: Option<ChunkCutter>,
}

/// Cuts a one-stream fragmented MP4 into fragments of about `chunk_ticks` each, at keyframes (a
/// fragment per HLS chunk), and shifts timestamps by `shift` (both in the encoder's time base).
#[derive(Debug, Clone)]
pub(crate) struct ChunkCutter {
    chunk_ticks: i64,
    shift: i64,
    /// Shifted presentation time of each fragment's first packet.
    starts: Vec<i64>,
    /// The latest shifted presentation end (pts plus duration) of any packet.
    end: i64,
}

/// Where the fragments of a fragmented MP4 start and where the stream ends: shifted timestamps in
/// the encoder's time base.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChunkTimes {
    pub starts: Vec<i64>,
    pub end: i64,
    pub time_base: Rational,
}

/// The encoders whose streams a muxer carries.
pub(crate) struct MuxerStreams<'a> {
    /// The video encoder and its time base, and the rendition it belongs to.
    pub video: Option<(&'a codec::Context, Rational, usize)>,
    /// The audio encoder and its time base.
    pub audio: Option<(&'a codec::Context, Rational)>,
}

impl Muxer {
    /// An MP4 (or, for an `.m4a` path, M4A) file with the `moov` atom moved to the front on finish.
    pub(crate) fn mp4(path: &Path, streams: MuxerStreams<'_>) -> Result<Muxer, VideoError> {
        let format =
            if path.extension().is_some_and(|extension| extension == "m4a") { "ipod" } else { "mp4" };
        let url = output_url(path)?;
        let output = ffmpeg_next::format::output_as(&url, format)
            .map_err(|error| mux_error(path, "creating", error))?;
        let mut options = Dictionary::new();
        options.set("movflags", "+faststart");
        Muxer::start(output, path, streams, options)
    }

    /// An HLS variant: `<stem>.m3u8` at `playlist_path`, segments beside it.
    pub(crate) fn hls(
        playlist_path: &Path,
        hls: &HlsVariantOptions,
        streams: MuxerStreams<'_>,
    ) -> Result<Muxer, VideoError> {
        let url = output_url(playlist_path)?;
        let directory = playlist_path.parent().unwrap_or(Path::new("."));
        let extension = match hls.segment_format {
            HlsSegmentFormat::Fmp4 => "m4s",
            HlsSegmentFormat::MpegTs => "ts",
        };
        // A pattern: FFmpeg replaces `%05d` (the caller's work folder has no `%`, see `transcode`).
        let segment_pattern = format!("{}/{}_%05d.{extension}", output_url(directory)?, hls.stem);
        let format = CString::new("hls").map_err(|error| VideoError::encode("creating HLS", error))?;
        let c_url = CString::new(url.as_str()).map_err(|error| VideoError::encode("creating HLS", error))?;
        let mut context = std::ptr::null_mut();
        // SAFETY: both strings are NUL-terminated and outlive the call; on success the context is
        // owned by `Output`, whose drop frees it (the hls muxer opens and closes its own files).
        let output = unsafe {
            let result = ffi::avformat_alloc_output_context2(
                &mut context,
                std::ptr::null(),
                format.as_ptr(),
                c_url.as_ptr(),
            );
            if result < 0 || context.is_null() {
                return Err(mux_error(playlist_path, "creating", ffmpeg_next::Error::from(result)));
            }
            Output::wrap(context)
        };
        let mut options = Dictionary::new();
        options.set("hls_time", &hls.segment_seconds.to_string());
        options.set("hls_playlist_type", "vod");
        options.set("hls_flags", "independent_segments");
        options.set("hls_segment_filename", &segment_pattern);
        match hls.segment_format {
            HlsSegmentFormat::Fmp4 => {
                options.set("hls_segment_type", "fmp4");
                options.set("hls_fmp4_init_filename", &format!("{}_init.mp4", hls.stem));
            }
            HlsSegmentFormat::MpegTs => options.set("hls_segment_type", "mpegts"),
        }
        Muxer::start(output, playlist_path, streams, options)
    }

    /// A fragmented MP4 of one stream at `path`: `ftyp` and an empty `moov` (the same for every
    /// file of the same encoder settings), then one `moof`+`mdat` fragment per chunk of about
    /// `chunk_seconds`, cut before a keyframe. Timestamps are written as given plus
    /// `shift_seconds` (never shifted to zero), so each fragment's `tfdt` is its decode time on
    /// the shared output timeline. No edit list: HLS players ignore them.
    pub(crate) fn fragmented_mp4(
        path: &Path,
        streams: MuxerStreams<'_>,
        chunk_seconds: f64,
        shift_seconds: f64,
    ) -> Result<Muxer, VideoError> {
        let time_base = match (streams.video, streams.audio) {
            (Some((_, time_base, _)), None) | (None, Some((_, time_base))) => time_base,
            _ => return Err(VideoError::encode("creating a fragmented MP4", "it takes exactly one stream")),
        };
        let url = output_url(path)?;
        let output = ffmpeg_next::format::output_as(&url, "mp4")
            .map_err(|error| mux_error(path, "creating", error))?;
        let mut options = Dictionary::new();
        options.set("movflags", "+frag_custom+empty_moov+default_base_moof+frag_discont+skip_trailer");
        options.set("use_editlist", "0");
        options.set("avoid_negative_ts", "disabled");
        let mut muxer = Muxer::start(output, path, streams, options)?;
        let ticks = |seconds: f64| (seconds / f64::from(time_base)).round() as i64;
        muxer.chunks = Some(ChunkCutter {
            chunk_ticks: ticks(chunk_seconds).max(1),
            shift: ticks(shift_seconds),
            starts: Vec::new(),
            end: 0,
        });
        Ok(muxer)
    }

    /// The fragments' start times of a fragmented MP4 (see [`Muxer::fragmented_mp4`]).
    pub(crate) fn chunk_times(&self) -> Option<ChunkTimes> {
        let slot = self.video.or(self.audio)?;
        self.chunks.as_ref().map(|cutter| ChunkTimes {
            starts: cutter.starts.clone(),
            end: cutter.end,
            time_base: slot.encoder_time_base,
        })
    }

    fn start(
        mut output: Output,
        path: &Path,
        streams: MuxerStreams<'_>,
        options: Dictionary,
    ) -> Result<Muxer, VideoError> {
        let mut add = |context: &codec::Context, time_base: Rational| -> Result<usize, VideoError> {
            let mut stream = output
                .add_stream_with(context)
                .map_err(|error| mux_error(path, "adding a stream to", error))?;
            stream.set_time_base(time_base);
            Ok(stream.index())
        };
        let video = streams
            .video
            .map(|(context, time_base, _)| Ok::<_, VideoError>((add(context, time_base)?, time_base)))
            .transpose()?;
        let audio = streams
            .audio
            .map(|(context, time_base)| Ok::<_, VideoError>((add(context, time_base)?, time_base)))
            .transpose()?;
        output.write_header_with(options).map_err(|error| mux_error(path, "writing the header of", error))?;
        let slot = |(index, encoder_time_base): (usize, Rational)| Slot {
            index,
            encoder_time_base,
            stream_time_base: output.stream(index).map_or(encoder_time_base, |stream| stream.time_base()),
        };
        Ok(Muxer {
            video: video.map(slot),
            audio: audio.map(slot),
            rendition: streams.video.map(|(_, _, rendition)| rendition),
            path: path.to_owned(),
            output,
            chunks: None,
        })
    }

    /// Whether the muxer carries audio.
    pub(crate) fn has_audio(&self) -> bool {
        self.audio.is_some()
    }

    /// Writes an encoded video packet (in the encoder's time base).
    pub(crate) fn write_video(&mut self, packet: &Packet) -> Result<(), VideoError> {
        let slot = self.video;
        self.write(slot, packet)
    }

    /// Writes an encoded audio packet (in the encoder's time base).
    pub(crate) fn write_audio(&mut self, packet: &Packet) -> Result<(), VideoError> {
        let slot = self.audio;
        self.write(slot, packet)
    }

    fn write(&mut self, slot: Option<Slot>, packet: &Packet) -> Result<(), VideoError> {
        let Some(slot) = slot else { return Ok(()) };
        let mut copy = new_reference(packet)?;
        if let Some(cutter) = self.chunks.as_mut() {
            copy.set_pts(packet.pts().map(|pts| pts + cutter.shift));
            copy.set_dts(packet.dts().map(|dts| dts + cutter.shift));
            let pts = copy.pts().or(copy.dts()).unwrap_or(cutter.end);
            let cut = match cutter.starts.last() {
                None => true,
                Some(start) => (packet.is_key() || self.video.is_none()) && pts - start >= cutter.chunk_ticks,
            };
            if cut {
                if !cutter.starts.is_empty() {
                    // SAFETY: a null packet asks a muxer with AVFMT_ALLOW_FLUSH (mov) to write out
                    // what it buffered: with `frag_custom`, the current fragment.
                    let result =
                        unsafe { ffi::av_write_frame(self.output.as_mut_ptr(), std::ptr::null_mut()) };
                    if result < 0 {
                        return Err(mux_error(
                            &self.path,
                            "flushing a fragment of",
                            ffmpeg_next::Error::from(result),
                        ));
                    }
                }
                cutter.starts.push(pts);
            }
            cutter.end = cutter.end.max(pts + packet.duration().max(0));
            copy.set_stream(slot.index);
            copy.rescale_ts(slot.encoder_time_base, slot.stream_time_base);
            copy.set_position(-1);
            // One stream: nothing to interleave, and a flush must not leave packets queued.
            return copy
                .write(&mut self.output)
                .map(|_| ())
                .map_err(|error| mux_error(&self.path, "writing", error));
        }
        copy.set_stream(slot.index);
        copy.rescale_ts(slot.encoder_time_base, slot.stream_time_base);
        copy.set_position(-1);
        copy.write_interleaved(&mut self.output).map_err(|error| mux_error(&self.path, "writing", error))
    }

    /// Flushes interleaving buffers and writes the trailer (for MP4, moving `moov` to the front).
    pub(crate) fn finish(mut self) -> Result<PathBuf, VideoError> {
        self.output.write_trailer().map_err(|error| mux_error(&self.path, "finishing", error))?;
        Ok(self.path)
    }
}

/// A new reference to `packet`'s data (no copy), so several muxers can each consume one.
fn new_reference(packet: &Packet) -> Result<Packet, VideoError> {
    let mut copy = Packet::empty();
    // SAFETY: both packets are valid; av_packet_ref adds a reference to the same buffer (encoder
    // packets are reference-counted) and copies the properties.
    let result = unsafe { ffi::av_packet_ref(copy.as_mut_ptr(), packet.as_ptr()) };
    if result < 0 {
        return Err(VideoError::encode("referencing a packet", ffmpeg_next::Error::from(result)));
    }
    Ok(copy)
}

/// An output path as FFmpeg takes it: UTF-8 without NUL (ffmpeg-next would panic otherwise).
fn output_url(path: &Path) -> Result<String, VideoError> {
    match path.to_str() {
        Some(text) if !text.contains('\0') => Ok(text.to_owned()),
        _ => Err(VideoError::InvalidOptions(format!(
            "output path {} is not UTF-8 without NUL",
            path.display()
        ))),
    }
}

/// A muxer failure: file-system errors (no space, permissions) are I/O, the rest encoder-side.
fn mux_error(path: &Path, operation: &str, error: ffmpeg_next::Error) -> VideoError {
    match error {
        ffmpeg_next::Error::Other { errno } => VideoError::io(path, std::io::Error::from_raw_os_error(errno)),
        other => VideoError::encode(format!("{operation} {}", path.display()), other),
    }
}
