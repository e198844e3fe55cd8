//! Encodings: `base64gzip` (with a small DEFLATE compressor), `csvdecode`,
//! `textencodebase64`/`textdecodebase64` and `urlencode`.

use std::collections::BTreeMap;

use super::{base64_decode, base64_encode, check_len, Args, FuncResult, Value};
use crate::limits::MAX_VALUE_NODES;

// ---------------------------------------------------------------------------
// base64gzip

/// The string gzip-compressed, then Base64-encoded. Any gzip reader reads
/// it back; the bytes differ from Terraform's (Go's compressor chooses
/// other matches), so a hash of the result differs too.
pub(super) fn fn_base64gzip(a: &Args) -> FuncResult {
    let s = a.string(0)?;
    let gz = gzip(s.as_bytes());
    check_len(a, gz.len().div_ceil(3).saturating_mul(4))?;
    Ok(Value::String(base64_encode(&gz)))
}

/// A gzip member (RFC 1952) with no name and no time, as Go writes one.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(deflate(data));
    out.extend(crc32(data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, v) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *v = c;
        }
        t
    });
    !data.iter().fold(!0u32, |c, b| {
        table[((c ^ u32::from(*b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// Writes bits least significant first, as DEFLATE packs them.
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    bits: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, n: u32) {
        self.acc |= u64::from(value) << self.bits;
        self.bits += n;
        while self.bits >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.bits -= 8;
        }
    }

    /// A Huffman code, which DEFLATE stores most significant bit first.
    fn code(&mut self, code: u32, n: u32) {
        self.put(code.reverse_bits() >> (32 - n), n);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.bits > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// The fixed Huffman code of a literal/length symbol (RFC 1951 3.2.6).
fn fixed_code(symbol: u32) -> (u32, u32) {
    match symbol {
        0..=143 => (0x30 + symbol, 8),
        144..=255 => (0x190 + symbol - 144, 9),
        256..=279 => (symbol - 256, 7),
        _ => (0xc0 + symbol - 280, 8),
    }
}

const WINDOW: usize = 32 * 1024;
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 258;
/// How many earlier positions with the same three bytes are tried: bounds
/// the time on repetitive input.
const MAX_CHAIN: usize = 64;
/// A match this long is taken without looking for a longer one.
const NICE_MATCH: usize = 128;

/// DEFLATE (RFC 1951): one block with the fixed Huffman codes, matches
/// found through hash chains over a 32 KiB window.
fn deflate(data: &[u8]) -> Vec<u8> {
    const HASH_BITS: u32 = 15;
    let hash = |i: usize| -> usize {
        let v = u32::from(data[i]) << 16 | u32::from(data[i + 1]) << 8 | u32::from(data[i + 2]);
        (v.wrapping_mul(0x9e37_79b1) >> (32 - HASH_BITS)) as usize
    };
    // Positions are stored plus one, so zero means none.
    let mut head = vec![0usize; 1 << HASH_BITS];
    let mut prev = vec![0usize; WINDOW];
    let insert = |head: &mut [usize], prev: &mut [usize], i: usize| {
        if i + MIN_MATCH <= data.len() {
            let h = hash(i);
            prev[i % WINDOW] = head[h];
            head[h] = i + 1;
        }
    };
    let mut w = BitWriter {
        out: Vec::with_capacity(data.len() / 2 + 16),
        acc: 0,
        bits: 0,
    };
    w.put(1, 1); // the final block
    w.put(1, 2); // fixed Huffman codes
    let mut i = 0;
    while i < data.len() {
        let (len, dist) = longest_match(data, i, &head, &prev, hash);
        if len >= MIN_MATCH {
            write_match(&mut w, len, dist);
            for k in i..i + len {
                insert(&mut head, &mut prev, k);
            }
            i += len;
        } else {
            let (code, n) = fixed_code(u32::from(data[i]));
            w.code(code, n);
            insert(&mut head, &mut prev, i);
            i += 1;
        }
    }
    let (code, n) = fixed_code(256);
    w.code(code, n);
    w.finish()
}

fn longest_match(
    data: &[u8],
    i: usize,
    head: &[usize],
    prev: &[usize],
    hash: impl Fn(usize) -> usize,
) -> (usize, usize) {
    if i + MIN_MATCH > data.len() {
        return (0, 0);
    }
    let max = MAX_MATCH.min(data.len() - i);
    let mut best = (0, 0);
    let mut candidate = head[hash(i)];
    for _ in 0..MAX_CHAIN {
        let Some(j) = candidate.checked_sub(1) else {
            break;
        };
        if j >= i || i - j > WINDOW {
            break;
        }
        // Only a candidate that also matches one byte past the best so far
        // can be longer (zlib's trick).
        let longer = best.0 == 0 || (best.0 < max && data[j + best.0] == data[i + best.0]);
        if longer {
            let len = data[j..]
                .iter()
                .zip(&data[i..i + max])
                .take_while(|(x, y)| x == y)
                .count();
            if len > best.0 {
                best = (len, i - j);
                if len >= max.min(NICE_MATCH) {
                    break;
                }
            }
        }
        let next = prev[j % WINDOW];
        // The ring has been overwritten by a later position: stop.
        if next >= candidate {
            break;
        }
        candidate = next;
    }
    best
}

fn write_match(w: &mut BitWriter, len: usize, dist: usize) {
    let li = LENGTH_BASE
        .iter()
        .rposition(|b| usize::from(*b) <= len)
        .unwrap_or(0);
    let (code, n) = fixed_code(257 + li as u32);
    w.code(code, n);
    w.put(
        (len - usize::from(LENGTH_BASE[li])) as u32,
        u32::from(LENGTH_EXTRA[li]),
    );
    let di = DIST_BASE
        .iter()
        .rposition(|b| usize::from(*b) <= dist)
        .unwrap_or(0);
    w.code(di as u32, 5);
    w.put(
        (dist - usize::from(DIST_BASE[di])) as u32,
        u32::from(DIST_EXTRA[di]),
    );
}

// ---------------------------------------------------------------------------
// csvdecode

/// RFC 4180 CSV, read as Go's `encoding/csv` reads it: the first line names
/// the columns, every line has as many fields, a quoted field may hold
/// commas, quotes (doubled) and line breaks; empty lines are skipped.
pub(super) fn fn_csvdecode(a: &Args) -> FuncResult {
    let text = a.string(0)?;
    let records = parse_csv(&text).map_err(|m| a.err(m))?;
    let mut rows = records.into_iter();
    let Some((_, header)) = rows.next() else {
        return Err(a.err("missing header line"));
    };
    for (i, name) in header.iter().enumerate() {
        if header[..i].contains(name) {
            return Err(a.err(format!("duplicate column name {name:?}")));
        }
    }
    let mut out = Vec::new();
    for (line, fields) in rows {
        if fields.len() != header.len() {
            return Err(a.err(format!(
                "CSV parse error on line {line}: wrong number of fields"
            )));
        }
        let row: BTreeMap<String, Value> = header
            .iter()
            .cloned()
            .zip(fields.into_iter().map(Value::String))
            .collect();
        out.push(Value::Map(row));
    }
    Ok(Value::List(out))
}

/// The records of a CSV text, each with the line it starts on.
fn parse_csv(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut records = Vec::new();
    let mut nodes = 0usize;
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start_line = line;
        // An empty line is no record.
        if matches!(chars.peek(), Some('\n')) {
            chars.next();
            line += 1;
            continue;
        }
        if matches!(chars.peek(), Some('\r')) {
            let mut ahead = chars.clone();
            ahead.next();
            if matches!(ahead.peek(), Some('\n') | None) {
                chars.next();
                chars.next();
                line += 1;
                continue;
            }
        }
        let mut fields = Vec::new();
        loop {
            let mut field = String::new();
            let mut end_of_record = false;
            if chars.peek() == Some(&'"') {
                chars.next();
                loop {
                    match chars.next() {
                        None => {
                            return Err(format!(
                                "CSV parse error on line {start_line}: extraneous or missing \" \
                                 in quoted-field"
                            ))
                        }
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some('\r') if chars.peek() == Some(&'\n') => {}
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            field.push(c);
                        }
                    }
                }
                match chars.next() {
                    Some(',') => {}
                    Some('\n') | None => end_of_record = true,
                    Some('\r') if matches!(chars.peek(), Some('\n') | None) => {
                        chars.next();
                        end_of_record = true;
                    }
                    Some(_) => {
                        return Err(format!(
                            "CSV parse error on line {line}: extraneous or missing \" in \
                             quoted-field"
                        ))
                    }
                }
            } else {
                loop {
                    match chars.next() {
                        Some(',') => break,
                        Some('\n') | None => {
                            end_of_record = true;
                            break;
                        }
                        Some('\r') if matches!(chars.peek(), Some('\n') | None) => {
                            chars.next();
                            end_of_record = true;
                            break;
                        }
                        Some('"') => {
                            return Err(format!(
                                "CSV parse error on line {line}: bare \" in non-quoted-field"
                            ))
                        }
                        Some(c) => field.push(c),
                    }
                }
            }
            fields.push(field);
            nodes += 1;
            if nodes > MAX_VALUE_NODES {
                return Err(format!(
                    "the result would have more than {MAX_VALUE_NODES} elements, more than \
                     stackd builds"
                ));
            }
            if end_of_record {
                line += 1;
                break;
            }
        }
        records.push((start_line, fields));
    }
    Ok(records)
}

// ---------------------------------------------------------------------------
// textencodebase64 and textdecodebase64

/// The character encodings stackd converts text to and from: Unicode's,
/// and the single-byte ones Windows and old Unix files use.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Charset {
    Utf8,
    /// Big-endian with a byte order mark (written; honoured when read).
    Utf16,
    Utf16Be,
    Utf16Le,
    Latin1,
    Windows1252,
    Ascii,
}

impl Charset {
    /// By IANA name or alias, in any case.
    fn named(name: &str) -> Option<Charset> {
        let n = name.to_ascii_lowercase();
        Some(match n.as_str() {
            "utf-8" | "csutf8" => Charset::Utf8,
            "utf-16" | "csutf16" => Charset::Utf16,
            "utf-16be" | "csutf16be" => Charset::Utf16Be,
            "utf-16le" | "csutf16le" => Charset::Utf16Le,
            "iso-8859-1" | "iso_8859-1" | "iso_8859-1:1987" | "iso-ir-100" | "latin1" | "l1"
            | "ibm819" | "cp819" | "csisolatin1" => Charset::Latin1,
            "windows-1252" | "cswindows1252" | "cp1252" => Charset::Windows1252,
            "us-ascii" | "ascii" | "iso646-us" | "csascii" | "us" | "ansi_x3.4-1968"
            | "iso-ir-6" | "ibm367" | "cp367" => Charset::Ascii,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Charset::Utf8 => "UTF-8",
            Charset::Utf16 => "UTF-16",
            Charset::Utf16Be => "UTF-16BE",
            Charset::Utf16Le => "UTF-16LE",
            Charset::Latin1 => "ISO-8859-1",
            Charset::Windows1252 => "windows-1252",
            Charset::Ascii => "US-ASCII",
        }
    }

    fn encode(self, s: &str) -> Option<Vec<u8>> {
        let utf16 = |le: bool, bom: bool| {
            let mut out = Vec::with_capacity(s.len() * 2 + 2);
            let units = bom.then_some(0xfeff).into_iter().chain(s.encode_utf16());
            for u in units {
                out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
            }
            out
        };
        match self {
            Charset::Utf8 => Some(s.as_bytes().to_vec()),
            Charset::Utf16 => Some(utf16(false, true)),
            Charset::Utf16Be => Some(utf16(false, false)),
            Charset::Utf16Le => Some(utf16(true, false)),
            Charset::Latin1 => s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect(),
            Charset::Ascii => s.chars().map(|c| c.is_ascii().then_some(c as u8)).collect(),
            Charset::Windows1252 => s
                .chars()
                .map(|c| match u32::from(c) {
                    0..=0x7f | 0xa0..=0xff => Some(c as u8),
                    _ => WINDOWS_1252_HIGH
                        .iter()
                        .position(|h| *h == c)
                        .map(|i| 0x80 + i as u8),
                })
                .collect(),
        }
    }

    fn decode(self, bytes: &[u8]) -> Option<String> {
        let utf16 = |le: bool, bytes: &[u8]| {
            // An odd byte is half a character.
            if !bytes.chunks_exact(2).remainder().is_empty() {
                return None;
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|b| {
                    if le {
                        u16::from_le_bytes([b[0], b[1]])
                    } else {
                        u16::from_be_bytes([b[0], b[1]])
                    }
                })
                .collect();
            String::from_utf16(&units).ok()
        };
        match self {
            Charset::Utf8 => String::from_utf8(bytes.to_vec()).ok(),
            Charset::Utf16 => match bytes {
                [0xfe, 0xff, rest @ ..] => utf16(false, rest),
                [0xff, 0xfe, rest @ ..] => utf16(true, rest),
                _ => utf16(false, bytes),
            },
            Charset::Utf16Be => utf16(false, bytes),
            Charset::Utf16Le => utf16(true, bytes),
            Charset::Latin1 => Some(bytes.iter().map(|b| char::from(*b)).collect()),
            Charset::Ascii => bytes
                .iter()
                .map(|b| b.is_ascii().then_some(char::from(*b)))
                .collect(),
            Charset::Windows1252 => bytes
                .iter()
                .map(|b| match b {
                    0x80..=0x9f => {
                        Some(WINDOWS_1252_HIGH[usize::from(b - 0x80)]).filter(|c| *c != '\u{fffd}')
                    }
                    _ => Some(char::from(*b)),
                })
                .collect(),
        }
    }
}

/// windows-1252 bytes 0x80 to 0x9F; U+FFFD marks the five it leaves undefined.
const WINDOWS_1252_HIGH: [char; 32] = [
    '\u{20ac}', '\u{fffd}', '\u{201a}', '\u{0192}', '\u{201e}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02c6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{fffd}', '\u{017d}', '\u{fffd}',
    '\u{fffd}', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02dc}', '\u{2122}', '\u{0161}', '\u{203a}', '\u{0153}', '\u{fffd}', '\u{017e}', '\u{0178}',
];

fn charset_arg(a: &Args, i: usize) -> Result<Charset, super::FuncError> {
    let name = a.string(i)?;
    Charset::named(&name).ok_or_else(|| {
        a.arg_err(
            i,
            format!(
                "{name:?} is not an encoding stackd supports; use UTF-8, UTF-16, UTF-16LE, \
                 UTF-16BE, ISO-8859-1, windows-1252 or US-ASCII"
            ),
        )
    })
}

pub(super) fn fn_textencodebase64(a: &Args) -> FuncResult {
    let s = a.string(0)?;
    let charset = charset_arg(a, 1)?;
    let bytes = charset.encode(&s).ok_or_else(|| {
        a.arg_err(
            0,
            format!(
                "the given string contains characters that cannot be represented in {}",
                charset.name()
            ),
        )
    })?;
    check_len(a, bytes.len().div_ceil(3).saturating_mul(4))?;
    Ok(Value::String(base64_encode(&bytes)))
}

pub(super) fn fn_textdecodebase64(a: &Args) -> FuncResult {
    let src = a.string(0)?;
    let charset = charset_arg(a, 1)?;
    let bytes =
        base64_decode(&src).ok_or_else(|| a.arg_err(0, "the given value is not valid base64"))?;
    let text = charset.decode(&bytes).ok_or_else(|| {
        a.arg_err(
            0,
            format!(
                "the given string contains symbols that are not defined for {}",
                charset.name()
            ),
        )
    })?;
    check_len(a, text.len())?;
    Ok(Value::String(text))
}

// ---------------------------------------------------------------------------
// urlencode

/// Query-string escaping, as Go's `url.QueryEscape`: letters, digits and
/// `-_.~` stay, a space is `+`, every other byte of the UTF-8 is `%XX`.
pub(super) fn fn_urlencode(a: &Args) -> FuncResult {
    let s = a.string(0)?;
    let kept = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b' ');
    let len = s.bytes().map(|b| if kept(b) { 1 } else { 3 }).sum();
    check_len(a, len)?;
    let mut out = String::with_capacity(len);
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            _ if kept(b) => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader for what [`deflate`] writes (fixed-code blocks only), to
    /// check the compressor round-trips.
    fn inflate_fixed(data: &[u8]) -> Vec<u8> {
        let mut pos = 0usize; // in bits
        let mut bit = |n: u32| -> u32 {
            let mut v = 0;
            for k in 0..n {
                let b = (data[pos / 8] >> (pos % 8)) & 1;
                v |= u32::from(b) << k;
                pos += 1;
            }
            v
        };
        assert_eq!(bit(1), 1, "final block");
        assert_eq!(bit(2), 1, "fixed codes");
        let mut out: Vec<u8> = Vec::new();
        loop {
            // Read a fixed code most significant bit first.
            let mut code = 0u32;
            let mut len = 0;
            let symbol = loop {
                code = (code << 1) | bit(1);
                len += 1;
                match (len, code) {
                    (7, 0..=0x17) => break code + 256,
                    (8, 0x30..=0xbf) => break code - 0x30,
                    (8, 0xc0..=0xc7) => break code - 0xc0 + 280,
                    (9, 0x190..=0x1ff) => break code - 0x190 + 144,
                    (9, _) => panic!("bad code"),
                    _ => {}
                }
            };
            match symbol {
                0..=255 => out.push(symbol as u8),
                256 => return out,
                _ => {
                    let li = (symbol - 257) as usize;
                    let len =
                        usize::from(LENGTH_BASE[li]) + bit(u32::from(LENGTH_EXTRA[li])) as usize;
                    let mut d = 0u32;
                    for _ in 0..5 {
                        d = (d << 1) | bit(1);
                    }
                    let di = d as usize;
                    let dist = usize::from(DIST_BASE[di]) + bit(u32::from(DIST_EXTRA[di])) as usize;
                    let start = out.len() - dist;
                    for k in 0..len {
                        out.push(out[start + k]);
                    }
                }
            }
        }
    }

    #[test]
    fn deflate_round_trips() {
        let mut noise = Vec::new();
        let mut x = 12345u32;
        for _ in 0..100_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            noise.push((x >> 24) as u8 % 7 + b'a');
        }
        for input in [
            b"".to_vec(),
            b"a".to_vec(),
            b"Hello World".to_vec(),
            b"abcabcabcabcabcabcabcabcabcabcabcabcabc".to_vec(),
            vec![b'z'; 100_000],
            (0..=255u8).cycle().take(70_000).collect(),
            noise,
        ] {
            let packed = deflate(&input);
            assert_eq!(inflate_fixed(&packed), input);
        }
        assert!(deflate(&vec![b'z'; 100_000]).len() < 1000);
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn gzip_header_and_trailer() {
        let gz = gzip(b"Hello World");
        assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&gz[gz.len() - 4..], &11u32.to_le_bytes());
    }

    #[test]
    fn csv_follows_go() {
        let recs = parse_csv("a,b\r\n\"x,\"\"y\"\"\",2\n\n\"multi\nline\",3").unwrap();
        assert_eq!(
            recs,
            vec![
                (1, vec!["a".to_string(), "b".to_string()]),
                (2, vec!["x,\"y\"".to_string(), "2".to_string()]),
                (4, vec!["multi\nline".to_string(), "3".to_string()]),
            ]
        );
        assert!(parse_csv("a,b\n\"x\"y,1").is_err());
        assert!(parse_csv("a,b\nx\"y,1").is_err());
        assert!(parse_csv("a\n\"open").is_err());
        assert_eq!(
            parse_csv("a,\n").unwrap(),
            vec![(1, vec!["a".into(), "".into()])]
        );
    }

    #[test]
    fn charsets_round_trip() {
        for cs in [
            Charset::Utf8,
            Charset::Utf16,
            Charset::Utf16Be,
            Charset::Utf16Le,
            Charset::Latin1,
            Charset::Windows1252,
            Charset::Ascii,
        ] {
            let bytes = cs.encode("Hello").unwrap();
            assert_eq!(cs.decode(&bytes).as_deref(), Some("Hello"), "{cs:?}");
        }
        assert_eq!(Charset::Windows1252.encode("€"), Some(vec![0x80]));
        assert_eq!(Charset::Windows1252.decode(&[0x81]), None);
        assert_eq!(Charset::Latin1.encode("€"), None);
        assert_eq!(Charset::Utf16.encode("A"), Some(vec![0xfe, 0xff, 0, 0x41]));
        assert_eq!(
            Charset::Utf16.decode(&[0xff, 0xfe, 0x41, 0]).as_deref(),
            Some("A")
        );
        assert_eq!(Charset::named("utf-16le"), Some(Charset::Utf16Le));
        assert_eq!(Charset::named("EBCDIC"), None);
    }
}
