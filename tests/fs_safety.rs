//! `--force` replaces only what Chokepoint wrote. These tests build real folders — a project, a
//! web app, a thesis, a home, folders with foreign files and symbolic links, read-only and full
//! file systems — run the real binary at them and check, byte by byte, that no user file is
//! deleted or changed and that nothing is written outside the chosen output folder.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every entry under `dir` (not following symbolic links): file bytes, `dir`, or a link target.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            let ty = e.file_type().unwrap();
            let v = if ty.is_symlink() {
                format!("link -> {}", std::fs::read_link(&p).unwrap().display())
            } else if ty.is_dir() {
                stack.push(p.clone());
                "dir".to_string()
            } else {
                format!("file {:?}", std::fs::read(&p).unwrap())
            };
            out.insert(rel, v);
        }
    }
    out
}

/// Runs the binary in `cwd` with `args` and `HOME` set to `home`; returns (exit code, stderr).
fn run_in(cwd: &Path, home: &Path, args: &[&str]) -> (i32, String) {
    let o = bin().args(args).current_dir(cwd).env("HOME", home).output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn baseline() -> String {
    root().join("models/baseline.ron").display().to_string()
}

/// A run of the baseline's first days into `out`, from `cwd`.
fn short_run(cwd: &Path, out: &str, extra: &[&str]) -> (i32, String) {
    let b = baseline();
    let mut args = vec!["run", b.as_str(), "--out", out, "--until", "2025-01-05", "--quiet"];
    args.extend_from_slice(extra);
    run_in(cwd, cwd, &args)
}

/// A folder that must come through untouched, and the snapshot to compare it with.
struct Precious {
    dir: PathBuf,
    before: BTreeMap<PathBuf, String>,
}

impl Precious {
    fn new(dir: PathBuf, files: &[(&str, &str)]) -> Precious {
        for (name, text) in files {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            if name.ends_with('/') {
                std::fs::create_dir_all(&p).unwrap();
            } else {
                std::fs::write(&p, text).unwrap();
            }
        }
        let before = snapshot(&dir);
        Precious { dir, before }
    }

    fn assert_untouched(&self, context: &str) {
        assert_eq!(snapshot(&self.dir), self.before, "{context}: {} changed", self.dir.display());
    }
}

#[test]
fn a_project_folder_given_as_dot_is_refused_even_with_force() {
    let t = tempfile::tempdir().unwrap();
    let model = std::fs::read_to_string(baseline()).unwrap();
    let proj = Precious::new(
        t.path().join("project"),
        &[("model.ron", model.as_str()), ("data/obs.csv", "year,t\n2024,1\n")],
    );
    let (code, err) = run_in(&proj.dir, t.path(), &["run", "model.ron", "--out", ".", "--force", "--quiet"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("is the current folder"), "{err}");
    proj.assert_untouched("--out . --force");
    // The parent of the current folder, and a path that resolves to the current folder.
    // Refused for what they are, before their contents are even looked at.
    for (out, why) in [
        ("..", "holds the current folder"),
        ("/", "holds the current folder"),
        ("../project", "is the current folder"),
        ("data/..", "is the current folder"),
    ] {
        let (code, err) = run_in(&proj.dir, t.path(), &["run", "model.ron", "--out", out, "--force", "--quiet"]);
        assert_eq!(code, 3, "--out {out}: {err}");
        assert!(err.contains(why), "--out {out}: expected `{why}` in: {err}");
        proj.assert_untouched(out);
    }
}

#[test]
fn a_web_app_with_a_manifest_and_a_thesis_with_a_model_are_never_replaced() {
    let t = tempfile::tempdir().unwrap();
    let web = Precious::new(
        t.path().join("webapp"),
        &[("manifest.json", "{\"name\": \"app\"}"), ("src/app.js", "console.log(1)")],
    );
    let thesis = Precious::new(
        t.path().join("thesis"),
        &[("model.ron", "(name: \"mine\")"), ("docs/", ""), (".bashrc", "alias ll='ls -l'")],
    );
    // Only Chokepoint-named files, but no marker and no manifest of Chokepoint's.
    let lookalike = Precious::new(
        t.path().join("lookalike"),
        &[("manifest.json", "{\"program\": \"other\"}"), ("model.ron", "x")],
    );
    for p in [&web, &thesis, &lookalike] {
        let out = p.dir.display().to_string();
        let (code, err) = short_run(t.path(), &out, &["--force"]);
        assert_eq!(code, 3, "{out}: {err}");
        assert!(err.contains("not a run folder"), "{err}");
        assert!(err.contains("nothing was deleted") || err.contains("refusing"), "{err}");
        p.assert_untouched(&out);
    }
}

#[test]
fn model_names_cannot_leave_the_runs_folder() {
    let t = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(baseline()).unwrap();
    let proj = Precious::new(t.path().join("p"), &[("model.ron", text.as_str()), ("data/obs.csv", "1")]);
    let outside = Precious::new(t.path().join("x"), &[("keep.txt", "mine")]);
    for name in ["..", "", ".", "/tmp/chokepoint-abs", "../../x", "runs/../..", "a/b"] {
        let bad = text.replacen("name: \"baseline\"", &format!("name: \"{name}\""), 1);
        assert_ne!(bad, text);
        std::fs::write(proj.dir.join("bad.ron"), &bad).unwrap();
        let (code, err) = run_in(
            &proj.dir,
            t.path(),
            &["run", "bad.ron", "--until", "2025-01-03", "--quiet", "--force"],
        );
        assert_eq!(code, 2, "name {name:?}: {err}");
        let line = bad[..bad.find(&format!("name: \"{name}\"")).unwrap()].matches('\n').count() + 1;
        assert!(err.contains(&format!("bad.ron:{line}:")), "name {name:?}: {err}");
        assert!(err.contains("model name"), "{err}");
        std::fs::remove_file(proj.dir.join("bad.ron")).unwrap();
        proj.assert_untouched(name);
        // --set name= goes through the same check.
        let (code, err) = run_in(
            &proj.dir,
            t.path(),
            &[
                "run",
                "model.ron",
                "--set",
                &format!("name={name}"),
                "--until",
                "2025-01-03",
                "--quiet",
                "--force",
            ],
        );
        assert_eq!(code, 2, "--set name={name:?}: {err}");
        proj.assert_untouched(name);
    }
    assert!(!Path::new("/tmp/chokepoint-abs").exists());
    outside.assert_untouched("names");
}

#[test]
fn the_home_folder_is_never_an_output_folder() {
    let t = tempfile::tempdir().unwrap();
    let home = Precious::new(t.path().join("home"), &[(".bashrc", "x"), ("model.ron", "y")]);
    let work = t.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let b = baseline();
    let h = home.dir.display().to_string();
    let (code, err) = run_in(&work, &home.dir, &["run", &b, "--out", &h, "--force", "--quiet"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("home folder"), "{err}");
    let (code, err) = run_in(&work, &home.dir, &["sweep", &b, "--seeds", "1", "--out", &h, "--force", "--quiet"]);
    assert_eq!(code, 3, "{err}");
    home.assert_untouched("home");
}

#[test]
fn an_existing_folder_needs_force_and_force_replaces_only_runs_files() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("run");
    // An existing empty folder is not taken without --force, and is with it.
    std::fs::create_dir(&out).unwrap();
    let o = out.display().to_string();
    let (code, err) = short_run(t.path(), &o, &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("use --force"), "{err}");
    let (code, err) = short_run(t.path(), &o, &["--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.join(".chokepoint-run").is_file());
    // A complete run is replaced with --force.
    let (code, err) = short_run(t.path(), &o, &["--force", "--seed", "9"]);
    assert_eq!(code, 0, "{err}");
    // A run folder with a file of the user's in it is not.
    std::fs::write(out.join("notes.txt"), "my notes").unwrap();
    let before = snapshot(&out);
    let (code, err) = short_run(t.path(), &o, &["--force"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("notes.txt"), "{err}");
    assert_eq!(snapshot(&out), before, "nothing was deleted");
    std::fs::remove_file(out.join("notes.txt")).unwrap();
    // Nor with a subfolder.
    std::fs::create_dir(out.join("data")).unwrap();
    let (code, _) = short_run(t.path(), &o, &["--force"]);
    assert_eq!(code, 3);
    assert!(out.join("data").is_dir());
    std::fs::remove_dir(out.join("data")).unwrap();
    // An interrupted run (manifest not complete, partial tables) is replaced.
    std::fs::remove_file(out.join("manifest.json")).unwrap();
    std::fs::write(out.join("firms.arrow.partial"), "half").unwrap();
    let (code, err) = short_run(t.path(), &o, &["--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.join("firms.arrow.partial").exists());
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["complete"], true);
}

#[test]
fn symbolic_links_are_never_followed_or_deleted() {
    let t = tempfile::tempdir().unwrap();
    let precious = Precious::new(t.path().join("precious"), &[("thesis.tex", "chapter 1"), ("firms.arrow", "mine")]);
    let out = t.path().join("run");
    let o = out.display().to_string();
    assert_eq!(short_run(t.path(), &o, &[]).0, 0);
    // A link inside a run folder, to a folder and to a file named like a table.
    std::os::unix::fs::symlink(&precious.dir, out.join("link")).unwrap();
    let (code, err) = short_run(t.path(), &o, &["--force"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("link"), "{err}");
    std::fs::remove_file(out.join("link")).unwrap();
    std::fs::remove_file(out.join("firms.arrow")).unwrap();
    std::os::unix::fs::symlink(precious.dir.join("firms.arrow"), out.join("firms.arrow")).unwrap();
    let (code, err) = short_run(t.path(), &o, &["--force"]);
    assert_eq!(code, 3, "{err}");
    precious.assert_untouched("links inside a run folder");
    // An output folder that is a link to a foreign folder.
    let alias = t.path().join("alias");
    std::os::unix::fs::symlink(&precious.dir, &alias).unwrap();
    let (code, err) = short_run(t.path(), &alias.display().to_string(), &["--force"]);
    assert_eq!(code, 3, "{err}");
    precious.assert_untouched("--out a link to a foreign folder");
}

#[test]
fn a_run_writes_nothing_outside_its_folder() {
    let t = tempfile::tempdir().unwrap();
    let cwd = Precious::new(t.path().join("cwd"), &[("keep.txt", "1")]);
    let before = snapshot(t.path());
    let out = t.path().join("out/deep/run");
    let (code, err) = short_run(&cwd.dir, &out.display().to_string(), &[]);
    assert_eq!(code, 0, "{err}");
    let after = snapshot(t.path());
    for (p, v) in &after {
        if !p.starts_with("out") {
            assert_eq!(before.get(p), Some(v), "{} appeared or changed", p.display());
        }
    }
    assert_eq!(before.len(), after.keys().filter(|p| !p.starts_with("out")).count());
}

#[test]
fn sweep_force_replaces_only_a_sweep_of_chokepoints() {
    let t = tempfile::tempdir().unwrap();
    let b = baseline();
    // A folder with a file named sweep.json and the user's data.
    let data = Precious::new(
        t.path().join("data"),
        &[("sweep.json", "{}"), ("data/obs.csv", "1"), ("a.txt", "x")],
    );
    let d = data.dir.display().to_string();
    let args = |out: &str| -> Vec<String> {
        [
            "sweep",
            &b,
            "--seeds",
            "1",
            "--out",
            out,
            "--force",
            "--quiet",
            "--grid",
            "calendar.end=2025-01-04",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let (code, err) = run_in(t.path(), t.path(), &args(&d).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 3, "{err}");
    data.assert_untouched("sweep --force on a data folder");
    // A real sweep is replaced...
    let sw = t.path().join("sweep");
    let s = sw.display().to_string();
    let a = args(&s);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, err) = run_in(t.path(), t.path(), &a[..a.len() - 2]);
    assert_eq!(code, 0, "{err}");
    assert!(sw.join(".chokepoint-sweep").is_file());
    let (code, err) = run_in(t.path(), t.path(), &a[..a.len() - 2]);
    assert_eq!(code, 0, "{err}");
    // ...but not once the user has put something of theirs in it, at any depth.
    for extra in ["notes.md", "scenario=baseline/seed=1/notes.md", "tables/firms/mine.csv"] {
        let p = sw.join(extra);
        std::fs::write(&p, "mine").unwrap();
        let before = snapshot(&sw);
        let (code, err) = run_in(t.path(), t.path(), &a[..a.len() - 2]);
        assert_eq!(code, 3, "{extra}: {err}");
        assert!(err.contains("notes.md") || err.contains("mine.csv"), "{err}");
        assert_eq!(snapshot(&sw), before, "{extra}: nothing was deleted");
        std::fs::remove_file(&p).unwrap();
    }
}

/// `program` as root: directly when the tests run as root (as CI does), else through `sudo -n`.
fn privileged(program: &str) -> Command {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if root {
        Command::new(program)
    } else {
        let mut c = Command::new("sudo");
        c.args(["-n", program]);
        c
    }
}

/// A tmpfs mounted for one test, unmounted when dropped. Mounting needs root (CI runs as root).
struct Mount(PathBuf);

impl Mount {
    fn new(dir: &Path, options: &str) -> Mount {
        std::fs::create_dir_all(dir).unwrap();
        let st = privileged("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount runs");
        assert!(
            st.success(),
            "mounting a tmpfs at {} failed: this test needs root to build a read-only or full file system",
            dir.display()
        );
        Mount(dir.to_path_buf())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = privileged("umount").arg(&self.0).status();
    }
}

#[test]
fn read_only_and_full_file_systems_fail_with_exit_4_and_no_manifest() {
    let t = tempfile::tempdir().unwrap();
    let b = baseline();
    let ro = Mount::new(&t.path().join("ro"), "ro,size=1m");
    for cmd in ["run", "sweep"] {
        let out = ro.0.join(cmd).display().to_string();
        let mut args = vec![cmd, b.as_str(), "--out", out.as_str(), "--quiet"];
        if cmd == "sweep" {
            args.extend(["--seeds", "1"]);
        } else {
            args.extend(["--until", "2025-01-05"]);
        }
        let (code, err) = run_in(t.path(), t.path(), &args);
        assert_eq!(code, 4, "{cmd} on a read-only file system: {err}");
        assert!(err.contains(&out), "{err}");
    }
    // 192 KiB holds the run folder's first files but not the tables of a year.
    let full = Mount::new(&t.path().join("full"), "size=192k");
    for cmd in ["run", "sweep"] {
        let out = full.0.join(cmd);
        let o = out.display().to_string();
        let mut args = vec![cmd, b.as_str(), "--out", o.as_str(), "--quiet"];
        if cmd == "sweep" {
            args.extend(["--seeds", "1"]);
        }
        let (code, err) = run_in(t.path(), t.path(), &args);
        assert_eq!(code, 4, "{cmd} on a full file system: {err}");
        assert!(err.contains("No space left") || err.contains("space"), "{err}");
        let manifests = snapshot(&full.0)
            .keys()
            .filter(|p| p.file_name().is_some_and(|n| n == "manifest.json"))
            .count();
        assert_eq!(manifests, 0, "{cmd}: a full disk leaves no manifest");
        let _ = std::fs::remove_dir_all(&out);
    }
}
