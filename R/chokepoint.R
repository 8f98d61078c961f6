# Read Chokepoint run folders and sweep folders into R data frames.
#
#   source("R/chokepoint.R")
#   firms <- read_run("runs/april_2025", "firms")
#   nations <- read_sweep("runs/sweep", "nations", columns = c("nation", "commodity", "produced"))
#   summary <- read_summary("runs/sweep")
#
# R's arrow package is not installable on Debian here, so the tables are read with the Python
# pyarrow of the repository's venv, through reticulate (the only dependency), and converted
# column by column: date32 -> Date, dictionary-encoded ids -> factor (levels in dictionary
# order), strings -> character, integers -> integer (int64 as double if a value does not fit),
# floats -> double, booleans -> logical, nulls -> NA. Each column keeps its field metadata as
# attributes: attr(df$produced, "unit"), attr(df$produced, "description").

.ck <- new.env()

#' Read one table of a finished run folder.
#'
#' @param dir a run folder (`chokepoint run ... --out DIR`); its manifest.json must say
#'   `"complete": true`.
#' @param table a table name: firms, groups, nations, flows, prices, lines, licenses, events.
#'   `<table>.arrow` (Arrow IPC, compressed or not) or `<table>.parquet` is read.
#' @param columns the columns to read (all if NULL).
#' @param python the Python with pyarrow; see `ck_python()`.
#' @return a data.frame, one column per table column, with "unit" and "description" attributes.
read_run <- function(dir, table, columns = NULL, python = NULL) {
  manifest <- file.path(dir, "manifest.json")
  if (!file.exists(manifest) || !any(grepl("\"complete\"\\s*:\\s*true", readLines(manifest, warn = FALSE)))) {
    stop(sprintf("%s is not a finished Chokepoint run: its manifest.json does not say \"complete\": true", dir), call. = FALSE)
  }
  path <- file.path(dir, paste0(table, c(".arrow", ".parquet")))
  path <- path[file.exists(path)]
  if (length(path) == 0) {
    present <- sort(unique(sub("\\.(arrow|parquet)$", "", list.files(dir, pattern = "\\.(arrow|parquet)$"))))
    stop(sprintf("no table '%s' in %s; its tables: %s", table, dir, paste(present, collapse = ", ")), call. = FALSE)
  }
  ck_python(python, dir)
  path <- path[1]
  if (grepl("\\.parquet$", path)) {
    ck_columns(columns, .ck$pq$read_schema(path), path)
    t <- .ck$pq$read_table(path, columns = ck_list(columns))
  } else {
    ck_columns(columns, .ck$pa$ipc$open_file(path)$schema, path)
    t <- .ck$feather$read_table(path, columns = ck_list(columns))
  }
  ck_frame(t)
}

#' Read one table of every finished run of a sweep folder, as one data frame.
#'
#' @param dir a sweep folder (`chokepoint sweep ... --out DIR`).
#' @param table a table name; the dataset `DIR/tables/<table>/` (Hive layout,
#'   `scenario=<name>/<param>=<value>/.../seed=<s>/part-0.arrow` or `.parquet`) is read.
#' @param columns the table's columns to read (all if NULL); the partition columns are always added.
#' @param python the Python with pyarrow; see `ck_python()`.
#' @return a data.frame with the table's columns and the partition columns: `scenario` (factor),
#'   one per grid parameter (numeric when every value is a number, with NA where the model has
#'   no such parameter, `none`; else a factor) and `seed` (integer).
read_sweep <- function(dir, table, columns = NULL, python = NULL) {
  tables <- file.path(dir, "tables")
  if (!dir.exists(tables)) stop(sprintf("%s is not a Chokepoint sweep folder: it has no tables/", dir), call. = FALSE)
  path <- file.path(tables, table)
  if (!dir.exists(path)) {
    present <- paste(sort(basename(list.dirs(tables, recursive = FALSE))), collapse = ", ")
    stop(sprintf("no table '%s' in %s; its tables: %s", table, dir, present), call. = FALSE)
  }
  ext <- unique(sub(".*\\.", "", list.files(path, pattern = "\\.(arrow|parquet)$", recursive = TRUE)))
  if (length(ext) != 1) {
    stop(sprintf("%s holds %s", path, if (length(ext)) "both .arrow and .parquet files" else "no finished run"), call. = FALSE)
  }
  ck_python(python, dir)
  d <- .ck$ds$dataset(path, format = if (ext == "parquet") "parquet" else "ipc", partitioning = "hive")
  parts <- reticulate::py_to_r(d$partitioning$schema$names)
  ck_columns(columns, d$schema, path)
  if (!is.null(columns)) columns <- c(columns, setdiff(parts, columns))
  ck_partitions(ck_frame(d$to_table(columns = ck_list(columns))), parts)
}

#' Read a sweep's summary: one row per run, with scenario, grid values, seed and every
#' indicator of `chokepoint compare`.
#'
#' @param dir a sweep folder. Its `summary.arrow` is read, or, for a sharded sweep, every
#'   `summary.shard-I-of-N.arrow` together.
#' @param python the Python with pyarrow; see `ck_python()`.
#' @return a data.frame, with `scenario`, `seed` and the grid columns converted as by `read_sweep()`.
read_summary <- function(dir, python = NULL) {
  files <- list.files(dir, pattern = "^summary\\.(arrow|parquet)$", full.names = TRUE)
  if (length(files) == 0) files <- list.files(dir, pattern = "^summary\\.shard-.*\\.(arrow|parquet)$", full.names = TRUE)
  if (length(files) == 0) stop(sprintf("no summary.arrow in %s: not a sweep folder, or its sweep has not finished", dir), call. = FALSE)
  ck_python(python, dir)
  fmt <- if (grepl("\\.parquet$", files[1])) "parquet" else "ipc"
  df <- ck_frame(.ck$ds$dataset(as.list(files), format = fmt)$to_table())
  grid <- character()
  plan <- file.path(dir, "sweep.json")
  if (file.exists(plan)) {
    g <- .ck$json$loads(paste(readLines(plan, warn = FALSE), collapse = "\n"))$get("grid", list())
    grid <- vapply(reticulate::py_to_r(g), function(p) p$column, "")
  }
  ck_partitions(df, intersect(c("scenario", grid, "seed"), names(df)))
}

#' Start Python with pyarrow, once per R session.
#'
#' `python` is the Python to use; if NULL: $RETICULATE_PYTHON if set, else `.venv/bin/python`
#' of the Chokepoint repository, found by walking up from `near` (a run or sweep folder), then
#' from the working directory, to a folder holding both `.venv/bin/python` and `Cargo.toml`.
ck_python <- function(python, near) {
  if (is.null(.ck$pa)) {
    if (!reticulate::py_available()) {
      if (is.null(python)) python <- ck_find_python(near)
      if (!file.exists(python)) stop(sprintf("no Python at %s", python), call. = FALSE)
      Sys.setenv(RETICULATE_PYTHON = python) # it would override use_python()
      reticulate::use_python(python, required = TRUE)
    }
    .ck$python <- reticulate::py_config()$python
    if (!reticulate::py_module_available("pyarrow")) {
      stop(sprintf("the Python %s has no pyarrow: %s -m pip install pyarrow", .ck$python, .ck$python), call. = FALSE)
    }
    modules <- c(pa = "pyarrow", types = "pyarrow.types", pc = "pyarrow.compute", feather = "pyarrow.feather",
                 pq = "pyarrow.parquet", ds = "pyarrow.dataset", json = "json")
    for (m in names(modules)) assign(m, reticulate::import(modules[[m]], convert = FALSE), envir = .ck)
  }
  # Compare folders, not the symbolic links of a venv's python (they all lead to one interpreter).
  where <- function(p) file.path(normalizePath(dirname(p), mustWork = FALSE), basename(p))
  if (!is.null(python) && where(python) != where(.ck$python)) {
    stop(sprintf("this R session already runs the Python %s; restart R to use %s", .ck$python, python), call. = FALSE)
  }
  invisible()
}

# The default Python of `ck_python()`, or an error saying how to make one.
ck_find_python <- function(near) {
  env <- Sys.getenv("RETICULATE_PYTHON")
  if (nzchar(env)) return(env)
  for (start in c(near, getwd())) {
    d <- normalizePath(start, mustWork = FALSE)
    repeat {
      py <- file.path(d, ".venv", "bin", "python")
      if (file.exists(py) && file.exists(file.path(d, "Cargo.toml"))) return(py)
      if (dirname(d) == d) break
      d <- dirname(d)
    }
  }
  stop(paste("no Python with pyarrow found: pass python = \"/path/to/python\", set RETICULATE_PYTHON,",
             "or make the repository's venv (in the Chokepoint folder: python3 -m venv .venv && .venv/bin/pip install pyarrow numpy)"),
       call. = FALSE)
}

# An R character vector of column names as a Python list (NULL stays NULL: every column).
ck_list <- function(columns) if (is.null(columns)) NULL else as.list(as.character(columns))

# Stops if a requested column is not in the pyarrow `schema`.
ck_columns <- function(columns, schema, where) {
  have <- reticulate::py_to_r(schema$names)
  missing <- setdiff(columns, have)
  if (length(missing)) {
    stop(sprintf("no column %s in %s; its columns: %s", paste(missing, collapse = ", "), where, paste(have, collapse = ", ")),
         call. = FALSE)
  }
}

# A pyarrow Table as a data.frame, converted column by column.
ck_frame <- function(t) {
  t <- t$unify_dictionaries()
  n <- reticulate::py_to_r(t$num_rows)
  names <- reticulate::py_to_r(t$schema$names)
  cols <- lapply(seq_along(names) - 1L, function(i) ck_column(t$column(i)$combine_chunks(), t$schema$field(i), n))
  list2DF(stats::setNames(cols, names), nrow = n)
}

# One pyarrow Array as an R vector with its field's unit and description as attributes.
ck_column <- function(a, field, n) {
  pa <- .ck$pa
  is <- function(f) reticulate::py_to_r(.ck$types[[f]](a$type)) # pyarrow.types.is_...
  # The values of an array without nulls as an R vector (through numpy and a Python list).
  values <- function(a, empty) if (n == 0) empty else reticulate::py_to_r(a$to_numpy(zero_copy_only = FALSE)$tolist())
  x <- if (is("is_dictionary")) {
    levels <- as.character(reticulate::py_to_r(a$dictionary$cast(pa$string())$to_pylist()))
    structure(values(a$indices$cast(pa$int32())$fill_null(0L), integer()) + 1L, levels = levels, class = "factor")
  } else if (is("is_date32")) {
    as.Date(values(a$cast(pa$int32())$fill_null(0L), integer()), origin = "1970-01-01")
  } else if (is("is_string") || is("is_large_string")) {
    values(a$fill_null(""), character())
  } else if (is("is_boolean")) {
    values(a$fill_null(FALSE), logical())
  } else if (is("is_integer")) {
    range <- reticulate::py_to_r(.ck$pc$min_max(a)$as_py())
    fits <- all(vapply(range, function(v) is.null(v) || abs(v) < 2^31, TRUE))
    if (fits) values(a$cast(pa$int32())$fill_null(0L), integer()) else values(a$cast(pa$float64())$fill_null(0), double())
  } else if (is("is_floating")) {
    values(a$cast(pa$float64())$fill_null(0), double())
  } else if (is("is_null")) {
    rep(NA, n)
  } else {
    values(a$cast(pa$string())$fill_null(""), character())
  }
  if (reticulate::py_to_r(a$null_count) > 0) x[values(a$is_null(), logical())] <- NA
  for (key in c("unit", "description")) attr(x, key) <- ck_meta(field, key)
  x
}

# A field's metadata value for `key`, or NULL.
ck_meta <- function(field, key) {
  m <- field$metadata
  if (inherits(m, "python.builtin.NoneType")) return(NULL)
  v <- m$get(reticulate::r_to_py(key)$encode("utf-8"))
  if (inherits(v, "python.builtin.NoneType")) NULL else reticulate::py_to_r(v$decode("utf-8"))
}

# The partition columns of a sweep: scenario -> factor, seed -> integer, grid columns ->
# numeric when every value is a number (`none`, a model without the parameter, -> NA), else factor.
ck_partitions <- function(df, parts) {
  for (p in parts) {
    s <- as.character(df[[p]])
    v <- suppressWarnings(as.numeric(s))
    df[[p]] <- if (p == "scenario") {
      factor(s)
    } else if (p == "seed") {
      as.integer(s)
    } else if (all(!is.na(v) | is.na(s) | s == "none")) {
      v
    } else {
      factor(s)
    }
  }
  df
}
