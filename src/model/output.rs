//! What a run writes (the model file's `output` section, or `run --firm-rows`): per-firm rows
//! every tick, every K ticks, for a fixed sample of firms, or not at all. The per-(nation,
//! role, commodity) aggregates of `groups.arrow` and every other table are written every tick
//! at every level, so a world of 10^5–10^6 firms can run for years with output that grows with
//! its groups, not its firms.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The model file's `output` section.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// Which rows `firms.arrow` and `lines.arrow` get: `"all"` (every firm, every tick; the
    /// default), `"every:K"` (every firm on ticks 0, K, 2K, ...), `"sample:F"` (every tick, for
    /// the firms whose id hashes below the share F: the same firms in every seed and
    /// scenario), or `"none"`.
    #[serde(default)]
    pub firm_rows: FirmRowLevel,
    /// The tables' file format: `"arrow"` (Arrow IPC files, `<table>.arrow`; the default) or
    /// `"parquet"` (`<table>.parquet`, which DuckDB and R read without extensions).
    #[serde(default)]
    pub format: TableFormat,
    /// How the tables' columns are compressed: `"zstd"` (the default), `"lz4"` or `"none"`.
    /// pyarrow, polars and R's arrow read all three; in Parquet, lz4 is LZ4_RAW.
    #[serde(default)]
    pub compression: Compression,
}

/// The file format of a run's tables (see [`Output::format`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    /// Arrow IPC file format (Feather v2): `<table>.arrow`.
    #[default]
    Arrow,
    /// Apache Parquet: `<table>.parquet`.
    Parquet,
}

impl TableFormat {
    /// Every format, in the order the readers look for a table's file.
    pub const ALL: [TableFormat; 2] = [TableFormat::Arrow, TableFormat::Parquet];

    /// The file extension of a table in this format (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            TableFormat::Arrow => "arrow",
            TableFormat::Parquet => "parquet",
        }
    }

    /// Parses `arrow` or `parquet` (the `--format` option).
    pub fn parse(s: &str) -> Result<TableFormat, String> {
        match s {
            "arrow" | "ipc" | "feather" => Ok(TableFormat::Arrow),
            "parquet" => Ok(TableFormat::Parquet),
            _ => Err(format!("format `{s}`: expected \"arrow\" or \"parquet\"")),
        }
    }
}

impl fmt::Display for TableFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// The compression of a run's tables (see [`Output::compression`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Zstandard: the smallest files (BENCHMARKS.md, "Output formats").
    #[default]
    Zstd,
    /// LZ4 frames (Arrow IPC) or LZ4_RAW pages (Parquet): faster, larger.
    Lz4,
    /// Uncompressed.
    None,
}

impl Compression {
    /// Parses `zstd`, `lz4` or `none` (the `--compression` option).
    pub fn parse(s: &str) -> Result<Compression, String> {
        match s {
            "zstd" => Ok(Compression::Zstd),
            "lz4" => Ok(Compression::Lz4),
            "none" => Ok(Compression::None),
            _ => Err(format!("compression `{s}`: expected \"zstd\", \"lz4\" or \"none\"")),
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::Zstd => "zstd",
            Compression::Lz4 => "lz4",
            Compression::None => "none",
        })
    }
}

/// Which per-firm rows a run writes (see [`Output::firm_rows`]).
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FirmRowLevel {
    /// Every firm, every tick.
    #[default]
    All,
    /// Every firm on ticks 0, K, 2K, ... (K ≥ 1 ticks).
    Every(u32),
    /// Every tick, the firms whose id hashes below this share of all ids (0 < share ≤ 1).
    Sample(f64),
    /// No per-firm rows.
    None,
}

/// The accepted spellings, for messages.
pub const FIRM_ROWS_FORMS: &str = "\"all\", \"every:K\" (K ticks), \"sample:F\" (a share of firms, 0 < F <= 1) or \"none\"";

impl FirmRowLevel {
    /// Parses `all`, `every:K`, `sample:F` or `none`; the error says what was expected.
    pub fn parse(s: &str) -> Result<FirmRowLevel, String> {
        let bad = || format!("firm_rows `{s}`: expected {FIRM_ROWS_FORMS}");
        match s.split_once(':') {
            None if s == "all" => Ok(FirmRowLevel::All),
            None if s == "none" => Ok(FirmRowLevel::None),
            Some(("every", k)) => k.trim().parse::<u32>().map(FirmRowLevel::Every).map_err(|_| bad()),
            Some(("sample", f)) => f.trim().parse::<f64>().map(FirmRowLevel::Sample).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    /// Why the level's number is out of its range (`every:K`: 1 to
    /// [`super::limits::MAX_FIRM_ROWS_EVERY`] ticks; `sample:F`: above 0, at most 1), if it is.
    pub fn range_problem(self) -> Option<String> {
        use super::limits::{Bounds, MAX_FIRM_ROWS_EVERY};
        match self {
            FirmRowLevel::Every(k) => {
                Bounds::closed(1.0, f64::from(MAX_FIRM_ROWS_EVERY)).violation("K of `every:K`", f64::from(k), "ticks")
            }
            FirmRowLevel::Sample(f) => Bounds::above(0.0, 1.0).violation("F of `sample:F`", f, ""),
            FirmRowLevel::All | FirmRowLevel::None => None,
        }
    }

    /// Parses a level and checks its number (the `--firm-rows` option).
    pub fn parse_checked(s: &str) -> Result<FirmRowLevel, String> {
        let f = FirmRowLevel::parse(s)?;
        match f.range_problem() {
            Some(why) => Err(why),
            None => Ok(f),
        }
    }

    /// True if every firm gets a row on `tick`.
    pub fn all_firms_on(self, tick: u32) -> bool {
        match self {
            FirmRowLevel::All => true,
            FirmRowLevel::Every(k) => tick.is_multiple_of(k.max(1)),
            FirmRowLevel::Sample(_) | FirmRowLevel::None => false,
        }
    }
}

impl TryFrom<String> for FirmRowLevel {
    type Error = String;
    fn try_from(s: String) -> Result<FirmRowLevel, String> {
        FirmRowLevel::parse(&s)
    }
}

impl From<FirmRowLevel> for String {
    fn from(f: FirmRowLevel) -> String {
        f.to_string()
    }
}

impl fmt::Display for FirmRowLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FirmRowLevel::All => write!(f, "all"),
            FirmRowLevel::Every(k) => write!(f, "every:{k}"),
            FirmRowLevel::Sample(s) => write!(f, "sample:{s}"),
            FirmRowLevel::None => write!(f, "none"),
        }
    }
}

/// Whether the firm with this id is in the sample of `share` of all firms: a hash of the id
/// alone (no seed), so the same firms are sampled in every seed and scenario and paired
/// comparisons line up firm by firm. The id's FNV-1a hash spread by SplitMix64's finaliser
/// (`model::hash`); its top 53 bits, as a share of 2^53, are compared with `share`.
pub fn sampled(id: &str, share: f64) -> bool {
    let h = super::hash::mix64(super::hash::stable_hash(id));
    ((h >> 11) as f64) / ((1u64 << 53) as f64) < share
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_reads_back_as_written() {
        for s in ["all", "none", "every:7", "sample:0.01", "sample:1"] {
            assert_eq!(FirmRowLevel::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(FirmRowLevel::parse("every:7"), Ok(FirmRowLevel::Every(7)));
        for s in ["", "All", "every", "every:x", "every:-1", "sample:", "sample:a", "some"] {
            assert!(FirmRowLevel::parse(s).unwrap_err().contains("expected"), "{s}");
        }
        // Read, but out of range.
        assert!(FirmRowLevel::parse_checked("every:0").unwrap_err().contains("at least 1"));
        assert!(FirmRowLevel::parse_checked("sample:0").unwrap_err().contains("positive"));
        assert!(FirmRowLevel::parse_checked("sample:1.5").unwrap_err().contains("at most 1"));
        assert_eq!(FirmRowLevel::parse_checked("sample:0.5"), Ok(FirmRowLevel::Sample(0.5)));
    }

    #[test]
    fn a_sample_takes_about_its_share_of_firms_and_grows_with_it() {
        let ids: Vec<String> = (0..20_000).map(|k| format!("firm_{k}")).collect();
        let n = |share: f64| ids.iter().filter(|id| sampled(id, share)).count();
        let (small, large) = (n(0.01), n(0.1));
        assert!((150..=250).contains(&small), "{small} of 20,000 at 1%");
        assert!((1_800..=2_200).contains(&large), "{large} of 20,000 at 10%");
        // Nested: a firm in the 1% sample is in the 10% sample.
        assert!(ids.iter().all(|id| !sampled(id, 0.01) || sampled(id, 0.1)));
        assert_eq!(n(1.0), ids.len());
    }
}
