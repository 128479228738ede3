//! Walks the marker structure of one JPEG image without decoding it: where the image ends,
//! whether it carries Huffman tables, where its first scan starts and how large it is.
//!
//! A JPEG image is `FF D8` (start of image), marker segments `FF xx <u16 length> <payload>`,
//! one or more scans (a start-of-scan segment followed by entropy-coded data in which `FF` is
//! escaped as `FF 00` and restart markers `FF D0..D7` may appear) and `FF D9` (end of image).
//! Walking segment by segment, rather than searching for `FF D9`, is what keeps an embedded
//! thumbnail or a stray byte pair inside a segment from ending the image early.

use super::error::DecodeError;

/// What [`scan`] found out about an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JpegLayout {
    /// Offset just past the end-of-image marker: the image is `data[..end]`.
    pub end: usize,
    /// Offset of the first start-of-scan marker (`FF DA`).
    pub first_scan: usize,
    /// True when a Huffman table segment (`FF C4`) precedes the first scan. UVC cameras leave
    /// it out and rely on the tables of the JPEG standard's Annex K.
    pub has_huffman_tables: bool,
    /// Width and height from the start-of-frame segment.
    pub size: Option<(u16, u16)>,
}

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const DHT: u8 = 0xC4;

fn truncated(what: &str) -> DecodeError {
    DecodeError::Truncated { reason: format!("data ends {what}") }
}

fn read_u16(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

/// True for start-of-frame markers (`C0..CF` except DHT `C4`, JPG `C8` and DAC `CC`).
fn is_start_of_frame(code: u8) -> bool {
    (0xC0..=0xCF).contains(&code) && !matches!(code, 0xC4 | 0xC8 | 0xCC)
}

/// Skips entropy-coded data starting at `pos`; returns the offset of the next marker's `FF`.
fn skip_entropy_data(data: &[u8], mut pos: usize) -> Result<usize, DecodeError> {
    loop {
        let rest = data.get(pos..).unwrap_or_default();
        let Some(ff) = rest.iter().position(|b| *b == 0xFF) else {
            return Err(truncated("inside entropy-coded data"));
        };
        let at = pos + ff;
        match data.get(at + 1) {
            None => return Err(truncated("inside entropy-coded data")),
            // Stuffed zero, restart marker, or fill byte: still inside the scan.
            Some(0x00) | Some(0xD0..=0xD7) => pos = at + 2,
            Some(0xFF) => pos = at + 1,
            Some(_) => return Ok(at),
        }
    }
}

/// Walks the image at the start of `data` (trailing bytes after its end are ignored).
///
/// Errors: [`DecodeError::NotJpeg`] without a start-of-image marker,
/// [`DecodeError::Truncated`] when the data ends before the end-of-image marker, and
/// [`DecodeError::Malformed`] for anything else that is not a marker where one must be.
pub fn scan(data: &[u8]) -> Result<JpegLayout, DecodeError> {
    if data.get(..2) != Some(&[0xFF, SOI]) {
        return Err(DecodeError::NotJpeg);
    }
    let mut pos = 2;
    let mut first_scan = None;
    let mut has_huffman_tables = false;
    let mut size = None;
    loop {
        let marker_start = pos;
        match data.get(pos) {
            None => return Err(truncated("before the end-of-image marker")),
            Some(0xFF) => {}
            Some(other) => {
                return Err(DecodeError::Malformed {
                    reason: format!("expected a marker at offset {pos}, found byte 0x{other:02X}"),
                })
            }
        }
        while data.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&code) = data.get(pos) else {
            return Err(truncated("inside a marker"));
        };
        pos += 1;
        match code {
            EOI => {
                let first_scan = first_scan.ok_or_else(|| DecodeError::Malformed {
                    reason: "end-of-image marker before any scan".to_owned(),
                })?;
                return Ok(JpegLayout { end: pos, first_scan, has_huffman_tables, size });
            }
            SOI => {
                return Err(DecodeError::Malformed {
                    reason: format!(
                        "start-of-image marker inside the image at offset {marker_start}"
                    ),
                })
            }
            0x00 => {
                return Err(DecodeError::Malformed {
                    reason: format!(
                        "stuffed zero outside entropy-coded data at offset {marker_start}"
                    ),
                })
            }
            // Markers without a length field.
            0x01 | 0xD0..=0xD7 => {}
            _ => {
                let length =
                    read_u16(data, pos).ok_or_else(|| truncated("inside a segment length"))?;
                if length < 2 {
                    return Err(DecodeError::Malformed {
                        reason: format!(
                            "segment 0xFF{code:02X} at offset {marker_start} has length {length}"
                        ),
                    });
                }
                let segment_end = pos + usize::from(length);
                if segment_end > data.len() {
                    return Err(truncated("inside a marker segment"));
                }
                if code == DHT && first_scan.is_none() {
                    has_huffman_tables = true;
                }
                if is_start_of_frame(code) && size.is_none() {
                    // Payload: precision (1 byte), height (2), width (2), ...
                    if let (Some(height), Some(width)) =
                        (read_u16(data, pos + 3), read_u16(data, pos + 5))
                    {
                        if pos + 7 <= segment_end {
                            size = Some((width, height));
                        }
                    }
                }
                pos = segment_end;
                if code == SOS {
                    first_scan.get_or_insert(marker_start);
                    pos = skip_entropy_data(data, pos)?;
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A structurally valid (not decodable) JPEG: segments whose payloads are arbitrary bytes,
    /// including `FF D9` pairs, and entropy data with stuffed `FF 00` and restart markers.
    pub(crate) fn fake_jpeg(app_payload: &[u8], entropy: &[u8], with_dht: bool) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        out.extend_from_slice(&[0xFF, 0xE0]);
        out.extend_from_slice(&(app_payload.len() as u16 + 2).to_be_bytes());
        out.extend_from_slice(app_payload);
        // SOF0: precision 8, 48x32, 1 component.
        out.extend_from_slice(&[
            0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x20, 0x00, 0x30, 0x01, 0x01, 0x11, 0x00,
        ]);
        if with_dht {
            out.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x03, 0x00]);
        }
        out.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
        for (i, b) in entropy.iter().enumerate() {
            out.push(*b);
            if *b == 0xFF {
                out.push(0x00);
            }
            if i % 7 == 6 {
                out.extend_from_slice(&[0xFF, 0xD0 + (i % 8) as u8]);
            }
        }
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    #[test]
    fn finds_the_end_size_and_tables() {
        let jpeg = fake_jpeg(&[0xFF, 0xD9, 0x12], &[1, 0xFF, 2, 3, 4, 5, 6, 7, 8, 0xFF], true);
        let mut data = jpeg.clone();
        data.extend_from_slice(&[0, 0, 0]); // trailing padding
        let layout = scan(&data).unwrap();
        assert_eq!(layout.end, jpeg.len());
        assert!(layout.has_huffman_tables);
        assert_eq!(layout.size, Some((48, 32)));
        assert_eq!(&data[layout.first_scan..layout.first_scan + 2], &[0xFF, 0xDA]);
        assert!(!scan(&fake_jpeg(&[], &[1], false)).unwrap().has_huffman_tables);
    }

    #[test]
    fn reports_truncation_and_garbage() {
        let jpeg = fake_jpeg(&[1, 2, 3], &[9; 40], false);
        for cut in [3, 10, 20, jpeg.len() - 1] {
            assert!(
                matches!(scan(&jpeg[..cut]), Err(DecodeError::Truncated { .. })),
                "cut at {cut}"
            );
        }
        assert_eq!(scan(&[0x89, b'P', b'N', b'G']), Err(DecodeError::NotJpeg));
        assert!(matches!(scan(&[0xFF, 0xD8, 0x12]), Err(DecodeError::Malformed { .. })));
        assert!(matches!(scan(&[0xFF, 0xD8, 0xFF, 0xD9]), Err(DecodeError::Malformed { .. })));
        assert!(matches!(
            scan(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01]),
            Err(DecodeError::Malformed { .. })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = scan(&data);
            let mut with_soi = vec![0xFF, 0xD8];
            with_soi.extend_from_slice(&data);
            if let Ok(layout) = scan(&with_soi) {
                prop_assert!(layout.end <= with_soi.len());
                prop_assert!(layout.first_scan < layout.end);
            }
        }

        #[test]
        fn valid_structure_ends_at_its_end_of_image(
            app in proptest::collection::vec(any::<u8>(), 0..64),
            entropy in proptest::collection::vec(any::<u8>(), 1..256),
            dht in any::<bool>(),
        ) {
            let jpeg = fake_jpeg(&app, &entropy, dht);
            let layout = scan(&jpeg).unwrap();
            prop_assert_eq!(layout.end, jpeg.len());
            prop_assert_eq!(layout.has_huffman_tables, dht);
        }
    }
}
