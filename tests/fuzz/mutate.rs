//! Structure-aware mutations of RON model files: a small lexer finds numbers, strings,
//! identifiers and brackets, and each mutation changes one of them, one element or field, one
//! line, or a few raw bytes (including invalid UTF-8). Every mutation is described in words so
//! that a finding can be read without replaying it.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Number,
    Str,
    Ident,
    Open,
    Close,
    Colon,
    Comma,
    Other,
}

/// A token: its kind and byte span in the text.
#[derive(Clone, Copy, Debug)]
pub struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// Splits RON text into tokens, skipping white space and comments. Never fails: a byte that
/// fits nothing is an `Other` token.
pub fn lex(b: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            Kind::Str
        } else if c.is_ascii_digit() || (matches!(c, b'-' | b'+' | b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            i += 1;
            while i < b.len() {
                let d = b[i];
                let exp_sign = matches!(d, b'-' | b'+') && matches!(b[i - 1], b'e' | b'E');
                if d.is_ascii_alphanumeric() || d == b'_' || d == b'.' || exp_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            Kind::Number
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            Kind::Ident
        } else {
            i += 1;
            match c {
                b'(' | b'[' | b'{' => Kind::Open,
                b')' | b']' | b'}' => Kind::Close,
                b':' => Kind::Colon,
                b',' => Kind::Comma,
                _ => Kind::Other,
            }
        };
        out.push(Token { kind, start, end: i });
    }
    out
}

/// Index of the bracket closing the one opened at `open`, or the last token if unbalanced.
fn matching(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, t) in tokens.iter().enumerate().skip(open) {
        match t.kind {
            Kind::Open => depth += 1,
            Kind::Close => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    tokens.len() - 1
}

/// Last token of the value that starts at token `j` (`Some((..))`, `[..]`, `"x"`, `1.0`, …).
fn value_end(tokens: &[Token], j: usize) -> usize {
    match (tokens.get(j).map(|t| t.kind), tokens.get(j + 1).map(|t| t.kind)) {
        (Some(Kind::Open), _) => matching(tokens, j),
        (Some(_), Some(Kind::Open)) if tokens[j].kind != Kind::Colon => matching(tokens, j + 1),
        _ => j.min(tokens.len().saturating_sub(1)),
    }
}

/// 1-based line:column of byte `at`, for descriptions.
fn where_(text: &[u8], at: usize) -> String {
    let at = at.min(text.len());
    let line = text[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let col = at - text[..at].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
    format!("{line}:{col}")
}

fn show(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s: String = s.chars().take(60).collect();
    format!("{s:?}")
}

/// Numbers that stress parsing and ranges: zero, signs, the limits of u32, u64 and f64,
/// overflow, subnormals, and forms RON may or may not take.
pub const ODD_NUMBERS: &[&str] = &[
    "0",
    "-0.0",
    "-1",
    "1",
    "2",
    "0.5",
    "1.5",
    "-3",
    "1e-9",
    "1e6",
    "1e12",
    "1e19",
    "1e26",
    "1e308",
    "-1e308",
    "1e-308",
    "5e-324",
    "1e309",
    "-1e999",
    "4294967295",
    "4294967296",
    "65535",
    "2147483648",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "NaN",
    "inf",
    "-inf",
    "0x10",
    "0b101",
    "1_000",
    "+5",
    ".5",
    "5.",
    "1e",
    "1.0.0",
    "007",
];

/// Strings that stress ids, names, paths and dates.
const ODD_STRINGS: &[&str] = &[
    "\"\"",
    "\"..\"",
    "\".\"",
    "\"../../x\"",
    "\"/tmp/chokepoint-fuzz-abs\"",
    "\"日本\"",
    "\"a b\"",
    "\"US\"",
    "\"CN\"",
    "\"ROW\"",
    "\"xyz\"",
    "\"2025-02-30\"",
    "\"0000-01-01\"",
    "\"9999-12-31\"",
    "\"2025-01-01\"",
    "\"1900-02-28\"",
    "\"-2025-01-01\"",
    "\"\\x\"",
    "\"\\u{0}\"",
    "\"a\\\"b\"",
    "\"(extends: \\\"baseline.ron\\\")\"",
    "\"line\\nbreak\"",
    "\"unterminated",
];

/// Identifiers of the schema: enum variants and a few keywords.
const IDENTS: &[&str] = &[
    "Some",
    "None",
    "Listed",
    "ByNation",
    "ByCapacity",
    "Fixed",
    "Uniform",
    "Triangular",
    "Activate",
    "Deactivate",
    "SetApproval",
    "SetReview",
    "SetQuota",
    "SetCoverage",
    "Ban",
    "Unban",
    "GrantGeneral",
    "RevokeGeneral",
    "SetInspection",
    "SetTariff",
    "OutputLostAbove",
    "TariffAtMost",
    "PriceRatioAbove",
    "AfterRule",
    "Civil",
    "Defence",
    "Proportional",
    "MostUnits",
    "Priority",
    "true",
    "false",
    "Model",
    "extends",
    "set",
];

/// Byte sequences to insert: invalid UTF-8 of several kinds, brackets, quotes, comments.
const GARBAGE: &[&[u8]] = &[
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xc0\x80",
    b"\x80",
    b"\x00",
    b"\"",
    b"(",
    b")",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b":",
    b"/*",
    b"//",
    b"\\",
    "é".as_bytes(),
    "日".as_bytes(),
    b"\r",
    b"\t",
    b"#![enable(implicit_some)]",
    b"r#\"",
];

/// What extends may be changed to: missing files, folders, a device, the file itself, long
/// names, a NUL byte; `{self}` is the file's own name and `{other}` another model's.
const EXTENDS: &[&str] = &[
    "missing.ron",
    "",
    ".",
    "..",
    "sub",
    "sub/",
    "/dev/null",
    "/dev/zero",
    "/dev/stdin",
    "fifo",
    "{self}",
    "{other}",
    "./{other}",
    "../case/{other}",
    "{other}/",
    "base\\u{0}.ron",
    "{long}",
];

/// The texts mutations may draw from: every shipped model, lexed once.
pub struct Donors {
    pub files: Vec<(String, Vec<u8>, Vec<Token>)>,
}

impl Donors {
    pub fn new(files: &[(String, Vec<u8>)]) -> Donors {
        Donors {
            files: files.iter().map(|(n, t)| (n.clone(), t.clone(), lex(t))).collect(),
        }
    }
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn indices(tokens: &[Token], f: impl Fn(usize, &Token) -> bool) -> Vec<usize> {
    tokens.iter().enumerate().filter(|(k, t)| f(*k, t)).map(|(k, _)| k).collect()
}

fn splice(text: &mut Vec<u8>, start: usize, end: usize, with: &[u8]) {
    text.splice(start..end, with.iter().copied());
}

/// A random odd number, or a random scaling of `old`.
fn odd_number(rng: &mut ChaCha8Rng, old: &[u8]) -> String {
    match rng.random_range(0..10) {
        0..=5 => pick(rng, ODD_NUMBERS).to_string(),
        6 => rng.random_range(0..=u64::from(u32::MAX)).to_string(),
        7 => format!("{}e{}", rng.random_range(1..1000), rng.random_range(-12..=30)),
        _ => {
            let v: f64 = String::from_utf8_lossy(old).replace('_', "").parse().unwrap_or(1.0);
            let f = *pick(rng, &[-1.0, 10.0, 1000.0, 1e-3, 1e9, 0.0]);
            format!("{:?}", v * f)
        }
    }
}

/// Applies one random mutation to `text` (named `name`; `others` are the other files' names) and
/// says what it did.
pub fn mutate_once(rng: &mut ChaCha8Rng, name: &str, text: &mut Vec<u8>, donors: &Donors, others: &[String]) -> String {
    let tokens = lex(text);
    if tokens.is_empty() {
        let g = *pick(rng, GARBAGE);
        text.extend_from_slice(g);
        return format!("appended {}", show(g));
    }
    let op = rng.random_range(0..100);
    let of = |kind: Kind| indices(&tokens, |_, t| t.kind == kind);
    let extends = indices(&tokens, |k, t| {
        t.kind == Kind::Str && k >= 2 && tokens[k - 1].kind == Kind::Colon && &text[tokens[k - 2].start..tokens[k - 2].end] == b"extends"
    });
    let fields = indices(&tokens, |k, t| {
        matches!(t.kind, Kind::Ident | Kind::Str) && tokens.get(k + 1).is_some_and(|n| n.kind == Kind::Colon)
    });
    let opens = of(Kind::Open);
    match op {
        0..=21 if !of(Kind::Number).is_empty() => {
            let t = tokens[*pick(rng, &of(Kind::Number))];
            let new = odd_number(rng, &text[t.start..t.end]);
            let old = show(&text[t.start..t.end]);
            let at = where_(text, t.start);
            splice(text, t.start, t.end, new.as_bytes());
            format!("number at {at}: {old} -> {new}")
        }
        22..=35 if !of(Kind::Str).is_empty() => {
            let strs = of(Kind::Str);
            let t = tokens[*pick(rng, &strs)];
            let new: Vec<u8> = match rng.random_range(0..10) {
                0..=4 => {
                    let o = tokens[*pick(rng, &strs)];
                    text[o.start..o.end].to_vec()
                }
                5..=7 => pick(rng, ODD_STRINGS).as_bytes().to_vec(),
                8 => {
                    let mut s = text[t.start..t.end].to_vec();
                    if s.len() > 2 {
                        s.remove(rng.random_range(1..s.len() - 1));
                    }
                    s
                }
                _ => {
                    let mut s = text[t.start..t.end].to_vec();
                    let inner = s.len().saturating_sub(1).max(1);
                    s.splice(inner..inner, b"(extends: x)".iter().copied());
                    s
                }
            };
            let (old, at) = (show(&text[t.start..t.end]), where_(text, t.start));
            splice(text, t.start, t.end, &new);
            format!("string at {at}: {old} -> {}", show(&new))
        }
        36..=43 if !extends.is_empty() => {
            let t = tokens[extends[0]];
            let other = others.get(rng.random_range(0..others.len().max(1))).cloned().unwrap_or_default();
            let long = "x".repeat(300) + ".ron";
            let new = pick(rng, EXTENDS)
                .replace("{self}", name)
                .replace("{other}", &other)
                .replace("{long}", &long);
            let new = format!("\"{new}\"");
            let (old, at) = (show(&text[t.start..t.end]), where_(text, t.start));
            splice(text, t.start, t.end, new.as_bytes());
            format!("extends at {at}: {old} -> {}", show(new.as_bytes()))
        }
        44..=51 if !of(Kind::Ident).is_empty() => {
            let ids = of(Kind::Ident);
            let t = tokens[*pick(rng, &ids)];
            let new: Vec<u8> = match rng.random_range(0..3) {
                0 => pick(rng, IDENTS).as_bytes().to_vec(),
                1 => {
                    let o = tokens[*pick(rng, &ids)];
                    text[o.start..o.end].to_vec()
                }
                _ => {
                    let mut s = text[t.start..t.end].to_vec();
                    let k = rng.random_range(0..s.len());
                    if rng.random_bool(0.5) && s.len() > 1 {
                        s.remove(k);
                    } else {
                        s.insert(k, s[k]);
                    }
                    s
                }
            };
            let (old, at) = (show(&text[t.start..t.end]), where_(text, t.start));
            splice(text, t.start, t.end, &new);
            format!("identifier at {at}: {old} -> {}", show(&new))
        }
        52..=65 if !opens.is_empty() => {
            // An element: a bracketed value, with the variant or struct name before it.
            let o = *pick(rng, &opens);
            let first = if o > 0 && tokens[o - 1].kind == Kind::Ident { o - 1 } else { o };
            let last = matching(&tokens, o);
            let (start, mut end) = (tokens[first].start, tokens[last].end);
            let elem = text[start..end].to_vec();
            let at = where_(text, start);
            match op {
                52..=56 => {
                    if tokens.get(last + 1).is_some_and(|t| t.kind == Kind::Comma) {
                        end = tokens[last + 1].end;
                    }
                    splice(text, start, end, b"");
                    format!("deleted the element at {at} ({} bytes)", end - start)
                }
                57..=61 => {
                    let mut copy = b",".to_vec();
                    copy.extend_from_slice(&elem);
                    splice(text, end, end, &copy);
                    format!("duplicated the element at {at} ({} bytes)", elem.len())
                }
                _ => {
                    let (dname, dtext, dtok) = pick(rng, &donors.files);
                    let dopens = indices(dtok, |_, t| t.kind == Kind::Open);
                    if dopens.is_empty() {
                        return format!("no element to splice from {dname}");
                    }
                    let d = *pick(rng, &dopens);
                    let dfirst = if d > 0 && dtok[d - 1].kind == Kind::Ident { d - 1 } else { d };
                    let dl = matching(dtok, d);
                    let piece = &dtext[dtok[dfirst].start..dtok[dl].end];
                    splice(text, start, end, piece);
                    format!(
                        "replaced the element at {at} with the one at {} of {dname} ({} bytes)",
                        where_(dtext, dtok[dfirst].start),
                        piece.len()
                    )
                }
            }
        }
        66..=76 if !fields.is_empty() => {
            let f = *pick(rng, &fields);
            let last = value_end(&tokens, f + 2);
            let start = tokens[f].start;
            let mut end = tokens[last].end;
            let had_comma = tokens.get(last + 1).is_some_and(|t| t.kind == Kind::Comma);
            if had_comma {
                end = tokens[last + 1].end;
            }
            let field = show(&text[tokens[f].start..tokens[f].end]);
            let at = where_(text, start);
            if op <= 71 {
                splice(text, start, end, b"");
                format!("deleted field {field} at {at}")
            } else {
                let mut copy = text[start..end].to_vec();
                if !had_comma {
                    copy.insert(0, b',');
                }
                splice(text, end, end, &copy);
                format!("repeated field {field} at {at}")
            }
        }
        77..=85 => {
            let lines: Vec<usize> = std::iter::once(0)
                .chain(text.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(k, _)| k + 1))
                .filter(|&k| k < text.len())
                .collect();
            let k = rng.random_range(0..lines.len());
            let (s, e) = (lines[k], lines.get(k + 1).copied().unwrap_or(text.len()));
            let line = text[s..e].to_vec();
            if op <= 81 {
                splice(text, s, e, b"");
                format!("deleted line {}", k + 1)
            } else {
                splice(text, e, e, &line);
                format!("duplicated line {}", k + 1)
            }
        }
        86..=89 => {
            let a = tokens[rng.random_range(0..tokens.len())];
            let b = tokens[rng.random_range(0..tokens.len())];
            let (a, b) = if a.start <= b.start { (a, b) } else { (b, a) };
            if a.end > b.start {
                return "swapped a token with itself".into();
            }
            let (ta, tb) = (text[a.start..a.end].to_vec(), text[b.start..b.end].to_vec());
            let desc = format!(
                "swapped {} at {} and {} at {}",
                show(&ta),
                where_(text, a.start),
                show(&tb),
                where_(text, b.start)
            );
            splice(text, b.start, b.end, &ta);
            splice(text, a.start, a.end, &tb);
            desc
        }
        90..=91 => {
            let at = rng.random_range(0..=text.len());
            let desc = format!("truncated at byte {at} ({})", where_(text, at));
            text.truncate(at);
            desc
        }
        _ => {
            let at = rng.random_range(0..=text.len());
            let g = *pick(rng, GARBAGE);
            let desc = format!("inserted {} at {}", show(g), where_(text, at));
            splice(text, at, at, g);
            desc
        }
    }
}
