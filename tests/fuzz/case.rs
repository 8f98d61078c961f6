//! One fuzz case: which shipped model it starts from, the mutated files, the `--set` and
//! `--until` flags, and whether a short run follows; how cases are generated from (seed, index),
//! saved as folders, read back, and executed against the library.

use super::alloc;
use super::mutate::{self, Donors, ODD_NUMBERS};
use chokepoint::model::Model;
use chokepoint::model::calendar::Date;
use chokepoint::model::load::ModelError;
use chokepoint::run::{RunError, RunOptions, resolve_model, run};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

/// Share of cases followed by a short run when the model and flags are accepted
/// (`CHOKEPOINT_FUZZ_RUN_SHARE`, default 0.03).
pub fn run_share() -> f64 {
    std::env::var("CHOKEPOINT_FUZZ_RUN_SHARE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| (0.0..=1.0).contains(s))
        .unwrap_or(0.03)
}

/// The shipped models (name, text), what each extends, and the `--set` paths of each.
pub struct Corpus {
    pub files: Vec<(String, Vec<u8>)>,
    pub donors: Donors,
    /// File name -> the chain of files it loads (itself first, then its bases).
    pub chains: BTreeMap<String, Vec<String>>,
    /// File name -> every path into its resolved model's JSON view.
    pub paths: BTreeMap<String, SetPaths>,
    /// Every id in the shipped models (as `--set` values).
    pub ids: Vec<String>,
}

impl Corpus {
    /// Reads models/*.ron of the crate.
    pub fn load() -> Corpus {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .expect("models/ is readable")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "ron"))
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).expect("model readable"))
            })
            .collect();
        files.sort();
        let text_of = |n: &str| {
            files
                .iter()
                .find(|(m, _)| m == n)
                .map(|(_, t)| String::from_utf8_lossy(t).into_owned())
        };
        let mut chains = BTreeMap::new();
        for (name, _) in &files {
            let mut chain = vec![name.clone()];
            while let Some(base) = text_of(chain.last().unwrap()).and_then(|t| extends_of(&t)) {
                chain.push(base);
            }
            chains.insert(name.clone(), chain);
        }
        let mut paths = BTreeMap::new();
        let mut ids = std::collections::BTreeSet::new();
        for (name, _) in &files {
            let (model, _) = chokepoint::model::load::load(&dir.join(name)).expect("shipped models load");
            let tree = serde_json::to_value(&model).expect("a model has a JSON view");
            let mut out = Vec::new();
            walk(&tree, String::new(), String::new(), &mut out, &mut ids);
            let mut shapes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for (k, (_, shape, _)) in out.iter().enumerate() {
                shapes.entry(shape.clone()).or_default().push(k);
            }
            let items = out.into_iter().map(|(p, _, v)| (p, v)).collect();
            paths.insert(
                name.clone(),
                SetPaths {
                    items,
                    shapes: shapes.into_values().collect(),
                },
            );
        }
        Corpus {
            donors: Donors::new(&files),
            files,
            chains,
            paths,
            ids: ids.into_iter().collect(),
        }
    }

    pub fn text(&self, name: &str) -> &[u8] {
        &self.files.iter().find(|(n, _)| n == name).expect("a shipped model").1
    }
}

/// The `extends` target of a scenario's text.
fn extends_of(text: &str) -> Option<String> {
    let at = text.find("extends:")?;
    let rest = &text[at..];
    let q = rest.find('"')? + 1;
    let e = rest[q..].find('"')?;
    Some(rest[q..q + e].to_string())
}

/// The paths `--set` can take in one model.
pub struct SetPaths {
    /// Every path into the model's JSON view (list elements by id or index), with its value.
    pub items: Vec<(String, serde_json::Value)>,
    /// Indices into `items` grouped by shape (the path with list elements as `*`).
    pub shapes: Vec<Vec<usize>>,
}

type Found = Vec<(String, String, serde_json::Value)>;

fn walk(v: &serde_json::Value, path: String, shape: String, out: &mut Found, ids: &mut std::collections::BTreeSet<String>) {
    let join = |p: &str, seg: &str| if p.is_empty() { seg.to_string() } else { format!("{p}.{seg}") };
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map {
                if k == "id"
                    && let Some(s) = x.as_str()
                {
                    ids.insert(s.to_string());
                }
                walk(x, join(&path, k), join(&shape, k), out, ids);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                let seg = x.get("id").and_then(|s| s.as_str()).map_or_else(|| i.to_string(), str::to_string);
                walk(x, join(&path, &seg), join(&shape, "*"), out, ids);
            }
        }
        _ => {}
    }
    if !path.is_empty() {
        out.push((path, shape, v.clone()));
    }
}

/// A case, as generated or read from a folder.
#[derive(Clone, Debug, Default)]
pub struct Case {
    /// The file loaded (a name in the case folder).
    pub entry: String,
    /// Files that differ from the shipped ones: name -> bytes.
    pub mutated: BTreeMap<String, Vec<u8>>,
    /// `--set PATH=VALUE` flags.
    pub sets: Vec<String>,
    /// `--until` flag of the validation with flags.
    pub until: Option<String>,
    /// Days of the short run, if one follows.
    pub run_days: Option<u32>,
    /// What was done, in words.
    pub log: Vec<String>,
}

/// The case number `index` of the stream `seed`: the same pair gives the same case everywhere.
pub fn generate(seed: u64, index: u64, corpus: &Corpus) -> Case {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&index.to_le_bytes());
    let mut rng = ChaCha8Rng::from_seed(key);
    let names: Vec<String> = corpus.files.iter().map(|(n, _)| n.clone()).collect();
    let entry = names[rng.random_range(0..names.len())].clone();
    let chain = &corpus.chains[&entry];
    let mut case = Case {
        entry: entry.clone(),
        ..Case::default()
    };
    let sets_only = rng.random_bool(0.12);
    if !sets_only {
        let mut n = 1;
        while n < 6 && rng.random_bool(0.45) {
            n += 1;
        }
        for _ in 0..n {
            let target = if rng.random_bool(0.75) {
                entry.clone()
            } else {
                chain[rng.random_range(0..chain.len())].clone()
            };
            let mut text = case.mutated.get(&target).cloned().unwrap_or_else(|| corpus.text(&target).to_vec());
            let others: Vec<String> = names.iter().filter(|n| **n != target).cloned().collect();
            let what = mutate::mutate_once(&mut rng, &target, &mut text, &corpus.donors, &others);
            case.log.push(format!("{target}: {what}"));
            case.mutated.insert(target, text);
        }
    }
    if sets_only || rng.random_bool(0.2) {
        let n = rng.random_range(1..=3);
        for _ in 0..n {
            case.sets.push(random_set(&mut rng, &corpus.paths[&entry], &corpus.ids));
        }
    }
    if rng.random_bool(0.1) {
        const UNTIL: &[&str] = &[
            "2025-02-01",
            "xyz",
            "",
            "2024-12-31",
            "1900-01-01",
            "9999-12-31",
            "2025-02-30",
            "2025-1-1",
            "2010-12-31",
            "2023-09-01",
            "-2025-01-01",
        ];
        case.until = Some(UNTIL[rng.random_range(0..UNTIL.len())].to_string());
    }
    if rng.random_bool(run_share()) {
        case.run_days = Some(rng.random_range(1..=30));
    }
    case
}

/// One `PATH=VALUE`: mostly a real path of the model with an odd value, sometimes a broken path.
fn random_set(rng: &mut ChaCha8Rng, paths: &SetPaths, ids: &[String]) -> String {
    let (shapes, paths) = (&paths.shapes, &paths.items);
    const BAD_PATHS: &[&str] = &[
        "",
        ".",
        "firms..x",
        "firms.999.capacity_per_day",
        "calendar",
        "nope",
        "firms.-1",
        "seed.x",
        "name",
    ];
    const VALUES: &[&str] = &[
        "",
        "xyz",
        "..",
        "/tmp/x",
        "true",
        "false",
        "null",
        "[]",
        "{}",
        "[1,2]",
        "{\"a\":1}",
        "\"US\"",
        "2025-02-01",
        "2025-13-01",
        "{\"Fixed\":1e19}",
        "{\"Uniform\":{\"min\":5,\"max\":1}}",
        "NaN",
        "=",
    ];
    let path = if rng.random_bool(0.08) {
        BAD_PATHS[rng.random_range(0..BAD_PATHS.len())].to_string()
    } else {
        // Uniform over path shapes (`firms.*.recipe.*`), then over paths of that shape, so that
        // the few calendar, routes and planning fields are drawn as often as the many firm ones.
        let members = &shapes[rng.random_range(0..shapes.len())];
        paths[members[rng.random_range(0..members.len())]].0.clone()
    };
    let value = match rng.random_range(0..10) {
        0..=4 => ODD_NUMBERS[rng.random_range(0..ODD_NUMBERS.len())].to_string(),
        5 | 6 => ids[rng.random_range(0..ids.len())].clone(),
        7 => paths[rng.random_range(0..paths.len())].1.to_string(),
        _ => VALUES[rng.random_range(0..VALUES.len())].to_string(),
    };
    if rng.random_bool(0.02) { path } else { format!("{path}={value}") }
}

/// Writes a case as a self-contained folder: the mutated files, the shipped files its entry
/// loads or any mutated file names, and `case.txt` (replay adds an empty `sub/` folder, an
/// `extends` target).
pub fn save(case: &Case, corpus: &Corpus, dir: &Path, why: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in &corpus.files {
        let named = |t: &Vec<u8>| t.windows(name.len()).any(|w| w == name.as_bytes());
        let needed = corpus.chains[&case.entry].contains(name) || case.mutated.values().any(named);
        if needed || case.mutated.contains_key(name) {
            std::fs::write(dir.join(name), case.mutated.get(name).unwrap_or(text))?;
        }
    }
    let mut t = String::new();
    for line in why.lines() {
        t += &format!("# {line}\n");
    }
    for m in &case.log {
        t += &format!("# mutation: {}\n", m.replace('\n', "\\n"));
    }
    t += &format!("entry: {}\n", case.entry);
    for s in &case.sets {
        t += &format!("set: {s}\n");
    }
    if let Some(u) = &case.until {
        t += &format!("until: {u}\n");
    }
    if let Some(d) = case.run_days {
        t += &format!("run: {d}\n");
    }
    std::fs::write(dir.join("case.txt"), t)
}

/// Reads `case.txt` of a saved case (the files stay in the folder).
pub fn read(dir: &Path) -> Result<Case, String> {
    let p = dir.join("case.txt");
    let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    let mut case = Case::default();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once(": ")
            .ok_or_else(|| format!("{}:{}: expected `key: value`, found {line:?}", p.display(), n + 1))?;
        match key {
            "entry" => case.entry = value.to_string(),
            "set" => case.sets.push(value.to_string()),
            "until" => case.until = Some(value.to_string()),
            "run" => {
                case.run_days = Some(
                    value
                        .parse()
                        .map_err(|_| format!("{}:{}: run takes a number of days", p.display(), n + 1))?,
                )
            }
            _ => return Err(format!("{}:{}: unknown key `{key}` (entry, set, until, run)", p.display(), n + 1)),
        }
    }
    if case.entry.is_empty() {
        return Err(format!("{}: no `entry:` line", p.display()));
    }
    Ok(case)
}

/// Something wrong with how the library handled a case.
#[derive(Clone, Debug)]
pub struct Finding {
    /// What went wrong, with names and numbers blanked so that equal defects group together.
    pub kind: String,
    /// The full message.
    pub detail: String,
}

/// Which step of a case is running (reported to the parent, so a hang names its step).
#[derive(Clone, Copy, Debug)]
pub enum Step {
    Validate,
    Flags,
    Run,
}

/// Replaces quoted names, paths, numbers (`-3`, `inf`, `NaN` too) and nation-like codes
/// (`ROW`, `JP`) by placeholders, so messages differing only in them match. Lists of valid
/// names ("expected one of", "did you mean") are dropped.
pub fn blank(msg: &str) -> String {
    let msg = ["; expected one of", "; did you mean", "; fields there"]
        .iter()
        .filter_map(|cut| msg.find(cut))
        .min()
        .map_or(msg, |at| &msg[..at]);
    let mut out = String::new();
    let chars: Vec<char> = msg.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let word_end = |from: usize, ok: &dyn Fn(char) -> bool| (from..chars.len()).find(|&k| !ok(chars[k])).unwrap_or(chars.len());
        if c == '`' || c == '"' {
            let close = (i + 1..chars.len()).find(|&k| chars[k] == c).unwrap_or(chars.len());
            out.push(c);
            out.push('_');
            out.push(c);
            i = close + 1;
        } else if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit() || *d == 'i')) {
            out.push('N');
            i = word_end(i + 1, &|d| d.is_ascii_alphanumeric() || matches!(d, '.' | '-' | '+'));
        } else if c.is_alphabetic() {
            let e = word_end(i, &|d| d.is_alphanumeric() || d == '_');
            let word: String = chars[i..e].iter().collect();
            let in_date = (i > 0 && chars[i - 1] == '-') || chars.get(e) == Some(&'-');
            let code = (2..=3).contains(&word.len()) && word.chars().all(|d| d.is_ascii_uppercase()) && !in_date;
            out += match word.as_str() {
                "inf" | "NaN" => "N",
                _ if code => "X",
                w => w,
            };
            i = e;
        } else if c == '/' {
            out.push_str("PATH");
            i = word_end(i, &|d| !d.is_whitespace() && d != ':');
        } else {
            out.push(c);
            i += 1;
        }
    }
    out.chars().take(140).collect()
}

fn same_file(a: &Path, dir: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(dir)) {
        (Ok(a), Ok(d)) => a.parent() == Some(d.as_path()) && a.is_file(),
        _ => false,
    }
}

/// Checks an error about the case's files: it must carry a position, inside the file it names.
fn position_finding(e: &ModelError, dir: &Path) -> Option<Finding> {
    let Some((line, col)) = e.position else {
        return Some(Finding {
            kind: format!("error without a position: {}", blank(&e.message)),
            detail: e.to_string(),
        });
    };
    if !same_file(&e.path, dir) {
        return None;
    }
    let text = std::fs::read(&e.path).ok()?;
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.split('\n').collect();
    let ok = line >= 1 && line <= lines.len() && col >= 1 && col <= lines[line - 1].chars().count() + 1;
    (!ok).then(|| Finding {
        kind: format!("position outside the file: {}", blank(&e.message)),
        detail: format!("{e} (the file has {} lines)", lines.len()),
    })
}

thread_local! {
    /// Where and why the last panic on this thread happened (set by the child's panic hook).
    pub static LAST_PANIC: std::cell::RefCell<Option<(String, String)>> = const { std::cell::RefCell::new(None) };
}

/// Replaces the panic hook by one that records the panic for [`execute`] instead of printing it.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(non-text payload)".into());
        let at = info
            .location()
            .map_or_else(|| "?".into(), |l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
        LAST_PANIC.with(|p| *p.borrow_mut() = Some((at, msg)));
    }));
}

fn catch<T>(f: impl FnOnce() -> T) -> Result<T, Finding> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|_| {
        let (at, msg) = LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| ("?".into(), "?".into()));
        Finding {
            kind: format!("panic at {at}: {}", blank(&msg)),
            detail: format!("panicked at {at}: {msg}"),
        }
    })
}

/// Runs a case whose files are in `dir`, writing a short run (if any) to `out`; `step` is called
/// as each step begins. Returns what went wrong and the last model accepted.
pub fn execute(case: &Case, dir: &Path, out: &Path, step: &mut dyn FnMut(Step)) -> (Vec<Finding>, Option<Model>) {
    let entry = dir.join(&case.entry);
    let summarize = |r: Result<(Model, chokepoint::model::load::Source, chokepoint::world::network::Network), RunError>| {
        r.map(|(m, _, net)| {
            let _ = chokepoint::analysis::summary::summarize(&m, &net);
            m
        })
    };
    step(Step::Validate);
    let mut model = match catch(|| summarize(resolve_model(&entry, &RunOptions::default()))) {
        Err(f) => return (vec![f], None),
        Ok(Err(RunError::Model(e))) => return (position_finding(&e, dir).into_iter().collect(), None),
        Ok(Err(e)) => {
            let f = Finding {
                kind: format!("validate failed with a non-model error: {}", blank(&e.to_string())),
                detail: e.to_string(),
            };
            return (vec![f], None);
        }
        Ok(Ok(m)) => m,
    };
    if !case.sets.is_empty() || case.until.is_some() {
        step(Step::Flags);
        let opts = RunOptions {
            set: case.sets.clone(),
            until: case.until.clone(),
            ..RunOptions::default()
        };
        // An error here may be about a flag, whose text is in no file: no position is required.
        match catch(|| summarize(resolve_model(&entry, &opts))) {
            Err(f) => return (vec![f], Some(model)),
            Ok(Err(_)) => return (vec![], Some(model)),
            Ok(Ok(m)) => model = m,
        }
    }
    let Some(days) = case.run_days else {
        return (vec![], Some(model));
    };
    step(Step::Run);
    let Some(start) = Date::parse(&model.calendar.start) else {
        let f = Finding {
            kind: "accepted a model whose start is not a date".into(),
            detail: model.calendar.start.clone(),
        };
        return (vec![f], Some(model));
    };
    let until = start.plus_days(days as i32 - 1).to_string();
    model.calendar.end = until.clone();
    let _ = std::fs::remove_dir_all(out);
    let opts = RunOptions {
        out: Some(out.to_path_buf()),
        until: Some(until),
        set: case.sets.clone(),
        quiet: true,
        threads: Some(1),
        ..RunOptions::default()
    };
    let findings = match catch(|| run(&entry, &opts)) {
        Err(f) => vec![f],
        Ok(Err(e)) => vec![Finding {
            kind: format!("run failed on a model that validates: {}", blank(&e.to_string())),
            detail: e.to_string(),
        }],
        Ok(Ok(_)) => vec![],
    };
    (findings, Some(model))
}

/// Prepares `dir` for cases: every shipped model and an empty `sub/` folder.
pub fn prepare(dir: &Path, corpus: &Corpus) -> std::io::Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("sub"))?;
    // A named pipe: reading it would block for ever, so `extends: "fifo"` must be refused unread.
    let st = std::process::Command::new("mkfifo").arg(dir.join("fifo")).status()?;
    assert!(st.success(), "mkfifo failed");
    for (name, text) in &corpus.files {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

/// Runs one case in `dir` (already holding the shipped files): writes its mutated files,
/// measures its allocations, restores the files.
pub fn measured(case: &Case, corpus: &Corpus, dir: &Path, out: &Path, step: &mut dyn FnMut(Step)) -> (Vec<Finding>, usize) {
    for (name, text) in &case.mutated {
        std::fs::write(dir.join(name), text).expect("case folder writable");
    }
    let base = alloc::begin_case();
    let (mut findings, model) = execute(case, dir, out, step);
    let allowed = alloc::allowance(model.as_ref());
    drop(model);
    let peak = alloc::end_case(base);
    if let Some(msg) = alloc::over_allowance(peak, allowed) {
        findings.push(Finding {
            kind: "allocation beyond the allowance".into(),
            detail: msg,
        });
    }
    for name in case.mutated.keys() {
        std::fs::write(dir.join(name), corpus.text(name)).expect("case folder writable");
    }
    (findings, peak)
}

/// A saved case copied into `dir` so that it runs like a generated one.
pub fn load_saved(saved: &Path, dir: &Path) -> Result<Case, String> {
    let case = read(saved)?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("sub")).map_err(|e| e.to_string())?;
    for e in std::fs::read_dir(saved).map_err(|e| e.to_string())? {
        let p: PathBuf = e.map_err(|e| e.to_string())?.path();
        if p.is_file() {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).map_err(|e| e.to_string())?;
        }
    }
    Ok(case)
}
