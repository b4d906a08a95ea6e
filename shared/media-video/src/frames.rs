//! Turning decoded frames into the pictures we encode: scaled, converted, and rotated upright.

use ffmpeg_next::ffi;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling::{self, Flags};
use ffmpeg_next::util::color;
use ffmpeg_next::util::frame::Video as VideoFrame;

use crate::VideoError;
use crate::rotation::{rotate_plane, rotated_size};

/// Converts decoded frames of any size and pixel format to `format` at an upright `width`×`height`,
/// rotating clockwise by `rotation` degrees. The scaler is built on the first frame and rebuilt when
/// the decoded size or format changes mid-stream; buffers are reused from frame to frame.
pub(crate) struct FrameConverter {
    format: Pixel,
    /// Size before rotation (what the scaler produces).
    scaled_width: u32,
    scaled_height: u32,
    rotation: u16,
    scaler: Option<(scaling::Context, ScalerKey)>,
    scaled: VideoFrame,
    rotated: VideoFrame,
}

/// What a scaler was built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ScalerKey {
    format: Pixel,
    width: u32,
    height: u32,
    full_range: bool,
    color_space: color::Space,
}

impl FrameConverter {
    /// A converter to `format` (YUV420P or RGBA) at `width`×`height` after a clockwise `rotation`.
    pub(crate) fn new(format: Pixel, width: u32, height: u32, rotation: u16) -> FrameConverter {
        // The scaler works in stored orientation; rotation comes after, on the smaller picture.
        let (scaled_width, scaled_height) = rotated_size(width, height, rotation);
        FrameConverter {
            format,
            scaled_width,
            scaled_height,
            rotation,
            scaler: None,
            scaled: VideoFrame::new(format, scaled_width, scaled_height),
            rotated: VideoFrame::new(format, width, height),
        }
    }

    /// Whether `frame` can be used as it is: same format and size, limited range, no rotation.
    fn is_passthrough(&self, frame: &VideoFrame) -> bool {
        self.rotation == 0
            && frame.format() == self.format
            && frame.width() == self.scaled_width
            && frame.height() == self.scaled_height
            && frame.color_range() != color::Range::JPEG
    }

    /// Converts `frame`, carrying over its timestamp and picture type. Returns `frame` itself when
    /// it needs no change.
    pub(crate) fn convert<'a>(&'a mut self, frame: &'a VideoFrame) -> Result<&'a VideoFrame, VideoError> {
        if self.is_passthrough(frame) {
            return Ok(frame);
        }
        let key = ScalerKey {
            format: frame.format(),
            width: frame.width(),
            height: frame.height(),
            full_range: frame.color_range() == color::Range::JPEG || is_full_range_format(frame.format()),
            color_space: frame.color_space(),
        };
        if key.width == 0 || key.height == 0 || key.format == Pixel::None {
            return Err(VideoError::CorruptInput { reason: "the decoder produced an empty frame".into() });
        }
        if self.scaler.as_ref().is_none_or(|(_, built_for)| *built_for != key) {
            self.scaler = Some((self.build_scaler(key)?, key));
        }
        let Some((scaler, _)) = self.scaler.as_mut() else {
            return Err(VideoError::encode("scaling a frame", "no scaler"));
        };
        make_writable(&mut self.scaled)?;
        scaler.run(frame, &mut self.scaled).map_err(|error| VideoError::encode("scaling a frame", error))?;
        let output = if self.rotation == 0 {
            &mut self.scaled
        } else {
            make_writable(&mut self.rotated)?;
            rotate_frame(&self.scaled, &mut self.rotated, self.rotation)?;
            &mut self.rotated
        };
        output.set_pts(frame.pts());
        output.set_kind(frame.kind());
        output.set_color_range(if self.format == Pixel::RGBA {
            color::Range::JPEG
        } else {
            color::Range::MPEG
        });
        Ok(output)
    }

    fn build_scaler(&self, key: ScalerKey) -> Result<scaling::Context, VideoError> {
        // Bicubic, as FFmpeg's `scale` filter uses by default, so renditions match the ffmpeg CLI's.
        let mut scaler = scaling::Context::get(
            key.format,
            key.width,
            key.height,
            self.format,
            self.scaled_width,
            self.scaled_height,
            Flags::BICUBIC,
        )
        .map_err(|error| VideoError::UnsupportedCodec {
            stream: "video",
            codec: format!("pixel format {:?} cannot be converted ({error})", key.format),
        })?;
        // YUV matrix from the stream, or by size when unspecified (BT.709 for HD, BT.601 for SD),
        // and the source range, so colours and levels come out as a player would show them.
        let matrix = match key.color_space {
            color::Space::Unspecified | color::Space::Reserved if key.height >= 720 => ffi::SWS_CS_ITU709,
            color::Space::Unspecified | color::Space::Reserved => ffi::SWS_CS_DEFAULT,
            space => ffi::AVColorSpace::from(space) as i32,
        };
        let target_full_range = i32::from(self.format == Pixel::RGBA);
        // SAFETY: the scaler is valid; `sws_getCoefficients` returns a pointer to a static table
        // (falling back to the default for unknown values), which sws_setColorspaceDetails copies.
        unsafe {
            let coefficients = ffi::sws_getCoefficients(matrix);
            ffi::sws_setColorspaceDetails(
                scaler.as_mut_ptr(),
                coefficients,
                i32::from(key.full_range),
                coefficients,
                target_full_range,
                0,
                1 << 16,
                1 << 16,
            );
        }
        Ok(scaler)
    }
}

/// Pixel formats that are full range by definition (JPEG-style YUV).
fn is_full_range_format(format: Pixel) -> bool {
    matches!(format, Pixel::YUVJ420P | Pixel::YUVJ422P | Pixel::YUVJ444P | Pixel::YUVJ440P | Pixel::YUVJ411P)
}

/// Makes `frame`'s buffers writable, copying them if an encoder still holds a reference.
pub(crate) fn make_writable(frame: &mut VideoFrame) -> Result<(), VideoError> {
    // SAFETY: `frame` is a valid, allocated frame that we own.
    let result = unsafe { ffi::av_frame_make_writable(frame.as_mut_ptr()) };
    if result < 0 {
        return Err(VideoError::encode("allocating a frame", ffmpeg_next::Error::from(result)));
    }
    Ok(())
}

/// Rotates every plane of `source` (YUV420P or RGBA) into `target`, whose size is already rotated.
fn rotate_frame(source: &VideoFrame, target: &mut VideoFrame, rotation: u16) -> Result<(), VideoError> {
    for plane in 0..source.planes() {
        let (width, height) = (source.plane_width(plane) as usize, source.plane_height(plane) as usize);
        let (source_stride, target_stride) = (source.stride(plane), target.stride(plane));
        let done = if source.format() == Pixel::RGBA {
            rotate_plane::<4>(
                source.data(plane),
                source_stride,
                width,
                height,
                target.data_mut(plane),
                target_stride,
                rotation,
            )
        } else {
            rotate_plane::<1>(
                source.data(plane),
                source_stride,
                width,
                height,
                target.data_mut(plane),
                target_stride,
                rotation,
            )
        };
        if !done {
            return Err(VideoError::encode("rotating a frame", "plane buffers do not match the frame size"));
        }
    }
    Ok(())
}

/// Copies the pixels of an RGBA frame into a tightly packed buffer (`width * 4` bytes a row).
pub(crate) fn packed_rgba(frame: &VideoFrame) -> Vec<u8> {
    let row_bytes = frame.width() as usize * 4;
    let stride = frame.stride(0);
    frame
        .data(0)
        .chunks(stride)
        .take(frame.height() as usize)
        .flat_map(|row| &row[..row_bytes])
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4×2 RGBA frame: a red left half, a blue right half.
    fn red_and_blue() -> VideoFrame {
        crate::init();
        let mut frame = VideoFrame::new(Pixel::RGBA, 4, 2);
        let stride = frame.stride(0);
        for y in 0..2 {
            for x in 0..4 {
                let pixel = if x < 2 { [255, 0, 0, 255] } else { [0, 0, 255, 255] };
                frame.data_mut(0)[y * stride + x * 4..y * stride + x * 4 + 4].copy_from_slice(&pixel);
            }
        }
        frame.set_pts(Some(42));
        frame
    }

    #[test]
    fn rotation_turns_the_left_half_into_the_top_half() {
        let source = red_and_blue();
        let mut converter = FrameConverter::new(Pixel::RGBA, 2, 4, 90);
        let rotated = converter.convert(&source).expect("converts");
        assert_eq!((rotated.width(), rotated.height()), (2, 4));
        assert_eq!(rotated.pts(), Some(42));
        let pixels = packed_rgba(rotated);
        assert_eq!(pixels.len(), 2 * 4 * 4);
        // Turned clockwise, the red left half is on top and the blue right half at the bottom.
        assert_eq!(&pixels[..4], &[255, 0, 0, 255]);
        assert_eq!(&pixels[pixels.len() - 4..], &[0, 0, 255, 255]);
    }

    #[test]
    fn frames_of_the_target_size_and_format_pass_through() {
        let source = red_and_blue();
        let mut converter = FrameConverter::new(Pixel::RGBA, 4, 2, 0);
        let output = converter.convert(&source).expect("converts");
        assert!(std::ptr::eq(output, &source));
    }
}
