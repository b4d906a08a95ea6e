//! The few raw FFmpeg reads ffmpeg-next does not wrap, each behind a safe function.

use std::ffi::{CStr, c_char};

use ffmpeg_next::ffi;
use ffmpeg_next::format::stream::Stream;

/// The codec parameters of `stream`, borrowed for as long as the stream (and so its format context).
pub(crate) fn codec_parameters<'s>(stream: &'s Stream<'_>) -> &'s ffi::AVCodecParameters {
    // SAFETY: every stream of an open format context has a non-null `codecpar`, owned by the stream
    // and freed only with the context, which `stream` borrows. FFmpeg stores only values of their
    // enums in the enum-typed fields.
    unsafe { &*(*stream.as_ptr()).codecpar }
}

/// Copies a nullable, NUL-terminated C string owned by FFmpeg.
fn owned_string(text: *const c_char) -> Option<String> {
    if text.is_null() {
        return None;
    }
    // SAFETY: FFmpeg returns either null (handled above) or a static NUL-terminated string.
    Some(unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned())
}

/// FFmpeg's name of a codec (`h264`, `aac`).
pub(crate) fn codec_name(id: ffi::AVCodecID) -> String {
    // SAFETY: `avcodec_get_name` accepts any codec id and returns a static string.
    owned_string(unsafe { ffi::avcodec_get_name(id) }).unwrap_or_else(|| "unknown".into())
}

/// FFmpeg's name of a codec profile (`High`, `Main 10`, `LC`), when the codec has named profiles.
pub(crate) fn profile_name(id: ffi::AVCodecID, profile: i32) -> Option<String> {
    if profile < 0 {
        return None;
    }
    // SAFETY: `avcodec_profile_name` accepts any id and profile and returns null or a static string.
    owned_string(unsafe { ffi::avcodec_profile_name(id, profile) })
}

/// A pixel format's descriptor, found by its raw value without transmuting an unchecked integer
/// into the `AVPixelFormat` enum.
fn pixel_format_descriptor(raw_format: i32) -> Option<&'static ffi::AVPixFmtDescriptor> {
    let mut descriptor: *const ffi::AVPixFmtDescriptor = std::ptr::null();
    loop {
        // SAFETY: `av_pix_fmt_desc_next` walks FFmpeg's static descriptor table from null.
        descriptor = unsafe { ffi::av_pix_fmt_desc_next(descriptor) };
        if descriptor.is_null() {
            return None;
        }
        // SAFETY: `descriptor` is a valid entry of the static table.
        if unsafe { ffi::av_pix_fmt_desc_get_id(descriptor) } as i32 == raw_format {
            // SAFETY: the table is static, so the reference lives forever.
            return Some(unsafe { &*descriptor });
        }
    }
}

/// The name (`yuv420p10le`) and bit depth of the luma plane of a raw `AVPixelFormat` value.
pub(crate) fn pixel_format_name_and_depth(raw_format: i32) -> Option<(String, u8)> {
    let descriptor = pixel_format_descriptor(raw_format)?;
    let name = owned_string(descriptor.name)?;
    let depth = u8::try_from(descriptor.comp[0].depth).unwrap_or(0);
    Some((name, depth))
}

/// Names of the colour properties: transfer, primaries, matrix. `None` when unspecified.
pub(crate) fn color_names(parameters: &ffi::AVCodecParameters) -> [Option<String>; 3] {
    use ffi::{AVColorPrimaries, AVColorSpace, AVColorTransferCharacteristic};
    let transfer = parameters.color_trc;
    let primaries = parameters.color_primaries;
    let space = parameters.color_space;
    // SAFETY: the name functions accept any value of their enum and return null or a static string.
    unsafe {
        [
            (transfer != AVColorTransferCharacteristic::AVCOL_TRC_UNSPECIFIED)
                .then(|| owned_string(ffi::av_color_transfer_name(transfer)))
                .flatten(),
            (primaries != AVColorPrimaries::AVCOL_PRI_UNSPECIFIED)
                .then(|| owned_string(ffi::av_color_primaries_name(primaries)))
                .flatten(),
            (space != AVColorSpace::AVCOL_SPC_UNSPECIFIED)
                .then(|| owned_string(ffi::av_color_space_name(space)))
                .flatten(),
        ]
    }
}

/// A channel layout described the way FFmpeg prints it (`stereo`, `5.1(side)`, `3 channels`).
pub(crate) fn channel_layout_name(layout: &ffi::AVChannelLayout) -> Option<String> {
    let mut buffer = [0 as c_char; 128];
    // SAFETY: `layout` is a valid channel layout; the buffer is writable for the length we pass and
    // FFmpeg NUL-terminates within it.
    let written = unsafe { ffi::av_channel_layout_describe(layout, buffer.as_mut_ptr(), buffer.len()) };
    if written <= 0 {
        return None;
    }
    owned_string(buffer.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_formats_are_found_by_raw_value() {
        let yuv420p = ffi::AVPixelFormat::AV_PIX_FMT_YUV420P as i32;
        assert_eq!(pixel_format_name_and_depth(yuv420p), Some(("yuv420p".into(), 8)));
        let p10 = ffi::AVPixelFormat::AV_PIX_FMT_YUV420P10LE as i32;
        assert_eq!(pixel_format_name_and_depth(p10), Some(("yuv420p10le".into(), 10)));
        assert_eq!(pixel_format_name_and_depth(-1), None);
        assert_eq!(pixel_format_name_and_depth(100_000), None);
    }

    #[test]
    fn codec_and_profile_names() {
        assert_eq!(codec_name(ffi::AVCodecID::AV_CODEC_ID_H264), "h264");
        assert_eq!(profile_name(ffi::AVCodecID::AV_CODEC_ID_H264, 100).as_deref(), Some("High"));
        assert_eq!(profile_name(ffi::AVCodecID::AV_CODEC_ID_H264, -99), None);
    }
}
