//! Standard base64 (RFC 4648, `+/` alphabet, `=` padding): how bytes cross the control channel
//! untouched by the guest's terminal and shell. The guest side is coreutils' `base64`.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `bytes` as padded base64 on one line.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> shift & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Why a text is not base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A byte outside the alphabet (or padding in the middle).
    #[error("byte {byte:#04x} at offset {offset} is not base64")]
    Byte {
        /// The offending byte.
        byte: u8,
        /// Where it is.
        offset: usize,
    },
    /// The length is not a multiple of four.
    #[error("base64 text of {0} characters is cut short (not a multiple of 4)")]
    Length(usize),
}

fn value(byte: u8, offset: usize) -> Result<u32, DecodeError> {
    let v = match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return Err(DecodeError::Byte { byte, offset }),
    };
    Ok(u32::from(v))
}

/// The bytes of padded base64 `text` (no whitespace allowed).
pub fn decode(text: &[u8]) -> Result<Vec<u8>, DecodeError> {
    if !text.len().is_multiple_of(4) {
        return Err(DecodeError::Length(text.len()));
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let quads = text.len() / 4;
    for (q, quad) in text.chunks(4).enumerate() {
        let last = q + 1 == quads;
        let pad = match quad {
            [_, _, b'=', b'='] if last => 2,
            [_, _, _, b'='] if last => 1,
            _ => 0,
        };
        let mut n = 0u32;
        for (i, &byte) in quad.iter().enumerate() {
            let v = if i >= 4 - pad {
                0
            } else {
                value(byte, q * 4 + i)?
            };
            n = n << 6 | v;
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, coded) in cases {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded.as_bytes()).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn every_byte_value_round_trips() {
        let all: Vec<u8> = (0..=255u8).cycle().take(256 * 3 + 2).collect();
        for len in 0..all.len() {
            let coded = encode(&all[..len]);
            assert_eq!(
                decode(coded.as_bytes()).unwrap(),
                &all[..len],
                "length {len}"
            );
        }
        assert_eq!(encode(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn rejects_what_is_not_base64() {
        assert_eq!(decode(b"Zm9"), Err(DecodeError::Length(3)));
        assert_eq!(
            decode(b"Zm9\n"),
            Err(DecodeError::Byte {
                byte: b'\n',
                offset: 3
            })
        );
        assert_eq!(
            decode(b"Zg==Zg=="),
            Err(DecodeError::Byte {
                byte: b'=',
                offset: 2
            })
        );
        assert_eq!(
            decode(b"Z==="),
            Err(DecodeError::Byte {
                byte: b'=',
                offset: 1
            })
        );
    }
}
