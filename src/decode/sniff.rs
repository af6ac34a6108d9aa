//! What a file is, from its first bytes: the formats we decode, and the image formats we do not
//! (named, so people know what to convert).

use image::ImageFormat;

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// One of the formats this build decodes.
    Supported(ImageFormat),
    /// A recognised image format we do not decode, by its common name.
    Unsupported(&'static str),
    /// Not an image at all.
    Unknown,
}

/// Recognises formats by their magic bytes, including HEIC/AVIF/TIFF/SVG so they can be named.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Sniffed::Supported(ImageFormat::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Sniffed::Supported(ImageFormat::Png);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Sniffed::Supported(ImageFormat::Gif);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Sniffed::Supported(ImageFormat::WebP);
    }
    if let Some(name) = iso_media_brand(bytes) {
        return Sniffed::Unsupported(name);
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Sniffed::Unsupported("TIFF");
    }
    if looks_like_svg(bytes) {
        return Sniffed::Unsupported("SVG");
    }
    match image::guess_format(bytes) {
        Ok(ImageFormat::Bmp) => Sniffed::Unsupported("BMP"),
        Ok(ImageFormat::Ico) => Sniffed::Unsupported("ICO"),
        Ok(ImageFormat::Hdr) => Sniffed::Unsupported("HDR"),
        Ok(ImageFormat::OpenExr) => Sniffed::Unsupported("OpenEXR"),
        Ok(ImageFormat::Qoi) => Sniffed::Unsupported("QOI"),
        Ok(ImageFormat::Dds) => Sniffed::Unsupported("DDS"),
        Ok(ImageFormat::Farbfeld) => Sniffed::Unsupported("Farbfeld"),
        _ if bytes.starts_with(b"\xFF\x0A") || bytes.get(4..8) == Some(b"JXL ") => {
            Sniffed::Unsupported("JPEG XL")
        }
        _ => Sniffed::Unknown,
    }
}

/// HEIF-family files are ISO media boxes: `....ftyp<brand>`.
fn iso_media_brand(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() < 12 || &bytes[4..8] != b"ftyp" {
        return None;
    }
    let box_len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let brands_end = box_len.clamp(12, bytes.len());
    let mut brands =
        std::iter::once(&bytes[8..12]).chain(bytes.get(16..brands_end).unwrap_or_default().chunks_exact(4));
    if brands.clone().any(|b| b == b"avif" || b == b"avis") {
        return Some("AVIF");
    }
    if brands.any(|b| {
        matches!(
            b,
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1"
        )
    }) {
        return Some("HEIC");
    }
    None
}

/// How far into a file the SVG check reads: editors put long comments and doctypes first.
const SVG_SNIFF_BYTES: usize = 8192;

/// SVG is XML whose root element is `svg`. Editors write a byte-order mark, an XML declaration,
/// comments (a generator's banner), processing instructions and a doctype before it, so those are
/// skipped; a file that is only text mentioning `<svg` somewhere is not SVG.
fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(SVG_SNIFF_BYTES)];
    let text = match head {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes),
        _ => String::from_utf8_lossy(head).into_owned(),
    };
    let mut rest = text.trim_start_matches('\u{feff}');
    loop {
        rest = rest.trim_start();
        let skip_to = if rest.starts_with("<?") {
            "?>"
        } else if rest.starts_with("<!--") {
            "-->"
        } else {
            break;
        };
        match rest.split_once(skip_to) {
            Some((_, after)) => rest = after,
            None => return false,
        }
    }
    if let Some(doctype) = strip_prefix_ignoring_case(rest, "<!DOCTYPE") {
        return strip_prefix_ignoring_case(doctype.trim_start(), "svg")
            .is_some_and(|after| after.starts_with(|c: char| c.is_whitespace() || c == '>' || c == '['));
    }
    let Some(element) = rest.strip_prefix('<') else {
        return false;
    };
    let name_end = element
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(element.len());
    let name = &element[..name_end];
    name == "svg" || name.ends_with(":svg")
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

fn strip_prefix_ignoring_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_supported_formats() {
        assert_eq!(
            sniff(b"\xFF\xD8\xFF\xE0rest"),
            Sniffed::Supported(ImageFormat::Jpeg)
        );
        assert_eq!(sniff(b"GIF89a...."), Sniffed::Supported(ImageFormat::Gif));
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Sniffed::Supported(ImageFormat::WebP)
        );
    }

    #[test]
    fn names_unsupported_formats() {
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        assert_eq!(sniff(heic), Sniffed::Unsupported("HEIC"));
        let avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf";
        assert_eq!(sniff(avif), Sniffed::Unsupported("AVIF"));
        let avif_minor = b"\0\0\0\x18ftypmif1\0\0\0\0avifmif1";
        assert_eq!(sniff(avif_minor), Sniffed::Unsupported("AVIF"));
        assert_eq!(sniff(b"II*\0\x08\0\0\0"), Sniffed::Unsupported("TIFF"));
        assert_eq!(
            sniff(b"BM\x36\0\0\0\0\0\0\0\x36\0\0\0"),
            Sniffed::Unsupported("BMP")
        );
    }

    #[test]
    fn svg_is_recognised_after_what_editors_put_first() {
        let svgs: [&[u8]; 8] = [
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            b"\xEF\xBB\xBF <?xml version=\"1.0\"?><svg>",
            b"<!-- Generator: Adobe Illustrator 24.0.0 --><svg version=\"1.1\">",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- Created with Inkscape -->\n\n<svg\n width=\"10\">",
            b"<?xml version=\"1.0\"?><!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"x.dtd\"><svg>",
            b"<!doctype svg [ <!ENTITY ns \"x\"> ]><svg>",
            b"<?xml-stylesheet href=\"a.css\"?>\r\n<svg:svg xmlns:svg=\"http://www.w3.org/2000/svg\">",
            b"\xFF\xFE<\0s\0v\0g\0>\0",
        ];
        for svg in svgs {
            assert_eq!(
                sniff(svg),
                Sniffed::Unsupported("SVG"),
                "{}",
                String::from_utf8_lossy(svg)
            );
        }
        let comment_only = b"<!-- an unfinished comment <svg>";
        assert_eq!(sniff(comment_only), Sniffed::Unknown);
    }

    #[test]
    fn text_is_not_an_image() {
        assert_eq!(sniff(b"hello, world"), Sniffed::Unknown);
        assert_eq!(sniff(b"<html><body>no</body></html>"), Sniffed::Unknown);
        assert_eq!(sniff(b"<html><body><svg></svg></body></html>"), Sniffed::Unknown);
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><rss><svg/></rss>"),
            Sniffed::Unknown
        );
        assert_eq!(sniff(b"<!DOCTYPE html><svg>"), Sniffed::Unknown);
        assert_eq!(sniff(b"<svgfoo>"), Sniffed::Unknown);
    }
}
