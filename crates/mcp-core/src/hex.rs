//! Lowercase hex, for ids and digests that travel as text.

/// `bytes` as lowercase hex, two digits a byte.
///
/// ```
/// assert_eq!(mcp_core::hex::encode(&[0x0a, 0xff]), "0aff");
/// ```
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

/// `N` bytes from the system's secure random source, as hex; `None` when
/// the source fails.
pub fn random<const N: usize>() -> Option<String> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; N];
    ring::rand::SystemRandom::new().fill(&mut bytes).ok()?;
    Some(encode(&bytes))
}
