//! An uploaded file made ready to keep: its type found in its content (never
//! from its name), location and camera metadata taken out of images, and its
//! content address (SHA-256). Pure: no storage, no HTTP.

use sha2::{Digest, Sha256};
use stufe_shared::files::{ALLOWED_TYPES, MAX_FILE_BYTES};

/// A file ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub mime: &'static str,
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`, lowercase hex.
    pub hash: String,
}

/// Why a file is not taken. The message is safe to show to the uploader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("a file may be at most 10 MiB")]
    TooLarge,
    #[error("files of this kind are not accepted (pictures: PNG, JPEG, GIF, WebP; documents: PDF, plain text)")]
    NotAllowed,
    #[error("the picture could not be read: {0}")]
    Unreadable(String),
}

/// Checks and cleans an upload.
pub fn prepare(bytes: Vec<u8>) -> Result<Prepared, FileError> {
    if bytes.is_empty() {
        return Err(FileError::Empty);
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(FileError::TooLarge);
    }
    let mime = sniff(&bytes).ok_or(FileError::NotAllowed)?;
    let bytes = without_metadata(mime, bytes)?;
    let hash = hex::encode(Sha256::digest(&bytes));
    Ok(Prepared { mime, bytes, hash })
}

/// The allowed type the content is, if it is one.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    match infer::get(bytes).filter(|kind| kind.matcher_type() != infer::MatcherType::Text) {
        Some(kind) => ALLOWED_TYPES
            .iter()
            .find(|allowed| **allowed == kind.mime_type())
            .copied(),
        // Text (infer's text kinds, HTML, XML and scripts, included): UTF-8 without NUL or other control characters but tab and
        // line ends (HTML and scripts are text too: served as text/plain
        // in a sandbox, they never run).
        None => std::str::from_utf8(bytes)
            .ok()
            .filter(|text| {
                !text
                    .chars()
                    .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            })
            .map(|_| "text/plain"),
    }
}

/// JPEG, PNG and WebP without their EXIF (where GPS positions live); JPEG
/// also without its other APP1 segments (XMP, which can hold them too).
fn without_metadata(mime: &str, bytes: Vec<u8>) -> Result<Vec<u8>, FileError> {
    use img_parts::{DynImage, ImageEXIF};
    if !matches!(mime, "image/jpeg" | "image/png" | "image/webp") {
        return Ok(bytes);
    }
    let image =
        DynImage::from_bytes(bytes.into()).map_err(|err| FileError::Unreadable(err.to_string()))?;
    let Some(mut image) = image else {
        return Err(FileError::Unreadable("unknown container".into()));
    };
    image.set_exif(None);
    if let DynImage::Jpeg(jpeg) = &mut image {
        jpeg.remove_segments_by_marker(img_parts::jpeg::markers::APP1);
    }
    Ok(image.encoder().bytes().to_vec())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A 1×1 JPEG with an EXIF segment holding a GPS marker ("GPSLatitude")
    /// and an XMP segment.
    pub(crate) fn jpeg_with_location() -> Vec<u8> {
        let mut jpeg = vec![0xFF, 0xD8];
        let segment = |marker: u8, body: &[u8]| {
            let len = u16::try_from(body.len() + 2).unwrap().to_be_bytes();
            [&[0xFF, marker][..], &len, body].concat()
        };
        jpeg.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        jpeg.extend(segment(0xE1, b"Exif\0\0MM\0*\0\0\0\x08GPSLatitude 52.52N"));
        jpeg.extend(segment(
            0xE1,
            b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta exif:GPSLatitude='52.52N'/>",
        ));
        // A minimal baseline frame, table and scan (enough for a container parser).
        jpeg.extend(segment(0xDB, &[0; 65]));
        jpeg.extend(segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        jpeg.extend(segment(0xC4, &[0; 29]));
        jpeg.extend(segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
        jpeg.extend([0x00, 0xFF, 0xD9]);
        jpeg
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_jpegs_location_is_taken_out_and_the_picture_kept() {
        let original = jpeg_with_location();
        assert!(contains(&original, b"GPSLatitude"));
        let prepared = prepare(original).unwrap();
        assert_eq!(prepared.mime, "image/jpeg");
        assert!(
            !contains(&prepared.bytes, b"GPSLatitude"),
            "no EXIF or XMP left"
        );
        assert!(contains(&prepared.bytes, b"JFIF"), "the rest is kept");
        assert_eq!(prepared.hash, hex::encode(Sha256::digest(&prepared.bytes)));
    }

    #[test]
    fn the_type_comes_from_the_content_not_the_name() {
        let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();
        assert_eq!(prepare(pdf).unwrap().mime, "application/pdf");
        assert_eq!(
            prepare(b"Order 1234 was never delivered.\n".to_vec())
                .unwrap()
                .mime,
            "text/plain"
        );
        // An HTML page is text: kept as text/plain (served so, sandboxed).
        assert_eq!(
            prepare(b"<script>alert(1)</script>".to_vec()).unwrap().mime,
            "text/plain"
        );
        // An executable, whatever it is called, and binary junk: refused.
        let elf = [b"\x7fELF\x02\x01\x01".as_slice(), &[0; 64]].concat();
        assert_eq!(prepare(elf), Err(FileError::NotAllowed));
        assert_eq!(prepare(vec![0, 1, 2, 3, 0xFF]), Err(FileError::NotAllowed));
        let zip = [b"PK\x03\x04".as_slice(), &[0; 40]].concat();
        assert_eq!(prepare(zip), Err(FileError::NotAllowed));
    }

    #[test]
    fn empty_too_large_and_broken_pictures_are_refused() {
        assert_eq!(prepare(Vec::new()), Err(FileError::Empty));
        assert_eq!(
            prepare(vec![b'a'; MAX_FILE_BYTES + 1]),
            Err(FileError::TooLarge)
        );
        assert!(prepare(vec![b'a'; MAX_FILE_BYTES]).is_ok());
        // A PNG signature with nothing after it.
        let broken = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        assert!(matches!(prepare(broken), Err(FileError::Unreadable(_))));
    }
}
