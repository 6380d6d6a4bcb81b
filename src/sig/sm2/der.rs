//! Strict DER for SM2 signatures (GB/T 35276 / RFC 3279's `SEQUENCE { r INTEGER, s INTEGER }`),
//! and the signature envelopes of FISCO BCOS and Hyperchain.
//!
//! Strict means one encoding per signature, so that a signature's bytes cannot be varied
//! without changing its meaning (malleability): short-form or minimal long-form lengths, each
//! INTEGER positive and minimal (no leading zero byte unless the next byte's top bit is set),
//! at most 32 value bytes after that leading zero, and nothing after the SEQUENCE.
#![forbid(unsafe_code)]

/// `r ‖ s` (32 + 32 bytes, big-endian) from a strict DER signature; `None` if it is not one.
pub fn parse_der_signature(der: &[u8]) -> Option<[u8; 64]> {
    let (body, rest) = read_tlv(der, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let (r, body) = read_tlv(body, 0x02)?;
    let (s, body) = read_tlv(body, 0x02)?;
    if !body.is_empty() {
        return None;
    }
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&integer_32(r)?);
    out[32..].copy_from_slice(&integer_32(s)?);
    Some(out)
}

/// One TLV with the expected tag: its value and what follows it.
fn read_tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, input) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len_byte, input) = input.split_first()?;
    let (len, input) = if len_byte < 0x80 {
        (len_byte as usize, input)
    } else if len_byte == 0x81 {
        // Long form only where the short form cannot say it.
        let (&len, input) = input.split_first()?;
        if len < 0x80 {
            return None;
        }
        (len as usize, input)
    } else {
        // An SM2 signature is at most 72 bytes: longer length forms are never minimal here.
        return None;
    };
    (input.len() >= len).then(|| input.split_at(len))
}

/// A positive, minimally encoded INTEGER of at most 256 bits as 32 big-endian bytes.
fn integer_32(value: &[u8]) -> Option<[u8; 32]> {
    let (&first, _) = value.split_first()?;
    if first & 0x80 != 0 {
        return None; // negative
    }
    let digits = if first == 0 {
        // A leading zero only to keep the next byte's top bit from reading as a sign.
        if value.len() == 1 {
            value
        } else if value[1] & 0x80 == 0 {
            return None;
        } else {
            &value[1..]
        }
    } else {
        value
    };
    if digits.len() > 32 {
        return None;
    }
    let mut out = [0u8; 32];
    out[32 - digits.len()..].copy_from_slice(digits);
    Some(out)
}

/// Strict DER of `r ‖ s` (tests and the CLI's generator).
pub fn encode_der_signature(rs: &[u8; 64]) -> Vec<u8> {
    let int = |bytes: &[u8]| -> Vec<u8> {
        let start = bytes.iter().position(|&b| b != 0).unwrap_or(31);
        let digits = &bytes[start..];
        let mut v = vec![0x02];
        if digits[0] & 0x80 != 0 {
            v.push(digits.len() as u8 + 1);
            v.push(0);
        } else {
            v.push(digits.len() as u8);
        }
        v.extend_from_slice(digits);
        v
    };
    let mut body = int(&rs[..32]);
    body.extend(int(&rs[32..]));
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

/// Why an envelope could not be split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The envelope has the wrong length for its format.
    Length {
        /// Bytes expected (at least, for Hyperchain).
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The envelope's type or point-format byte is not the format's.
    Prefix,
}

impl std::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvelopeError::Length { expected, actual } => {
                write!(f, "envelope is {actual} bytes, expected {expected}")
            }
            EnvelopeError::Prefix => f.write_str("envelope prefix is not the format's"),
        }
    }
}

impl std::error::Error for EnvelopeError {}

/// FISCO BCOS's SM2 signature field: `r ‖ s ‖ x ‖ y`, 128 bytes. Returns the signature
/// `r ‖ s` and the raw public key `x ‖ y` (borrowed).
///
/// # Errors
/// [`EnvelopeError::Length`] unless it is 128 bytes.
pub fn parse_fisco_envelope(envelope: &[u8]) -> Result<(&[u8; 64], &[u8; 64]), EnvelopeError> {
    let bytes: &[u8; 128] = envelope.try_into().map_err(|_| EnvelopeError::Length {
        expected: 128,
        actual: envelope.len(),
    })?;
    let (sig, key) = bytes.split_at(64);
    Ok((
        sig.try_into().expect("64 bytes"),
        key.try_into().expect("64 bytes"),
    ))
}

/// Hyperchain's SM2 signature: a type byte `0x01`, the uncompressed public key `04 ‖ x ‖ y`
/// (65 bytes), then the DER signature. Returns the key (65 bytes, with its `04`) and the DER
/// bytes (borrowed; the DER itself is checked when the item is verified).
///
/// # Errors
/// [`EnvelopeError::Length`] if shorter than the type byte and key; [`EnvelopeError::Prefix`]
/// if the type byte is not `0x01` or the key's is not `0x04`.
pub fn parse_hyperchain_envelope(envelope: &[u8]) -> Result<(&[u8], &[u8]), EnvelopeError> {
    if envelope.len() < 66 {
        return Err(EnvelopeError::Length {
            expected: 66,
            actual: envelope.len(),
        });
    }
    if envelope[0] != 0x01 || envelope[1] != 0x04 {
        return Err(EnvelopeError::Prefix);
    }
    Ok((&envelope[1..66], &envelope[66..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_round_trips_and_refuses_non_strict_forms() {
        let mut rs = [0u8; 64];
        rs[0] = 0x80; // r needs a leading zero
        rs[31] = 1;
        rs[63] = 7; // s = 7
        let der = encode_der_signature(&rs);
        assert_eq!(parse_der_signature(&der), Some(rs));
        // Trailing garbage, a wrong tag, a negative or non-minimal INTEGER, a long-form
        // length that the short form could say, truncation.
        let mut trailing = der.clone();
        trailing.push(0);
        assert_eq!(parse_der_signature(&trailing), None);
        let mut tag = der.clone();
        tag[0] = 0x31;
        assert_eq!(parse_der_signature(&tag), None);
        assert_eq!(
            parse_der_signature(&[0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01]),
            None
        );
        assert_eq!(
            parse_der_signature(&[0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01]),
            None
        );
        assert_eq!(
            parse_der_signature(&[0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]),
            None
        );
        assert_eq!(
            parse_der_signature(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]),
            Some({
                let mut x = [0u8; 64];
                x[31] = 1;
                x[63] = 1;
                x
            })
        );
        for cut in 0..der.len() {
            assert_eq!(parse_der_signature(&der[..cut]), None);
        }
        // 33 value bytes without a needed sign byte: too long.
        let mut long = vec![0x30, 0x26, 0x02, 0x21];
        long.extend([0x01; 33]);
        long.extend([0x02, 0x01, 0x01]);
        assert_eq!(parse_der_signature(&long), None);
    }

    #[test]
    fn envelopes_split_or_say_why_not() {
        let fisco: Vec<u8> = (0..128u8).collect();
        let (sig, key) = parse_fisco_envelope(&fisco).unwrap();
        assert_eq!(sig[0], 0);
        assert_eq!(key[0], 64);
        assert_eq!(
            parse_fisco_envelope(&fisco[..127]),
            Err(EnvelopeError::Length {
                expected: 128,
                actual: 127
            })
        );
        let mut hyper = vec![0x01, 0x04];
        hyper.extend([9u8; 64]);
        hyper.extend([0x30, 0x00]);
        let (key, der) = parse_hyperchain_envelope(&hyper).unwrap();
        assert_eq!(key.len(), 65);
        assert_eq!(der, &[0x30, 0x00]);
        hyper[0] = 2;
        assert_eq!(
            parse_hyperchain_envelope(&hyper),
            Err(EnvelopeError::Prefix)
        );
        assert!(parse_hyperchain_envelope(&[1, 4]).is_err());
    }
}
