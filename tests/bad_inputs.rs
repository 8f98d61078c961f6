//! Bad model files, one table: each case names a defect, builds the files that show it (a
//! mutation of a shipped model, or a scenario on it, in a temporary folder), runs the real
//! binary, and expects an exact exit code, the file, line and column of the offending text,
//! and a fragment of the message. Model-file errors exit 2.

mod common;
use common::*;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// One file of a case's folder.
enum Input {
    Text(String),
    Bytes(Vec<u8>),
    /// A named pipe (reading it would block forever).
    Fifo,
    /// A folder.
    Dir,
    /// A sparse file of this many bytes (zeros).
    Sparse(u64),
}

/// Where the error must point.
enum At {
    /// `file:line:col` of `needle` (its first occurrence) plus `offset` bytes, in the text of `file`.
    Text(&'static str, &'static str, usize),
    /// `file:` without a position (the problem is not text in a file).
    File(&'static str),
    /// The command succeeds; the fragment is looked for in its standard output.
    Success,
    /// A command-line error: the fragment (with `{dir}` for the case's folder) is looked for in
    /// standard error, and nothing may point into a file.
    Stderr,
}

struct Case {
    name: &'static str,
    files: fn() -> Vec<(&'static str, Input)>,
    /// Arguments; `{dir}` stands for the case's folder.
    args: &'static [&'static str],
    code: i32,
    at: At,
    message: &'static str,
}

fn text(name: &str) -> String {
    std::fs::read_to_string(root().join("models").join(name)).unwrap()
}

/// The shipped model `name` with its first `from` replaced by `to` (the edit must apply).
fn edit(name: &str, from: &str, to: &str) -> String {
    let t = text(name);
    assert!(t.contains(from), "{name}: `{from}` not found");
    t.replacen(from, to, 1)
}

fn baseline_edit(from: &str, to: &str) -> Vec<(&'static str, Input)> {
    vec![("bad.ron", Input::Text(edit("baseline.ron", from, to)))]
}

/// japan_2010_base.ron (the shipped model with a quota) as `bad.ron`, edited.
/// The baseline with trader `jp_trader` of NdPr oxide in Japan, buying it in Malaysia, whose
/// recipe and trading section are `recipe_and_trading`; `firm` (another firm, or nothing)
/// follows it.
fn trader_edit(recipe_and_trading: &str, firm: &str) -> Vec<(&'static str, Input)> {
    let trader = format!(
        r#"(id: "jp_trader", nation: "JP", role: "trader", output: "ndpr_oxide", capacity_per_day: 1.0,
         {recipe_and_trading},
         suppliers: {{"ndpr_oxide": ByNation({{"MY": 1.0}})}}),
        {firm}
        (id: "jp_magnet_shin_etsu","#
    );
    baseline_edit("(id: \"jp_magnet_shin_etsu\",", &trader)
}

/// A trader's recipe and trading section as they should be.
const TRADER_OK: &str = r#"recipe: {"ndpr_oxide": 1.0}, trading: Some((base_stock: 10.0))"#;

fn japan_edit(from: &str, to: &str) -> Vec<(&'static str, Input)> {
    vec![("bad.ron", Input::Text(edit("japan_2010_base.ron", from, to)))]
}

/// japan_2010_base.ron with its quota released in the given way.
fn quota_release(to: &str) -> Vec<(&'static str, Input)> {
    japan_edit("quota_release: Monthly,", to)
}

/// A scenario `bad.ron` (an edit of april_2025.ron) on an unchanged baseline.
fn april_edit(from: &str, to: &str) -> Vec<(&'static str, Input)> {
    vec![
        ("baseline.ron", Input::Text(text("baseline.ron"))),
        ("bad.ron", Input::Text(edit("april_2025.ron", from, to))),
    ]
}

/// A scenario `bad.ron` with the given body on an unchanged baseline.
fn scenario(body: &'static str) -> Vec<(&'static str, Input)> {
    vec![
        ("baseline.ron", Input::Text(text("baseline.ron"))),
        (
            "bad.ron",
            Input::Text(format!("(\n    extends: \"baseline.ron\",\n    name: \"s\",\n{body}\n)\n")),
        ),
    ]
}

const VALIDATE: &[&str] = &["validate", "{dir}/bad.ron"];

/// The baseline as `m.ron`, for command-line cases.
fn plain() -> Vec<(&'static str, Input)> {
    vec![("m.ron", Input::Text(text("baseline.ron")))]
}

/// The baseline as `m.ron` and an ordinary file `file` (for `--out` at a file).
fn plain_and_file() -> Vec<(&'static str, Input)> {
    vec![
        ("m.ron", Input::Text(text("baseline.ron"))),
        ("file", Input::Text("not a folder".into())),
    ]
}

/// A command-line case: exit `code` and `message` on standard error.
const fn cli(
    name: &'static str,
    files: fn() -> Vec<(&'static str, Input)>,
    args: &'static [&'static str],
    code: i32,
    message: &'static str,
) -> Case {
    Case {
        name,
        files,
        args,
        code,
        at: At::Stderr,
        message,
    }
}

static CASES: &[Case] = &[
    // ---- items 4, 5, 9, 11, 17: command lines
    cli(
        "an unknown flag is a usage error, not a model error",
        plain,
        &["run", "{dir}/m.ron", "--bogus"],
        3,
        "unexpected argument '--bogus'",
    ),
    cli("run without a model", plain, &["run"], 3, "required arguments were not provided"),
    cli(
        "a seed that is not a number",
        plain,
        &["run", "{dir}/m.ron", "--seed", "x"],
        3,
        "invalid value 'x'",
    ),
    cli(
        "--threads 0",
        plain,
        &["run", "{dir}/m.ron", "--threads", "0", "--out", "{dir}/o"],
        3,
        "--threads 0: expected 1 to 256",
    ),
    cli(
        "--threads 2^64-1 (item 5: was a capacity-overflow panic)",
        plain,
        &["run", "{dir}/m.ron", "--threads", "18446744073709551615", "--out", "{dir}/o"],
        3,
        "--threads 18446744073709551615: expected 1 to 256",
    ),
    cli(
        "--jobs 8000 (item 9)",
        plain,
        &["sweep", "{dir}/m.ron", "--seeds", "2", "--jobs", "8000", "--out", "{dir}/s"],
        3,
        "--jobs 8000: expected 1 to 256",
    ),
    cli(
        "--jobs 0",
        plain,
        &["sweep", "{dir}/m.ron", "--seeds", "1", "--jobs", "0", "--out", "{dir}/s"],
        3,
        "--jobs 0: expected 1 to 256",
    ),
    cli(
        "--seeds 1,000,000,000 is refused before anything is allocated (item 9)",
        plain,
        &["sweep", "{dir}/m.ron", "--seeds", "1000000000", "--out", "{dir}/s"],
        3,
        "the sweep plans 1000000000 runs (models x points x seeds); more than 100000 needs --allow-large",
    ),
    cli(
        "--seeds 0",
        plain,
        &["sweep", "{dir}/m.ron", "--seeds", "0", "--out", "{dir}/s"],
        3,
        "--seeds `0`: seeds start at 1",
    ),
    cli(
        "--until 9999-12-31 (item 9: was 120 MB/s of output)",
        plain,
        &["run", "{dir}/m.ron", "--until", "9999-12-31", "--out", "{dir}/o"],
        3,
        "a run may cover at most 73050 days (200 years)",
    ),
    cli(
        "a sweep whose estimated output passes 64 GiB needs --allow-large",
        plain,
        &["sweep", "{dir}/m.ron", "--seeds", "5000", "--jobs", "2", "--out", "{dir}/s"],
        3,
        "the sweep as a whole (all runs, 2 at once): this run is large: its output is estimated at 103.0 GB, over the limit of 68.7 GB",
    ),
    cli(
        "--until that is not a date",
        plain,
        &["run", "{dir}/m.ron", "--until", "tomorrow", "--out", "{dir}/o"],
        3,
        "--until `tomorrow` is not a date of the form YYYY-MM-DD",
    ),
    cli(
        "--until before the start",
        plain,
        &["run", "{dir}/m.ron", "--until", "2000-01-01", "--out", "{dir}/o"],
        3,
        "--until 2000-01-01 is before the model's start 2025-01-01",
    ),
    cli(
        "--set calendar.start=xyz with --until (item 4: was a panic)",
        plain,
        &[
            "run",
            "{dir}/m.ron",
            "--set",
            "calendar.start=xyz",
            "--until",
            "2025-02-01",
            "--out",
            "{dir}/o",
        ],
        2,
        "calendar start `xyz` is not a date of the form YYYY-MM-DD (years 0000 to 9999) (the value comes from --set calendar.start=xyz)",
    ),
    cli(
        "--set synthetic.firms below the templates",
        || {
            vec![
                ("baseline.ron", Input::Text(text("baseline.ron"))),
                (
                    "m.ron",
                    Input::Text("(extends: \"baseline.ron\", name: \"s\", synthetic: (firms: 100))".into()),
                ),
            ]
        },
        &["validate", "{dir}/m.ron", "--set", "synthetic.firms=3"],
        2,
        "synthetic: firms must be from 50 (one per firm of the model, its templates) to 10000000, found 3 (the value comes from --set synthetic.firms=3)",
    ),
    cli(
        "--set name=.. (item 2)",
        plain,
        &["run", "{dir}/m.ron", "--set", "name=..", "--out", "{dir}/o"],
        2,
        "model name `..` must start with a letter or a digit",
    ),
    cli(
        "--set name=/abs (item 2)",
        plain,
        &["run", "{dir}/m.ron", "--set", "name=/tmp/x"],
        2,
        "model name `/tmp/x` contains `/`",
    ),
    cli(
        "--set calendar.tick_days=4294967295 (item 11)",
        plain,
        &["run", "{dir}/m.ron", "--set", "calendar.tick_days=4294967295", "--out", "{dir}/o"],
        2,
        "tick_days must be at most 366",
    ),
    cli(
        "--grid without values",
        plain,
        &["sweep", "{dir}/m.ron", "--seeds", "1", "--grid", "foo", "--out", "{dir}/s"],
        3,
        "--grid `foo`: expected PATH=V1,V2,...",
    ),
    cli(
        "--shard 3/2",
        plain,
        &["sweep", "{dir}/m.ron", "--seeds", "1", "--shard", "3/2", "--out", "{dir}/s"],
        3,
        "--shard `3/2`: need 0 <= I < N",
    ),
    cli(
        "run --out at a file (exit 4)",
        plain_and_file,
        &["run", "{dir}/m.ron", "--out", "{dir}/file", "--until", "2025-01-03"],
        4,
        "{dir}/file: exists and is not a folder",
    ),
    cli(
        "sweep --out at a file (item 17: was exit 3)",
        plain_and_file,
        &["sweep", "{dir}/m.ron", "--seeds", "1", "--out", "{dir}/file"],
        4,
        "{dir}/file",
    ),
    cli(
        "an existing empty folder needs --force (item 18)",
        || vec![("m.ron", Input::Text(text("baseline.ron"))), ("o", Input::Dir)],
        &["run", "{dir}/m.ron", "--out", "{dir}/o"],
        3,
        "output folder {dir}/o already exists; use --force",
    ),
    cli(
        "compare of folders that are not runs",
        plain,
        &["compare", "{dir}", "{dir}"],
        3,
        "not a run folder",
    ),
    cli(
        "plot to a file that is neither .svg nor .png",
        plain,
        &["plot", "{dir}", "--metric", "vehicle_output", "--out", "{dir}/p.txt"],
        3,
        "not a run folder",
    ),
    cli(
        "a missing model file",
        plain,
        &["validate", "{dir}/nope.ron"],
        2,
        "{dir}/nope.ron: no such model file",
    ),
    cli(
        "--set of an element that does not exist",
        plain,
        &["validate", "{dir}/m.ron", "--set", "firms.nobody.capacity_per_day=1"],
        2,
        "no element with id `nobody`",
    ),
    // ---- item 6: transit times bounded
    Case {
        name: "route days of 4,294,967,295",
        files: || {
            baseline_edit(
                "(from: \"CN\", to: \"JP\", days: 7,",
                "(from: \"CN\", to: \"JP\", days: 4294967295,",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "4294967295", 0),
        message: "route CN -> JP: days must be at most 3650 days, found 4294967295",
    },
    Case {
        name: "domestic_days of a million",
        files: || baseline_edit("domestic_days: 3,", "domestic_days: 1000000,"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "1000000,", 0),
        message: "routes: domestic_days must be at most 3650 days",
    },
    Case {
        name: "domestic_days of 0 (item 13: routes section)",
        files: || baseline_edit("domestic_days: 3,", "domestic_days: 0,"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "domestic_days: 0", 15),
        message: "domestic_days must be at least 1 days, found 0",
    },
    Case {
        name: "jitter as long as the route, pointed at in its own lane",
        files: || {
            baseline_edit(
                "(from: \"CN\", to: \"JP\", days: 7, jitter_days: 2)",
                "(from: \"CN\", to: \"JP\", days: 7, jitter_days: 9)",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "jitter_days: 9", 13),
        message: "route CN -> JP: jitter_days must be less than days",
    },
    // ---- item 7: review times bounded
    Case {
        name: "review_working_days Fixed(1e19)",
        files: || april_edit("Triangular(min: 20.0, mode: 30.0, max: 45.0)", "Fixed(1e19)"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "Fixed(1e19)", 0),
        message: "review_working_days: Fixed(1e19) is not a valid distribution of days",
    },
    Case {
        name: "customs hold of a billion days",
        files: || april_edit("Uniform(min: 30.0, max: 60.0)", "Uniform(min: 30.0, max: 1e9)"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "Uniform(min: 30.0, max: 1e9)", 0),
        message: "inspection hold_days",
    },
    // ---- item 11 and the calendar section
    Case {
        name: "tick_days of 4,294,967,295",
        files: || baseline_edit("tick_days: 1,", "tick_days: 4294967295,"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "4294967295", 0),
        message: "calendar: tick_days must be at most 366 days",
    },
    Case {
        name: "tick_days of 0",
        files: || baseline_edit("tick_days: 1,", "tick_days: 0,"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "tick_days: 0", 11),
        message: "calendar: tick_days must be at least 1 days, found 0",
    },
    Case {
        name: "a calendar of 300 years",
        files: || baseline_edit("end: \"2027-12-31\"", "end: \"2325-12-31\""),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"2325-12-31\"", 0),
        message: "a run may cover at most 73050 days",
    },
    // ---- item 10: values that made NaN or inf
    Case {
        name: "price_usd of 1e308",
        files: || baseline_edit("price_usd: 4500.0", "price_usd: 1e308"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "1e308", 0),
        message: "commodity `re_concentrate`: price_usd must be at most 1e12 USD per t, found 1e308",
    },
    Case {
        name: "capacity of 1e308",
        files: || baseline_edit("capacity_per_day: 481.1", "capacity_per_day: 1e308"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "1e308", 0),
        message: "firm `cn_miner_baotou`: capacity_per_day must be at most 1e12",
    },
    Case {
        name: "recipe amount of 1e308",
        files: || {
            baseline_edit(
                "recipe: {\"re_concentrate\": 4.0},   // 45%",
                "recipe: {\"re_concentrate\": 1e308},   // 45%",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "1e308", 0),
        message: "recipe amount of `re_concentrate` must be at most 1000000 units per unit of output, found 1e308",
    },
    Case {
        name: "initial stock of 1e300",
        files: || {
            baseline_edit(
                "capacity_per_day: 481.1,",
                "capacity_per_day: 481.1, initial_stock: {\"re_concentrate\": 1e300},",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "1e300", 0),
        message: "initial_stock of `re_concentrate` must be at most 1e15",
    },
    Case {
        name: "price_elasticity of a million",
        files: || baseline_edit("price_elasticity: 0.1", "price_elasticity: 1e6"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "1e6", 0),
        message: "price_elasticity must be at most 5, found 1000000",
    },
    Case {
        name: "ByNation weight of 1e308",
        files: || baseline_edit("ByNation({\"CN\": 0.80,", "ByNation({\"CN\": 1e308,"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "1e308", 0),
        message: "share of nation `CN` for `re_concentrate` must be at most 1e12",
    },
    Case {
        name: "prices with no pull to cost",
        files: || baseline_edit("cost_weight: 0.6", "cost_weight: 0.0"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "cost_weight: 0.0", 13),
        message: "prices: cost_weight must be at least 0.001, found 0",
    },
    Case {
        name: "prices far too sensitive to cover",
        files: || baseline_edit("coverage_sensitivity: 0.6", "coverage_sensitivity: 1e3"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "1e3", 0),
        message: "prices: coverage_sensitivity must be at most 10, found 1000",
    },
    Case {
        name: "a negative cover tolerance of prices",
        files: || baseline_edit("cover_tolerance: 0.4", "cover_tolerance: -0.4"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "-0.4", 0),
        message: "prices: cover_tolerance must be a non-negative number, found -0.4",
    },
    Case {
        name: "tariff rate of 1e308 in a scenario's event",
        files: || {
            april_edit(
                "commodity: \"ndfeb_magnet\", rate: 1.45)",
                "commodity: \"ndfeb_magnet\", rate: 1e308)",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "1e308", 0),
        message: "SetTariff rate must be at most 100, found 1e308",
    },
    // ---- item 18a
    Case {
        name: "defence_share of -3",
        files: || baseline_edit("capacity_per_day: 481.1,", "capacity_per_day: 481.1, defence_share: -3.0,"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "-3.0", 0),
        message: "firm `cn_miner_baotou`: defence_share must be a non-negative number, found -3",
    },
    // ---- item 18b: repeated keys
    Case {
        name: "a recipe key given twice",
        files: || {
            baseline_edit(
                "capacity_per_day: 290.1, recipe: {\"ndpr_oxide\": 0.26, \"dy_oxide\": 0.009, \"tb_oxide\": 0.0018}",
                "capacity_per_day: 290.1, recipe: {\"ndpr_oxide\": 0.26, \"dy_oxide\": 0.009, \"tb_oxide\": 0.0018, \"dy_oxide\": 0.5}",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"dy_oxide\": 0.5", 0),
        message: "key `dy_oxide` appears twice in this map",
    },
    Case {
        name: "a ByNation key given twice",
        files: || {
            baseline_edit(
                "ByNation({\"CN\": 0.80, \"US\": 0.12, \"ROW\": 0.08})",
                "ByNation({\"CN\": 0.80, \"US\": 0.12, \"CN\": 0.08})",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"CN\": 0.08", 0),
        message: "key `CN` appears twice",
    },
    Case {
        name: "a scenario set key given twice",
        files: || scenario("    set: {\"seed\": \"1\", \"seed\": \"2\"},"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"seed\": \"2\"", 0),
        message: "key `seed` appears twice",
    },
    // ---- item 13: positions for every error
    Case {
        name: "an unknown control in Activate",
        files: || {
            april_edit(
                "action: Activate(\"cn_2025_04_rare_earths\")",
                "action: Activate(\"cn_2025_04_rare_eart\")",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"cn_2025_04_rare_eart\"", 0),
        message: "unknown export control `cn_2025_04_rare_eart`; did you mean `cn_2025_04_rare_earths`?",
    },
    Case {
        name: "SetCoverage share 1.5",
        files: || {
            april_edit(
                "        events: [\n",
                "        events: [\n            (date: \"2025-07-01\", nation: \"CN\", action: SetCoverage(control: \"cn_2025_04_rare_earths\", commodity: \"ndfeb_magnet\", share: 1.5)),\n",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "1.5))", 0),
        message: "SetCoverage share must be a probability between 0 and 1, found 1.5",
    },
    Case {
        name: "event announced after it takes effect",
        files: || {
            april_edit(
                "        events: [\n",
                "        events: [\n            (date: \"2025-07-01\", announced: \"2025-08-01\", nation: \"CN\", action: SetCoverage(control: \"cn_2025_04_rare_earths\", commodity: \"ndfeb_magnet\", share: 1.0)),\n",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"2025-08-01\"", 0),
        message: "announcement date 2025-08-01 is after the event's date 2025-07-01",
    },
    Case {
        name: "announced tariff",
        files: || {
            april_edit(
                "        events: [\n",
                "        events: [\n            (date: \"2025-07-01\", announced: \"2025-06-01\", nation: \"US\", action: SetTariff(importer: \"US\", origin: \"CN\", commodity: \"ndfeb_magnet\", rate: 1.0)),\n",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"2025-06-01\"", 0),
        message: "only Activate, SetCoverage, Ban and SetQuota can be announced (tightenings buyers can front-run); this event is SetTariff",
    },
    Case {
        name: "buying section: precaution_price_full inside the dead zone",
        files: || baseline_edit("precaution_price_full: 0.0", "precaution_price_full: 1.05"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "precaution_price_full: 1.05", 23),
        message: "buying: precaution_price_full (or 0 to leave prices out) must be greater than 1.1, found 1.05",
    },
    Case {
        name: "buying section: min_expected_approval 0",
        files: || baseline_edit("min_expected_approval: 0.1", "min_expected_approval: 0.0"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "min_expected_approval: 0.0", 23),
        message: "buying: min_expected_approval must be a positive number, found 0",
    },
    Case {
        name: "planning section: stock_adjust_days 0.5",
        files: || baseline_edit("stock_adjust_days: 30.0", "stock_adjust_days: 0.5"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "stock_adjust_days: 0.5", 19),
        message: "planning: stock_adjust_days must be at least 1 days, found 0.5",
    },
    Case {
        name: "planning section: market_shock_days of a billion",
        files: || baseline_edit("market_shock_days: 90.0", "market_shock_days: 1e9"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "1e9", 0),
        message: "market_shock_days must be at most 3650 days",
    },
    Case {
        name: "an empty firm id",
        files: || baseline_edit("(id: \"cn_miner_sichuan\"", "(id: \"\""),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"\", nation", 0),
        message: "a firm has an empty id",
    },
    Case {
        name: "synthetic firms fewer than the templates",
        files: || scenario("    synthetic: (firms: 10),"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "10),", 0),
        message: "synthetic: firms must be from 50 (one per firm of the model, its templates) to 10000000, found 10",
    },
    Case {
        name: "synthetic firms of 10^8",
        files: || scenario("    synthetic: (firms: 100000000),"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "100000000", 0),
        message: "to 10000000, found 100000000",
    },
    Case {
        name: "synthetic size_tail of 0.1",
        files: || scenario("    synthetic: (firms: 100, size_tail: 0.1),"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "0.1)", 0),
        message: "synthetic: size_tail must be at least 0.5, found 0.1",
    },
    Case {
        name: "synthetic size_tail NaN",
        files: || scenario("    synthetic: (firms: 100, size_tail: NaN),"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "NaN", 0),
        message: "synthetic: size_tail must be a finite number",
    },
    Case {
        name: "synthetic suppliers_per_input of 0",
        files: || scenario("    synthetic: (firms: 100, suppliers_per_input: 0),"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "0),", 0),
        message: "synthetic: suppliers_per_input must be at least 1, found 0",
    },
    Case {
        name: "synthetic suppliers_per_input of 65",
        files: || scenario("    synthetic: (firms: 100, suppliers_per_input: 65),"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "65", 0),
        message: "synthetic: suppliers_per_input must be at most 64, found 65",
    },
    Case {
        name: "an unknown field in synthetic",
        files: || scenario("    synthetic: (firms: 100, home_bias: 0.5),"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "home_bias", 0),
        message: "Unexpected field named `home_bias`",
    },
    Case {
        name: "a template id with the generated ids' separator",
        files: || {
            scenario(
                "    synthetic: (firms: 100),\n    firms: [(id: \"cn~extra\", nation: \"CN\", role: \"miner\", output: \"re_concentrate\", capacity_per_day: 1.0)],",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"cn~extra\"", 0),
        message: "firm id `cn~extra` contains `~`, which the ids of generated firms use",
    },
    Case {
        name: "a synthetic scenario of the baseline is valid",
        files: || scenario("    synthetic: (firms: 120, seed: 3),"),
        args: VALIDATE,
        code: 0,
        at: At::Success,
        message: "120 firms",
    },
    Case {
        name: "a scenario of only extends and name is valid",
        files: || scenario(""),
        args: &["validate", "{dir}/bad.ron"],
        code: 0,
        at: At::Success,
        message: "model `s`",
    },
    Case {
        name: "extends a file that does not exist",
        files: || {
            vec![(
                "bad.ron",
                Input::Text("(\n    extends: \"nope.ron\",\n    name: \"s\",\n)\n".into()),
            )]
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"nope.ron\"", 0),
        message: "nope.ron: no such model file",
    },
    Case {
        name: "extends a folder",
        files: || {
            vec![
                ("base", Input::Dir),
                ("bad.ron", Input::Text("(\n    extends: \"base\",\n    name: \"s\",\n)\n".into())),
            ]
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"base\"", 0),
        message: "is a folder; expected a model file",
    },
    Case {
        name: "invalid UTF-8 names the byte",
        files: || {
            let t = text("baseline.ron");
            let at = t.find("magnet supply chain of 2024, no controls").unwrap();
            let mut b = t.into_bytes();
            b.insert(at, 0xFF);
            vec![("bad.ron", Input::Bytes(b))]
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\u{FFFD}magnet supply chain of 2024", 0),
        message: "byte {offset}: not valid UTF-8",
    },
    // ---- item 8: only regular files of bounded size are read
    Case {
        name: "extends /dev/zero",
        files: || {
            vec![(
                "bad.ron",
                Input::Text("(\n    extends: \"/dev/zero\",\n    name: \"s\",\n)\n".into()),
            )]
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"/dev/zero\"", 0),
        message: "is not a regular file",
    },
    Case {
        name: "a named pipe as the model",
        files: || vec![("bad.ron", Input::Fifo)],
        args: VALIDATE,
        code: 2,
        at: At::File("bad.ron"),
        message: "is not a regular file (a device, pipe or socket)",
    },
    Case {
        name: "a folder as the model",
        files: || vec![("bad.ron", Input::Dir)],
        args: VALIDATE,
        code: 2,
        at: At::File("bad.ron"),
        message: "is a folder; expected a model file (.ron)",
    },
    Case {
        name: "a model file of 65 MiB",
        files: || vec![("bad.ron", Input::Sparse(65 << 20))],
        args: VALIDATE,
        code: 2,
        at: At::File("bad.ron"),
        message: "model files may be at most 64 MiB",
    },
    // ---- item 14: errors in a scenario's base and in its `set`
    Case {
        name: "a missing route in the base is reported in the base",
        files: || {
            vec![
                (
                    "baseline.ron",
                    Input::Text(edit("baseline.ron", "(from: \"AU\", to: \"MY\", days: 14, jitter_days: 3),", "")),
                ),
                ("bad.ron", Input::Text(text("april_2025.ron"))),
            ]
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("baseline.ron", "\"my_lynas_kuantan\"", 0),
        message: "there is no route AU -> MY",
    },
    Case {
        name: "a bad value from a scenario's set points at the set entry",
        files: || scenario("    set: {\"firms.cn_magnet_ningbo.capacity_per_day\": \"-5\"},"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"firms.cn_magnet_ningbo.capacity_per_day\"", 0),
        message: "firm `cn_magnet_ningbo`: capacity_per_day must be a non-negative number, found -5",
    },
    Case {
        name: "a set entry by index points at the set entry",
        files: || scenario("    set: {\"firms.0.recipe.xenotime\": \"1\"},"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"firms.0.recipe.xenotime\"", 0),
        message: "unknown commodity `xenotime`",
    },
    Case {
        name: "a firm the scenario replaces is checked in the scenario",
        files: || {
            scenario(
                "    firms: [(id: \"us_mp_ndpr\", nation: \"US\", role: \"refiner\", output: \"ndpr_oxide\", capacity_per_day: 3.562,\n             recipe: {\"re_concentrate\": 4.0}, target_cover_days: 1e7)],",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "1e7", 0),
        message: "firm `us_mp_ndpr`: target_cover_days must be at most 3650 days",
    },
    Case {
        name: "an id given twice in a scenario's own list",
        files: || scenario("    commodities: [(id: \"ore\", unit: \"t\", price_usd: 1.0), (id: \"ore\", unit: \"t\", price_usd: 2.0)],"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"ore\", unit: \"t\", price_usd: 2.0", 0),
        message: "id `ore` is given twice in this scenario's commodities",
    },
    Case {
        name: "a tariff added by a scenario is pointed at in the scenario",
        files: || {
            april_edit(
                "        events: [\n",
                "        tariffs: [(importer: \"EU\", origin: \"CN\", commodity: \"ndfeb_magnet\", rate: -0.5)],\n        events: [\n",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "-0.5", 0),
        message: "tariff rate must be a non-negative number, found -0.5",
    },
    // ---- item 15: positions inside the right element
    Case {
        name: "a recipe error in the second magnet maker points inside its own block",
        files: || {
            baseline_edit(
                "capacity_per_day: 193.4, recipe: {\"ndpr_oxide\": 0.26, \"dy_oxide\": 0.009,",
                "capacity_per_day: 193.4, recipe: {\"ndpr_oxide\": 0.26, \"dy_oxide\": -1.0,",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "-1.0,", 0),
        message: "firm `cn_magnet_baotou`: recipe amount of `dy_oxide` must be a positive number",
    },
    Case {
        name: "a duplicate id points at the second definition",
        files: || {
            baseline_edit(
                "        (id: \"vehicle\", unit:",
                "        (id: \"dy_oxide\", unit: \"t\", price_usd: 1.0),\n        (id: \"vehicle\", unit:",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"dy_oxide\", unit: \"t\", price_usd: 1.0", 0),
        message: "commodity id `dy_oxide` is defined twice",
    },
    Case {
        name: "a duplicate firm id points at the second firm",
        files: || {
            baseline_edit(
                "(id: \"cn_miner_sichuan\", nation: \"CN\"",
                "(id: \"cn_miner_baotou\", nation: \"CN\"",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text(
            "bad.ron",
            "\"cn_miner_baotou\", nation: \"CN\", role: \"miner\", output: \"re_concentrate\",\n         capacity_per_day: 206.2",
            0,
        ),
        message: "firm id `cn_miner_baotou` is defined twice",
    },
    Case {
        name: "an unknown nation in a supplier rule points at the key",
        files: || {
            baseline_edit(
                "ByNation({\"MM\": 0.6, \"CN\": 0.4})}),\n        (id: \"cn_dy_fujian\"",
                "ByNation({\"MM\": 0.6, \"CM\": 0.4})}),\n        (id: \"cn_dy_fujian\"",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"CM\"", 0),
        message: "unknown nation `CM`; did you mean",
    },
    // ---- item 16: a description is not structure
    Case {
        name: "a model whose description mentions (extends: is a model",
        files: || {
            baseline_edit(
                "description: \"Rare-earth magnet",
                "description: \"Not a scenario (extends: nothing). Rare-earth magnet",
            )
        },
        args: VALIDATE,
        code: 0,
        at: At::Success,
        message: "model `baseline`",
    },
    // ---- item 18d: readable numbers in the capacity warning
    Case {
        name: "the capacity warning prints a short percentage",
        files: || baseline_edit("capacity_per_day: 35.62,", "capacity_per_day: 0.0,"),
        args: VALIDATE,
        code: 0,
        at: At::Success,
        message: "au_miner_mt_weld (no capacity)",
    },
    // ---- issue 10: quota release
    Case {
        name: "a quota batch in month 13",
        files: || quota_release("quota_release: Batches([(month: 1, share: 0.5), (month: 13, share: 0.5)]),"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "13, share", 0),
        message: "export control `cn_export_quota`: quota batch month must be at most 12, found 13",
    },
    Case {
        name: "a quota batch on 31 April",
        files: || quota_release("quota_release: Batches([(month: 1, share: 0.5), (month: 4, day: 31, share: 0.5)]),"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "31, share", 0),
        message: "quota batch day must be at most 30, found 31",
    },
    Case {
        name: "a quota batch of no share",
        files: || quota_release("quota_release: Batches([(month: 1, share: 1.0), (month: 7, share: 0.0)]),"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "0.0)]", 0),
        message: "quota batch share must be a positive number, found 0",
    },
    Case {
        name: "quota batches out of date order",
        files: || quota_release("quota_release: Batches([(month: 7, share: 0.5), (month: 1, share: 0.5)]),"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "(month: 1, share: 0.5)]", 0),
        message: "quota batches must be in date order, each after the one before: batch 2 (month 1, day 1) is not",
    },
    Case {
        name: "quota batch shares that do not sum to 1",
        files: || quota_release("quota_release: Batches([(month: 1, share: 0.5), (month: 7, share: 0.4)]),"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "[(month: 1, share: 0.5), (month: 7, share: 0.4)", 0),
        message: "quota batch shares must sum to 1, found a sum of 0.9",
    },
    Case {
        name: "a quota release that does not exist",
        files: || quota_release("quota_release: Weekly,"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "Weekly", 0),
        message: "Weekly",
    },
    // ---- issue 10: allocation rules
    Case {
        name: "a purchase history remembered for half a day",
        files: || baseline_edit("history_days: 365.0", "history_days: 0.5"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "0.5)", 0),
        message: "selling: history_days must be at least 1 days, found 0.5",
    },
    Case {
        name: "an allocation rule that does not exist",
        files: || baseline_edit("allocation: Proportional", "allocation: Lottery"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "Lottery", 0),
        message: "Lottery",
    },
    Case {
        name: "a firm's allocation rule that does not exist",
        files: || {
            baseline_edit(
                "(id: \"jp_magnet_shin_etsu\",",
                "(id: \"jp_magnet_shin_etsu\", allocation: Some(FirstCome),",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "FirstCome", 0),
        message: "FirstCome",
    },
    Case {
        name: "a selling section with an unknown field",
        files: || baseline_edit("history_days: 365.0", "memory_days: 365.0"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "memory_days: 365", 0),
        message: "memory_days",
    },
    // ---- issue 10: traders
    Case {
        name: "a trader as it should be",
        files: || trader_edit(TRADER_OK, ""),
        args: VALIDATE,
        code: 0,
        at: At::Success,
        message: "estimated output ",
    },
    Case {
        name: "a trader whose recipe is not one unit of its output",
        files: || trader_edit(r#"recipe: {"ndpr_oxide": 2.0}, trading: Some((base_stock: 10.0))"#, ""),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", r#"{"ndpr_oxide": 2.0}"#, 0),
        message: r#"firm `jp_trader`: a trader passes goods through: its recipe must be exactly {"ndpr_oxide": 1.0}"#,
    },
    Case {
        name: "a trader buying from a trader",
        files: || {
            trader_edit(
                TRADER_OK,
                r#"(id: "jp_trader_2", nation: "JP", role: "trader", output: "ndpr_oxide", capacity_per_day: 1.0,
         recipe: {"ndpr_oxide": 1.0}, trading: Some((base_stock: 10.0)),
         suppliers: {"ndpr_oxide": Listed([(firm: "jp_trader", share: 1.0)])}),"#,
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", r#""jp_trader", share"#, 0),
        message: "trader `jp_trader_2` lists trader `jp_trader` as a supplier: a trader buys from producers only",
    },
    Case {
        name: "a trader without a trading section",
        files: || {
            baseline_edit(
                r#"(id: "jp_magnet_shin_etsu", nation: "JP", role: "magnet_maker""#,
                r#"(id: "jp_magnet_shin_etsu", nation: "JP", role: "trader""#,
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", r#""trader""#, 0),
        message: "firm `jp_magnet_shin_etsu`: role `trader` needs a `trading` section",
    },
    Case {
        name: "a trader without holding cost",
        files: || {
            trader_edit(
                r#"recipe: {"ndpr_oxide": 1.0}, trading: Some((holding_cost_per_year: 0.0, base_stock: 10.0))"#,
                "",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "0.0, base_stock", 0),
        message: "firm `jp_trader`: trading.holding_cost_per_year must be a positive number",
    },
    // ---- output levels
    Case {
        name: "firm rows every 0 ticks",
        files: || baseline_edit("    seed: 20250101,", "    seed: 20250101,\n    output: (firm_rows: \"every:0\"),"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"every:0\"", 0),
        message: "output: firm_rows: K of `every:K` must be at least 1 ticks, found 0",
    },
    Case {
        name: "a sample of more than all firms",
        files: || {
            baseline_edit(
                "    seed: 20250101,",
                "    seed: 20250101,\n    output: (firm_rows: \"sample:1.5\"),",
            )
        },
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"sample:1.5\"", 0),
        message: "F of `sample:F` must be at most 1, found 1.5",
    },
    Case {
        name: "an output level misspelt",
        files: || baseline_edit("    seed: 20250101,", "    seed: 20250101,\n    output: (firm_rows: \"evry:7\"),"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"evry:7\"", 1),
        message: "firm_rows `evry:7`: expected \"all\", \"every:K\"",
    },
    Case {
        name: "a scenario's sample of no firms",
        files: || scenario("    output: (firm_rows: \"sample:0\"),"),
        args: VALIDATE,
        code: 2,
        at: At::Text("bad.ron", "\"sample:0\"", 0),
        message: "F of `sample:F` must be a positive number, found 0",
    },
    cli(
        "--firm-rows misspelt",
        plain,
        &["run", "{dir}/m.ron", "--firm-rows", "some", "--out", "{dir}/o"],
        3,
        "firm_rows `some`: expected \"all\"",
    ),
    cli(
        "--firm-rows every 0 ticks on a sweep",
        plain,
        &["sweep", "{dir}/m.ron", "--seeds", "1", "--firm-rows", "every:0", "--out", "{dir}/o"],
        3,
        "K of `every:K` must be at least 1 ticks, found 0",
    ),
    // ---- the size estimate
    Case {
        name: "validate prints the estimated output and memory",
        files: || vec![("bad.ron", Input::Text(text("baseline.ron")))],
        args: VALIDATE,
        code: 0,
        at: At::Success,
        message: "estimated output ",
    },
];

/// 1-based line and column (in characters) of byte `at` of `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let line = text[..at].matches('\n').count() + 1;
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (line, text[start..at].chars().count() + 1)
}

fn make(dir: &Path, name: &str, input: &Input) {
    let p = dir.join(name);
    match input {
        Input::Text(t) => std::fs::write(&p, t).unwrap(),
        Input::Bytes(b) => std::fs::write(&p, b).unwrap(),
        Input::Dir => std::fs::create_dir(&p).unwrap(),
        Input::Fifo => {
            let ok = std::process::Command::new("mkfifo").arg(&p).status().unwrap().success();
            assert!(ok, "mkfifo");
        }
        Input::Sparse(n) => std::fs::File::create(&p).unwrap().set_len(*n).unwrap(),
    }
}

/// Runs the binary; a case that takes over 60 s (a read that never ends) fails.
fn run(args: &[String]) -> (i32, String, String) {
    let mut child = bin()
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            child.wait().unwrap();
            return (-1, String::new(), "timed out after 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (o.status.code().unwrap_or(-1), s(&o.stdout), s(&o.stderr))
}

fn check(case: &Case) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let files = (case.files)();
    for (name, input) in &files {
        make(dir.path(), name, input);
    }
    let d = dir.path().to_str().unwrap();
    let args: Vec<String> = case.args.iter().map(|a| a.replace("{dir}", d)).collect();
    let (code, out, err) = run(&args);
    if code != case.code {
        return Err(format!("exit code {code}, expected {}; stderr: {err}", case.code));
    }
    match case.at {
        At::Success => {
            if !out.contains(case.message) {
                return Err(format!("expected `{}` in stdout: {out}", case.message));
            }
            if let Some(long) = out.split_whitespace().find(|w| w.chars().filter(char::is_ascii_digit).count() > 20) {
                return Err(format!("an unreadable number `{long}` in: {out}"));
            }
            Ok(())
        }
        At::Stderr => {
            let message = case.message.replace("{dir}", d);
            if !err.contains(&message) {
                return Err(format!("expected `{message}` in: {err}"));
            }
            if err.contains(".ron:")
                && err
                    .split(".ron:")
                    .nth(1)
                    .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            {
                return Err(format!("a command-line error points into a file: {err}"));
            }
            Ok(())
        }
        At::File(name) => {
            let want = format!("{d}/{name}: ");
            if !err.contains(&want) {
                return Err(format!("expected `{want}` (no position) in: {err}"));
            }
            if !err.contains(case.message) {
                return Err(format!("expected `{}` in: {err}", case.message));
            }
            Ok(())
        }
        At::Text(name, needle, offset) => {
            let bytes = match &files.iter().find(|(n, _)| *n == name).expect("file of the case").1 {
                Input::Text(t) => t.as_bytes().to_vec(),
                Input::Bytes(b) => b.clone(),
                _ => panic!("{name}: not a text file"),
            };
            let t = String::from_utf8_lossy(&bytes);
            let at = t.find(needle).unwrap_or_else(|| panic!("needle `{needle}` in {name}")) + offset;
            let (line, col) = line_col(&t, at);
            let want = format!("{d}/{name}:{line}:{col}: ");
            if !err.contains(&want) {
                return Err(format!("expected `{want}` in: {err}"));
            }
            let message = case.message.replace("{offset}", &at.to_string());
            if !err.contains(&message) {
                return Err(format!("expected `{message}` in: {err}"));
            }
            Ok(())
        }
    }
}

#[test]
fn every_bad_input_gets_its_exit_code_file_line_column_and_message() {
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|c| check(c).err().map(|e| format!("{}: {e}", c.name)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_output_estimate_bounds_a_real_run_within_a_factor_of_two() {
    // The estimate is of uncompressed tables (what the limits bound); compressed files are
    // smaller still.
    let dir = tempfile::tempdir().unwrap();
    for (model, until) in [("baseline.ron", "2025-12-31"), ("april_2025.ron", "2026-06-30")] {
        let out = dir.path().join(model);
        run_model(
            &root().join("models").join(model),
            &out,
            &["--until", until, "--compression", "none"],
        );
        let written: u64 = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
        let (m, _) = chokepoint::model::load::load(&root().join("models").join(model)).unwrap();
        let m = chokepoint::model::overrides::apply(&m, &format!("calendar.end={until}")).unwrap();
        let e = chokepoint::model::limits::estimate(&m);
        assert!(
            written <= e.output_bytes && e.output_bytes <= 2 * written,
            "{model}: wrote {written} bytes, estimated {}",
            e.output_bytes
        );
    }
}

#[test]
fn check_limits_names_both_numbers_and_the_way_out() {
    use chokepoint::model::limits::{Estimate, check_limits};
    let e = Estimate {
        ticks: 10,
        output_bytes: 3_000_000_000,
        memory_bytes: 1000,
    };
    assert!(check_limits(&e, 4_000_000_000, 2000).is_ok());
    let msg = check_limits(&e, 2_000_000_000, 2000).unwrap_err();
    assert!(msg.contains("output is estimated at 3.0 GB, over the limit of 2.0 GB"), "{msg}");
    assert!(msg.contains("--allow-large"), "{msg}");
    assert!(!msg.contains("memory"), "{msg}");
}
