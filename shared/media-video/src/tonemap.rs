//! HDR to SDR: PQ and HLG sources are tone-mapped to 8-bit BT.709 once per frame, at the size of
//! the largest output, before anything is scaled for renditions or posters. Without it, HDR phone
//! videos (iPhones record HLG by default) come out grey and washed out on ordinary screens.
//!
//! The filter chain is the one FFmpeg's documentation recommends: linearise with zimg (`zscale`),
//! convert BT.2020 primaries to BT.709, compress highlights with the Hable curve (`tonemap`), then
//! back to limited-range BT.709 4:2:0.

use ffmpeg_next::filter;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::util::frame::Video as VideoFrame;
use ffmpeg_next::{Rational, ffi};

use crate::VideoError;
use crate::probe::DynamicRange;

/// What a filter graph was built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InputKey {
    format: Pixel,
    width: u32,
    height: u32,
}

/// Tone-maps decoded HDR frames to SDR YUV420P at a fixed size.
pub(crate) struct ToneMapper {
    /// `smpte2084` or `arib-std-b67`.
    transfer: &'static str,
    width: u32,
    height: u32,
    time_base: Rational,
    graph: Option<(filter::Graph, InputKey)>,
    output: VideoFrame,
}

impl ToneMapper {
    /// A tone mapper for a source of `dynamic_range` producing `width`×`height` (stored orientation),
    /// or `None` for SDR sources, or when FFmpeg lacks the filters (then HDR passes through untouched
    /// and a warning is logged).
    pub(crate) fn for_source(
        dynamic_range: DynamicRange,
        width: u32,
        height: u32,
        time_base: Rational,
    ) -> Option<Self> {
        let transfer = match dynamic_range {
            DynamicRange::Sdr => return None,
            DynamicRange::HdrPq => "smpte2084",
            DynamicRange::HdrHlg => "arib-std-b67",
        };
        if filter::find("zscale").is_none() || filter::find("tonemap").is_none() {
            tracing::warn!("FFmpeg has no zscale/tonemap filters: HDR is not tone-mapped");
            return None;
        }
        Some(ToneMapper { transfer, width, height, time_base, graph: None, output: VideoFrame::empty() })
    }

    /// Tone-maps `frame`. Its timestamp is carried over; the result is valid until the next call.
    pub(crate) fn map(&mut self, frame: &VideoFrame) -> Result<&mut VideoFrame, VideoError> {
        let key = InputKey { format: frame.format(), width: frame.width(), height: frame.height() };
        if self.graph.as_ref().is_none_or(|(_, built_for)| *built_for != key) {
            self.graph = Some((self.build(key)?, key));
        }
        let Some((graph, _)) = self.graph.as_mut() else {
            return Err(VideoError::encode("tone-mapping", "no filter graph"));
        };
        let failed = |error: ffmpeg_next::Error| VideoError::encode("tone-mapping a frame", error);
        // The buffer source takes over the frame's buffers; hand it a new reference instead.
        let mut reference = VideoFrame::empty();
        // SAFETY: both frames are valid; av_frame_ref adds a reference to the decoded frame's buffers.
        let referenced = unsafe { ffi::av_frame_ref(reference.as_mut_ptr(), frame.as_ptr()) };
        if referenced < 0 {
            return Err(failed(ffmpeg_next::Error::from(referenced)));
        }
        assume_hdr_properties(&mut reference);
        let mut source = graph.get("in").ok_or_else(|| VideoError::encode("tone-mapping", "no source"))?;
        source.source().add(&reference).map_err(failed)?;
        let mut sink = graph.get("out").ok_or_else(|| VideoError::encode("tone-mapping", "no sink"))?;
        sink.sink().frame(&mut self.output).map_err(failed)?;
        self.output.set_pts(frame.pts());
        Ok(&mut self.output)
    }

    fn build(&self, key: InputKey) -> Result<filter::Graph, VideoError> {
        let failed =
            |error: ffmpeg_next::Error| VideoError::encode("building the tone-mapping filters", error);
        let format_name = key.format.descriptor().map(|descriptor| descriptor.name()).unwrap_or("none");
        let mut graph = filter::Graph::new();
        let buffer =
            filter::find("buffer").ok_or_else(|| VideoError::encode("tone-mapping", "no buffer filter"))?;
        let sink =
            filter::find("buffersink").ok_or_else(|| VideoError::encode("tone-mapping", "no sink filter"))?;
        let arguments = format!(
            "video_size={}x{}:pix_fmt={format_name}:time_base={}/{}:pixel_aspect=1/1",
            key.width,
            key.height,
            self.time_base.numerator(),
            self.time_base.denominator().max(1)
        );
        graph.add(&buffer, "in", &arguments).map_err(failed)?;
        graph.add(&sink, "out", "").map_err(failed)?;
        let chain = format!(
            "zscale=w={w}:h={h}:filter=bicubic:tin={transfer}:pin=bt2020:min=bt2020nc:t=linear:npl=100,\
             format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,\
             zscale=t=bt709:m=bt709:r=tv,format=yuv420p",
            w = self.width,
            h = self.height,
            transfer = self.transfer
        );
        graph
            .output("in", 0)
            .and_then(|parser| parser.input("out", 0))
            .and_then(|parser| parser.parse(&chain))
            .map_err(failed)?;
        graph.validate().map_err(failed)?;
        Ok(graph)
    }
}

/// zimg needs every colour property of its input: fills in what HDR streams use when the decoder
/// left one unspecified (limited range, BT.2020, left-sited chroma).
fn assume_hdr_properties(frame: &mut VideoFrame) {
    use ffmpeg_next::util::color::{Primaries, Range, Space};
    if frame.color_range() == Range::Unspecified {
        frame.set_color_range(Range::MPEG);
    }
    if frame.color_primaries() == Primaries::Unspecified {
        frame.set_color_primaries(Primaries::BT2020);
    }
    if frame.color_space() == Space::Unspecified {
        frame.set_color_space(Space::BT2020NCL);
    }
    // SAFETY: a plain enum field of a frame we own, set to a valid value.
    unsafe {
        let raw = frame.as_mut_ptr();
        if (*raw).chroma_location == ffi::AVChromaLocation::AVCHROMA_LOC_UNSPECIFIED {
            (*raw).chroma_location = ffi::AVChromaLocation::AVCHROMA_LOC_LEFT;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdr_sources_are_not_tone_mapped() {
        crate::init();
        assert!(ToneMapper::for_source(DynamicRange::Sdr, 64, 36, Rational::new(1, 25)).is_none());
    }

    #[test]
    fn pq_and_hlg_frames_become_sdr_frames_of_the_output_size() {
        for range in [DynamicRange::HdrPq, DynamicRange::HdrHlg] {
            map_mid_grey(range);
        }
    }

    fn map_mid_grey(range: DynamicRange) {
        crate::init();
        let mut mapper = ToneMapper::for_source(range, 32, 18, Rational::new(1, 25)).expect("zscale");
        let mut frame = VideoFrame::new(Pixel::YUV420P10LE, 64, 36);
        for plane in 0..3 {
            // Mid-grey in 10-bit limited range, as 16-bit little-endian samples.
            for sample in frame.data_mut(plane).chunks_exact_mut(2) {
                sample.copy_from_slice(&512u16.to_le_bytes());
            }
        }
        // No colour properties at all: the mapper assumes what HDR10 streams use.
        frame.set_pts(Some(7));
        let mapped = mapper.map(&frame).expect("maps");
        assert_eq!(
            (mapped.format(), mapped.width(), mapped.height(), mapped.pts()),
            (Pixel::YUV420P, 32, 18, Some(7))
        );
        // Code value 512 is a mid tone in both PQ (about 90 nits) and HLG: neither black nor white.
        let luma = mapped.data(0)[0];
        assert!((40..=200).contains(&luma), "{range:?}: luma {luma}");
    }
}
