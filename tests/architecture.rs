//! The layering of `src/` (ARCHITECTURE.md, "Invariants"), read from the source text:
//! - a tick process (`src/tick/*.rs` but `mod.rs`) imports `world/` and `model/`, never another
//!   process: processes talk only through the world's state;
//! - `model/` imports no other layer; `world/` nothing from `tick/`, `output/`, `analysis/`;
//!   `output/` nothing from `analysis/` or `tick/`; none of them from `run` or `sweep`;
//! - only `output/` writes, renames or deletes files.

use std::path::{Path, PathBuf};

/// What a file of a layer may not name, and why.
struct Rule {
    /// Folder under `src/` whose files the rule covers (`""`: every file of `src/`).
    layer: &'static str,
    /// Files of the layer the rule does not cover.
    except: &'static [&'static str],
    /// Text that must not appear outside comments.
    forbidden: &'static [&'static str],
    why: &'static str,
}

const FILE_WRITES: &[&str] = &[
    "fs::write",
    "File::create",
    "OpenOptions",
    "create_dir",
    "remove_file",
    "remove_dir",
    "fs::rename",
    "hard_link",
    "fs::copy",
    "set_permissions",
    "symlink",
];

const RULES: &[Rule] = &[
    Rule {
        layer: "tick",
        except: &["mod.rs"],
        forbidden: &[
            "crate::tick",
            "super::super",
            "crate::output",
            "crate::analysis",
            "crate::run",
            "crate::sweep",
        ],
        why: "a tick process imports world/ and model/ only; processes talk through the world's state",
    },
    Rule {
        layer: "world",
        except: &[],
        forbidden: &["crate::tick", "crate::output", "crate::analysis", "crate::run", "crate::sweep"],
        why: "world/ is the state of a run; it imports nothing from tick/, output/, analysis/",
    },
    Rule {
        layer: "model",
        except: &[],
        forbidden: &[
            "crate::world",
            "crate::tick",
            "crate::output",
            "crate::analysis",
            "crate::run",
            "crate::sweep",
        ],
        why: "model/ is the bottom layer: the model file, with no run behind it",
    },
    Rule {
        layer: "output",
        except: &[],
        forbidden: &["crate::analysis", "crate::tick", "crate::run", "crate::sweep"],
        why: "output/ writes and reads run folders; it imports nothing from analysis/ or tick/",
    },
    Rule {
        layer: "analysis",
        except: &[],
        forbidden: &["crate::tick", "crate::run", "crate::sweep"],
        why: "analysis/ reads finished runs; it does not run models",
    },
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, in a fixed order.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out
}

/// The code of a Rust file without its comments (line and block comments; string contents
/// are kept, which can only make the check stricter).
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (b, mut i, mut depth) = (text.as_bytes(), 0, 0usize);
    while i < b.len() {
        if depth == 0 && b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if depth > 0 && b[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
        } else {
            if depth == 0 {
                out.push(b[i] as char);
            }
            i += 1;
        }
    }
    out
}

/// Lines of `text` that break `forbidden`, as "line N: …". A grouped `use crate::{…}` is also
/// reported: it hides the layer it imports from.
fn breaches(text: &str, forbidden: &[&str]) -> Vec<String> {
    code(text)
        .lines()
        .enumerate()
        .filter(|(_, l)| forbidden.iter().any(|f| l.contains(f)) || l.contains("crate::{"))
        .map(|(n, l)| format!("line {}: {}", n + 1, l.trim()))
        .collect()
}

#[test]
fn the_checker_finds_what_it_looks_for() {
    let text = "//! a process\nuse crate::world::clock::Clock;\n// use crate::tick::markets;\nuse crate::tick::markets::PRICE_RANGE;\nuse crate::{tick::policy};\n";
    let found = breaches(text, &["crate::tick"]);
    assert_eq!(
        found,
        vec![
            "line 4: use crate::tick::markets::PRICE_RANGE;",
            "line 5: use crate::{tick::policy};"
        ]
    );
    assert!(
        breaches("/* crate::tick */ fn f() {}", &["crate::tick"]).is_empty(),
        "comments are not code"
    );
    assert_eq!(breaches("let x = std::fs::write(p, b);", FILE_WRITES).len(), 1);
}

#[test]
fn layers_import_only_the_layers_below_them() {
    let mut problems = Vec::new();
    for rule in RULES {
        let dir = src().join(rule.layer);
        let files = rust_files(&dir);
        assert!(!files.is_empty(), "src/{} has no files", rule.layer);
        for f in files {
            let name = f.file_name().unwrap().to_str().unwrap();
            if rule.except.contains(&name) && f.parent() == Some(dir.as_path()) {
                continue;
            }
            for b in breaches(&std::fs::read_to_string(&f).unwrap(), rule.forbidden) {
                problems.push(format!("{}: {b}\n    ({})", f.strip_prefix(src()).unwrap().display(), rule.why));
            }
        }
    }
    assert!(problems.is_empty(), "layering broken:\n{}", problems.join("\n"));
}

#[test]
fn every_tick_process_is_in_the_schedule_and_nowhere_else() {
    // The processes are the files of src/tick/; tick/mod.rs declares each and is the only
    // file that names their systems together.
    let schedule = std::fs::read_to_string(src().join("tick/mod.rs")).unwrap();
    let processes: Vec<String> = rust_files(&src().join("tick"))
        .iter()
        .map(|f| f.file_stem().unwrap().to_str().unwrap().to_string())
        .filter(|n| n != "mod")
        .collect();
    for p in &processes {
        assert!(schedule.contains(&format!("pub mod {p};")), "tick/mod.rs does not declare `{p}`");
        assert!(
            schedule.contains(&format!("{p}::")),
            "tick/mod.rs does not schedule anything of `{p}`"
        );
    }
    for f in rust_files(&src()) {
        let rel = f.strip_prefix(src()).unwrap().to_string_lossy().into_owned();
        if rel.starts_with("tick/") {
            continue;
        }
        let text = code(&std::fs::read_to_string(&f).unwrap());
        for p in &processes {
            // Outside tick/, only the schedule runs a process: the rest of the program steps a
            // `Simulation` and reads the world.
            assert!(
                !text.contains(&format!("tick::{p}::")),
                "{rel} reaches into tick::{p}: processes are run by the schedule only"
            );
        }
    }
}

#[test]
fn only_output_writes_files() {
    let mut problems = Vec::new();
    for f in rust_files(&src()) {
        let rel = f.strip_prefix(src()).unwrap().to_string_lossy().into_owned();
        if rel.starts_with("output/") {
            continue;
        }
        for b in breaches(&std::fs::read_to_string(&f).unwrap(), FILE_WRITES) {
            if !b.contains("crate::{") {
                problems.push(format!("{rel}: {b}"));
            }
        }
    }
    assert!(problems.is_empty(), "files written outside src/output/:\n{}", problems.join("\n"));
}

#[test]
fn the_code_map_names_every_source_file_in_its_folder() {
    // ARCHITECTURE.md's code map has one paragraph per folder of src/, opened by a line
    // "`src/<folder>/` — …", listing its files; the top-level files are named with their path.
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md")).unwrap();
    let map = &doc[doc.find("## Code map").expect("a code map")..];
    let map = &map[..map[3..].find("\n## ").map_or(map.len(), |i| i + 3)];
    let mut missing = Vec::new();
    for f in rust_files(&src()) {
        let rel = f.strip_prefix(src()).unwrap().to_string_lossy().into_owned();
        let found = match rel.split_once('/') {
            None => map.contains(&format!("`src/{rel}`")),
            Some((folder, name)) => {
                let head = format!("`src/{folder}/` —");
                map.find(&head).is_some_and(|i| {
                    let section = &map[i..];
                    let end = section.find("\n\n").unwrap_or(section.len());
                    section[..end].contains(&format!("`{name}`"))
                })
            }
        };
        if !found {
            missing.push(rel);
        }
    }
    assert!(missing.is_empty(), "ARCHITECTURE.md's code map does not name: {missing:?}");
}
