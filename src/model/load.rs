//! Reading a model file: RON text -> [`Model`], with every error naming file:line:col.
//!
//! A file is read only if it is a regular file of at most [`MAX_MODEL_FILE_BYTES`] (never a
//! device, pipe or folder), and must be UTF-8. Its text is also scanned into a tree of spans
//! ([`super::spans`]) so that semantic checks can point at the offending value. A scenario's
//! [`Source`] keeps its base's, so an error in a value the base defines is reported in the
//! base file, at that value.

use super::Model;
use super::spans::{self, Node, Seg};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest model or scenario file read, in bytes (64 MiB): far above any real model (the
/// shipped baseline is 25 kB), and small enough that reading it cannot exhaust memory.
pub const MAX_MODEL_FILE_BYTES: u64 = 64 << 20;

/// A problem with a model file, written for the person who wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelError {
    /// The file the problem is in.
    pub path: PathBuf,
    /// 1-based (line, column) where known.
    pub position: Option<(usize, usize)>,
    /// What was found and what was expected.
    pub message: String,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((l, c)) => write!(f, "{}:{l}:{c}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ModelError {}

/// A model as read from disk, with the text kept so that later checks can point into it.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
    /// Where each value is in `text`; `None` if the text could not be scanned (RON's parser
    /// then reports the syntax error).
    pub tree: Option<Node>,
    /// For a scenario: the source of its base model (itself possibly a scenario).
    pub base: Option<Box<Source>>,
    /// A scenario's `set` entries, as paths with ids (`firms.cn_magnet.capacity_per_day`),
    /// each with the byte offset of its key in `text`.
    pub sets: Vec<(String, usize)>,
    /// Command-line `--set` assignments noted by [`Source::note_overrides`]: the path with ids,
    /// and the assignment as typed.
    pub cli_sets: Vec<(String, String)>,
}

impl Source {
    /// A source from text in memory (scanned at once).
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Source {
        let text = text.into();
        Source {
            path: path.into(),
            tree: spans::scan(&text).ok(),
            text,
            ..Source::default()
        }
    }

    /// Reads the file; a missing, unreadable, oversized or non-UTF-8 file, a folder, device or
    /// pipe is an error naming it.
    pub fn read(path: &Path) -> Result<Source, ModelError> {
        let fail = |message: String| ModelError {
            path: path.to_path_buf(),
            position: None,
            message,
        };
        let meta = std::fs::metadata(path).map_err(|e| {
            fail(match e.kind() {
                std::io::ErrorKind::NotFound => "no such model file".to_string(),
                _ => format!("cannot read model file: {e}"),
            })
        })?;
        if meta.is_dir() {
            return Err(fail("is a folder; expected a model file (.ron)".into()));
        }
        if !meta.is_file() {
            return Err(fail(
                "is not a regular file (a device, pipe or socket); expected a model file (.ron) on disk".into(),
            ));
        }
        let too_big = |n: u64| {
            fail(format!(
                "is {:.1} MiB; model files may be at most {} MiB",
                n as f64 / (1 << 20) as f64,
                MAX_MODEL_FILE_BYTES >> 20
            ))
        };
        if meta.len() > MAX_MODEL_FILE_BYTES {
            return Err(too_big(meta.len()));
        }
        let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read model file: {e}")))?;
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        // Bounded even if the file grows while it is read.
        file.take(MAX_MODEL_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| fail(format!("cannot read model file: {e}")))?;
        if bytes.len() as u64 > MAX_MODEL_FILE_BYTES {
            return Err(too_big(bytes.len() as u64));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let b = e.as_bytes();
            let line = b[..at].iter().filter(|&&c| c == b'\n').count() + 1;
            // Columns count characters, as RON's do; everything before the first bad byte is valid.
            let line_start = b[..at].iter().rposition(|&c| c == b'\n').map_or(0, |k| k + 1);
            let col = std::str::from_utf8(&b[line_start..at]).map_or(at - line_start, |s| s.chars().count()) + 1;
            ModelError {
                path: path.to_path_buf(),
                position: Some((line, col)),
                message: format!("byte {at}: not valid UTF-8 (model files are UTF-8 text)"),
            }
        })?;
        Ok(Source::new(path, text))
    }

    /// True if the text is a scenario: its top-level record has an `extends` field.
    pub fn is_scenario(&self) -> bool {
        match &self.tree {
            Some(t) => t.field("extends").is_some(),
            None => super::scenario::is_scenario(&self.text),
        }
    }

    /// An error at the value `path` names in the resolved model (see [`Seg`]), reported in the
    /// file that wrote that value (this scenario, its `set` entry, or a base), at its line and
    /// column. A path that stops early points at the enclosing element.
    pub fn error_in(&self, path: &[Seg], message: String) -> ModelError {
        if let Some(a) = self.cli_set_for(path) {
            return ModelError {
                path: self.path.clone(),
                position: None,
                message: format!("{message} (the value comes from --set {a})"),
            };
        }
        match self.find(path) {
            Some((s, offset)) => ModelError {
                path: s.path.clone(),
                position: Some(spans::line_col(&s.text, offset)),
                message,
            },
            None => self.error(message),
        }
    }

    /// An error at the first `key: "value"` (or map key `"value"` when `key` is empty) in this
    /// file or, failing that, in its bases; without a position if none has it.
    pub fn error_at(&self, key: &str, value: &str, message: String) -> ModelError {
        let mut layer = Some(self);
        while let Some(s) = layer {
            if let Some(off) = s.tree.as_ref().and_then(|t| t.find_pair(key, value)) {
                return ModelError {
                    path: s.path.clone(),
                    position: Some(spans::line_col(&s.text, off)),
                    message,
                };
            }
            layer = s.base.as_deref();
        }
        self.error(message)
    }

    /// An error without a position in this file.
    pub fn error(&self, message: String) -> ModelError {
        ModelError {
            path: self.path.clone(),
            position: None,
            message,
        }
    }

    /// Notes command-line `--set` assignments applied to `model` (before they were applied),
    /// so that a check failing on a value they set says so instead of pointing into the file.
    pub fn note_overrides(&mut self, model: &Model, assignments: &[String]) {
        for a in assignments {
            if let Some((path, _)) = a.split_once('=') {
                self.cli_sets.push((super::overrides::normalize_path(model, path), a.clone()));
            }
        }
    }

    fn cli_set_for(&self, path: &[Seg]) -> Option<&str> {
        let p = render(path);
        self.cli_sets.iter().rev().find(|(s, _)| covers(s, &p)).map(|(_, a)| a.as_str())
    }

    /// The file and byte offset of the value at `path` in the resolved model.
    fn find(&self, path: &[Seg]) -> Option<(&Source, usize)> {
        let tree = self.tree.as_ref();
        let here = |p: &[Seg]| tree.map(|t| (self, t.walk(p).0.start));
        let Some(base) = self.base.as_deref() else {
            return here(path);
        };
        let p = render(path);
        if let Some((_, off)) = self.sets.iter().rev().find(|(s, _)| covers(s, &p)) {
            return Some((self, *off));
        }
        let own = |list: &[Seg]| {
            tree.and_then(|t| t.step(list[0]))
                .and_then(|n| list[1..].iter().try_fold(n, |n, s| n.step(*s)))
        };
        let found = match path {
            [Seg::F("name" | "extends" | "set"), ..] => here(path),
            [
                Seg::F(f @ ("description" | "seed" | "buying" | "prices" | "planning" | "output" | "synthetic")),
                ..,
            ] if own(&[Seg::F(f)]).is_some() => here(path),
            [Seg::F(l @ ("commodities" | "nations" | "firms")), s @ Seg::Id(_), ..] if own(&[Seg::F(l), *s]).is_some() => here(path),
            [Seg::F("routes"), Seg::F("links"), s @ Seg::Route(..), rest @ ..] if own(&[Seg::F("routes"), *s]).is_some() => {
                let p: Vec<Seg> = [Seg::F("routes"), *s].into_iter().chain(rest.iter().copied()).collect();
                here(&p)
            }
            [Seg::F("policies"), Seg::F(l @ ("controls" | "rules")), s @ Seg::Id(_), ..]
                if own(&[Seg::F("policies"), Seg::F(l), *s]).is_some() =>
            {
                here(path)
            }
            [Seg::F("policies"), Seg::F(l @ ("tariffs" | "events")), Seg::I(k), rest @ ..] => {
                let below = base.count_policies(l);
                if *k >= below {
                    let p: Vec<Seg> = [Seg::F("policies"), Seg::F(l), Seg::I(k - below)]
                        .into_iter()
                        .chain(rest.iter().copied())
                        .collect();
                    here(&p)
                } else {
                    base.find(path)
                }
            }
            _ => base.find(path),
        };
        found.or_else(|| here(path))
    }

    /// How many `policies.<list>` elements this file and its bases give together.
    fn count_policies(&self, list: &str) -> usize {
        let own = self
            .tree
            .as_ref()
            .and_then(|t| t.field("policies"))
            .and_then(|p| p.field(list))
            .map_or(0, |l| l.elements().len());
        own + self.base.as_deref().map_or(0, |b| b.count_policies(list))
    }
}

/// A path as `--set` writes it, with ids for list elements (`firms.cn_magnet.recipe.dy_oxide`);
/// a route is `FROM>TO`.
pub fn render(path: &[Seg]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|s| match *s {
            Seg::F(x) | Seg::Id(x) | Seg::K(x) | Seg::Key(x) => x.to_string(),
            Seg::I(k) => k.to_string(),
            Seg::Route(a, b) => format!("{a}>{b}"),
        })
        .collect();
    parts.join(".")
}

/// Whether an assignment to `set` changed the value at `path` (the same path or a parent).
fn covers(set: &str, path: &str) -> bool {
    path == set || path.strip_prefix(set).is_some_and(|rest| rest.starts_with('.'))
}

/// RON as model files are read: `Some(x)` may be written as plain `x`.
fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

/// Parses RON text as `T`; syntax and type errors carry RON's line and column, and a key
/// repeated in any map (a recipe, stocks, `set`) is an error at its second occurrence.
pub fn parse_as<T: serde::de::DeserializeOwned>(src: &Source) -> Result<T, ModelError> {
    let value = ron_options().from_str::<T>(&src.text).map_err(|e| ModelError {
        path: src.path.clone(),
        position: Some((e.span.start.line, e.span.start.col)),
        // RON's own words are clear ("Unexpected field named `x` in `Firm`, expected one of ...").
        message: e.code.to_string(),
    })?;
    if let Some((offset, key)) = src.tree.as_ref().and_then(Node::repeated_key) {
        return Err(ModelError {
            path: src.path.clone(),
            position: Some(spans::line_col(&src.text, offset)),
            message: format!("key `{key}` appears twice in this map; give each key once"),
        });
    }
    Ok(value)
}

/// Parses RON text into a model; see [`parse_as`].
pub fn parse(src: &Source) -> Result<Model, ModelError> {
    parse_as(src)
}

/// Reads, parses and checks a model file. A scenario (`extends: "base.ron"`) is resolved on
/// its base, found relative to the scenario's folder; a chain of scenarios may be up to 8 deep.
pub fn load(path: &Path) -> Result<(Model, Source), ModelError> {
    let (model, src) = load_resolved(path, 0)?;
    super::check::check(&model, &src)?;
    Ok((model, src))
}

/// Reads and parses a model file as [`load`] does (a scenario's bases are checked), but leaves
/// the model itself unchecked: for a caller that changes it further (`--set`, `--until`) and
/// checks it once, as it will run.
pub fn load_unchecked(path: &Path) -> Result<(Model, Source), ModelError> {
    load_resolved(path, 0)
}

fn load_resolved(path: &Path, depth: usize) -> Result<(Model, Source), ModelError> {
    let mut src = Source::read(path)?;
    if !src.is_scenario() {
        return Ok((parse(&src)?, src));
    }
    let sc: super::scenario::Scenario = parse_as(&src)?;
    let extends = [Seg::F("extends")];
    if depth >= 8 {
        return Err(src.error_in(&extends, "scenarios extend each other more than 8 deep (a cycle?)".into()));
    }
    let base_path = path.parent().unwrap_or(Path::new(".")).join(&sc.extends);
    let (base, base_src) = match load_resolved(&base_path, depth + 1) {
        // The base could not be read at all: the error belongs at `extends`.
        Err(e) if e.path == base_path && e.position.is_none() => {
            return Err(src.error_in(&extends, format!("base model {}: {}", base_path.display(), e.message)));
        }
        r => r?,
    };
    super::check::check(&base, &base_src)?;
    let (model, sets) = super::scenario::apply(base, &sc, &src)?;
    src.base = Some(Box::new(base_src));
    src.sets = sets;
    Ok((model, src))
}
