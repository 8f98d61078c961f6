# Checks R/chokepoint.R on real runs; tests/r_helper.rs makes them and runs this script:
#   Rscript tests/r_helper.R ROOT SCHEMA_JSON BASELINE_RUN APRIL_RUN APRIL_COPY PARTIAL_RUN SWEEP
# APRIL_COPY is APRIL_RUN with firms as Parquet and nations as lz4-compressed Arrow IPC;
# PARTIAL_RUN is a baseline run whose manifest does not say "complete": true.
args <- commandArgs(trailingOnly = TRUE)
names(args) <- c("root", "schema", "base", "april", "copy", "partial", "sweep")
source(file.path(args[["root"]], "R", "chokepoint.R"))

# Reads a JSON file through Python's json (the helper has started Python by then).
json <- function(path) reticulate::import("json")$loads(paste(readLines(path, warn = FALSE), collapse = "\n"))
# The error message of `expr`, or "" if it has none.
error_of <- function(expr) tryCatch({ expr; "" }, error = conditionMessage)

firms <- read_run(args[["april"]], "firms")
schema <- json(args[["schema"]])
unit_of <- function(table, column) {
  t <- Filter(function(t) t$name == table, schema)[[1]]
  Filter(function(c) c$name == column, t$columns)[[1]]$unit
}

# Every table of both runs: the manifest's rows, dates from the calendar's start, ids as
# factors, units kept.
for (run in args[c("base", "april")]) {
  manifest <- json(file.path(run, "manifest.json"))
  for (table in names(manifest$rows)) {
    df <- read_run(run, table)
    stopifnot(is.data.frame(df), nrow(df) == manifest$rows[[table]])
    if ("date" %in% names(df)) {
      stopifnot(inherits(df$date, "Date"), is.integer(df$tick))
      # Every table but events has rows from the first tick.
      if (table != "events") stopifnot(df$date[1] == as.Date("2025-01-01"), df$date[1] == as.Date(manifest$start))
    }
    for (id in intersect(c("firm", "nation", "role", "commodity", "region", "exporter", "importer"), names(df))) {
      stopifnot(is.factor(df[[id]]), identical(attr(df[[id]], "unit"), "id"))
    }
  }
}
stopifnot(
  is.factor(firms$nation), "CN" %in% levels(firms$nation), is.numeric(firms$produced),
  identical(attr(firms$produced, "unit"), unit_of("firms", "produced")),
  nchar(attr(firms$produced, "description")) > 0,
  max(firms$date) == as.Date(json(file.path(args[["april"]], "manifest.json"))$end)
)
nations <- read_run(args[["april"]], "nations")
stopifnot(identical(attr(nations$produced, "unit"), unit_of("nations", "produced")))

# The same values as pyarrow's own conversion: factor levels in dictionary order, nulls as NA.
feather <- reticulate::import("pyarrow.feather")
table <- feather$read_table(file.path(args[["april"]], "firms.arrow"), columns = list("nation", "input_cover_days"))
nation <- table$column("nation")$chunk(0L)
stopifnot(
  identical(levels(firms$nation), as.character(nation$dictionary$to_pylist())),
  identical(as.character(firms$nation), as.character(table$column("nation")$to_pylist())),
  sum(is.na(firms$input_cover_days)) == table$column("input_cover_days")$null_count,
  sum(is.na(firms$input_cover_days)) > 0
)
licenses <- read_run(args[["april"]], "licenses")
stopifnot(
  nrow(licenses) > 0, inherits(licenses$decided_date, "Date"), is.factor(licenses$outcome),
  all(is.na(licenses$decided_date) == (licenses$outcome == "pending"))
)
few <- read_run(args[["april"]], "groups", columns = c("nation", "firms"))
stopifnot(identical(names(few), c("nation", "firms")), is.integer(few$firms))

# Parquet and compressed Arrow IPC read the same.
stopifnot(
  file.exists(file.path(args[["copy"]], "firms.parquet")), !file.exists(file.path(args[["copy"]], "firms.arrow")),
  identical(read_run(args[["copy"]], "firms"), firms),
  identical(read_run(args[["copy"]], "nations"), nations)
)

# Clear errors: an unfinished run names its folder, an unknown table lists the tables.
e <- error_of(read_run(args[["partial"]], "firms"))
stopifnot(grepl(args[["partial"]], e, fixed = TRUE), grepl("complete", e))
e <- error_of(read_run(args[["base"]], "firm"))
stopifnot(grepl("firms", e), grepl("nations", e))
stopifnot(grepl("shortfal", error_of(read_run(args[["base"]], "firms", columns = "shortfal"))))

# A sweep's table: every run's rows, with the partition columns.
plan <- json(file.path(args[["sweep"]], "sweep.json"))
rows <- function(table) sum(vapply(plan$runs, function(r) json(file.path(args[["sweep"]], r$dir, "manifest.json"))$rows[[table]], 0))
grid <- "policies_controls_cn_2025_04_rare_earths_approval_civil"
sweep <- read_sweep(args[["sweep"]], "firms")
stopifnot(
  nrow(sweep) == rows("firms"), inherits(sweep$date, "Date"), is.factor(sweep$nation),
  identical(attr(sweep$produced, "unit"), unit_of("firms", "produced")),
  is.factor(sweep$scenario), setequal(levels(sweep$scenario), c("baseline", "april_2025")),
  is.integer(sweep$seed), setequal(sweep$seed, 1:2),
  is.numeric(sweep[[grid]]), all(is.na(sweep[[grid]][sweep$scenario == "baseline"])),
  setequal(sweep[[grid]][sweep$scenario == "april_2025"], c(0.25, 0.6)),
  is.factor(sweep$calendar_end), identical(levels(sweep$calendar_end), "2025-02-28")
)
some <- read_sweep(args[["sweep"]], "nations", columns = c("nation", "produced"))
stopifnot(
  nrow(some) == rows("nations"), identical(names(some)[1:2], c("nation", "produced")),
  all(c("scenario", grid, "seed") %in% names(some))
)
summary <- read_summary(args[["sweep"]])
stopifnot(
  nrow(summary) == length(plan$runs), is.factor(summary$scenario), is.integer(summary$seed),
  is.numeric(summary[[grid]]), all(is.na(summary[[grid]]) == (summary$scenario == "baseline")),
  is.numeric(summary$output__vehicle__world), all(summary$output__vehicle__world > 0)
)
cat(sprintf("ok: %d firm rows, %d sweep rows, %d runs\n", nrow(firms), nrow(sweep), nrow(summary)))
