//! A mutation fuzzer over the shipped models (issue 8): parsing, `extends`, `--set`, `--until`,
//! validation and a short run, on inputs made by mutating every file in models/.
//!
//! For every input it asserts: no panic; no hang (a watchdog gives each case
//! `CHOKEPOINT_FUZZ_CASE_SECONDS`, default 10 s); no allocation beyond the case's allowance
//! (a counting allocator, see `fuzz/alloc.rs`); and an error that carries a position inside
//! the file whenever the input was refused for something in its files (errors caused by a
//! `--set` or `--until` flag need none).
//!
//! Cases run in a child process (this same test binary), so that an abort (a refused
//! allocation, a stack overflow) or a hang stops only the child: the parent reports the case
//! and starts a new child at the next one. Case `i` of seed `s` is the same on every machine,
//! so a finding is reproduced with `CHOKEPOINT_FUZZ_SEED=s CHOKEPOINT_FUZZ_FIRST=i
//! CHOKEPOINT_FUZZ_CASES=1`. The first example of each kind of finding is saved as a case
//! folder under the target directory; copied to tests/fuzz/regressions/<name>/, it is replayed
//! by `fuzz_regressions_replay_cleanly` on every test run.
//!
//! Budget: `CHOKEPOINT_FUZZ_SECONDS` (default 10), `CHOKEPOINT_FUZZ_CASES` (a number of cases),
//! `CHOKEPOINT_FUZZ_SEED` (default 1), `CHOKEPOINT_FUZZ_RUN_SHARE` (share of cases followed by a
//! short run, default 0.03). CI: `CHOKEPOINT_FUZZ_SECONDS=60 cargo test --test fuzz -- --nocapture`.

#[path = "fuzz/alloc.rs"]
mod alloc;
#[path = "fuzz/case.rs"]
mod case;
#[path = "fuzz/mutate.rs"]
mod mutate;

use case::{Case, Corpus, Step};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// Set in a child process: what it runs (`fuzz:SEED:FIRST:END:SECONDS_LEFT` or `replay`).
const CHILD: &str = "CHOKEPOINT_FUZZ_CHILD";
/// Set in a child process: its work folder.
const WORK: &str = "CHOKEPOINT_FUZZ_WORK";

fn env_num<T: std::str::FromStr>(name: &str) -> Option<T> {
    let v = std::env::var(name).ok()?;
    Some(v.trim().parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")))
}

/// Fuzz tests share the machine's cores and the allocator's counters: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn fuzz_mutated_shipped_models() {
    if let Ok(spec) = std::env::var(CHILD) {
        return child_main(&spec);
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let seed: u64 = env_num("CHOKEPOINT_FUZZ_SEED").unwrap_or(1);
    let first: u64 = env_num("CHOKEPOINT_FUZZ_FIRST").unwrap_or(0);
    let cases: u64 = env_num("CHOKEPOINT_FUZZ_CASES").unwrap_or(u64::MAX);
    let seconds: f64 = env_num("CHOKEPOINT_FUZZ_SECONDS").unwrap_or(10.0);
    let end = first.saturating_add(cases);
    let corpus = Corpus::load();
    let saved = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("fuzz-findings")
        .join(format!("seed-{seed}"));
    let mut report = Report::default();
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(seconds);
    supervise(
        &mut report,
        first,
        end,
        deadline,
        |from| {
            format!(
                "fuzz:{seed}:{from}:{end}:{}",
                deadline.saturating_duration_since(Instant::now()).as_secs_f64()
            )
        },
        |i, why| {
            let case = case::generate(seed, i, &corpus);
            let dir = saved.join(format!("case-{i}"));
            let _ = std::fs::remove_dir_all(&dir);
            case::save(&case, &corpus, &dir, why).expect("findings folder writable");
            (dir.display().to_string(), case.log.join("; "))
        },
    );
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "fuzz: seed {seed}, {} cases in {secs:.1} s ({:.0} cases/s; {} short runs); slowest case {} ({:.2} s), largest peak {:.1} MiB (case {})",
        report.cases,
        report.cases as f64 / secs.max(1e-9),
        report.runs,
        report.slowest.1,
        report.slowest.0.as_secs_f64(),
        report.peak.0 as f64 / (1 << 20) as f64,
        report.peak.1
    );
    report.finish("fuzz_mutated_shipped_models");
}

#[test]
fn fuzz_regressions_replay_cleanly() {
    if let Ok(spec) = std::env::var(CHILD) {
        return child_main(&spec);
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dirs = regressions();
    assert!(!dirs.is_empty(), "tests/fuzz/regressions/ holds no saved case");
    let mut report = Report {
        per_case: true,
        ..Report::default()
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    supervise(
        &mut report,
        0,
        dirs.len() as u64,
        deadline,
        |from| format!("replay:{from}"),
        |i, _| (dirs[i as usize].display().to_string(), String::new()),
    );
    assert_eq!(report.cases, dirs.len() as u64, "every saved case ran");
    report.finish("fuzz_regressions_replay_cleanly");
}

/// The saved cases, in name order: tests/fuzz/regressions/*, or `CHOKEPOINT_FUZZ_REPLAY` (one
/// case folder, or a folder of them).
fn regressions() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = match std::env::var_os("CHOKEPOINT_FUZZ_REPLAY") {
        // Relative to the crate root, where cargo runs tests (a child runs elsewhere).
        Some(p) if root.join(&p).join("case.txt").exists() => return vec![root.join(p)],
        Some(p) => root.join(p),
        None => root.join("tests/fuzz/regressions"),
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("case.txt").exists())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// Findings of a fuzz session, grouped by kind.
#[derive(Default)]
struct Report {
    /// Cases finished (including those that crashed or hung).
    cases: u64,
    /// Short runs started.
    runs: u64,
    /// Kind -> (count, first case index, its detail, where it was saved, its mutations).
    kinds: BTreeMap<String, (u64, u64, String, String, String)>,
    slowest: (Duration, u64),
    peak: (usize, u64),
    /// Report every case on its own (saved cases), not only the first of each kind.
    per_case: bool,
}

impl Report {
    fn add(&mut self, kind: String, index: u64, detail: String, save: &mut dyn FnMut(u64, &str) -> (String, String)) {
        let kind = if self.per_case { format!("case {index}: {kind}") } else { kind };
        match self.kinds.get_mut(&kind) {
            Some(k) => k.0 += 1,
            None => {
                let (saved, log) = save(index, &format!("{kind}\n{detail}"));
                self.kinds.insert(kind, (1, index, detail, saved, log));
            }
        }
    }

    fn finish(&self, test: &str) {
        if self.kinds.is_empty() {
            return;
        }
        let mut text = format!("{test}: {} kinds of finding in {} cases\n", self.kinds.len(), self.cases);
        for (kind, (count, index, detail, saved, log)) in &self.kinds {
            text += &format!("\n[{count}x] {kind}\n    first: case {index}: {detail}\n    saved: {saved}\n");
            if !log.is_empty() {
                text += &format!("    input: {log}\n");
            }
        }
        eprintln!("{text}");
        panic!("{test}: {} kinds of finding (listed above)", self.kinds.len());
    }
}

/// What a child says on its stdout, one line each.
enum Event {
    Start(u64),
    Step(String),
    Finding(u64, String, String),
    Done(u64, Duration, usize),
    End,
    Closed,
}

fn parse_event(line: &str) -> Option<Event> {
    let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
    let num = |s: &str| s.parse::<u64>().ok();
    Some(match tag {
        "@S" => Event::Start(num(rest)?),
        "@P" => Event::Step(rest.to_string()),
        "@F" => {
            let mut p = rest.splitn(3, '\t');
            Event::Finding(num(p.next()?)?, p.next()?.to_string(), p.next()?.to_string())
        }
        "@D" => {
            let mut p = rest.split(' ');
            let i = num(p.next()?)?;
            let micros = num(p.next()?)?;
            let peak = num(p.next()?)? as usize;
            Event::Done(i, Duration::from_micros(micros), peak)
        }
        "@E" => Event::End,
        _ => return None,
    })
}

/// Runs cases `from..end` in child processes until `deadline`, restarting after each crash or
/// hang; `spec` makes a child's `CHILD` value from its first case, `save` saves an example
/// case and returns (where, its mutations).
fn supervise(
    report: &mut Report,
    mut from: u64,
    end: u64,
    deadline: Instant,
    spec: impl Fn(u64) -> String,
    mut save: impl FnMut(u64, &str) -> (String, String),
) {
    let per_case = Duration::from_secs_f64(env_num("CHOKEPOINT_FUZZ_CASE_SECONDS").unwrap_or(10.0));
    let work = work_folder();
    while from < end && Instant::now() < deadline {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .arg(current_test())
            .args(["--exact", "--nocapture", "--test-threads=1", "-q"])
            .env(CHILD, spec(from))
            .env(WORK, work.path())
            .env("RUST_BACKTRACE", "0")
            .current_dir(work.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the test binary starts as a child");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(ev) = parse_event(&line)
                    && tx.send(ev).is_err()
                {
                    return;
                }
            }
            let _ = tx.send(Event::Closed);
        });
        let mut stderr = child.stderr.take().unwrap();
        let err_reader = std::thread::spawn(move || {
            let mut tail = Vec::new();
            let _ = stderr.read_to_end(&mut tail);
            tail
        });
        let mut current: Option<(u64, Instant, String)> = None;
        let mut ended = false;
        loop {
            let wait = match &current {
                Some((_, t, _)) => (*t + per_case).saturating_duration_since(Instant::now()),
                None => (deadline + Duration::from_secs(30)).saturating_duration_since(Instant::now()),
            };
            match rx.recv_timeout(wait.max(Duration::from_millis(1))) {
                Ok(Event::Start(i)) => current = Some((i, Instant::now(), "validate".into())),
                Ok(Event::Step(s)) => {
                    if let Some(c) = &mut current {
                        if s == "run" {
                            report.runs += 1;
                        }
                        c.2 = s;
                    }
                }
                Ok(Event::Finding(i, kind, detail)) => report.add(kind, i, detail, &mut save),
                Ok(Event::Done(i, took, peak)) => {
                    report.cases += 1;
                    report.slowest = report.slowest.max((took, i));
                    report.peak = report.peak.max((peak, i));
                    from = i + 1;
                    current = None;
                }
                Ok(Event::End) => {
                    ended = true;
                }
                Ok(Event::Closed) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    kill(&mut child);
                    if let Some((i, _, step)) = current.take() {
                        report.cases += 1;
                        let detail = format!("no result within {} s", per_case.as_secs_f64());
                        report.add(format!("hang in step {step}"), i, detail, &mut save);
                        from = i + 1;
                    } else {
                        from = end;
                    }
                    break;
                }
            }
        }
        let status = child.wait().expect("child status");
        let _ = reader.join();
        let tail = err_reader.join().unwrap_or_default();
        if let Some((i, _, step)) = current {
            // The child died inside a case: an abort, a stack overflow, a signal.
            report.cases += 1;
            let tail = String::from_utf8_lossy(&tail);
            let line = |needle: &str| tail.lines().find(|l| l.contains(needle)).map(|l| l.trim().to_string());
            let (cause, detail) = if let Some(l) = line("memory allocation of") {
                ("allocation beyond the hard cap (abort)".to_string(), l)
            } else if let Some(l) = line("overflowed its stack") {
                ("stack overflow".to_string(), l)
            } else {
                let last = tail.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
                (
                    format!("child died ({status})"),
                    line("panicked at").unwrap_or_else(|| last.to_string()),
                )
            };
            report.add(format!("{cause} in step {step}"), i, detail, &mut save);
            from = i + 1;
        } else if !ended && status.code() != Some(0) && from < end && Instant::now() < deadline {
            panic!(
                "a fuzz child failed outside any case ({status}):\n{}",
                String::from_utf8_lossy(&tail)
            );
        } else if ended {
            break;
        }
    }
}

/// The children's work folder: in memory (/dev/shm) where there is one, as each case rewrites
/// files and ext4 flushes a truncated file to disk on close; `CHOKEPOINT_FUZZ_TMP` chooses another.
fn work_folder() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    match std::env::var_os("CHOKEPOINT_FUZZ_TMP") {
        Some(dir) => tempfile::tempdir_in(dir),
        None if shm.is_dir() => tempfile::tempdir_in(shm).or_else(|_| tempfile::tempdir()),
        None => tempfile::tempdir(),
    }
    .expect("a temporary folder")
}

fn kill(child: &mut Child) {
    let _ = child.kill();
}

/// The name of the running test (the child runs the same one).
fn current_test() -> String {
    std::thread::current().name().expect("tests run on named threads").to_string()
}

/// The child: runs cases and reports each on stdout.
fn child_main(spec: &str) {
    case::quiet_panics();
    let work = PathBuf::from(std::env::var(WORK).expect("work folder"));
    let corpus = Corpus::load();
    let dir = work.join("case");
    let out = work.join("out");
    let stdout = std::io::stdout();
    let say = |line: String| {
        let mut o = stdout.lock();
        let _ = writeln!(o, "{line}");
        let _ = o.flush();
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let one = |i: u64, case: &Case, fresh: bool| {
        say(format!("@S {i}"));
        if fresh {
            case::prepare(&dir, &corpus).expect("case folder");
        }
        let t = Instant::now();
        let mut step = |s: Step| {
            say(format!(
                "@P {}",
                match s {
                    Step::Validate => "validate",
                    Step::Flags => "flags",
                    Step::Run => "run",
                }
            ))
        };
        let (findings, peak) = case::measured(case, &corpus, &dir, &out, &mut step);
        for f in findings {
            let clean = |s: &str| s.replace(['\n', '\t'], " ");
            say(format!("@F {i}\t{}\t{}", clean(&f.kind), clean(&f.detail)));
        }
        say(format!("@D {i} {} {peak}", t.elapsed().as_micros()));
    };
    match parts.as_slice() {
        ["fuzz", seed, from, end, seconds] => {
            let (seed, from, end): (u64, u64, u64) = (seed.parse().unwrap(), from.parse().unwrap(), end.parse().unwrap());
            let deadline = Instant::now() + Duration::from_secs_f64(seconds.parse().unwrap());
            case::prepare(&dir, &corpus).expect("case folder");
            let mut i = from;
            while i < end && Instant::now() < deadline {
                let case = case::generate(seed, i, &corpus);
                one(i, &case, false);
                i += 1;
            }
        }
        ["replay", from] => {
            let dirs = regressions();
            for (i, saved) in dirs.iter().enumerate().skip(from.parse().unwrap()) {
                let case = case::load_saved(saved, &dir).unwrap_or_else(|e| panic!("{e}"));
                one(i as u64, &case, false);
            }
        }
        _ => panic!("{CHILD}={spec:?}: expected fuzz:SEED:FROM:END:SECONDS or replay:FROM"),
    }
    say("@E".into());
}

#[test]
fn a_case_is_the_same_for_the_same_seed_and_index() {
    let corpus = Corpus::load();
    for i in 0..200 {
        let (a, b) = (case::generate(7, i, &corpus), case::generate(7, i, &corpus));
        assert_eq!(
            (&a.entry, &a.mutated, &a.sets, &a.until, a.run_days),
            (&b.entry, &b.mutated, &b.sets, &b.until, b.run_days)
        );
        assert!(!a.mutated.is_empty() || !a.sets.is_empty(), "case {i} changes nothing");
    }
    let differ = (0..50)
        .filter(|&i| case::generate(7, i, &corpus).mutated != case::generate(8, i, &corpus).mutated)
        .count();
    assert!(differ > 40, "seeds 7 and 8 share {} of 50 cases", 50 - differ);
}

#[test]
fn findings_differing_only_in_names_and_numbers_group_together() {
    let a = case::blank("firm `cn_a`: capacity_per_day must be non-negative, found -3.5; expected one of: x");
    let b = case::blank("firm `jp_b`: capacity_per_day must be non-negative, found inf");
    assert_eq!(a, b);
    assert_eq!(case::blank("no route ROW -> KR"), case::blank("no route CN -> JP"));
    assert!(case::blank("date of the form YYYY-MM-DD").contains("YYYY-MM-DD"));
    assert_ne!(case::blank("unknown nation `US`"), case::blank("unknown commodity `US`"));
}

#[test]
fn a_peak_above_the_allowance_is_a_finding() {
    assert!(alloc::over_allowance(2 << 20, 1 << 20).is_some());
    assert!(alloc::over_allowance(1 << 20, 1 << 20).is_none());
}
