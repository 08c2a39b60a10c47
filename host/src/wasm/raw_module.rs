//! Core modules written byte by byte, for the tests that need a shape no toolchain emits.

/// `n` as unsigned LEB128.
pub(crate) fn leb(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// A core module of raw bytes: the header, then `sections` as (id, body).
pub(crate) fn module(sections: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    for (id, body) in sections {
        bytes.push(*id);
        bytes.extend(leb(body.len()));
        bytes.extend(body);
    }
    bytes
}
