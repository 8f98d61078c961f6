//! The writer of a run's tables — Arrow IPC files or Parquet, compressed as the model's
//! `output` section says: the recorded rows in batches, the licence and event tables at the
//! end, each file under a `.partial` name until the run finishes.

use crate::model::EndUse;
use crate::model::calendar::Date;
use crate::model::output::{Compression, Output, TableFormat};
use crate::output::OutputError;
use crate::output::schema::{Table, table_schema, tables};
use crate::world::licences::{Licensing, Outcome};
use crate::world::network::Network;
use crate::world::policy::PolicyState;
use crate::world::records::Recorder;
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, Date32Array, DictionaryArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_ipc::writer::FileWriter;
use arrow_schema::SchemaRef;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One table being written: its file under a `.partial` name until the run finishes.
struct TableWriter {
    table: Table,
    schema: SchemaRef,
    partial: PathBuf,
    done: PathBuf,
    sink: TableSink,
    rows: u64,
}

/// The file a table's batches go to, in the run's format (also `chokepoint export`'s).
pub enum TableSink {
    Arrow(FileWriter<BufWriter<File>>),
    Parquet(parquet::arrow::ArrowWriter<BufWriter<File>>),
}

impl TableSink {
    /// Opens `path` (created or truncated) for batches of `schema` in `output`'s format and compression.
    pub fn open(path: &Path, schema: &SchemaRef, output: &Output) -> Result<TableSink, OutputError> {
        let file = File::create(path).map_err(|source| OutputError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file = BufWriter::new(file);
        let arrow = |source| OutputError::Arrow {
            path: path.to_path_buf(),
            source,
        };
        match output.format {
            TableFormat::Arrow => {
                use arrow_ipc::CompressionType;
                let codec = match output.compression {
                    Compression::Zstd => Some(CompressionType::ZSTD),
                    Compression::Lz4 => Some(CompressionType::LZ4_FRAME),
                    Compression::None => None,
                };
                let options = arrow_ipc::writer::IpcWriteOptions::default()
                    .try_with_compression(codec)
                    .map_err(arrow)?;
                Ok(TableSink::Arrow(
                    FileWriter::try_new_with_options(file, schema, options).map_err(arrow)?,
                ))
            }
            TableFormat::Parquet => {
                use parquet::basic::{Compression as Codec, ZstdLevel};
                let codec = match output.compression {
                    Compression::Zstd => Codec::ZSTD(ZstdLevel::default()),
                    Compression::Lz4 => Codec::LZ4_RAW,
                    Compression::None => Codec::UNCOMPRESSED,
                };
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(codec)
                    .build();
                let w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|source| OutputError::Parquet {
                    path: path.to_path_buf(),
                    source,
                })?;
                Ok(TableSink::Parquet(w))
            }
        }
    }

    /// Appends one batch (`path` names the file in errors).
    pub fn write(&mut self, batch: &RecordBatch, path: &Path) -> Result<(), OutputError> {
        match self {
            TableSink::Arrow(w) => w.write(batch).map_err(|source| OutputError::Arrow {
                path: path.to_path_buf(),
                source,
            }),
            TableSink::Parquet(w) => w.write(batch).map_err(|source| OutputError::Parquet {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Writes the file's footer and flushes it to the OS.
    pub fn finish(self, path: &Path) -> Result<(), OutputError> {
        let file = match self {
            TableSink::Arrow(mut w) => {
                let arrow = |source| OutputError::Arrow {
                    path: path.to_path_buf(),
                    source,
                };
                w.finish().map_err(arrow)?;
                w.into_inner().map_err(arrow)?
            }
            TableSink::Parquet(w) => w.into_inner().map_err(|source| OutputError::Parquet {
                path: path.to_path_buf(),
                source,
            })?,
        };
        // Flushed to the OS, not fsynced: a killed process loses nothing written, and the
        // rename that follows only happens once the file is whole. (An OS crash is not covered.)
        file.into_inner().map_err(|e| OutputError::Io {
            path: path.to_path_buf(),
            source: e.into_error(),
        })?;
        Ok(())
    }
}

/// Writes a run's tables batch by batch, under `.partial` names until [`RunWriter::finish`].
pub struct RunWriter {
    writers: Vec<TableWriter>,
    dicts: BTreeMap<&'static str, ArrayRef>,
    /// The run's dictionary of event kinds (see [`crate::world::policy::event_kinds`]).
    event_kinds: &'static [&'static str],
}

impl RunWriter {
    /// Opens every table file in `dir` (which must exist), in `output`'s format and compression.
    /// `event_kinds` is the dictionary of `events.arrow`'s `kind` for the whole run.
    pub fn create(
        dir: &Path,
        network: &Network,
        controls: &[String],
        event_kinds: &'static [&'static str],
        output: &Output,
    ) -> Result<RunWriter, OutputError> {
        let dict = |ids: &[String]| Arc::new(StringArray::from_iter_values(ids.iter())) as ArrayRef;
        let fixed = |ids: &[&str]| Arc::new(StringArray::from_iter_values(ids.iter())) as ArrayRef;
        let dicts = BTreeMap::from([
            ("firm", dict(&network.firms)),
            ("nation", dict(&network.nations)),
            ("role", dict(&network.roles)),
            ("commodity", dict(&network.commodities)),
            ("region", dict(&network.regions)),
            ("line", dict(&network.line_ids)),
            ("control", dict(controls)),
            ("end_use", fixed(&["civil", "defence"])),
            ("outcome", fixed(&["approved", "denied", "pending"])),
            ("event_kind", fixed(event_kinds)),
        ]);
        let mut writers = Vec::new();
        for table in tables() {
            let schema = Arc::new(table_schema(&table));
            let file = table.file_in(output.format);
            let done = dir.join(&file);
            let partial = dir.join(format!("{file}.partial"));
            let sink = TableSink::open(&partial, &schema, output)?;
            writers.push(TableWriter {
                table,
                schema,
                partial,
                done,
                sink,
                rows: 0,
            });
        }
        Ok(RunWriter {
            writers,
            dicts,
            event_kinds,
        })
    }

    /// Moves every pending row of `rec` into one record batch per table and writes it.
    pub fn flush(&mut self, rec: &mut Recorder) -> Result<(), OutputError> {
        let firms = std::mem::take(&mut rec.firms);
        let nations = std::mem::take(&mut rec.nations);
        let flows = std::mem::take(&mut rec.flows);
        let prices = std::mem::take(&mut rec.prices);
        let lines = std::mem::take(&mut rec.lines);
        let groups = std::mem::take(&mut rec.groups);
        let counts = |v: Vec<i64>| Arc::new(Int64Array::from(v)) as ArrayRef;
        let ints = |v: Vec<i32>| Arc::new(Int32Array::from(v)) as ArrayRef;
        let dates = |v: Vec<i32>| Arc::new(Date32Array::from(v)) as ArrayRef;
        let nums = |v: Vec<f64>| Arc::new(Float64Array::from(v)) as ArrayRef;
        let ids = |key: &str, v: Vec<i32>| self.ids(key, v);
        let columns: Vec<(&str, Vec<ArrayRef>)> = vec![
            (
                "firms",
                vec![
                    ints(firms.tick),
                    dates(firms.date),
                    ids("firm", firms.firm),
                    ids("nation", firms.nation),
                    ids("role", firms.role),
                    ids("commodity", firms.commodity),
                    nums(firms.produced),
                    nums(firms.planned),
                    nums(firms.capacity),
                    nums(firms.shortfall),
                    nums(firms.inventory),
                    Arc::new(Float64Array::from(firms.input_cover_days)),
                    nums(firms.orders_received),
                    nums(firms.shipped),
                ],
            ),
            (
                "groups",
                vec![
                    ints(groups.tick),
                    dates(groups.date),
                    ids("nation", groups.nation),
                    ids("role", groups.role),
                    ids("commodity", groups.commodity),
                    counts(groups.firms),
                    nums(groups.produced),
                    nums(groups.planned),
                    nums(groups.capacity),
                    nums(groups.shortfall),
                    nums(groups.inventory),
                    nums(groups.orders_received),
                    nums(groups.shipped),
                    counts(groups.firms_short),
                    counts(groups.firms_stalled),
                ],
            ),
            (
                "nations",
                vec![
                    ints(nations.tick),
                    dates(nations.date),
                    ids("nation", nations.nation),
                    ids("commodity", nations.commodity),
                    nums(nations.produced),
                    nums(nations.consumed),
                    nums(nations.imported),
                    nums(nations.exported),
                    nums(nations.stock),
                    nums(nations.in_transit),
                ],
            ),
            (
                "flows",
                vec![
                    ints(flows.tick),
                    dates(flows.date),
                    ids("nation", flows.exporter),
                    ids("nation", flows.importer),
                    ids("commodity", flows.commodity),
                    nums(flows.quantity),
                    nums(flows.value_usd),
                    nums(flows.tariff_usd),
                ],
            ),
            (
                "prices",
                vec![
                    ints(prices.tick),
                    dates(prices.date),
                    ids("region", prices.region),
                    ids("commodity", prices.commodity),
                    nums(prices.price_usd),
                ],
            ),
            (
                "lines",
                vec![
                    ints(lines.tick),
                    dates(lines.date),
                    ids("firm", lines.firm),
                    ids("line", lines.line),
                    nums(lines.planned),
                    nums(lines.produced),
                ],
            ),
        ];
        for (table, cols) in columns {
            self.write_batch(table, cols)?;
        }
        Ok(())
    }

    /// Writes the applications of `licenses.arrow` that are final, in whole batches of
    /// [`crate::world::licences::APPLICATION_BATCH`] rows in the order they were filed, and drops them from memory
    /// (see [`Licensing::take_final`]); with `all`, at the run's end, every one left. A policy
    /// world files applications every tick; held to the end they would grow with the run.
    pub fn write_applications(&mut self, lic: &mut Licensing, all: bool, start: Date, tick_days: u32) -> Result<(), OutputError> {
        let date = |t: u32| start.plus_days((t * tick_days) as i32).0;
        while let Some((first, apps)) = lic.take_final(all) {
            let first = first as usize;
            let ids = |key: &str, v: Vec<i32>| self.ids(key, v);
            let cols: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from_iter_values((0..apps.len()).map(|k| (first + k) as i64))),
                ids("control", apps.iter().map(|a| i32::from(a.regime)).collect()),
                ids("firm", apps.iter().map(|a| a.supplier as i32).collect()),
                ids("firm", apps.iter().map(|a| a.buyer as i32).collect()),
                ids("nation", apps.iter().map(|a| i32::from(a.exporter)).collect()),
                ids("nation", apps.iter().map(|a| i32::from(a.importer)).collect()),
                ids("commodity", apps.iter().map(|a| i32::from(a.commodity)).collect()),
                Arc::new(Float64Array::from_iter_values(apps.iter().map(|a| a.quantity))),
                Arc::new(Float64Array::from_iter_values(apps.iter().map(|a| a.granted))),
                Arc::new(Float64Array::from_iter_values(apps.iter().map(|a| a.shipped))),
                ids("end_use", apps.iter().map(|a| i32::from(a.end_use == EndUse::Defence)).collect()),
                Arc::new(Int32Array::from_iter_values(apps.iter().map(|a| a.submitted_tick as i32))),
                Arc::new(Date32Array::from_iter_values(apps.iter().map(|a| date(a.submitted_tick)))),
                Arc::new(Int32Array::from_iter(apps.iter().map(|a| a.decided_tick.map(|t| t as i32)))),
                Arc::new(Date32Array::from_iter(apps.iter().map(|a| a.decided_tick.map(date)))),
                ids(
                    "outcome",
                    apps.iter()
                        .map(|a| match a.outcome {
                            Outcome::Approved => 0,
                            Outcome::Denied => 1,
                            Outcome::Pending => 2,
                        })
                        .collect(),
                ),
            ];
            let n = apps.len();
            self.write_batch("licenses", cols)?;
            lic.drop_written(n);
        }
        Ok(())
    }

    /// Writes the applications left of `licenses.arrow` (see [`RunWriter::write_applications`])
    /// and `events.arrow` (every policy change), at the end of the run.
    pub fn write_policy_tables(&mut self, lic: &mut Licensing, pol: &PolicyState, start: Date, tick_days: u32) -> Result<(), OutputError> {
        self.write_applications(lic, true, start, tick_days)?;
        let date = |t: u32| start.plus_days((t * tick_days) as i32).0;
        let log = &pol.log;
        let kinds = self.event_kinds;
        let kind = |k: &str| kinds.iter().position(|x| *x == k).expect("known kind") as i32;
        let ids = |key: &str, v: Vec<i32>| self.ids(key, v);
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from_iter_values(log.iter().map(|e| e.tick as i32))),
            Arc::new(Date32Array::from_iter_values(log.iter().map(|e| date(e.tick)))),
            ids("nation", log.iter().map(|e| i32::from(e.nation)).collect()),
            ids("event_kind", log.iter().map(|e| kind(e.kind)).collect()),
            Arc::new(StringArray::from_iter_values(log.iter().map(|e| e.source.as_str()))),
            Arc::new(StringArray::from_iter_values(log.iter().map(|e| e.detail.as_str()))),
        ];
        self.write_batch("events", cols)
    }

    /// A dictionary column of the ids `v`, keys into the run's fixed values for `key` (firm,
    /// nation, commodity, ...).
    fn ids(&self, key: &str, v: Vec<i32>) -> ArrayRef {
        Arc::new(DictionaryArray::<Int32Type>::try_new(Int32Array::from(v), self.dicts[key].clone()).expect("keys index the dictionary"))
    }

    /// Writes `cols` as one batch of the table named `table` (nothing if they have no rows).
    fn write_batch(&mut self, table: &str, cols: Vec<ArrayRef>) -> Result<(), OutputError> {
        let w = self
            .writers
            .iter_mut()
            .find(|w| w.table.name == table)
            .expect("every table has a writer");
        debug_assert_eq!(w.table.columns.len(), cols.len());
        let n = cols[0].len();
        if n == 0 {
            return Ok(());
        }
        let batch = RecordBatch::try_new(w.schema.clone(), cols).map_err(|source| OutputError::Arrow {
            path: w.partial.clone(),
            source,
        })?;
        w.sink.write(&batch, &w.partial)?;
        w.rows += n as u64;
        Ok(())
    }

    /// Closes every file and moves it to its final name; returns the row count per table.
    pub fn finish(self) -> Result<BTreeMap<String, u64>, OutputError> {
        let mut rows = BTreeMap::new();
        for w in self.writers {
            w.sink.finish(&w.partial)?;
            std::fs::rename(&w.partial, &w.done).map_err(|source| OutputError::Io {
                path: w.done.clone(),
                source,
            })?;
            rows.insert(w.table.name.to_string(), w.rows);
        }
        Ok(rows)
    }
}
