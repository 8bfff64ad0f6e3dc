//! Prompt tokens of the images and PDF documents of Anthropic's Messages API.
//!
//! - **Images** cost `width * height / 750` tokens (rounded up), as Anthropic's vision guide has it,
//!   after the image is scaled down (aspect ratio kept) to fit [`MAX_EDGE`] pixels on its long side
//!   and [`MAX_IMAGE_TOKENS`] tokens (1.2 megapixels: the guide's largest unscaled sizes, 1092x1092
//!   for 1:1 up to 784x1568 for 1:2, are all about that). The size is read from the PNG, JPEG, GIF or
//!   WebP header of a base64 `source` (by [`multimodal::image_size`], as OpenAI's `image_url` parts
//!   are); a `url` or `file` source is never fetched and counts as [`multimodal::DEFAULT_IMAGE_SIZE`].
//! - **PDFs** cost [`PDF_PAGE_TOKENS`] per page: Anthropic turns each page into its text (1,500 to
//!   3,000 tokens a page, its PDF guide says: the low end is taken) and an image of the page (a
//!   US Letter page fills the image limit: [`MAX_IMAGE_TOKENS`]). The pages are the PDF's page
//!   objects (`/Type /Page`); a `url` or `file` PDF counts as one page. At most [`MAX_PDF_PAGES`]
//!   pages, as Anthropic allows.
//!
//! A base64 payload is checked whole (a 400 for bad base64, as Anthropic answers) but decoded in
//! fixed-size chunks: only its first [`HEADER_BYTES`] are kept (an image's header), so what a
//! payload allocates does not grow with it.

use crate::media::multimodal::{self, DEFAULT_IMAGE_SIZE};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The longest side an image keeps before it is scaled down.
pub const MAX_EDGE: f64 = 1568.0;
/// The most tokens one image costs (what 1.2 megapixels cost).
pub const MAX_IMAGE_TOKENS: u32 = 1600;
/// Pixels per image token.
const PIXELS_PER_TOKEN: f64 = 750.0;
/// The text tokens of one PDF page (the low end of Anthropic's 1,500 to 3,000).
pub const PDF_TEXT_TOKENS_PER_PAGE: u32 = 1500;
/// One PDF page: its text and its image.
pub const PDF_PAGE_TOKENS: u32 = PDF_TEXT_TOKENS_PER_PAGE + MAX_IMAGE_TOKENS;
/// The most pages a request's PDFs may have.
pub const MAX_PDF_PAGES: u32 = 100;
/// The decoded bytes of a base64 image kept to read its header.
pub const HEADER_BYTES: usize = 256 * 1024;

/// Tokens of a `width` x `height` image.
pub fn image_tokens(width: u32, height: u32) -> u32 {
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let max_pixels = f64::from(MAX_IMAGE_TOKENS) * PIXELS_PER_TOKEN;
    let scale = (MAX_EDGE / w.max(h)).min((max_pixels / (w * h)).sqrt()).min(1.0);
    let (w, h) = ((w * scale).floor().max(1.0), (h * scale).floor().max(1.0));
    ((w * h / PIXELS_PER_TOKEN).ceil() as u32).min(MAX_IMAGE_TOKENS)
}

/// Checks all of `data` is base64 and returns its first `keep` decoded bytes, decoding through a
/// fixed buffer (nothing allocated grows with `data` past `keep`).
pub fn decode_prefix(data: &str, keep: usize) -> Result<Vec<u8>, String> {
    const CHUNK: usize = 16 * 1024; // base64 characters per step: a multiple of 4
    let bad = |e: base64::DecodeSliceError| format!("invalid base64 data ({e})");
    let bytes = data.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return Err("invalid base64 data (its length is not a multiple of 4)".into());
    }
    let mut kept = Vec::with_capacity(keep.min(bytes.len() / 4 * 3));
    let mut buf = [0u8; CHUNK / 4 * 3];
    for chunk in bytes.chunks(CHUNK) {
        let n = STANDARD.decode_slice(chunk, &mut buf).map_err(bad)?;
        let room = keep - kept.len();
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    Ok(kept)
}

/// Width and height of the image in `data` (base64, as a `base64` source carries it).
pub fn base64_image_size(data: &str) -> Result<(u32, u32), String> {
    let head = decode_prefix(data, HEADER_BYTES)?;
    if let Some(size) = multimodal::image_size(&head) {
        return Ok(size);
    }
    // A JPEG whose frame header lies past the bytes kept: its size is not read, it is assumed.
    if head.starts_with(b"\xff\xd8") && head.len() == HEADER_BYTES {
        return Ok(DEFAULT_IMAGE_SIZE);
    }
    Err("Could not process image: its data is not a PNG, JPEG, GIF or WebP image".into())
}

/// Tokens of an image `source` of type `kind` (`base64` with `data`, or `url` / `file`).
pub fn source_image_tokens(kind: &str, data: Option<&str>) -> Result<u32, String> {
    let (w, h) = match (kind, data) {
        ("base64", Some(data)) => base64_image_size(data)?,
        ("base64", None) => return Err("a base64 image source needs its data".into()),
        _ => DEFAULT_IMAGE_SIZE,
    };
    Ok(image_tokens(w, h))
}

/// The page objects of a PDF (`/Type /Page` or `/Type/Page`, not `/Pages`), at least 1; counting
/// stops past [`MAX_PDF_PAGES`].
pub fn pdf_pages(pdf: &[u8]) -> u32 {
    let mut pages = 0;
    for needle in [&b"/Type /Page"[..], b"/Type/Page"] {
        for at in memchr::memmem::find_iter(pdf, needle) {
            if pdf.get(at + needle.len()) != Some(&b's') {
                pages += 1;
                if pages > MAX_PDF_PAGES {
                    return pages;
                }
            }
        }
    }
    pages.max(1)
}

/// Pages of a PDF `source` of type `kind` (`base64` with `data`, or `url` / `file`: one page),
/// counted up to one past [`MAX_PDF_PAGES`].
pub fn source_pdf_pages(kind: &str, data: Option<&str>) -> Result<u32, String> {
    match (kind, data) {
        ("base64", Some(data)) => {
            // The page count needs the whole file: decoded in fixed chunks, pages counted per chunk
            // (a marker split across chunks is found in the overlap kept from the chunk before).
            let bytes = data.as_bytes();
            if !bytes.len().is_multiple_of(4) {
                return Err("invalid base64 data (its length is not a multiple of 4)".into());
            }
            if !bytes.starts_with(b"JVBERi0") {
                return Err("the document's data is not a PDF".into());
            }
            const CHUNK: usize = 64 * 1024;
            const OVERLAP: usize = 16;
            let mut buf = vec![0u8; OVERLAP + CHUNK / 4 * 3];
            let (mut carry, mut pages) = (0usize, 0u32);
            for chunk in bytes.chunks(CHUNK) {
                let n = STANDARD
                    .decode_slice(chunk, &mut buf[carry..])
                    .map_err(|e| format!("invalid base64 data ({e})"))?;
                let end = carry + n;
                // Markers that end inside the carried bytes were counted with the chunk before.
                pages += count_markers(&buf[..end], carry);
                let keep = end.min(OVERLAP);
                buf.copy_within(end - keep..end, 0);
                carry = keep;
                if pages > MAX_PDF_PAGES {
                    break;
                }
            }
            Ok(pages.clamp(1, MAX_PDF_PAGES + 1))
        }
        ("base64", None) => Err("a base64 document source needs its data".into()),
        _ => Ok(1),
    }
}

/// Page markers in `b` that end past `from` (so a marker is counted once across chunks).
fn count_markers(b: &[u8], from: usize) -> u32 {
    let mut n = 0;
    for needle in [&b"/Type /Page"[..], b"/Type/Page"] {
        for at in memchr::memmem::find_iter(b, needle) {
            let end = at + needle.len();
            // A marker at the very end may yet be "/Pages": the next chunk decides (it carries it).
            if end >= from.max(1) && end < b.len() && b[end] != b's' {
                n += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::multimodal::tests::png;

    #[test]
    fn anthropics_image_arithmetic() {
        // The vision guide's examples: 200x200 ~54, 1000x1000 ~1334, 1092x1092 ~1590.
        assert_eq!(image_tokens(200, 200), 54);
        assert_eq!(image_tokens(1000, 1000), 1334);
        assert_eq!(image_tokens(1092, 1092), 1590);
        // Larger images are scaled down: never more than 1,600 tokens, the long side within 1568.
        assert_eq!(image_tokens(4000, 4000), image_tokens(1095, 1095));
        assert!(image_tokens(8000, 100) <= 1568 * 20 / 750 + 1);
        assert!(image_tokens(u32::MAX, u32::MAX) <= MAX_IMAGE_TOKENS);
        assert_eq!(image_tokens(0, 0), 1);
    }

    #[test]
    fn base64_sources() {
        let data = STANDARD.encode(png(1000, 1000));
        assert_eq!(source_image_tokens("base64", Some(&data)), Ok(1334));
        assert_eq!(source_image_tokens("url", None), Ok(image_tokens(1024, 1024)));
        assert!(source_image_tokens("base64", Some("!!!notbase64")).unwrap_err().contains("base64"));
        let text = STANDARD.encode(b"just some text, not an image");
        assert!(source_image_tokens("base64", Some(&text)).unwrap_err().contains("Could not process"));
        // A long payload decodes in chunks; only the header is kept.
        let mut big = png(640, 480);
        big.resize(3 * 100_000, 7);
        let big = STANDARD.encode(&big);
        assert_eq!(base64_image_size(&big), Ok((640, 480)));
        assert_eq!(decode_prefix(&big, 10).unwrap().len(), 10);
        let mut broken = big.clone();
        broken.replace_range(200_000..200_004, "@@@@");
        assert!(decode_prefix(&broken, 10).is_err());
    }

    #[test]
    fn pdf_pages_are_page_objects() {
        let mut pdf = b"%PDF-1.4\n1 0 obj << /Type /Pages /Count 3 >> endobj\n".to_vec();
        for _ in 0..3 {
            pdf.extend(b"2 0 obj << /Type /Page /Parent 1 0 R >> endobj\n");
        }
        pdf.extend(b"5 0 obj <</Type/Page>> endobj\n%%EOF");
        assert_eq!(pdf_pages(&pdf), 4);
        assert_eq!(source_pdf_pages("base64", Some(&STANDARD.encode(&pdf))), Ok(4));
        assert_eq!(pdf_pages(b"%PDF-1.4 nothing"), 1);
        assert_eq!(source_pdf_pages("url", None), Ok(1));
        assert!(source_pdf_pages("base64", Some(&STANDARD.encode(b"not a pdf"))).is_err());
        // Markers split across decoding chunks are counted once; counting stops past the limit.
        let mut many = b"%PDF-1.7\n".to_vec();
        while many.len() < 400_000 {
            many.extend(b"<< /Type /Page >>\n<< /Type /Pages >>\n");
        }
        let expect = pdf_pages(&many);
        assert_eq!(expect, MAX_PDF_PAGES + 1);
        assert_eq!(source_pdf_pages("base64", Some(&STANDARD.encode(&many))), Ok(expect));
        let mut few = b"%PDF-1.7\n".to_vec();
        for k in 0..60 {
            few.extend(b"<< /Type /Page >>\n");
            few.extend(vec![b' '; 1000 + k * 37]);
        }
        assert_eq!(source_pdf_pages("base64", Some(&STANDARD.encode(&few))), Ok(60));
    }
}
