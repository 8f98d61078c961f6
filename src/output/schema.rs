//! The output tables of a run: every column's type, unit and meaning (`chokepoint schema`), and
//! the Arrow schema each table is written with.

use arrow_schema::{DataType, Field, Schema};
use std::collections::HashMap;

/// Which set of ids a dictionary column draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ids {
    Firm,
    Nation,
    Role,
    Commodity,
    Region,
    Line,
    Control,
    EndUse,
    Outcome,
    EventKind,
}

/// A column's type as documented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tick,
    Date,
    Id(Ids),
    Quantity,
    NullableQuantity,
    NullableTick,
    NullableDate,
    Count,
    Text,
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

impl Table {
    /// The table's file name in `format`: `firms.arrow`, `firms.parquet`, ...
    pub fn file_in(&self, format: crate::model::output::TableFormat) -> String {
        format!("{}.{}", self.name, format.extension())
    }
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
            name: "groups",
            file: "groups.arrow",
            description: "One row per (tick, nation, role, output commodity) with firms: the firms' sums, written every tick whatever the run's firm_rows level",
            columns: [
                tick_date().to_vec(),
                vec![
                    col("nation", Kind::Id(Ids::Nation), "id", "Nation of the firms"),
                    col("role", Kind::Id(Ids::Role), "id", "Role of the firms"),
                    col(
                        "commodity",
                        Kind::Id(Ids::Commodity),
                        "id",
                        "The firms' output commodity; quantities are in its unit",
                    ),
                    col("firms", Kind::Count, "firms", "Firms in the group"),
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
                        "Planned output not made for lack of inputs",
                    ),
                    col(
                        "inventory",
                        q,
                        "output units",
                        "Finished stock of the output at the end of the tick (0 for final goods)",
                    ),
                    col("orders_received", q, "output units per tick", "Units their buyers ordered this tick"),
                    col("shipped", q, "output units per tick", "Units they filled and sent off this tick"),
                    col("firms_short", Kind::Count, "firms", "Firms with any shortfall this tick"),
                    col(
                        "firms_stalled",
                        Kind::Count,
                        "firms",
                        "Firms that lost at least 10% of a positive plan for lack of inputs this tick (a stall)",
                    ),
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
                    col(
                        "tariff",
                        q,
                        "USD per tick",
                        "Import tariff due on that value at the importer's rate",
                    ),
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
        Table {
            name: "lines",
            file: "lines.arrow",
            description: "One row per product line per tick, for firms with lines (e.g. EV and ICE vehicles)",
            columns: [
                tick_date().to_vec(),
                vec![
                    col("firm", Kind::Id(Ids::Firm), "id", "Firm"),
                    col("line", Kind::Id(Ids::Line), "id", "Product line"),
                    col("planned", q, "output units per tick", "Output planned on the line"),
                    col("produced", q, "output units per tick", "Output made on the line"),
                ],
            ]
            .concat(),
        },
        Table {
            name: "licenses",
            file: "licenses.arrow",
            description: "One row per export-licence application",
            columns: vec![
                col("id", Kind::Count, "id", "Application number, in order of submission"),
                col(
                    "control",
                    Kind::Id(Ids::Control),
                    "id",
                    "Export-control regime the application falls under",
                ),
                col("exporter_firm", Kind::Id(Ids::Firm), "id", "Supplying firm"),
                col("buyer_firm", Kind::Id(Ids::Firm), "id", "Buying firm"),
                col("exporter", Kind::Id(Ids::Nation), "id", "Controlling (exporting) nation"),
                col("importer", Kind::Id(Ids::Nation), "id", "Destination nation"),
                col(
                    "commodity",
                    Kind::Id(Ids::Commodity),
                    "id",
                    "Controlled commodity; quantities are in its unit",
                ),
                col("quantity", q, "commodity units", "Quantity applied for"),
                col(
                    "granted",
                    q,
                    "commodity units",
                    "Quantity approved: all of it, or the part an annual quota had released room for; 0 if refused or pending",
                ),
                col(
                    "shipped",
                    q,
                    "commodity units",
                    "Quantity shipped under the licence by the end of the run",
                ),
                col("end_use", Kind::Id(Ids::EndUse), "id", "Declared end use: civil or defence"),
                col("submitted_tick", Kind::Tick, "tick", "Tick the application was filed"),
                col("submitted_date", Kind::Date, "date", "Date the application was filed"),
                col(
                    "decided_tick",
                    Kind::NullableTick,
                    "tick",
                    "Tick of the decision; null while pending",
                ),
                col(
                    "decided_date",
                    Kind::NullableDate,
                    "date",
                    "Date of the decision; null while pending",
                ),
                col(
                    "outcome",
                    Kind::Id(Ids::Outcome),
                    "id",
                    "approved, denied or pending (at the end of the run)",
                ),
            ],
        },
        Table {
            name: "events",
            file: "events.arrow",
            description: "One row per scheduled policy event, per announcement of one and per reactive rule that fired",
            columns: [
                tick_date().to_vec(),
                vec![
                    col("nation", Kind::Id(Ids::Nation), "id", "Nation taking the action"),
                    col(
                        "kind",
                        Kind::Id(Ids::EventKind),
                        "id",
                        "What changed (activate, set_approval, set_tariff, ...), or `announce`: a scheduled change announced, to take effect on the date in `detail` (`announce` is in the dictionary only in runs whose model announces an event)",
                    ),
                    col("source", Kind::Text, "text", "`scheduled`, or `rule:<id>` for a reactive rule"),
                    col("detail", Kind::Text, "text", "What changed, and the note from the model file"),
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
            Kind::NullableTick => "int32",
            Kind::NullableDate => "date32[day]",
            Kind::Count => "int64",
            Kind::Text => "string",
        }
    }

    /// Whether the column may hold nulls.
    pub fn nullable(self) -> bool {
        matches!(self, Kind::NullableQuantity | Kind::NullableTick | Kind::NullableDate)
    }

    /// Arrow type of the column.
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Id(_) => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            Kind::Quantity | Kind::NullableQuantity => DataType::Float64,
            Kind::Tick | Kind::NullableTick => DataType::Int32,
            Kind::Date | Kind::NullableDate => DataType::Date32,
            Kind::Count => DataType::Int64,
            Kind::Text => DataType::Utf8,
        }
    }
}

/// The Arrow schema of `table`, with `unit` and `description` in every field's metadata.
pub fn table_schema(table: &Table) -> Schema {
    let fields: Vec<Field> = table
        .columns
        .iter()
        .map(|c| {
            let meta = HashMap::from([
                ("unit".to_string(), c.unit.to_string()),
                ("description".to_string(), c.description.to_string()),
            ]);
            Field::new(c.name, c.kind.data_type(), c.kind.nullable()).with_metadata(meta)
        })
        .collect();
    Schema::new_with_metadata(fields, HashMap::from([("description".to_string(), table.description.to_string())]))
}

/// Human-readable listing of every table and column (`chokepoint schema`).
pub fn describe_tables() -> String {
    let mut s = String::from(FORMATS);
    for t in tables() {
        s.push_str(&format!("{} — {}\n", t.file, t.description));
        for c in &t.columns {
            let ty = if c.kind.nullable() {
                format!("{} (nullable)", c.kind.type_name())
            } else {
                c.kind.type_name().to_string()
            };
            s.push_str(&format!("  {:<18} {:<24} {:<24} {}\n", c.name, ty, c.unit, c.description));
        }
        s.push('\n');
    }
    s.push_str(OUTPUT_LEVELS);
    s
}

/// The file formats, as `chokepoint schema` explains them.
pub const FORMATS: &str = "\
Files (model file `output: (format: \"...\", compression: \"...\")`, or `run`/`sweep --format
--compression`): <table>.arrow, Arrow IPC (Feather v2; the default), or <table>.parquet with
--format parquet; columns compressed with zstd (the default), lz4 or none. The columns are the
same in every format; `chokepoint export RUN --table T --format csv` writes one as CSV.

";

/// The output levels, as `chokepoint schema` explains them.
pub const OUTPUT_LEVELS: &str = "\
Output levels (model file `output: (firm_rows: \"...\")`, or `run`/`sweep --firm-rows ...`):
  all          firms.arrow and lines.arrow: every firm, every tick (the default)
  every:K      every firm on ticks 0, K, 2K, ... only
  sample:F     every tick, the firms whose id hashes below the share F (0 < F <= 1); the same
               firms in every seed and scenario, so runs pair firm by firm
  none         no per-firm rows
groups.arrow and every other table are written every tick at every level; manifest.json's
`firm_rows` names the level. compare, sweep summaries and plot take the downstream figures
from groups.arrow when firm rows are thinned (the same figures as from all rows); per-firm
stalls (compare's final_producers) are reported for the firms that have every tick's row.
";

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
                        "nullable": c.kind.nullable(),
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
