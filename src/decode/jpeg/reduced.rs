//! A reduced decode for JPEGs too large to decode whole within the memory budget: each 8 × 8
//! block becomes one pixel, its average (the DC coefficient), which is what an IDCT scaled to 1/8
//! gives (libjpeg's `scale_denom = 8`). AC coefficients are Huffman-decoded only to be skipped,
//! and a progressive JPEG's AC scans are not decoded at all, so what is kept is one sample per
//! block and component plus the 1/8-size RGB image: about 15 MB for a 200 MP photo, baseline or
//! progressive. Decoding is single-threaded and its memory is fixed before it starts.

use image::RgbImage;

use super::{corrupt, next_marker, Component, Frame};
use crate::error::ClassifyError;

/// The size of the reduced image: 1/8 of the photo's, rounded up.
pub(super) fn size((width, height): (u32, u32)) -> (u32, u32) {
    (width.div_ceil(8), height.div_ceil(8))
}

/// Decodes `bytes`, whose frame header is `frame` (read, and checked supported, by the caller).
pub(super) fn decode(bytes: &[u8], frame: &Frame) -> Result<RgbImage, ClassifyError> {
    let mut image = Reduced::new(frame);
    let mut at = 2;
    loop {
        let segment = next_marker(bytes, at)?;
        at = segment.next;
        let body = segment.body;
        if segment.length.is_some_and(|length| length < 2) {
            return Err(ClassifyError::CorruptImage(
                "a marker segment has an invalid length".into(),
            ));
        }
        match segment.marker {
            0xD9 => break,
            0xDB => image.quantisation_tables(body)?,
            0xC4 => image.huffman_tables(body)?,
            0xDD if body.len() >= 2 => {
                image.restart_interval = usize::from(u16::from_be_bytes([body[0], body[1]]))
            }
            0xEE if body.len() >= 12 && body.starts_with(b"Adobe") => image.adobe_transform = Some(body[11]),
            0xDA => at += image.scan(body, &bytes[at..])?,
            _ => {}
        }
    }
    Ok(image.into_rgb())
}

/// One component's DC coefficients, one per block, over its MCU-padded block grid.
struct Plane {
    component: Component,
    across: usize,
    down: usize,
    dc: Vec<i16>,
    /// The DC quantiser, taken from the table in force when its first scan starts (as libjpeg
    /// does); `None` until then.
    quantiser: Option<i32>,
}

struct Reduced<'f> {
    frame: &'f Frame,
    planes: Vec<Plane>,
    /// The DC entry of each quantisation table defined so far.
    quantisers: [Option<i32>; 4],
    dc_tables: [Option<Huffman>; 4],
    ac_tables: [Option<Huffman>; 4],
    restart_interval: usize,
    adobe_transform: Option<u8>,
}

impl<'f> Reduced<'f> {
    fn new(frame: &'f Frame) -> Self {
        let (h_max, v_max) = frame.max_sampling();
        let mcus_across = usize::from(frame.width).div_ceil(8 * h_max as usize);
        let mcus_down = usize::from(frame.height).div_ceil(8 * v_max as usize);
        let planes = frame
            .components
            .iter()
            .map(|&component| {
                let across = mcus_across * usize::from(component.h);
                let down = mcus_down * usize::from(component.v);
                Plane {
                    component,
                    across,
                    down,
                    dc: vec![0; across * down],
                    quantiser: None,
                }
            })
            .collect();
        Reduced {
            frame,
            planes,
            quantisers: [None; 4],
            dc_tables: Default::default(),
            ac_tables: Default::default(),
            restart_interval: 0,
            adobe_transform: None,
        }
    }

    fn quantisation_tables(&mut self, mut body: &[u8]) -> Result<(), ClassifyError> {
        while let Some(&precision_and_id) = body.first() {
            let sixteen_bit = precision_and_id >> 4 != 0;
            let size = if sixteen_bit { 129 } else { 65 };
            let table = body
                .get(..size)
                .ok_or_else(|| corrupt("a quantisation table is cut short"))?;
            let dc = if sixteen_bit {
                u16::from_be_bytes([table[1], table[2]])
            } else {
                u16::from(table[1])
            };
            self.quantisers[usize::from(precision_and_id & 0x03)] = Some(i32::from(dc));
            body = &body[size..];
        }
        Ok(())
    }

    fn huffman_tables(&mut self, mut body: &[u8]) -> Result<(), ClassifyError> {
        let short = || corrupt("a Huffman table is cut short");
        while let Some(&class_and_id) = body.first() {
            let counts: [u8; 16] = body
                .get(1..17)
                .ok_or_else(short)?
                .try_into()
                .map_err(|_| short())?;
            let total = counts.iter().map(|&n| usize::from(n)).sum::<usize>();
            let values = body.get(17..17 + total).ok_or_else(short)?;
            let table = Huffman::new(&counts, values)?;
            let id = usize::from(class_and_id & 0x03);
            if class_and_id >> 4 == 0 {
                self.dc_tables[id] = Some(table);
            } else {
                self.ac_tables[id] = Some(table);
            }
            body = &body[17 + total..];
        }
        Ok(())
    }

    /// Decodes the DC coefficients in one scan whose header is `header` and whose entropy-coded
    /// data starts `data`; returns how many bytes of `data` it read.
    fn scan(&mut self, header: &[u8], data: &[u8]) -> Result<usize, ClassifyError> {
        let short = || corrupt("a scan header is cut short");
        let count = usize::from(*header.first().ok_or_else(short)?);
        let selectors = header.get(1..1 + 2 * count).ok_or_else(short)?;
        let &[spectral_start, _, approximation] =
            header.get(1 + 2 * count..4 + 2 * count).ok_or_else(short)?
        else {
            return Err(short());
        };
        if spectral_start > 0 {
            // A progressive AC scan: nothing in it changes a block's average.
            return Ok(0);
        }
        let mut members = Vec::with_capacity(count);
        for pair in selectors.chunks_exact(2) {
            let plane = self
                .planes
                .iter()
                .position(|plane| plane.component.id == pair[0])
                .ok_or_else(|| corrupt("a scan names a component the frame does not have"))?;
            members.push((
                plane,
                usize::from(pair[1] >> 4 & 0x03),
                usize::from(pair[1] & 0x03),
            ));
        }
        for &(plane, _, _) in &members {
            let plane = &mut self.planes[plane];
            if plane.quantiser.is_none() {
                plane.quantiser = Some(
                    self.quantisers[usize::from(plane.component.table)]
                        .ok_or_else(|| corrupt("a component's quantisation table is missing"))?,
                );
            }
        }
        let progressive = self.frame.progressive();
        let (refining, shift) = (approximation >> 4 != 0, u32::from(approximation & 0x0F));
        let missing = || corrupt("a scan uses a Huffman table the file does not define");
        let mut bits = Bits::new(data);
        let mut predictions = vec![0i32; members.len()];
        // Blocks of each MCU, as (member, x, y) offsets; a one-component scan has one-block MCUs.
        let (h_max, v_max) = self.frame.max_sampling();
        let (mcus_across, mcus_down, layout): (usize, usize, Vec<(usize, usize, usize)>) =
            if members.len() == 1 {
                let c = self.planes[members[0].0].component;
                let across = (usize::from(self.frame.width) * usize::from(c.h))
                    .div_ceil(h_max as usize)
                    .div_ceil(8);
                let down = (usize::from(self.frame.height) * usize::from(c.v))
                    .div_ceil(v_max as usize)
                    .div_ceil(8);
                (across, down, vec![(0, 0, 0)])
            } else {
                let layout = members
                    .iter()
                    .enumerate()
                    .flat_map(|(m, &(plane, _, _))| {
                        let c = self.planes[plane].component;
                        (0..usize::from(c.v)).flat_map(move |y| (0..usize::from(c.h)).map(move |x| (m, x, y)))
                    })
                    .collect();
                let across = usize::from(self.frame.width).div_ceil(8 * h_max as usize);
                let down = usize::from(self.frame.height).div_ceil(8 * v_max as usize);
                (across, down, layout)
            };
        for mcu in 0..mcus_across * mcus_down {
            if self.restart_interval > 0 && mcu > 0 && mcu % self.restart_interval == 0 {
                bits.restart();
                predictions.fill(0);
            }
            let (mcu_x, mcu_y) = (mcu % mcus_across, mcu / mcus_across);
            for &(m, x, y) in &layout {
                let (plane, dc_table, ac_table) = members[m];
                let plane = &mut self.planes[plane];
                let (h, v) = if members.len() == 1 {
                    (1, 1)
                } else {
                    (usize::from(plane.component.h), usize::from(plane.component.v))
                };
                let block = (mcu_y * v + y) * plane.across + mcu_x * h + x;
                if refining {
                    let bit = bits.take(1) as i16;
                    if let Some(dc) = plane.dc.get_mut(block) {
                        *dc |= bit << shift;
                    }
                    continue;
                }
                let table = self.dc_tables[dc_table].as_ref().ok_or_else(missing)?;
                let size = u32::from(table.decode(&mut bits)?);
                predictions[m] = predictions[m].wrapping_add(extend(bits.take(size), size));
                if let Some(dc) = plane.dc.get_mut(block) {
                    *dc = predictions[m].wrapping_shl(shift) as i16;
                }
                if !progressive {
                    let table = self.ac_tables[ac_table].as_ref().ok_or_else(missing)?;
                    skip_ac(table, &mut bits)?;
                }
            }
        }
        Ok(bits.position())
    }

    /// The RGB image at 1/8: each pixel from its block in every component, a subsampled
    /// component's blocks interpolated between their centres (as libjpeg's fancy upsampling
    /// does), YCbCr converted as JFIF says unless the file says it holds RGB.
    fn into_rgb(self) -> RgbImage {
        let (width, height) = size(self.frame.size());
        let (h_max, v_max) = self.frame.max_sampling();
        let (h_max, v_max) = (h_max as f32, v_max as f32);
        let sample = |plane: &Plane, x: u32, y: u32| -> f32 {
            let value = |bx: usize, by: usize| -> f32 {
                let dc = i32::from(plane.dc[by * plane.across + bx]) * plane.quantiser.unwrap_or(0);
                (((dc + 4) >> 3) + 128).clamp(0, 255) as f32
            };
            // Where this pixel's centre falls among the component's block centres.
            let position = |pixel: u32, factor: u8, max: f32, blocks: usize| -> (usize, usize, f32) {
                let at =
                    ((pixel as f32 + 0.5) * f32::from(factor) / max - 0.5).clamp(0.0, (blocks - 1) as f32);
                let first = at.floor() as usize;
                (first, (first + 1).min(blocks - 1), at - first as f32)
            };
            let (x0, x1, wx) = position(x, plane.component.h, h_max, plane.across);
            let (y0, y1, wy) = position(y, plane.component.v, v_max, plane.down);
            let top = value(x0, y0) * (1.0 - wx) + value(x1, y0) * wx;
            let bottom = value(x0, y1) * (1.0 - wx) + value(x1, y1) * wx;
            top * (1.0 - wy) + bottom * wy
        };
        let ids: Vec<u8> = self.planes.iter().map(|plane| plane.component.id).collect();
        let rgb_coded = self.adobe_transform == Some(0) || ids == b"RGB";
        let planes = &self.planes;
        RgbImage::from_fn(width, height, |x, y| {
            let channel = |v: f32| v.round().clamp(0.0, 255.0) as u8;
            match planes.as_slice() {
                [grey] => image::Rgb([channel(sample(grey, x, y)); 3]),
                [first, second, third] if rgb_coded => image::Rgb([
                    channel(sample(first, x, y)),
                    channel(sample(second, x, y)),
                    channel(sample(third, x, y)),
                ]),
                [luma, blue, red, ..] => {
                    let (l, cb, cr) = (
                        sample(luma, x, y),
                        sample(blue, x, y) - 128.0,
                        sample(red, x, y) - 128.0,
                    );
                    image::Rgb([
                        channel(l + 1.402 * cr),
                        channel(l - 0.344_136 * cb - 0.714_136 * cr),
                        channel(l + 1.772 * cb),
                    ])
                }
                _ => image::Rgb([128; 3]),
            }
        })
    }
}

/// Steps over a block's AC coefficients: run/size symbols, then `size` bits each.
fn skip_ac(table: &Huffman, bits: &mut Bits) -> Result<(), ClassifyError> {
    let mut k = 1;
    while k < 64 {
        let symbol = table.decode(bits)?;
        let (run, size) = (usize::from(symbol >> 4), u32::from(symbol & 0x0F));
        if size == 0 {
            if run != 15 {
                break; // end of block
            }
            k += 16;
        } else {
            bits.take(size);
            k += run + 1;
        }
    }
    Ok(())
}

/// A `size`-bit difference as JPEG codes it (F.2.2.1): the low half of the range is negative.
fn extend(value: u32, size: u32) -> i32 {
    if size == 0 {
        0
    } else if value < 1 << (size - 1) {
        value as i32 - (1 << size) + 1
    } else {
        value as i32
    }
}

/// A Huffman table: codes up to 9 bits by lookup, longer ones by the standard's canonical
/// ranges (F.2.2.3).
struct Huffman {
    /// `length << 8 | symbol` for each 9-bit prefix that starts a code of at most 9 bits, else 0.
    fast: Vec<u16>,
    max_code: [i32; 17],
    first_index: [i32; 17],
    first_code: [i32; 17],
    values: Vec<u8>,
}

const FAST_BITS: u32 = 9;

impl Huffman {
    fn new(counts: &[u8; 16], values: &[u8]) -> Result<Huffman, ClassifyError> {
        let mut table = Huffman {
            fast: vec![0; 1 << FAST_BITS],
            max_code: [-1; 17],
            first_index: [0; 17],
            first_code: [0; 17],
            values: values.to_vec(),
        };
        let (mut code, mut index) = (0u32, 0usize);
        for length in 1..=16u32 {
            let count = usize::from(counts[length as usize - 1]);
            table.first_index[length as usize] = index as i32;
            table.first_code[length as usize] = code as i32;
            for _ in 0..count {
                if code >= 1 << length {
                    return Err(corrupt("a Huffman table has more codes than fit"));
                }
                if length <= FAST_BITS {
                    let first = (code << (FAST_BITS - length)) as usize;
                    let entry = (length as u16) << 8 | u16::from(values[index]);
                    table.fast[first..first + (1 << (FAST_BITS - length))].fill(entry);
                }
                code += 1;
                index += 1;
            }
            if count > 0 {
                table.max_code[length as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        Ok(table)
    }

    fn decode(&self, bits: &mut Bits) -> Result<u8, ClassifyError> {
        let next = bits.peek(16);
        let entry = self.fast[(next >> (16 - FAST_BITS)) as usize];
        if entry != 0 {
            bits.skip(u32::from(entry >> 8));
            return Ok(entry as u8);
        }
        for length in FAST_BITS + 1..=16 {
            let code = (next >> (16 - length)) as i32;
            let l = length as usize;
            if code <= self.max_code[l] {
                bits.skip(length);
                let index = self.first_index[l] + code - self.first_code[l];
                return self
                    .values
                    .get(index as usize)
                    .copied()
                    .ok_or_else(|| corrupt("the image data has an invalid Huffman code"));
            }
        }
        Err(corrupt("the image data has an invalid Huffman code"))
    }
}

/// Bits of entropy-coded data, most significant first, with 0xFF00 read as 0xFF. At a marker
/// (or the end of the data) it reads zeros, as libjpeg does with data that stops early.
struct Bits<'a> {
    data: &'a [u8],
    position: usize,
    buffer: u64,
    count: u32,
    at_marker: bool,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits {
            data,
            position: 0,
            buffer: 0,
            count: 0,
            at_marker: false,
        }
    }

    fn refill(&mut self) {
        while self.count <= 56 {
            let byte = match self.data.get(self.position) {
                _ if self.at_marker => 0,
                Some(&0xFF) if self.data.get(self.position + 1) == Some(&0x00) => {
                    self.position += 2;
                    0xFF
                }
                Some(&0xFF) | None => {
                    self.at_marker = true;
                    0
                }
                Some(&byte) => {
                    self.position += 1;
                    byte
                }
            };
            self.buffer |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    /// The next `n` (1 to 16) bits, not consumed.
    fn peek(&mut self, n: u32) -> u32 {
        self.refill();
        (self.buffer >> (64 - n)) as u32
    }

    /// Consumes `n` bits already peeked.
    fn skip(&mut self, n: u32) {
        self.buffer <<= n;
        self.count -= n;
    }

    fn take(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let value = self.peek(n);
        self.skip(n);
        value
    }

    /// At the end of a restart interval: drops the bits left over and steps over the RSTn
    /// marker (after any stray bytes), to start afresh.
    fn restart(&mut self) {
        (self.buffer, self.count, self.at_marker) = (0, 0, false);
        while let Some(&byte) = self.data.get(self.position) {
            let next = self.data.get(self.position + 1).copied();
            match (byte, next) {
                (0xFF, Some(0xD0..=0xD7)) => {
                    self.position += 2;
                    return;
                }
                (0xFF, Some(0xFF)) | (0x00..=0xFE, _) => self.position += 1,
                // Another marker: the scan ends here, and reads zeros from now on.
                _ => return,
            }
        }
    }

    /// How far into the data it has read.
    fn position(&self) -> usize {
        self.position
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::jpeg::{decode_full_size, read_header};

    /// Each reduced pixel against the average of its 8 × 8 block in the full-size decode. Luma
    /// agrees to rounding; colour less where chroma is subsampled, since a chroma block then
    /// covers 16 × 16 pixels whose detail the block's average does not keep (libjpeg keeps a
    /// little more by decoding two AC coefficients per direction for it). Once the 1/8 image is
    /// resized to the model's 224 pixels, that detail is finer than a pixel.
    #[test]
    fn each_pixel_is_its_block_of_the_full_size_decode() {
        let photos: [(&str, &[u8], f64); 6] = [
            (
                "baseline 4:2:0",
                include_bytes!("../../../tests/fixtures/golden/rice.jpg"),
                5.0,
            ),
            (
                "baseline, EXIF",
                include_bytes!("../../../tests/fixtures/exif-rotated-bread.jpg"),
                5.0,
            ),
            (
                "progressive",
                include_bytes!("../../../tests/fixtures/corpus/jpeg-progressive-rice.jpg"),
                5.0,
            ),
            (
                "restart markers",
                include_bytes!("../../../tests/fixtures/corpus/jpeg-restarts-egg.jpg"),
                5.0,
            ),
            (
                "progressive grey, restart markers",
                include_bytes!("../../../tests/fixtures/corpus/jpeg-progressive-grey-restarts.jpg"),
                1.0,
            ),
            (
                "4:4:4",
                include_bytes!("../../../tests/fixtures/corpus/jpeg-444-soup.jpg"),
                1.0,
            ),
        ];
        let luma = |p: [f64; 3]| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
        for (name, bytes, colour_tolerance) in photos {
            let header = read_header(bytes).unwrap();
            let full = decode_full_size(bytes, &header).unwrap().image;
            let reduced = decode(bytes, &header.frame).unwrap();
            assert_eq!(reduced.dimensions(), size(full.dimensions()), "{name}");
            let (mut luma_error, mut worst_luma, mut colour_error, mut count) = (0.0, 0.0f64, 0.0, 0.0);
            // Blocks cut by the image's edge average the encoder's padding too: left out.
            let inside = |x: u32, y: u32| 8 * x + 8 <= full.width() && 8 * y + 8 <= full.height();
            for (x, y, pixel) in reduced.enumerate_pixels().filter(|&(x, y, _)| inside(x, y)) {
                let block: Vec<_> = (8 * y..8 * y + 8)
                    .flat_map(|fy| (8 * x..8 * x + 8).map(move |fx| (fx, fy)))
                    .map(|(fx, fy)| full.get_pixel(fx, fy).0)
                    .collect();
                let mean: [f64; 3] = std::array::from_fn(|c| {
                    block.iter().map(|p| f64::from(p[c])).sum::<f64>() / block.len() as f64
                });
                let ours = pixel.0.map(f64::from);
                let difference = (luma(mean) - luma(ours)).abs();
                (luma_error, worst_luma) = (luma_error + difference, worst_luma.max(difference));
                colour_error += (0..3).map(|c| (mean[c] - ours[c]).abs()).sum::<f64>() / 3.0;
                count += 1.0;
            }
            let (luma_error, colour_error) = (luma_error / count, colour_error / count);
            assert!(
                luma_error < 1.0 && worst_luma < 8.0 && colour_error < colour_tolerance,
                "{name}: luma off by {luma_error:.2} on average and {worst_luma:.1} at worst, RGB by \
                 {colour_error:.2}"
            );
        }
    }

    #[test]
    fn huffman_codes_are_read_by_lookup_and_beyond() {
        // Symbol 7 coded "0", symbol 9 "10", then 2 codes of 11 bits: "11000000000", "11000000001".
        let mut counts = [0u8; 16];
        counts[0] = 1;
        counts[1] = 1;
        counts[10] = 2;
        let table = Huffman::new(&counts, &[7, 9, 1, 2]).unwrap();
        // 0 | 10 | 11000000001 | 11000000000, then padding ones.
        let data = [0b0101_1000, 0b0000_0111, 0b0000_0000, 0b0111_1111];
        let mut bits = Bits::new(&data);
        let decoded: Vec<u8> = (0..4).map(|_| table.decode(&mut bits).unwrap()).collect();
        assert_eq!(decoded, [7, 9, 2, 1]);
        assert!(Huffman::new(&[3; 16], &[0; 48]).is_err());
    }

    #[test]
    fn bits_unstuff_0xff_and_read_zeros_at_a_marker() {
        let data = [0xFF, 0x00, 0xA5, 0xFF, 0xD9];
        let mut bits = Bits::new(&data);
        assert_eq!(bits.take(8), 0xFF);
        assert_eq!(bits.take(4), 0xA);
        assert_eq!(bits.take(16), 0x5000);
        assert_eq!(bits.position(), 3);
        assert_eq!(
            (extend(0, 1), extend(1, 1), extend(2, 3), extend(5, 3)),
            (-1, 1, -5, 5)
        );
    }
}
