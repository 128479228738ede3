//! A reader and writer for NumPy `.npy` files of little-endian float32 or float64 in C order:
//! the format of the flow-matching noise that `infer --noise` accepts, and of the arrays in
//! flight-recorder records.

/// Why an `.npy` file cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NpyError {
    /// Not an `.npy` file.
    #[error("not a .npy file (bad magic)")]
    BadMagic,
    /// Header shorter than it says, or not text.
    #[error("truncated or malformed .npy header")]
    BadHeader,
    /// Not the expected float type (little-endian) or not C order.
    #[error("unsupported .npy array: {0} (need '<f4' or '<f8' as asked, C order)")]
    Unsupported(String),
    /// Data length differs from the shape.
    #[error(".npy data has {actual} bytes, the shape needs {expected}")]
    Length {
        /// Bytes needed.
        expected: usize,
        /// Bytes present.
        actual: usize,
    },
}

fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))?;
    let rest = header[at + key.len() + 2..].trim_start().strip_prefix(':')?.trim_start();
    Some(rest)
}

/// Parses an `.npy` file's header, checks its type is `descr` (`<f4`, `<f8`) with `width`
/// bytes per value, and returns the shape and the data bytes.
fn parse_array<'a>(
    bytes: &'a [u8],
    descr_wanted: &str,
    width: usize,
) -> Result<(Vec<usize>, &'a [u8]), NpyError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(NpyError::BadMagic);
    }
    let (header_len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => {
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        _ => return Err(NpyError::BadHeader),
    };
    let end =
        start.checked_add(header_len).filter(|&e| e <= bytes.len()).ok_or(NpyError::BadHeader)?;
    let header = std::str::from_utf8(&bytes[start..end]).map_err(|_| NpyError::BadHeader)?;
    let descr = field(header, "descr").ok_or(NpyError::BadHeader)?;
    if !descr.starts_with(&format!("'{descr_wanted}'")) {
        return Err(NpyError::Unsupported(descr.split(',').next().unwrap_or("").to_string()));
    }
    let fortran = field(header, "fortran_order").ok_or(NpyError::BadHeader)?;
    if !fortran.starts_with("False") {
        return Err(NpyError::Unsupported("fortran_order".into()));
    }
    let shape_text = field(header, "shape").ok_or(NpyError::BadHeader)?;
    let close = shape_text.find(')').ok_or(NpyError::BadHeader)?;
    let inner = shape_text.get(1..close).ok_or(NpyError::BadHeader)?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| NpyError::BadHeader))
        .collect::<Result<Vec<_>, _>>()?;
    let count =
        shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or(NpyError::BadHeader)?;
    let data = &bytes[end..];
    let expected = count.checked_mul(width).ok_or(NpyError::BadHeader)?;
    if data.len() != expected {
        return Err(NpyError::Length { expected, actual: data.len() });
    }
    Ok((shape, data))
}

/// Parses a float32 `.npy` file's bytes into `(shape, values)`.
pub fn parse_f32(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>), NpyError> {
    let (shape, data) = parse_array(bytes, "<f4", 4)?;
    Ok((
        shape,
        data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
    ))
}

/// Parses a float64 `.npy` file's bytes into `(shape, values)`.
pub fn parse_f64(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f64>), NpyError> {
    let (shape, data) = parse_array(bytes, "<f8", 8)?;
    let mut values = Vec::with_capacity(data.len() / 8);
    for c in data.chunks_exact(8) {
        values.push(f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
    }
    Ok((shape, values))
}

/// Encodes `values` of `shape` as a version 1.0 float32 `.npy` file.
pub fn write_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let mut out = header(shape, "<f4");
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Encodes `values` of `shape` as a version 1.0 float64 `.npy` file.
pub fn write_f64(shape: &[usize], values: &[f64]) -> Vec<u8> {
    let mut out = header(shape, "<f8");
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// The magic, version and padded header of a version 1.0 `.npy` file.
fn header(shape: &[usize], descr: &str) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let shape_text =
        if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_and_refuses_other_dtypes() {
        let values: Vec<f32> = (0..24).map(|i| i as f32 * 0.5).collect();
        let bytes = write_f32(&[2, 3, 4], &values);
        assert_eq!(parse_f32(&bytes).unwrap(), (vec![2, 3, 4], values));
        let at = bytes.windows(3).position(|w| w == b"<f4").expect("descr");
        let mut f8 = bytes.clone();
        f8[at + 2] = b'8';
        assert!(matches!(parse_f32(&f8), Err(NpyError::Unsupported(_))));
        assert!(matches!(parse_f64(&bytes), Err(NpyError::Unsupported(_))));
        let doubles: Vec<f64> = (0..6).map(|i| f64::from(i) / 3.0).collect();
        assert_eq!(parse_f64(&write_f64(&[2, 3], &doubles)).unwrap(), (vec![2, 3], doubles));
        assert_eq!(
            parse_f32(&bytes[..bytes.len() - 1]).unwrap_err(),
            NpyError::Length { expected: 96, actual: 95 }
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_f32(&bytes);
            let _ = parse_f64(&bytes);
        }

        #[test]
        fn mutated_files_never_panic(pos in 0usize..200, val in any::<u8>()) {
            let mut bytes = write_f32(&[4, 5], &[1.0; 20]);
            let p = pos % bytes.len();
            bytes[p] = val;
            let _ = parse_f32(&bytes);
        }
    }
}
