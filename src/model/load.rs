//! Reading a model file: RON text -> [`Model`], with every error naming file:line:col.

use super::Model;
use std::fmt;
use std::path::{Path, PathBuf};

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
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

impl Source {
    /// Reads the file; a missing or unreadable file is an error naming it.
    pub fn read(path: &Path) -> Result<Source, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError {
            path: path.to_path_buf(),
            position: None,
            message: match e.kind() {
                std::io::ErrorKind::NotFound => "no such model file".to_string(),
                _ => format!("cannot read model file: {e}"),
            },
        })?;
        Ok(Source {
            path: path.to_path_buf(),
            text,
        })
    }

    /// An error at the first place where `key: "value"` (or `"value":` when `key` is empty)
    /// appears in the file, or without a position if it cannot be found.
    pub fn error_at(&self, key: &str, value: &str, message: String) -> ModelError {
        ModelError {
            path: self.path.clone(),
            position: locate(&self.text, key, value),
            message,
        }
    }

    /// An error without a position in this file.
    pub fn error(&self, message: String) -> ModelError {
        ModelError {
            path: self.path.clone(),
            position: None,
            message,
        }
    }
}

/// RON as model files are read: `Some(x)` may be written as plain `x`.
fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

/// Parses RON text into a model; syntax and type errors carry RON's line and column.
pub fn parse(src: &Source) -> Result<Model, ModelError> {
    ron_options().from_str::<Model>(&src.text).map_err(|e| ModelError {
        path: src.path.clone(),
        position: Some((e.span.start.line, e.span.start.col)),
        // RON's own words are clear ("Unexpected field named `x` in `Firm`, expected one of ...").
        message: e.code.to_string(),
    })
}

/// Reads, parses and checks a model file. A scenario (`extends: "base.ron"`) is resolved on
/// its base, found relative to the scenario's folder; a chain of scenarios may be up to 8 deep.
pub fn load(path: &Path) -> Result<(Model, Source), ModelError> {
    let (model, src) = load_resolved(path, 0)?;
    super::check::check(&model, &src)?;
    Ok((model, src))
}

fn load_resolved(path: &Path, depth: usize) -> Result<(Model, Source), ModelError> {
    let src = Source::read(path)?;
    if !super::scenario::is_scenario(&src.text) {
        return Ok((parse(&src)?, src));
    }
    let sc: super::scenario::Scenario = ron_options().from_str(&src.text).map_err(|e| ModelError {
        path: src.path.clone(),
        position: Some((e.span.start.line, e.span.start.col)),
        message: e.code.to_string(),
    })?;
    if depth >= 8 {
        return Err(src.error_at(
            "extends",
            &sc.extends,
            "scenarios extend each other more than 8 deep (a cycle?)".into(),
        ));
    }
    let base_path = path.parent().unwrap_or(Path::new(".")).join(&sc.extends);
    if !base_path.exists() {
        return Err(src.error_at(
            "extends",
            &sc.extends,
            format!("the base model {} does not exist", base_path.display()),
        ));
    }
    let (base, base_src) = load_resolved(&base_path, depth + 1)?;
    super::check::check(&base, &base_src)?;
    let model = super::scenario::apply(base, &sc, &src)?;
    Ok((model, src))
}

/// 1-based (line, column) of the first `key: "value"` in `text`, skipping `//` comments.
/// With an empty `key`, finds a map key `"value":` instead.
pub fn locate(text: &str, key: &str, value: &str) -> Option<(usize, usize)> {
    let quoted = format!("\"{value}\"");
    for (ln, line) in text.lines().enumerate() {
        let code = strip_comment(line);
        let mut from = 0;
        while let Some(rel) = code[from..].find(&quoted) {
            let at = from + rel;
            let ok = if key.is_empty() {
                code[at + quoted.len()..].trim_start().starts_with(':')
            } else {
                let before = code[..at].trim_end();
                before.ends_with(':') && {
                    let b = before[..before.len() - 1].trim_end();
                    b.ends_with(key) && !b[..b.len() - key.len()].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                }
            };
            if ok {
                let col = code[..at].chars().count() + 1;
                return Some((ln + 1, col));
            }
            from = at + quoted.len();
        }
    }
    None
}

fn strip_comment(line: &str) -> &str {
    // A `//` inside a string is not a comment; model files keep URLs in comments only, but be safe.
    let mut in_str = false;
    let bytes = line.as_bytes();
    for i in 0..bytes.len() {
        match bytes[i] {
            b'"' => in_str = !in_str,
            b'/' if !in_str && i + 1 < bytes.len() && bytes[i + 1] == b'/' => return &line[..i],
            _ => {}
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::locate;

    #[test]
    fn locates_key_value_pairs_and_map_keys() {
        let t = "(\n  // nation: \"US\"\n  firm: (id: \"a\", nation:  \"US\"),\n  recipe: {\"ndpr_oxide\": 0.3},\n)";
        assert_eq!(locate(t, "nation", "US"), Some((3, 28)));
        assert_eq!(locate(t, "", "ndpr_oxide"), Some((4, 12)));
        assert_eq!(locate(t, "id", "US"), None);
        assert_eq!(locate(t, "ation", "US"), None);
    }
}
