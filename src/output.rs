//! Output: the Arrow IPC tables of a run, their documented schemas, and the manifest.
//! Only this module writes files.

use crate::network::Network;
use crate::observe::Recorder;
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, Date32Array, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray};
use arrow_ipc::writer::FileWriter;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What can go wrong while writing a run.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: Arrow: {source}")]
    Arrow { path: PathBuf, source: ArrowError },
}

/// Which set of ids a dictionary column draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ids {
    Firm,
    Nation,
    Role,
    Commodity,
    Region,
}

/// A column's type as documented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tick,
    Date,
    Id(Ids),
    Quantity,
    NullableQuantity,
}

/// One documented column.
#[derive(Clone, Debug)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: &'static str,
    pub description: &'static str,
}

/// One documented table.
#[derive(Clone, Debug)]
pub struct Table {
    pub name: &'static str,
    pub file: &'static str,
    pub description: &'static str,
    pub columns: Vec<Column>,
}

const fn col(name: &'static str, kind: Kind, unit: &'static str, description: &'static str) -> Column {
    Column {
        name,
        kind,
        unit,
        description,
    }
}

fn tick_date() -> [Column; 2] {
    [
        col("tick", Kind::Tick, "tick", "Tick number from 0; a tick is calendar.tick_days days"),
        col("date", Kind::Date, "date", "First day of the tick"),
    ]
}

/// Every table a run writes, with every column's type, unit and meaning.
pub fn tables() -> Vec<Table> {
    let q = Kind::Quantity;
    vec![
        Table {
            name: "firms",
            file: "firms.arrow",
            description: "One row per firm per tick",
            columns: [
                tick_date().to_vec(),
                vec![
                    col("firm", Kind::Id(Ids::Firm), "id", "Firm id"),
                    col("nation", Kind::Id(Ids::Nation), "id", "Nation of the firm"),
                    col(
                        "role",
                        Kind::Id(Ids::Role),
                        "id",
                        "Role (miner, refiner, magnet_maker, automaker, ...)",
                    ),
                    col("commodity", Kind::Id(Ids::Commodity), "id", "The firm's output commodity"),
                    col("produced", q, "output units per tick", "Output made this tick"),
                    col("planned", q, "output units per tick", "Output planned this tick"),
                    col(
                        "capacity",
                        q,
                        "output units per tick",
                        "Capacity (for final-demand producers: planned output before noise and prices)",
                    ),
                    col(
                        "shortfall",
                        q,
                        "output units per tick",
                        "Planned output not made for lack of inputs (planned - produced)",
                    ),
                    col(
                        "inventory",
                        q,
                        "output units",
                        "Finished stock of its output at the end of the tick (0 for final goods)",
                    ),
                    col(
                        "input_cover_days",
                        Kind::NullableQuantity,
                        "days",
                        "Days of expected production the scarcest input on hand allows; null for firms without inputs",
                    ),
                    col("orders_received", q, "output units per tick", "Units its buyers ordered this tick"),
                    col("shipped", q, "output units per tick", "Units it filled and sent off this tick"),
                ],
            ]
            .concat(),
        },
        Table {
            name: "nations",
            file: "nations.arrow",
            description: "Long form: one row per nation per commodity per tick",
            columns: [
                tick_date().to_vec(),
                vec![
                    col("nation", Kind::Id(Ids::Nation), "id", "Nation"),
                    col("commodity", Kind::Id(Ids::Commodity), "id", "Commodity; quantities are in its unit"),
                    col("produced", q, "commodity units per tick", "Made by firms in the nation"),
                    col(
                        "consumed",
                        q,
                        "commodity units per tick",
                        "Used as inputs by firms in the nation, or (final goods) consumed when made",
                    ),
                    col(
                        "imported",
                        q,
                        "commodity units per tick",
                        "Arrived from other nations this tick (customs imports, counted on arrival)",
                    ),
                    col(
                        "exported",
                        q,
                        "commodity units per tick",
                        "Left for other nations this tick (customs exports, counted on departure)",
                    ),
                    col(
                        "stock",
                        q,
                        "commodity units",
                        "Held by firms in the nation at the end of the tick (finished and input stocks)",
                    ),
                    col(
                        "in_transit",
                        q,
                        "commodity units",
                        "On its way to firms in the nation at the end of the tick",
                    ),
                ],
            ]
            .concat(),
        },
        Table {
            name: "flows",
            file: "flows.arrow",
            description: "One row per (tick, exporter, importer, commodity) with goods leaving; counted on departure, as customs export statistics are",
            columns: [
                tick_date().to_vec(),
                vec![
                    col("exporter", Kind::Id(Ids::Nation), "id", "Nation the goods leave"),
                    col("importer", Kind::Id(Ids::Nation), "id", "Nation of the buyer"),
                    col("commodity", Kind::Id(Ids::Commodity), "id", "Commodity; quantity is in its unit"),
                    col("quantity", q, "commodity units per tick", "Units shipped"),
                    col("value", q, "USD per tick", "Quantity times the importer's regional price this tick"),
                ],
            ]
            .concat(),
        },
        Table {
            name: "prices",
            file: "prices.arrow",
            description: "One row per (tick, price region, commodity)",
            columns: [
                tick_date().to_vec(),
                vec![
                    col(
                        "region",
                        Kind::Id(Ids::Region),
                        "id",
                        "Price region (buyers in its nations pay this price)",
                    ),
                    col("commodity", Kind::Id(Ids::Commodity), "id", "Commodity"),
                    col("price", q, "USD per commodity unit", "Price at the end of the tick"),
                ],
            ]
            .concat(),
        },
    ]
}

impl Kind {
    /// The type's name as documented (and as pyarrow spells it).
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Tick => "int32",
            Kind::Date => "date32[day]",
            Kind::Id(_) => "dictionary<values=string, indices=int32, ordered=0>",
            Kind::Quantity | Kind::NullableQuantity => "double",
        }
    }

    /// Arrow type of the column.
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Tick => DataType::Int32,
            Kind::Date => DataType::Date32,
            Kind::Id(_) => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            Kind::Quantity | Kind::NullableQuantity => DataType::Float64,
        }
    }
}

/// The Arrow schema of `table`, with `unit` and `description` in every field's metadata.
pub fn schema(table: &Table) -> Schema {
    let fields: Vec<Field> = table
        .columns
        .iter()
        .map(|c| {
            let meta = HashMap::from([
                ("unit".to_string(), c.unit.to_string()),
                ("description".to_string(), c.description.to_string()),
            ]);
            Field::new(c.name, c.kind.data_type(), c.kind == Kind::NullableQuantity).with_metadata(meta)
        })
        .collect();
    Schema::new_with_metadata(fields, HashMap::from([("description".to_string(), table.description.to_string())]))
}

/// Human-readable listing of every table and column (`chokepoint schema`).
pub fn describe_tables() -> String {
    let mut s = String::new();
    for t in tables() {
        s.push_str(&format!("{} — {}\n", t.file, t.description));
        for c in &t.columns {
            let ty = if c.kind == Kind::NullableQuantity {
                format!("{} (nullable)", c.kind.type_name())
            } else {
                c.kind.type_name().to_string()
            };
            s.push_str(&format!("  {:<18} {:<24} {:<24} {}\n", c.name, ty, c.unit, c.description));
        }
        s.push('\n');
    }
    s
}

/// Every table and column as JSON, for tools and tests that check files against the docs.
pub fn tables_json() -> String {
    let v: Vec<serde_json::Value> = tables()
        .iter()
        .map(|t| {
            let cols: Vec<serde_json::Value> = t
                .columns
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "name": c.name,
                        "type": c.kind.type_name(),
                        "nullable": c.kind == Kind::NullableQuantity,
                        "unit": c.unit,
                        "description": c.description,
                    })
                })
                .collect();
            serde_json::json!({"name": t.name, "file": t.file, "description": t.description, "columns": cols})
        })
        .collect();
    serde_json::to_string_pretty(&v).expect("json")
}

struct TableWriter {
    table: Table,
    schema: SchemaRef,
    partial: PathBuf,
    done: PathBuf,
    writer: FileWriter<BufWriter<File>>,
    rows: u64,
}

/// Writes a run's tables batch by batch, under `.partial` names until [`RunWriter::finish`].
pub struct RunWriter {
    writers: Vec<TableWriter>,
    dicts: BTreeMap<&'static str, ArrayRef>,
}

impl RunWriter {
    /// Opens every table file in `dir` (which must exist).
    pub fn create(dir: &Path, network: &Network) -> Result<RunWriter, OutputError> {
        let dict = |ids: &[String]| Arc::new(StringArray::from_iter_values(ids.iter())) as ArrayRef;
        let dicts = BTreeMap::from([
            ("firm", dict(&network.firms)),
            ("nation", dict(&network.nations)),
            ("role", dict(&network.roles)),
            ("commodity", dict(&network.commodities)),
            ("region", dict(&network.regions)),
        ]);
        let mut writers = Vec::new();
        for table in tables() {
            let schema = Arc::new(schema(&table));
            let done = dir.join(table.file);
            let partial = dir.join(format!("{}.partial", table.file));
            let file = File::create(&partial).map_err(|source| OutputError::Io {
                path: partial.clone(),
                source,
            })?;
            let writer = FileWriter::try_new(BufWriter::new(file), &schema).map_err(|source| OutputError::Arrow {
                path: partial.clone(),
                source,
            })?;
            writers.push(TableWriter {
                table,
                schema,
                partial,
                done,
                writer,
                rows: 0,
            });
        }
        Ok(RunWriter { writers, dicts })
    }

    /// Moves every pending row of `rec` into one record batch per table and writes it.
    pub fn flush(&mut self, rec: &mut Recorder) -> Result<(), OutputError> {
        let firms = std::mem::take(&mut rec.firms);
        let nations = std::mem::take(&mut rec.nations);
        let flows = std::mem::take(&mut rec.flows);
        let prices = std::mem::take(&mut rec.prices);
        let ints = |v: Vec<i32>| Arc::new(Int32Array::from(v)) as ArrayRef;
        let dates = |v: Vec<i32>| Arc::new(Date32Array::from(v)) as ArrayRef;
        let nums = |v: Vec<f64>| Arc::new(Float64Array::from(v)) as ArrayRef;
        let ids = |key: &str, v: Vec<i32>| -> ArrayRef {
            Arc::new(
                DictionaryArray::<Int32Type>::try_new(Int32Array::from(v), self.dicts[key].clone()).expect("keys index the dictionary"),
            )
        };
        let columns: Vec<Vec<ArrayRef>> = vec![
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
            vec![
                ints(flows.tick),
                dates(flows.date),
                ids("nation", flows.exporter),
                ids("nation", flows.importer),
                ids("commodity", flows.commodity),
                nums(flows.quantity),
                nums(flows.value_usd),
            ],
            vec![
                ints(prices.tick),
                dates(prices.date),
                ids("region", prices.region),
                ids("commodity", prices.commodity),
                nums(prices.price_usd),
            ],
        ];
        for (w, cols) in self.writers.iter_mut().zip(columns) {
            debug_assert_eq!(w.table.columns.len(), cols.len());
            let n = cols[0].len();
            if n == 0 {
                continue;
            }
            let batch = RecordBatch::try_new(w.schema.clone(), cols).map_err(|source| OutputError::Arrow {
                path: w.partial.clone(),
                source,
            })?;
            w.writer.write(&batch).map_err(|source| OutputError::Arrow {
                path: w.partial.clone(),
                source,
            })?;
            w.rows += n as u64;
        }
        Ok(())
    }

    /// Closes every file and moves it to its final name; returns the row count per table.
    pub fn finish(self) -> Result<BTreeMap<String, u64>, OutputError> {
        let mut rows = BTreeMap::new();
        for mut w in self.writers {
            w.writer.finish().map_err(|source| OutputError::Arrow {
                path: w.partial.clone(),
                source,
            })?;
            let file = w.writer.into_inner().map_err(|source| OutputError::Arrow {
                path: w.partial.clone(),
                source,
            })?;
            file.into_inner()
                .map_err(|e| OutputError::Io {
                    path: w.partial.clone(),
                    source: e.into_error(),
                })?
                .sync_all()
                .ok();
            std::fs::rename(&w.partial, &w.done).map_err(|source| OutputError::Io {
                path: w.done.clone(),
                source,
            })?;
            rows.insert(w.table.name.to_string(), w.rows);
        }
        Ok(rows)
    }
}
