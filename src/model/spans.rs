//! Where each part of a model file is: a bracket-aware scan of RON text into a tree of spans.
//!
//! Serde tells us what a file means but forgets where each value was written. Semantic
//! checks (an unknown nation, a recipe amount out of range) need that place, so the text is
//! also scanned into a [`Node`] tree: every struct, list, map and scalar with its byte span,
//! and every field and map key with the span of its name. Strings, raw strings and comments
//! (`//`, nested `/* */`) are skipped, so brackets or ids inside them never confuse the
//! scan. A check then names the offending value by a path ([`Seg`]) — "firm `b`, its recipe,
//! key `dy_oxide`" — and the path is followed inside that element only, never by searching
//! the whole text for the first look-alike.

/// One value in the text and where it is (byte offsets, `start..end`).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

/// What a [`Node`] is.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `Name( ... )` or `( ... )`: a struct, tuple or enum variant. `fields` are the
    /// `name: value` entries (with the byte offset of the name), `items` the positional ones.
    Struct {
        name: Option<String>,
        fields: Vec<(String, usize, Node)>,
        items: Vec<Node>,
    },
    /// `[ ... ]`.
    List(Vec<Node>),
    /// `{ key: value, ... }`.
    Map(Vec<(Node, Node)>),
    /// A string literal; the text between the quotes, with `\"` and `\\` unescaped.
    Str(String),
    /// A number, identifier, boolean or character literal, as written.
    Atom(String),
}

/// One step of a path into the model, as the checks see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Seg<'a> {
    /// A named field of a struct (`Some(..)` around it is looked through).
    F(&'a str),
    /// The n-th element of a list, or the n-th positional item of a tuple variant.
    I(usize),
    /// The element of a list whose `id` field is this string.
    Id(&'a str),
    /// The route whose `from` and `to` fields are these nations.
    Route(&'a str, &'a str),
    /// The value of a map entry with this key.
    K(&'a str),
    /// The key itself of a map entry (to point at a repeated or unknown key).
    Key(&'a str),
}

/// Why the text could not be scanned; RON's own parser gives the user-facing error.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanError {
    pub offset: usize,
    pub message: String,
}

impl Node {
    /// The struct's field `name`, looking through `Some( .. )`.
    pub fn field(&self, name: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Struct { fields, .. } => fields.iter().find(|(k, _, _)| k == name).map(|(_, _, v)| v).or_else(|| {
                let inner = self.unwrap_some();
                if std::ptr::eq(inner, self) { None } else { inner.field(name) }
            }),
            _ => None,
        }
    }

    /// The value inside `Some( x )`, or the node itself.
    pub fn unwrap_some(&self) -> &Node {
        match &self.kind {
            Kind::Struct {
                name: Some(n),
                fields,
                items,
            } if n == "Some" && fields.is_empty() && items.len() == 1 => &items[0],
            _ => self,
        }
    }

    /// The string value, if this is a string literal.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The elements of a list (looking through `Some`), or none.
    pub fn elements(&self) -> &[Node] {
        match &self.unwrap_some().kind {
            Kind::List(v) => v,
            _ => &[],
        }
    }

    /// The entries of a map, or none.
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.unwrap_some().kind {
            Kind::Map(v) => v,
            _ => &[],
        }
    }

    /// One step down the tree.
    pub fn step(&self, seg: Seg) -> Option<&Node> {
        let node = self.unwrap_some();
        match seg {
            Seg::F(name) => node.field(name),
            Seg::I(k) => match &node.kind {
                Kind::List(v) => v.get(k),
                Kind::Struct { items, .. } => items.get(k),
                _ => None,
            },
            Seg::Id(id) => node.elements().iter().find(|e| e.field("id").and_then(Node::as_str) == Some(id)),
            Seg::Route(from, to) => node
                .elements()
                .iter()
                .find(|e| e.field("from").and_then(Node::as_str) == Some(from) && e.field("to").and_then(Node::as_str) == Some(to)),
            Seg::K(key) => node.entries().iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            Seg::Key(key) => node.entries().iter().find(|(k, _)| k.as_str() == Some(key)).map(|(k, _)| k),
        }
    }

    /// Follows `path` as far as it goes: the node reached and how many steps were taken.
    /// A partial walk still lands inside the right element (the firm, the event), which is
    /// where an error about a value left at its default belongs.
    pub fn walk(&self, path: &[Seg]) -> (&Node, usize) {
        let mut node = self;
        for (k, seg) in path.iter().enumerate() {
            match node.step(*seg) {
                Some(next) => node = next,
                None => return (node, k),
            }
        }
        (node, path.len())
    }

    /// The first map key, anywhere in the tree, that appears twice in its map: the byte
    /// offset of the second occurrence and the key.
    pub fn repeated_key(&self) -> Option<(usize, String)> {
        match &self.kind {
            Kind::Map(entries) => {
                let mut seen = std::collections::BTreeSet::new();
                for (key, _) in entries {
                    let shown = match &key.kind {
                        Kind::Str(s) | Kind::Atom(s) => s.clone(),
                        other => format!("{other:?}"),
                    };
                    if !seen.insert((matches!(key.kind, Kind::Str(_)), shown.clone())) {
                        return Some((key.start, shown));
                    }
                }
                entries.iter().find_map(|(k, v)| k.repeated_key().or_else(|| v.repeated_key()))
            }
            Kind::Struct { fields, items, .. } => fields
                .iter()
                .find_map(|(_, _, v)| v.repeated_key())
                .or_else(|| items.iter().find_map(Node::repeated_key)),
            Kind::List(v) => v.iter().find_map(Node::repeated_key),
            Kind::Str(_) | Kind::Atom(_) => None,
        }
    }

    /// Depth-first: the first struct field `key` whose value is the string `value` (with an
    /// empty `key`, the first map key `value`); its value's offset.
    pub fn find_pair(&self, key: &str, value: &str) -> Option<usize> {
        match &self.kind {
            Kind::Struct { fields, items, .. } => fields
                .iter()
                .find_map(|(k, _, v)| {
                    if !key.is_empty() && k == key && v.unwrap_some().as_str() == Some(value) {
                        Some(v.unwrap_some().start)
                    } else {
                        v.find_pair(key, value)
                    }
                })
                .or_else(|| items.iter().find_map(|n| n.find_pair(key, value))),
            Kind::List(v) => v.iter().find_map(|n| n.find_pair(key, value)),
            Kind::Map(entries) => entries.iter().find_map(|(k, v)| {
                if key.is_empty() && k.as_str() == Some(value) {
                    Some(k.start)
                } else {
                    v.find_pair(key, value)
                }
            }),
            Kind::Str(_) | Kind::Atom(_) => None,
        }
    }
}

/// Scans a whole file: optional `#![enable(..)]` attributes, then one value.
pub fn scan(text: &str) -> Result<Node, ScanError> {
    let mut s = Scanner { b: text.as_bytes(), i: 0 };
    s.skip_trivia()?;
    while s.peek() == Some(b'#') {
        // `#![enable(implicit_some)]`: skip to the closing bracket.
        while let Some(c) = s.peek() {
            s.i += 1;
            if c == b']' {
                break;
            }
        }
        s.skip_trivia()?;
    }
    let node = s.value(0)?;
    s.skip_trivia()?;
    if s.i < s.b.len() {
        return Err(s.err("text after the end of the model"));
    }
    Ok(node)
}

/// The name of the first field of the top-level record (`extends` in `(extends: ..`), read
/// even when the rest of the text does not scan.
pub fn first_field(text: &str) -> Option<String> {
    let mut s = Scanner { b: text.as_bytes(), i: 0 };
    s.skip_trivia().ok()?;
    while s.peek() == Some(b'#') {
        while let Some(c) = s.peek() {
            s.i += 1;
            if c == b']' {
                break;
            }
        }
        s.skip_trivia().ok()?;
    }
    while s.peek().is_some_and(is_ident_byte) {
        s.i += 1;
    }
    s.skip_trivia().ok()?;
    if s.peek() != Some(b'(') {
        return None;
    }
    s.i += 1;
    s.skip_trivia().ok()?;
    let at = s.i;
    while s.peek().is_some_and(is_ident_byte) {
        s.i += 1;
    }
    let word = String::from_utf8_lossy(&s.b[at..s.i]).into_owned();
    s.skip_trivia().ok()?;
    (s.peek() == Some(b':') && is_ident(&word)).then_some(word)
}

/// 1-based (line, column) of a byte offset: lines counted by `\n`, the column in characters.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&c| c == b'\n').map_or(0, |k| k + 1);
    let col = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, col)
}

/// Nesting deeper than this is refused (no model needs it; it bounds the scanner's stack).
const MAX_DEPTH: usize = 64;

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn err(&self, message: &str) -> ScanError {
        ScanError {
            offset: self.i,
            message: message.to_string(),
        }
    }

    /// Skips whitespace and comments (`//` to the end of the line, `/* */` nested).
    fn skip_trivia(&mut self) -> Result<(), ScanError> {
        loop {
            match self.peek() {
                Some(c) if c.is_ascii_whitespace() => self.i += 1,
                Some(b'/') if self.b.get(self.i + 1) == Some(&b'/') => {
                    while let Some(c) = self.peek() {
                        if c == b'\n' {
                            break;
                        }
                        self.i += 1;
                    }
                }
                Some(b'/') if self.b.get(self.i + 1) == Some(&b'*') => {
                    let open = self.i;
                    self.i += 2;
                    let mut depth = 1;
                    while depth > 0 {
                        match (self.peek(), self.b.get(self.i + 1)) {
                            (None, _) => {
                                self.i = open;
                                return Err(self.err("unterminated block comment"));
                            }
                            (Some(b'*'), Some(b'/')) => {
                                depth -= 1;
                                self.i += 2;
                            }
                            (Some(b'/'), Some(b'*')) => {
                                depth += 1;
                                self.i += 2;
                            }
                            _ => self.i += 1,
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, ScanError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        self.skip_trivia()?;
        let start = self.i;
        match self.peek() {
            None => Err(self.err("expected a value, found the end of the file")),
            Some(b'"') => self.string(start),
            Some(b'r') if matches!(self.b.get(self.i + 1), Some(b'"' | b'#')) => self.raw_string(start),
            Some(b'b') if self.b.get(self.i + 1) == Some(&b'"') => {
                self.i += 1;
                let mut n = self.string(self.i)?;
                n.start = start;
                Ok(n)
            }
            Some(b'\'') => {
                self.i += 1;
                while let Some(c) = self.peek() {
                    self.i += 1;
                    match c {
                        b'\\' => self.i += 1,
                        b'\'' => return Ok(self.atom_node(start)),
                        _ => {}
                    }
                }
                Err(self.err("unterminated character literal"))
            }
            Some(b'(') => self.parens(start, None, depth),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_trivia()?;
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        break;
                    }
                    items.push(self.value(depth + 1)?);
                    self.separator(b']')?;
                }
                Ok(Node {
                    start,
                    end: self.i,
                    kind: Kind::List(items),
                })
            }
            Some(b'{') => {
                self.i += 1;
                let mut entries = Vec::new();
                loop {
                    self.skip_trivia()?;
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                        break;
                    }
                    let k = self.value(depth + 1)?;
                    self.skip_trivia()?;
                    if self.peek() != Some(b':') {
                        return Err(self.err("expected `:` after a map key"));
                    }
                    self.i += 1;
                    let v = self.value(depth + 1)?;
                    entries.push((k, v));
                    self.separator(b'}')?;
                }
                Ok(Node {
                    start,
                    end: self.i,
                    kind: Kind::Map(entries),
                })
            }
            Some(c) if is_atom_byte(c) => {
                while self.peek().is_some_and(is_atom_byte) {
                    self.i += 1;
                }
                let word = String::from_utf8_lossy(&self.b[start..self.i]).into_owned();
                let after = self.i;
                self.skip_trivia()?;
                if self.peek() == Some(b'(') && is_ident(&word) {
                    let at = self.i;
                    self.parens(at, Some(word), depth).map(|mut n| {
                        n.start = start;
                        n
                    })
                } else {
                    self.i = after;
                    Ok(self.atom_node(start))
                }
            }
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn atom_node(&self, start: usize) -> Node {
        Node {
            start,
            end: self.i,
            kind: Kind::Atom(String::from_utf8_lossy(&self.b[start..self.i]).into_owned()),
        }
    }

    /// After an element: `,` or the closing bracket (left for the caller).
    fn separator(&mut self, close: u8) -> Result<(), ScanError> {
        self.skip_trivia()?;
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                Ok(())
            }
            Some(c) if c == close => Ok(()),
            _ => Err(self.err("expected `,` or a closing bracket")),
        }
    }

    /// `( ... )` at `self.i` (the open paren); `start` is where the node begins.
    fn parens(&mut self, start: usize, name: Option<String>, depth: usize) -> Result<Node, ScanError> {
        self.i += 1;
        let mut fields = Vec::new();
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            if self.peek() == Some(b')') {
                self.i += 1;
                break;
            }
            // `ident :` is a field; anything else is a positional item.
            let at = self.i;
            let mut j = self.i;
            while self.b.get(j).is_some_and(|&c| is_ident_byte(c)) {
                j += 1;
            }
            let word = String::from_utf8_lossy(&self.b[at..j]).into_owned();
            let mut field = None;
            if j > at && is_ident(&word) {
                self.i = j;
                self.skip_trivia()?;
                if self.peek() == Some(b':') {
                    self.i += 1;
                    field = Some(word);
                } else {
                    self.i = at;
                }
            }
            let v = self.value(depth + 1)?;
            match field {
                Some(name) => fields.push((name, at, v)),
                None => items.push(v),
            }
            self.separator(b')')?;
        }
        Ok(Node {
            start,
            end: self.i,
            kind: Kind::Struct { name, fields, items },
        })
    }

    fn string(&mut self, start: usize) -> Result<Node, ScanError> {
        self.i += 1;
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => {
                    return Ok(Node {
                        start,
                        end: self.i,
                        kind: Kind::Str(String::from_utf8_lossy(&out).into_owned()),
                    });
                }
                b'\\' => {
                    if let Some(e) = self.peek() {
                        self.i += 1;
                        match e {
                            b'"' | b'\\' => out.push(e),
                            _ => out.extend_from_slice(&[b'\\', e]),
                        }
                    }
                }
                _ => out.push(c),
            }
        }
        self.i = start;
        Err(self.err("unterminated string"))
    }

    fn raw_string(&mut self, start: usize) -> Result<Node, ScanError> {
        self.i += 1;
        let mut hashes = 0;
        while self.peek() == Some(b'#') {
            hashes += 1;
            self.i += 1;
        }
        if self.peek() != Some(b'"') {
            return Err(self.err("expected `\"` in a raw string"));
        }
        self.i += 1;
        let body = self.i;
        while self.i < self.b.len() {
            if self.b[self.i] == b'"' && self.b[self.i + 1..].iter().take(hashes).filter(|&&c| c == b'#').count() == hashes {
                let s = String::from_utf8_lossy(&self.b[body..self.i]).into_owned();
                self.i += 1 + hashes;
                return Ok(Node {
                    start,
                    end: self.i,
                    kind: Kind::Str(s),
                });
            }
            self.i += 1;
        }
        self.i = start;
        Err(self.err("unterminated raw string"))
    }
}

fn is_atom_byte(c: u8) -> bool {
    is_ident_byte(c) || matches!(c, b'.' | b'+' | b'-')
}

/// A byte of an identifier: RON takes Unicode identifiers (XID), so every byte of a non-ASCII
/// character counts; `is_ident` then judges the whole word.
fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

fn is_ident(w: &str) -> bool {
    w.starts_with(|c: char| c.is_alphabetic() || c == '_') && w.chars().all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"// a comment with "quotes" and ( brackets
Model(
    name: "m", /* block /* nested */ comment ) */
    firms: [
        (id: "a", recipe: {"ore": 1.0}, suppliers: {"ore": ByNation({"CN": 1.0})}),
        (id: "b", note: "has ) and ] inside", recipe: {"ore": 2.0, "dy": 0.1}),
    ],
    links: [(from: "CN", to: "US", days: 30)],
    action: Activate("ctl"),
    inspection: Some((share: 0.4)),
    set: {"a.b": "1", "a.b": "2"},
)"#;

    fn at(needle: &str) -> usize {
        TEXT.find(needle).expect("needle")
    }

    #[test]
    fn paths_land_inside_the_named_element_not_at_the_first_look_alike() {
        let t = scan(TEXT).unwrap();
        let (n, k) = t.walk(&[Seg::F("firms"), Seg::Id("b"), Seg::F("recipe"), Seg::Key("ore")]);
        assert_eq!(k, 4);
        assert_eq!(n.start, at("\"ore\": 2.0"), "firm b's own recipe key, not firm a's");
        let (n, _) = t.walk(&[Seg::F("firms"), Seg::I(1), Seg::F("recipe"), Seg::K("dy")]);
        assert_eq!(n.start, at("0.1"));
        let (n, _) = t.walk(&[Seg::F("links"), Seg::Route("CN", "US"), Seg::F("days")]);
        assert_eq!(n.start, at("30"));
        let (n, _) = t.walk(&[Seg::F("action"), Seg::I(0)]);
        assert_eq!(n.start, at("\"ctl\""));
        let (n, _) = t.walk(&[Seg::F("inspection"), Seg::F("share")]);
        assert_eq!(n.start, at("0.4"), "Some(..) is looked through");
        let (n, _) = t.walk(&[
            Seg::F("firms"),
            Seg::Id("a"),
            Seg::F("suppliers"),
            Seg::K("ore"),
            Seg::I(0),
            Seg::K("CN"),
        ]);
        assert_eq!(n.start, at("1.0})"));
    }

    #[test]
    fn a_partial_path_stops_at_the_deepest_element_found() {
        let t = scan(TEXT).unwrap();
        let (n, k) = t.walk(&[Seg::F("firms"), Seg::Id("b"), Seg::F("capacity_per_day")]);
        assert_eq!(k, 2);
        assert_eq!(n.start, at("(id: \"b\""));
    }

    #[test]
    fn repeated_map_keys_are_found_at_their_second_occurrence() {
        let t = scan(TEXT).unwrap();
        let second = TEXT.rfind("\"a.b\"").unwrap();
        assert_eq!(t.repeated_key(), Some((second, "a.b".to_string())));
        assert_eq!(scan("{\"x\": 1, \"y\": 2}").unwrap().repeated_key(), None);
    }

    #[test]
    fn comments_and_strings_do_not_confuse_the_brackets() {
        assert!(scan(TEXT).is_ok());
        assert!(scan("(a: \"unterminated)").is_err());
        assert!(scan("(a: [1, 2)").is_err());
        assert!(scan("(a: 1) trailing").is_err());
        assert_eq!(
            scan("#![enable(implicit_some)]\n(a: r#\"x\"y\"#)")
                .unwrap()
                .field("a")
                .and_then(Node::as_str),
            Some("x\"y")
        );
    }

    #[test]
    fn pairs_are_found_by_key_and_value() {
        let t = scan(TEXT).unwrap();
        assert_eq!(t.find_pair("id", "b"), Some(at("\"b\"")));
        assert_eq!(t.find_pair("", "dy"), Some(at("\"dy\"")));
        assert_eq!(t.find_pair("id", "zz"), None);
    }

    #[test]
    fn the_first_field_is_read_even_from_broken_text() {
        assert_eq!(first_field("// c\n(\n  extends: \"b.ron\", name: [").as_deref(), Some("extends"));
        assert_eq!(
            first_field("Model(name: \"x\", description: \"(extends: y\")").as_deref(),
            Some("name")
        );
        assert_eq!(first_field("[1, 2]"), None);
    }

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("é\nx", 3), (2, 1));
        assert_eq!(line_col("éx", 2), (1, 2));
    }
}
