//! Baseline JPEGs decoded at 1/8 scale from their DC coefficients alone.
//!
//! At 1/8 scale every 8×8 block becomes one pixel whose value depends only on the block's DC
//! coefficient, yet libjpeg-turbo still Huffman-decodes every AC coefficient before throwing it
//! away, and that is about 90 % of a thumbnail's time. Here an AC coefficient is skipped rather than
//! decoded: each AC Huffman table is expanded into a lookup table indexed by the next
//! [`LOOKAHEAD`] bits that gives, in one step, how many bits the code *and* its magnitude bits take
//! and how far it advances in the block (the idea of JParEnt's block-boundary scanner, Sodsong et
//! al., 2017), and one lookup takes as many whole symbols as the window holds. DC prediction,
//! restart intervals, dequantisation, chroma replication and the YCbCr→RGB conversion reproduce
//! libjpeg-turbo's 1/8-scale output: `jpeg_idct_1x1`, plain upsampling (fancy upsampling needs a
//! DCT size above 1) and `ycc_rgb_convert`'s fixed-point tables. The exception is 4:2:0 chroma,
//! which libjpeg-turbo scales up with a 2×2 IDCT instead of upsampling it, so those blocks' AC
//! coefficients are decoded and go through the same `jpeg_idct_2x2`. The tests allow ±1 per
//! channel for SIMD rounding; on the benchmark photos the output is identical.
//!
//! Only what this reproduces exactly is taken: 8-bit baseline or extended-sequential Huffman JPEGs,
//! greyscale or YCbCr, with one scan holding every component. Anything else (progressive,
//! arithmetic, 12-bit, lossless, CMYK, RGB, separate scans, a damaged entropy stream) returns
//! `None`, and the caller decodes it with libjpeg-turbo, which also reports what is wrong.

use image::RgbImage;

/// Bits of lookahead in the Huffman lookup tables: 4096 two-byte entries per table, small enough
/// to stay in L1 (14 bits measured no faster), wide enough for nearly every code and for one to
/// three AC symbols with their magnitude bits.
const LOOKAHEAD: u32 = 12;

/// The frame (SOF) and the tables in force at its first scan.
struct Frame {
    width: u32,
    height: u32,
    components: Vec<Component>,
    max_h: usize,
    max_v: usize,
}

/// A frame component as this path needs it.
struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant_table: usize,
    /// The quantisers of `quant_table` in natural order, known once the scan starts (tables may
    /// follow the frame).
    quant: [i32; 64],
    /// Indices into [`Tables`].
    dc_table: usize,
    ac_table: usize,
    /// Samples per block side at 1/8 scale: 1 (the DC alone), or 2 where libjpeg-turbo scales a
    /// subsampled component up in the IDCT rather than in the upsampler (4:2:0 chroma).
    scale: usize,
}

/// Decodes `jpeg` at 1/8 scale (each dimension rounded up, as libjpeg does) to 8-bit RGB, or
/// `None` when the file is not one this path reproduces exactly.
pub fn decode_eighth(jpeg: &[u8]) -> Option<RgbImage> {
    let (frame, scan_start, restart_interval, tables) = parse(jpeg)?;
    let planes = decode_scan(&frame, &tables, restart_interval, &jpeg[scan_start..])?;
    let (width, height) = (frame.width.div_ceil(8), frame.height.div_ceil(8));
    let rgb = if frame.components.len() == 1 {
        let (plane, stride) = &planes[0];
        let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
        for y in 0..height as usize {
            rgb.extend(plane[y * stride..][..width as usize].iter().flat_map(|&v| [v; 3]));
        }
        rgb
    } else {
        to_rgb(&frame, &planes, width as usize, height as usize)
    };
    RgbImage::from_raw(width, height, rgb)
}

/// libjpeg-turbo's own 1/8-scale decode of `jpeg` to RGB, the output [`decode_eighth`] reproduces:
/// the reference of its tests, benchmark and fuzz target. `None` when libjpeg-turbo refuses the file;
/// bytes after the scan only draw a warning, which production accepts too.
pub fn libjpeg_turbo_eighth(jpeg: &[u8]) -> Option<RgbImage> {
    let mut decompressor = turbojpeg::Decompressor::new().ok()?;
    let header = decompressor.read_header(jpeg).ok()?;
    decompressor.set_scaling_factor(turbojpeg::ScalingFactor::ONE_EIGHTH).ok()?;
    let (width, height) = (header.width.div_ceil(8), header.height.div_ceil(8));
    let mut pixels = vec![0u8; width * height * 3];
    let image = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width,
        pitch: width * 3,
        height,
        format: turbojpeg::PixelFormat::RGB,
    };
    match decompressor.decompress(jpeg, image) {
        Err(turbojpeg::Error::TurboJpegError(message)) if message.contains("extraneous bytes") => {}
        result => result.ok()?,
    }
    RgbImage::from_raw(width as u32, height as u32, pixels)
}

/// The Huffman tables of the first scan: DC tables 0..4, then AC tables 0..4.
type Tables = [Option<Huffman>; 8];

/// Walks the header up to the first scan: the frame, where the scan's entropy-coded data starts,
/// the restart interval and the Huffman tables.
fn parse(jpeg: &[u8]) -> Option<(Frame, usize, usize, Tables)> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut quant = [None::<[i32; 64]>; 4];
    let mut tables: Tables = Default::default();
    let mut frame: Option<Frame> = None;
    let mut restart_interval = 0;
    let (mut saw_jfif, mut adobe_transform) = (false, None);
    // (sequence number, count) of each ICC profile segment.
    let mut icc_segments = Vec::new();
    let mut pos = 2;
    loop {
        // Fill bytes (0xFF) may precede a marker; anything else between segments is refused here.
        if *jpeg.get(pos)? != 0xFF {
            return None;
        }
        while jpeg.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *jpeg.get(pos + 1)?;
        let length = usize::from(u16::from_be_bytes([*jpeg.get(pos + 2)?, *jpeg.get(pos + 3)?]));
        let body = jpeg.get(pos + 4..(pos + 2).checked_add(length)?)?;
        match marker {
            0xDB => read_quant_tables(body, &mut quant)?,
            0xC4 => read_huffman_tables(body, &mut tables)?,
            0xDD => {
                let [high, low] = body else { return None };
                restart_interval = usize::from(u16::from_be_bytes([*high, *low]));
            }
            // libjpeg warns about a JFIF major version other than 1 (and TurboJPEG then fails).
            0xE0 if body.starts_with(b"JFIF\0") => match body.get(5) {
                Some(1) => saw_jfif = true,
                _ => return None,
            },
            0xEE if body.starts_with(b"Adobe") => adobe_transform = Some(*body.get(11)?),
            0xE2 if body.starts_with(b"ICC_PROFILE\0") && body.len() >= 14 => {
                icc_segments.push((body[12], body[13]))
            }
            // Baseline and extended sequential, Huffman-coded.
            0xC0 | 0xC1 if frame.is_none() => frame = Some(read_frame(body)?),
            0xDA => {
                let mut frame = frame?;
                let components = read_scan(body, &mut frame, &quant)?;
                if components != frame.components.len()
                    || !is_ycbcr_or_gray(&frame, saw_jfif, adobe_transform)
                    || !icc_segments_are_consistent(&icc_segments)
                {
                    return None;
                }
                return Some((frame, pos + 2 + length, restart_interval, tables));
            }
            // Segments libjpeg skips: APPn, COM, DNL, and arithmetic conditioning (DAC).
            0xE0..=0xEF | 0xFE | 0xDC | 0xCC => {}
            // A frame this path does not decode (progressive, lossless, hierarchical, arithmetic)
            // or a second one, end of image before a scan, a marker without a length where a
            // segment belongs, or one libjpeg does not know.
            _ => return None,
        }
        pos += 2 + length;
    }
}

fn read_quant_tables(mut body: &[u8], quant: &mut [Option<[i32; 64]>; 4]) -> Option<()> {
    while let [info, rest @ ..] = body {
        let (precision, id) = (info >> 4, usize::from(info & 15));
        let size = if precision == 0 { 64 } else { 128 };
        let table = rest.get(..size)?;
        let mut natural = [0i32; 64];
        for (k, &position) in NATURAL_ORDER.iter().enumerate() {
            // libjpeg-turbo's SIMD builds keep quantisers in a short, so a 16-bit one above 32767
            // turns negative there.
            natural[position] = if precision == 0 {
                i32::from(table[k])
            } else {
                i32::from(u16::from_be_bytes([table[2 * k], table[2 * k + 1]]) as i16)
            };
        }
        *quant.get_mut(id)? = Some(natural);
        body = &rest[size..];
    }
    Some(())
}

/// The natural (row-major) position of each coefficient in zigzag order.
const NATURAL_ORDER: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
    14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39,
    46, 53, 60, 61, 54, 47, 55, 62, 63,
];

fn read_huffman_tables(mut body: &[u8], tables: &mut Tables) -> Option<()> {
    while let [info, rest @ ..] = body {
        let (class, id) = (usize::from(info >> 4), usize::from(info & 15));
        if class > 1 || id > 3 {
            return None;
        }
        let counts: &[u8; 16] = rest.get(..16)?.try_into().ok()?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if total > 256 {
            return None;
        }
        let values = rest.get(16..16 + total)?;
        tables[class * 4 + id] = Some(Huffman::new(counts, values, class == 1)?);
        body = &rest[16 + total..];
    }
    Some(())
}

fn read_frame(body: &[u8]) -> Option<Frame> {
    let [precision, h1, h0, w1, w0, count, rest @ ..] = body else { return None };
    let (width, height) =
        (u32::from(u16::from_be_bytes([*w1, *w0])), u32::from(u16::from_be_bytes([*h1, *h0])));
    // 8-bit samples, a known height (no DNL), greyscale or three components; libjpeg refuses a
    // segment longer or shorter than its components.
    if *precision != 8
        || width == 0
        || height == 0
        || !matches!(count, 1 | 3)
        || rest.len() != 3 * usize::from(*count)
    {
        return None;
    }
    let mut components = Vec::with_capacity(usize::from(*count));
    for spec in rest.chunks_exact(3).take(usize::from(*count)) {
        let (h, v) = (usize::from(spec[1] >> 4), usize::from(spec[1] & 15));
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) || spec[2] > 3 {
            return None;
        }
        let quant_table = usize::from(spec[2]);
        components.push(Component {
            id: spec[0],
            h,
            v,
            quant_table,
            quant: [0; 64],
            dc_table: 0,
            ac_table: 0,
            scale: 1,
        });
    }
    if components.len() != usize::from(*count) {
        return None;
    }
    let max_h = components.iter().map(|c| c.h).max()?;
    let max_v = components.iter().map(|c| c.v).max()?;
    // libjpeg upsamples by whole factors only.
    if components.iter().any(|c| max_h % c.h != 0 || max_v % c.v != 0) {
        return None;
    }
    // libjpeg-turbo's `jpeg_core_output_dimensions`: a component subsampled by two both ways gets
    // a 2x2 IDCT instead of being upsampled (a single component never is). Larger IDCTs (a
    // component subsampled by four both ways) are left to libjpeg-turbo.
    if count > &1 {
        for component in &mut components {
            while component.scale < 8
                && max_h % (component.h * component.scale * 2) == 0
                && max_v % (component.v * component.scale * 2) == 0
            {
                component.scale *= 2;
            }
            if component.scale > 2 {
                return None;
            }
        }
    }
    Some(Frame { width, height, components, max_h, max_v })
}

/// Reads the scan header into `frame` (table selectors, quantisers) and returns how many
/// components the scan holds, in the frame's order.
fn read_scan(body: &[u8], frame: &mut Frame, quant: &[Option<[i32; 64]>; 4]) -> Option<usize> {
    let [count, rest @ ..] = body else { return None };
    let count = usize::from(*count);
    // libjpeg refuses a segment longer or shorter than its components.
    if rest.len() != 2 * count + 3 {
        return None;
    }
    let specs = rest.get(..2 * count)?;
    let [start, end, approximation] = rest.get(2 * count..2 * count + 3)? else { return None };
    if (*start, *end, *approximation) != (0, 63, 0) {
        return None;
    }
    for (component, spec) in frame.components.iter_mut().zip(specs.chunks_exact(2)) {
        let (dc_table, ac_table) = (usize::from(spec[1] >> 4), usize::from(spec[1] & 15));
        if component.id != spec[0] || dc_table > 3 || ac_table > 3 {
            return None;
        }
        (component.dc_table, component.ac_table) = (dc_table, 4 + ac_table);
        component.quant = quant[component.quant_table]?;
    }
    Some(count)
}

/// Whether an ICC profile split over segments numbers them consistently (libjpeg's
/// `jpeg_read_icc_profile`, which TurboJPEG calls on every header, warns otherwise): one count,
/// and each number from 1 to it exactly once.
fn icc_segments_are_consistent(segments: &[(u8, u8)]) -> bool {
    let Some(&(_, count)) = segments.first() else { return true };
    let mut numbers: Vec<u8> = segments.iter().map(|&(number, _)| number).collect();
    numbers.sort_unstable();
    segments.iter().all(|&(_, other)| other == count) && numbers.iter().copied().eq(1..=count)
}

/// Whether libjpeg would decode this frame as greyscale or YCbCr (rather than RGB, or a colour
/// space it warns about), following `default_decompress_parms`.
fn is_ycbcr_or_gray(frame: &Frame, saw_jfif: bool, adobe_transform: Option<u8>) -> bool {
    if frame.components.len() == 1 || saw_jfif {
        return true;
    }
    match adobe_transform {
        Some(transform) => transform == 1,
        None => {
            let ids: Vec<u8> = frame.components.iter().map(|c| c.id).collect();
            ids != b"RGB"
        }
    }
}

/// A Huffman table, canonical codes of 1 to 16 bits.
struct Huffman {
    /// For each [`LOOKAHEAD`]-bit window starting with a code of at most that many bits:
    /// `length << 8 | symbol`; 0 when the code is longer.
    symbols: Vec<u16>,
    /// AC tables only: for each [`LOOKAHEAD`]-bit window, the whole symbols (code and magnitude
    /// bits) it starts with, as a [`Skip`]; 0 when not even the first one fits.
    skips: Vec<u16>,
    /// The largest code of each length (-1 when there is none), and what to add to a code of
    /// that length to index `values`, for codes longer than the lookahead.
    max_code: [i32; 17],
    value_offset: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], values: &[u8], ac: bool) -> Option<Self> {
        // A DC symbol is a magnitude category; libjpeg refuses a table with one above 15.
        if !ac && values.iter().any(|&value| value > 15) {
            return None;
        }
        let mut symbols = vec![0u16; 1 << LOOKAHEAD];
        // One symbol per window first, then chained into as many as each window holds.
        let mut single = if ac { vec![0u16; 1 << LOOKAHEAD] } else { Vec::new() };
        let (mut max_code, mut value_offset) = ([-1i32; 17], [0i32; 17]);
        let (mut code, mut index) = (0u32, 0usize);
        for length in 1..=16u32 {
            let count = usize::from(counts[length as usize - 1]);
            value_offset[length as usize] = index as i32 - code as i32;
            for &symbol in values.get(index..index + count)? {
                // More codes than the length allows: libjpeg refuses the table too.
                if code >= 1 << length {
                    return None;
                }
                if length <= LOOKAHEAD {
                    let first = (code << (LOOKAHEAD - length)) as usize;
                    let window = first..first + (1 << (LOOKAHEAD - length));
                    symbols[window.clone()].fill((length as u16) << 8 | u16::from(symbol));
                    let bits = length + u32::from(symbol & 15);
                    if ac && bits <= LOOKAHEAD {
                        single[window].fill(Skip::new(bits, advance(symbol), advance(symbol) == 0).0);
                    }
                }
                code += 1;
            }
            index += count;
            if count > 0 {
                max_code[length as usize] = code as i32 - 1;
                // libjpeg also refuses a code of all ones (`jpeg_make_d_derived_tbl`).
                if code >= 1 << length {
                    return None;
                }
            }
            code <<= 1;
        }
        let skips = if ac { Skip::chain(&single) } else { Vec::new() };
        Some(Self { symbols, skips, max_code, value_offset, values: values.to_vec() })
    }

    /// Decodes one symbol; `None` for a code the table does not have.
    #[inline]
    fn decode(&self, bits: &mut Bits) -> Option<u8> {
        let entry = self.symbols[bits.peek(LOOKAHEAD)];
        if entry != 0 {
            bits.consume(u32::from(entry >> 8));
            return Some(entry as u8);
        }
        let window = bits.peek(16) as i32;
        for length in LOOKAHEAD + 1..=16 {
            let code = window >> (16 - length);
            if code <= self.max_code[length as usize] {
                bits.consume(length);
                return self.values.get((code + self.value_offset[length as usize]) as usize).copied();
            }
        }
        None
    }

    /// Decodes one block's AC coefficients into `block` (natural order, zero on entry) and says
    /// whether there were any. A run past the block's end writes the last coefficient, as
    /// libjpeg's padded natural-order table does.
    fn decode_ac(&self, bits: &mut Bits, block: &mut [i16; 64]) -> Option<bool> {
        let mut k = 1;
        while k < 64 {
            bits.ensure();
            let symbol = self.decode(bits)?;
            let (run, size) = (usize::from(symbol >> 4), u32::from(symbol & 15));
            if size == 0 {
                if run != 15 {
                    break;
                }
                k += 16;
                continue;
            }
            k += run;
            block[NATURAL_ORDER.get(k).copied().unwrap_or(63)] = bits.receive_extend(size) as i16;
            k += 1;
        }
        Some(k > 1)
    }

    /// Skips one block's AC coefficients.
    #[inline]
    fn skip_ac(&self, bits: &mut Bits) -> Option<()> {
        let mut k = 1;
        while k < 64 {
            bits.ensure();
            let skip = Skip(self.skips[bits.peek(LOOKAHEAD)]);
            // The window's symbols may be taken together only if the block does not end among
            // them: after the last coefficient (k = 64) come the next block's bits.
            if skip.0 != 0 && k + skip.advance() <= if skip.ends_block() { 63 } else { 64 } {
                bits.consume(skip.bits());
                if skip.ends_block() {
                    break;
                }
                k += skip.advance();
                continue;
            }
            let symbol = self.decode(bits)?;
            bits.consume(u32::from(symbol & 15));
            match advance(symbol) {
                0 => break,
                // A run past the block's end is not an error to libjpeg, which stops there too.
                advance => k += advance,
            }
        }
        Some(())
    }
}

/// How far an AC symbol (run << 4 | size) moves in the block: past its run and its coefficient, 16
/// for a run of 16 zeros (ZRL), 0 for the end of the block.
fn advance(symbol: u8) -> usize {
    match (symbol >> 4, symbol & 15) {
        (run, 1..) => usize::from(run) + 1,
        (15, 0) => 16,
        _ => 0,
    }
}

/// Whole AC symbols at the start of a lookahead window, packed in a `u16`: the bits they take
/// (code and magnitude bits, 1 to [`LOOKAHEAD`]), whether the last one ends the block, and the
/// coefficients the others advance by (at most 16 each).
#[derive(Clone, Copy)]
struct Skip(u16);

impl Skip {
    fn new(bits: u32, advance: usize, ends_block: bool) -> Self {
        Self(bits as u16 | u16::from(ends_block) << 5 | (advance as u16) << 6)
    }

    fn bits(self) -> u32 {
        u32::from(self.0 & 31)
    }

    fn ends_block(self) -> bool {
        self.0 & 32 != 0
    }

    fn advance(self) -> usize {
        usize::from(self.0 >> 6)
    }

    /// Extends each window's first symbol with the ones that follow it within the window. A
    /// following symbol counts only if its code and magnitude bits lie wholly inside the window,
    /// so the zeros that stand in for the bits beyond it never decide one.
    fn chain(single: &[u16]) -> Vec<u16> {
        let mask = (1usize << LOOKAHEAD) - 1;
        (0..single.len())
            .map(|window| {
                let (mut bits, mut advance) = (0, 0);
                loop {
                    let next = Skip(single[(window << bits) & mask]);
                    if next.0 == 0 || bits + next.bits() > LOOKAHEAD {
                        break;
                    }
                    bits += next.bits();
                    if next.ends_block() {
                        return Skip::new(bits, advance, true).0;
                    }
                    advance += next.advance();
                }
                if bits == 0 { 0 } else { Skip::new(bits, advance, false).0 }
            })
            .collect()
    }
}

/// The entropy-coded bits of a scan, most significant first, with stuffed zero bytes removed. At a
/// marker (or the end of the data) it supplies zeros, as libjpeg does, and counts them, so that a
/// decode that needed them can be refused.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buffer: u64,
    count: u32,
    padding: u32,
    at_marker: bool,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0, buffer: 0, count: 0, padding: 0, at_marker: false }
    }

    /// Makes sure at least 32 bits are buffered: a code of up to 16 bits and up to 16 magnitude bits.
    #[inline]
    fn ensure(&mut self) {
        if self.count < 32 {
            self.refill();
        }
    }

    fn refill(&mut self) {
        // Whole bytes at once when none of the next eight is 0xFF (no stuffing, no marker): the
        // common case.
        let next = self.data.get(self.pos..self.pos + 8).and_then(|b| <&[u8; 8]>::try_from(b).ok());
        if let Some(&next) = next.filter(|_| !self.at_marker) {
            let word = u64::from_be_bytes(next);
            // A byte of `word` is 0xFF exactly where its complement has a zero byte.
            let inverted = !word;
            if inverted.wrapping_sub(0x0101_0101_0101_0101) & word & 0x8080_8080_8080_8080 == 0 {
                let bytes = (63 - self.count) / 8;
                self.buffer |= word >> (64 - 8 * bytes) << (64 - self.count - 8 * bytes);
                self.count += 8 * bytes;
                self.pos += bytes as usize;
                return;
            }
        }
        while self.count <= 56 {
            let mut byte = 0;
            if !self.at_marker {
                match self.data.get(self.pos..) {
                    Some([0xFF, 0x00, ..]) => {
                        byte = 0xFF;
                        self.pos += 2;
                    }
                    Some([0xFF, ..]) | Some([]) | None => self.at_marker = true,
                    Some([value, ..]) => {
                        byte = *value;
                        self.pos += 1;
                    }
                }
            }
            if self.at_marker {
                self.padding += 8;
            }
            self.buffer |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    #[inline]
    fn peek(&self, bits: u32) -> usize {
        (self.buffer >> (64 - bits)) as usize
    }

    #[inline]
    fn consume(&mut self, bits: u32) {
        self.buffer <<= bits;
        self.count -= bits;
    }

    /// Reads `size` magnitude bits as the signed value they encode (JPEG's EXTEND).
    #[inline]
    fn receive_extend(&mut self, size: u32) -> i32 {
        if size == 0 {
            return 0;
        }
        let value = self.peek(size) as i32;
        self.consume(size);
        if value < 1 << (size - 1) { value - (1 << size) + 1 } else { value }
    }

    /// Whether every bit consumed so far was in the data (none of the zeros supplied after it).
    fn within_data(&self) -> bool {
        self.count >= self.padding
    }

    /// Whether the next marker after the data read so far is the end of the image. A file that
    /// ends inside its scan draws libjpeg's "premature end" warning, which TurboJPEG treats as an
    /// error, and a stray marker in the scan an error of its own; anything else after the scan
    /// (other segments) is left to libjpeg-turbo.
    fn end_of_image_follows(&self) -> bool {
        let rest = &self.data[self.pos.min(self.data.len())..];
        let marker = rest.windows(2).find(|pair| pair[0] == 0xFF && !matches!(pair[1], 0x00 | 0xFF));
        marker.is_some_and(|pair| pair[1] == 0xD9)
    }

    /// Moves past restart marker `number` (0..8) at the end of an interval: the interval must have
    /// ended within its last byte, as an encoder pads it, and the marker must come next.
    fn restart(&mut self, number: usize) -> Option<()> {
        // What is left of the interval's last byte is padding; a whole byte more is not. The next
        // unread byte is then the marker's.
        if !self.within_data() || self.count - self.padding >= 8 {
            return None;
        }
        while self.data.get(self.pos + 1) == Some(&0xFF) {
            self.pos += 1;
        }
        if self.data.get(self.pos..self.pos + 2)? != [0xFF, 0xD0 + number as u8] {
            return None;
        }
        *self = Bits::new(&self.data[self.pos + 2..]);
        Some(())
    }
}

/// Decodes the scan into one plane of 1/8-scale samples per component (with its row stride in
/// samples): each block through libjpeg's `jpeg_idct_1x1` (the DC alone, AC skipped) or
/// `jpeg_idct_2x2`.
fn decode_scan(
    frame: &Frame,
    tables: &Tables,
    restart_interval: usize,
    data: &[u8],
) -> Option<Vec<(Vec<u8>, usize)>> {
    let single = frame.components.len() == 1;
    // A single-component scan is not interleaved: one block per MCU, over the component's blocks.
    let (mcus_across, mcus_down) = if single {
        (frame.width.div_ceil(8) as usize, frame.height.div_ceil(8) as usize)
    } else {
        (
            frame.width.div_ceil(8 * frame.max_h as u32) as usize,
            frame.height.div_ceil(8 * frame.max_v as u32) as usize,
        )
    };
    let layout: Vec<(usize, usize)> =
        frame.components.iter().map(|c| if single { (1, 1) } else { (c.h, c.v) }).collect();
    let mut planes: Vec<(Vec<u8>, usize)> = layout
        .iter()
        .zip(&frame.components)
        .map(|(&(h, v), c)| {
            let stride = mcus_across * h * c.scale;
            (vec![0u8; stride * mcus_down * v * c.scale], stride)
        })
        .collect();
    let mut coders = Vec::with_capacity(frame.components.len());
    for component in &frame.components {
        let dc = tables[component.dc_table].as_ref()?;
        let ac = tables[component.ac_table].as_ref()?;
        coders.push((dc, ac, component));
    }
    let mut predictions = vec![0i32; frame.components.len()];
    let mut bits = Bits::new(data);
    let mut restarts = 0;
    for mcu in 0..mcus_across * mcus_down {
        if restart_interval > 0 && mcu > 0 && mcu % restart_interval == 0 {
            bits.restart(restarts % 8)?;
            restarts += 1;
            predictions.fill(0);
        }
        let (mcu_x, mcu_y) = (mcu % mcus_across, mcu / mcus_across);
        for (c, &(h, v)) in layout.iter().enumerate() {
            let (dc_table, ac_table, component) = coders[c];
            let (plane, stride) = &mut planes[c];
            for block_y in 0..v {
                for block_x in 0..h {
                    bits.ensure();
                    let size = u32::from(dc_table.decode(&mut bits)?);
                    if size > 15 {
                        return None;
                    }
                    // libjpeg keeps the prediction in an int that wraps, and the coefficient in a short.
                    predictions[c] = predictions[c].wrapping_add(bits.receive_extend(size));
                    let (x, y) =
                        ((mcu_x * h + block_x) * component.scale, (mcu_y * v + block_y) * component.scale);
                    if component.scale == 1 {
                        ac_table.skip_ac(&mut bits)?;
                        plane[y * *stride + x] = idct_1x1(predictions[c] as i16, component.quant[0]);
                    } else {
                        let mut block = [0i16; 64];
                        block[0] = predictions[c] as i16;
                        // Without AC terms the 2x2 IDCT gives one value four times.
                        let [top, bottom] = if ac_table.decode_ac(&mut bits, &mut block)? {
                            idct_2x2(&block, &component.quant)
                        } else {
                            [[idct_2x2_dc_only(block[0], component.quant[0]); 2]; 2]
                        };
                        plane[y * *stride + x..][..2].copy_from_slice(&top);
                        plane[(y + 1) * *stride + x..][..2].copy_from_slice(&bottom);
                    }
                }
            }
        }
    }
    (bits.within_data() && bits.end_of_image_follows()).then_some(planes)
}

/// libjpeg's `jpeg_idct_1x1`: the dequantised DC, descaled by 3 bits, through the range limit.
fn idct_1x1(dc: i16, quant: i32) -> u8 {
    range_limit((i64::from(dc) * i64::from(quant) + 4) >> 3)
}

/// libjpeg-turbo's 2x2 IDCT as its SSE2 build computes it (`jsimd_idct_2x2_sse2`; the library we
/// link requires SIMD): 2x2 samples from the coefficients in rows and columns 0, 1, 3, 5 and 7,
/// dequantised in 16 bits, 13 fraction bits, 32-bit sums that wrap, saturation to 16 bits between
/// the passes and a clamped output. On valid data that is exactly the C `jpeg_idct_2x2`; on
/// damaged data (coefficients out of range) the C version would wrap where SSE2 saturates.
fn idct_2x2(block: &[i16; 64], quant: &[i32; 64]) -> [[u8; 2]; 2] {
    let dequantised = |row: usize, column: usize| {
        i32::from(block[row * 8 + column].wrapping_mul(quant[row * 8 + column] as i16))
    };
    // sqrt(2) * (c1+c3+c5+c7), (-c1+c3-c5-c7), (-c1+c3+c5+c7), (c7-c5+c3-c1), in 13 fraction bits.
    let odd =
        |c1: i32, c3: i32, c5: i32, c7: i32| (c1 * 29692 + c3 * -10426).wrapping_add(c5 * 6967 + c7 * -5906);
    // Pass 1: columns 0, 1, 3, 5, 7 into two rows.
    let (mut top, mut bottom) = ([0i32; 8], [0i32; 8]);
    for column in [0, 1, 3, 5, 7] {
        let even = dequantised(0, column) << 15;
        let odd = odd(
            dequantised(1, column),
            dequantised(3, column),
            dequantised(5, column),
            dequantised(7, column),
        );
        top[column] = even.wrapping_add(odd).wrapping_add(1 << 12) >> 13;
        bottom[column] = even.wrapping_sub(odd).wrapping_add(1 << 12) >> 13;
    }
    // Pass 2: each row into two samples.
    let saturate = |value: i32| value.clamp(i32::from(i16::MIN), i32::from(i16::MAX));
    [top, bottom].map(|row| {
        let even = row[0].wrapping_shl(15);
        let odd = odd(saturate(row[1]), saturate(row[3]), saturate(row[5]), saturate(row[7]));
        let sample = |sum: i32| (sum.wrapping_add(1 << 19) >> 20).clamp(-128, 127) as i16 as u8 ^ 0x80;
        [sample(even.wrapping_add(odd)), sample(even.wrapping_sub(odd))]
    })
}

/// What [`idct_2x2`] gives for a block without AC terms, the same for all four samples: the
/// dequantised DC, times 4 after pass 1, shifted into place and descaled after pass 2, clamped
/// (not wrapped, unlike `jpeg_idct_1x1`).
fn idct_2x2_dc_only(dc: i16, quant: i32) -> u8 {
    let dequantised = i32::from(dc.wrapping_mul(quant as i16));
    let sum = (dequantised * 4).wrapping_shl(15).wrapping_add(1 << 19) >> 20;
    sum.clamp(-128, 127) as i16 as u8 ^ 0x80
}

/// libjpeg's post-IDCT range limit table, indexed by the value masked to 10 bits: 0..=255 after
/// adding 128 within ±512 (clamped), wrapping beyond.
fn range_limit(value: i64) -> u8 {
    let value = (value & 1023) as i32;
    match value {
        0..128 => (value + 128) as u8,
        128..512 => 255,
        512..896 => 0,
        _ => (value - 896) as u8,
    }
}

/// Replicates each chroma sample over the luma samples it covers and converts YCbCr to RGB with
/// libjpeg's fixed-point tables (16 fraction bits, rounded as `build_ycc_rgb_table` does).
fn to_rgb(frame: &Frame, planes: &[(Vec<u8>, usize)], width: usize, height: usize) -> Vec<u8> {
    const ONE_HALF: i32 = 1 << 15;
    let fix = |x: f64| (x * 65536.0 + 0.5) as i32;
    let centred = |i: usize| i as i32 - 128;
    let cr_r: Vec<i32> = (0..256).map(|i| (fix(1.402) * centred(i) + ONE_HALF) >> 16).collect();
    let cb_b: Vec<i32> = (0..256).map(|i| (fix(1.772) * centred(i) + ONE_HALF) >> 16).collect();
    let cr_g: Vec<i32> = (0..256).map(|i| -fix(0.71414) * centred(i)).collect();
    let cb_g: Vec<i32> = (0..256).map(|i| -fix(0.34414) * centred(i) + ONE_HALF).collect();
    let clamp = |v: i32| v.clamp(0, 255) as u8;
    // Each component's sample for an output pixel: every `factor`-th, replicated.
    let factors: Vec<(usize, usize)> = frame
        .components
        .iter()
        .map(|c| (frame.max_h / (c.h * c.scale), frame.max_v / (c.v * c.scale)))
        .collect();
    let columns: Vec<Vec<usize>> =
        factors.iter().map(|&(across, _)| (0..width).map(|x| x / across).collect()).collect();
    let mut rgb = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        let row = |c: usize| {
            let (plane, stride) = &planes[c];
            &plane[y / factors[c].1 * stride..]
        };
        let (luma, blue, red) = (row(0), row(1), row(2));
        for x in 0..width {
            let (luma, cb, cr) = (
                i32::from(luma[columns[0][x]]),
                usize::from(blue[columns[1][x]]),
                usize::from(red[columns[2][x]]),
            );
            rgb.extend([
                clamp(luma + cr_r[cr]),
                clamp(luma + ((cb_g[cb] + cr_g[cr]) >> 16)),
                clamp(luma + cb_b[cb]),
            ]);
        }
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_matches_libjpeg(name: &str, jpeg: &[u8]) {
        let ours = decode_eighth(jpeg).unwrap_or_else(|| panic!("{name}: not taken by the DC path"));
        let theirs = libjpeg_turbo_eighth(jpeg).unwrap_or_else(|| panic!("{name}: libjpeg-turbo refuses it"));
        assert_eq!(ours.dimensions(), theirs.dimensions(), "{name}");
        let worst = ours.as_raw().iter().zip(theirs.as_raw()).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
        assert!(worst <= 1, "{name}: a channel differs by {worst} from libjpeg-turbo's 1/8 decode");
    }

    /// A deterministic test picture: gradients, hard edges and noise, so that blocks carry both
    /// large DC steps and plenty of AC coefficients.
    fn picture(width: usize, height: usize, channels: usize) -> Vec<u8> {
        let mut state = 0x2545_F491_u32;
        let mut pixels = Vec::with_capacity(width * height * channels);
        for y in 0..height {
            for x in 0..width {
                for c in 0..channels {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    let edge = if (x / 13 + y / 7 + c) % 3 == 0 { 90 } else { 0 };
                    let gradient = (x * 255 / width.max(1) + y * 3 + c * 40) as u32;
                    pixels.push(((gradient + edge + state % 48) % 256) as u8);
                }
            }
        }
        pixels
    }

    fn compress(width: usize, height: usize, subsamp: turbojpeg::Subsamp, quality: i32) -> Vec<u8> {
        let gray = subsamp == turbojpeg::Subsamp::Gray;
        let (format, channels) =
            if gray { (turbojpeg::PixelFormat::GRAY, 1) } else { (turbojpeg::PixelFormat::RGB, 3) };
        let pixels = picture(width, height, channels);
        let image =
            turbojpeg::Image { pixels: pixels.as_slice(), width, pitch: width * channels, height, format };
        let mut compressor = turbojpeg::Compressor::new().expect("compressor");
        compressor.set_quality(quality).expect("quality");
        compressor.set_subsamp(subsamp).expect("subsampling");
        compressor.compress_to_vec(image).expect("compress")
    }

    #[test]
    fn generated_baseline_jpegs_match_libjpeg_turbo_at_one_eighth() {
        use turbojpeg::Subsamp::*;
        for (width, height) in [(1, 1), (7, 9), (8, 8), (17, 33), (250, 130), (513, 301)] {
            for subsamp in [None, Sub2x1, Sub2x2, Sub1x2, Sub4x1, Gray] {
                for quality in [1, 50, 90, 100] {
                    let jpeg = compress(width, height, subsamp, quality);
                    assert_matches_libjpeg(&format!("{width}x{height} {subsamp:?} q{quality}"), &jpeg);
                }
            }
        }
    }

    #[test]
    fn real_baseline_jpegs_match_libjpeg_turbo_at_one_eighth() {
        // Camera and Photoshop files, a greyscale one, and cjpeg's restart intervals (every 7 MCUs
        // in 4:2:0; every row in grey).
        for name in [
            "photo-camera.jpg",
            "photo-gps.jpg",
            "jpeg-icc.jpg",
            "jpeg-gray.jpg",
            "jpeg-restart-420.jpg",
            "jpeg-restart-gray.jpg",
            "orientation/orient-6.jpg",
        ] {
            let path = format!("{}/tests/data/inputs/{name}", env!("CARGO_MANIFEST_DIR"));
            assert_matches_libjpeg(name, &std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Damaged files, in the header or the entropy-coded data: whenever the DC path still takes
        /// one, libjpeg-turbo decodes it too and to the same pixels.
        #[test]
        fn damaged_jpegs_are_refused_or_decoded_like_libjpeg_turbo(
            source in 0usize..3,
            damage in proptest::collection::vec((0.0f64..1.0, proptest::prelude::any::<u8>()), 1..4),
        ) {
            let mut jpeg = match source {
                0 => compress(120, 90, turbojpeg::Subsamp::Sub2x2, 75),
                1 => compress(64, 40, turbojpeg::Subsamp::Gray, 90),
                _ => std::fs::read(format!("{}/tests/data/inputs/jpeg-restart-420.jpg", env!("CARGO_MANIFEST_DIR")))
                    .expect("test data"),
            };
            for (at, byte) in damage {
                let index = ((jpeg.len() - 1) as f64 * at) as usize;
                jpeg[index] = byte;
            }
            let jpeg = crate::jpeg_segments::with_repaired_header(&jpeg);
            if let Some(ours) = decode_eighth(&jpeg) {
                let theirs = libjpeg_turbo_eighth(&jpeg);
                proptest::prop_assert!(theirs.is_some(), "taken, but libjpeg-turbo refuses it");
                let theirs = theirs.unwrap_or_default();
                proptest::prop_assert_eq!(ours.dimensions(), theirs.dimensions());
                let worst = ours.as_raw().iter().zip(theirs.as_raw()).map(|(a, b)| a.abs_diff(*b)).max();
                proptest::prop_assert!(worst.unwrap_or(0) <= 1, "differs by {:?}", worst);
            }
        }
    }

    #[test]
    fn what_the_path_does_not_reproduce_is_left_to_libjpeg_turbo() {
        let baseline = compress(64, 48, turbojpeg::Subsamp::Sub2x2, 80);
        let mut compressor = turbojpeg::Compressor::new().expect("compressor");
        let pixels = picture(64, 48, 3);
        let image = || turbojpeg::Image {
            pixels: pixels.as_slice(),
            width: 64,
            pitch: 192,
            height: 48,
            format: turbojpeg::PixelFormat::RGB,
        };
        compressor.set_progressive(true).expect("progressive");
        let progressive = compressor.compress_to_vec(image()).expect("compress");
        compressor.set_progressive(false).expect("sequential");
        compressor.set_arithmetic(true).expect("arithmetic");
        let arithmetic = compressor.compress_to_vec(image()).expect("compress");
        let cmyk = std::fs::read(format!("{}/tests/data/inputs/jpeg-cmyk.jpg", env!("CARGO_MANIFEST_DIR")))
            .expect("cmyk");
        for (name, jpeg) in [("progressive", &progressive), ("arithmetic", &arithmetic), ("CMYK", &cmyk)] {
            assert!(decode_eighth(jpeg).is_none(), "{name} taken");
        }
        // Damaged entropy data (cut short, or a byte turned into a marker) is refused, not guessed.
        assert!(decode_eighth(&baseline[..baseline.len() - 200]).is_none(), "truncated taken");
        let scan = baseline.windows(2).position(|w| w == [0xFF, 0xDA]).expect("SOS") + 20;
        let mut marked = baseline.clone();
        marked[scan..scan + 2].copy_from_slice(&[0xFF, 0xD3]);
        assert!(decode_eighth(&marked).is_none(), "a stray restart marker taken");
        assert!(decode_eighth(&baseline).is_some());
    }

    #[test]
    fn the_range_limit_clamps_then_wraps_like_libjpeg() {
        // (dc * q + 4) >> 3, plus 128, clamped; past ±512 libjpeg's table wraps.
        assert_eq!(idct_1x1(0, 16), 128);
        assert_eq!(idct_1x1(-8, 16), 112);
        assert_eq!(idct_1x1(100, 16), 255);
        assert_eq!(idct_1x1(-100, 16), 0);
        assert_eq!(idct_1x1(1024 / 2, 16), 128);
    }

    #[test]
    fn the_dc_only_2x2_shortcut_equals_the_full_2x2_idct() {
        for (dc, quant) in
            [(0, 16), (7, 9), (-40, 12), (476, 9), (-476, 9), (2047, 255), (-2048, 99), (30000, 200)]
        {
            let mut block = [0i16; 64];
            block[0] = dc;
            let mut table = [1i32; 64];
            table[0] = quant;
            assert_eq!(
                idct_2x2(&block, &table),
                [[idct_2x2_dc_only(dc, quant); 2]; 2],
                "dc {dc} quant {quant}"
            );
        }
    }

    #[test]
    fn huffman_tables_libjpeg_refuses_are_refused() {
        // Two 1-bit codes: the second is all ones, which libjpeg does not allow.
        let mut counts = [0u8; 16];
        counts[0] = 2;
        assert!(Huffman::new(&counts, &[0, 1], true).is_none());
        counts[0] = 1;
        assert!(Huffman::new(&counts, &[0], true).is_some());
        // A DC category above 15.
        assert!(Huffman::new(&counts, &[16], false).is_none());
    }

    #[test]
    fn icc_segments_must_number_one_to_their_count() {
        assert!(icc_segments_are_consistent(&[]));
        assert!(icc_segments_are_consistent(&[(2, 2), (1, 2)]));
        assert!(!icc_segments_are_consistent(&[(1, 2)]), "one missing");
        assert!(!icc_segments_are_consistent(&[(1, 1), (1, 1)]), "a duplicate");
        assert!(!icc_segments_are_consistent(&[(1, 2), (2, 3)]), "two counts");
        assert!(!icc_segments_are_consistent(&[(0, 0)]), "numbered from 0");
    }

    #[test]
    fn magnitude_bits_extend_to_signed_values() {
        let data = [0b1011_0000, 0, 0, 0];
        let mut bits = Bits::new(&data);
        bits.ensure();
        // "1" in 1 bit is +1; then "01" in 2 bits is -2.
        assert_eq!(bits.receive_extend(1), 1);
        assert_eq!(bits.receive_extend(2), -2);
    }

    #[test]
    fn stuffed_bytes_are_unstuffed_and_a_marker_ends_the_data() {
        let data = [0xFF, 0x00, 0x12, 0xFF, 0xD9];
        let mut bits = Bits::new(&data);
        bits.ensure();
        assert_eq!(bits.peek(16), 0xFF12);
        bits.consume(16);
        assert!(bits.within_data());
        bits.consume(8);
        assert!(!bits.within_data());
    }
}
