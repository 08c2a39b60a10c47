//! Copying a whole SQLite database into an empty PostgreSQL one (`flowhost db migrate --to`,
//! issue 18): inside one PostgreSQL transaction, the schema is migrated and every table
//! copied in foreign-key order, so a failure leaves PostgreSQL as it was. User
//! triggers are off during the copy: the access log and the audit log are copied as rows, not
//! written again. Values keep their exact content; one whose SQLite storage class does not fit
//! its PostgreSQL column is an error naming table, column and row, never coerced. The SQLite
//! file is opened read-only and read in one snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ::postgres::Transaction;
use ::postgres::types::ToSql;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::PgError as Error;
use super::schema::{VERSION_TABLE, infra};
use super::{Client, message, quote};

/// One table copied: its name and its rows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TableCopied {
    pub table: String,
    pub rows: u64,
}

/// Tables the PostgreSQL schema seeds with a row, and the condition the seed meets: such a
/// table is as migrated while it holds only its seed, which the copy replaces.
const SEEDED: &[(&str, &str)] = &[("access_epoch", "id = 1 AND n = 0 AND logged_from = 0")];

/// The PostgreSQL types the schema uses (`baseline.sql`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PgType {
    BigInt,
    Text,
    Bytea,
    Double,
}

impl PgType {
    fn parse(table: &str, column: &str, name: &str) -> Result<Self, Error> {
        match name {
            "bigint" => Ok(PgType::BigInt),
            "text" => Ok(PgType::Text),
            "bytea" => Ok(PgType::Bytea),
            "double precision" => Ok(PgType::Double),
            other => Err(Error::Internal(format!(
                "PostgreSQL column {table}.{column} has type {other}, which the copy does not know"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            PgType::BigInt => "bigint",
            PgType::Text => "text",
            PgType::Bytea => "bytea",
            PgType::Double => "double precision",
        }
    }
}

struct Column {
    name: String,
    ty: PgType,
    nullable: bool,
    identity: bool,
}

/// A table as PostgreSQL has it, with the SQLite primary key the rows are read in order of.
struct Table {
    name: String,
    columns: Vec<Column>,
    /// Indexes into `columns` of the SQLite primary key; empty: ordered by rowid.
    key: Vec<usize>,
}

/// Copies the SQLite database at `path` into the PostgreSQL database `client` is connected
/// to, which must hold no rows; returns each table's rows, in the order copied.
pub fn copy_sqlite(path: &Path, client: &mut Client) -> Result<Vec<TableCopied>, Error> {
    let sqlite = open_source(path)?;
    // What the file's commits stood at before the snapshot: a write by anyone during the
    // copy refuses it (below).
    let written = data_version(&sqlite, path)?;
    // One snapshot of the source, even if a host writes to it meanwhile, taken by counting
    // its tables before the PostgreSQL transaction begins: SQLite's work inside it leaves the
    // transaction idle (see the check at the end).
    sqlite
        .execute_batch("BEGIN")
        .map_err(|e| source_error(path, e))?;
    let source_rows = source_counts(&sqlite, path)?;
    let mut tx = super::schema::begin(client)?;
    // The schema in the copy's transaction: a failed copy leaves no schema behind either.
    // Its advisory lock is held to the end: a second copy into the database waits, then
    // finds it not empty.
    super::schema::apply(&mut tx)?;
    let mut tables = target_tables(&mut tx)?;
    match_source(&sqlite, path, &mut tables)?;
    refuse_unless_fresh(&mut tx, &tables)?;
    let order = foreign_key_order(&mut tx, &tables)?;
    for name in &order {
        tx.batch_execute(&format!("ALTER TABLE {} DISABLE TRIGGER USER", quote(name)))
            .map_err(infra)?;
    }
    for (name, _) in SEEDED {
        tx.batch_execute(&format!("DELETE FROM {}", quote(name)))
            .map_err(infra)?;
    }
    let mut copied = Vec::with_capacity(order.len());
    for name in &order {
        let table = &tables[name];
        let rows = copy_table(&sqlite, path, &mut tx, table)?;
        copied.push(TableCopied {
            table: name.clone(),
            rows,
        });
    }
    for name in &order {
        let table = &tables[name];
        for column in table.columns.iter().filter(|c| c.identity) {
            // The next id past the copied ones, as SQLite would give.
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence($1, $2), \
                     COALESCE((SELECT MAX({col}) FROM {tbl}), 0) + 1, false)",
                    col = quote(&column.name),
                    tbl = quote(name)
                ),
                &[&quote(name), &column.name],
            )
            .map_err(infra)?;
        }
        tx.batch_execute(&format!("ALTER TABLE {} ENABLE TRIGGER USER", quote(name)))
            .map_err(infra)?;
    }
    // The copied counts against the source's, counted before the PostgreSQL transaction
    // from the same snapshot: counted here, a large table kept the transaction idle past
    // the server's idle-in-transaction timeout, which ended the copy every time (round 18
    // storage review).
    for entry in &copied {
        let target: i64 = tx
            .query_one(
                &format!("SELECT count(*) FROM {}", quote(&entry.table)),
                &[],
            )
            .map_err(infra)?
            .get(0);
        let source = source_rows.get(&entry.table).copied().unwrap_or(-1);
        if u64::try_from(target).ok() != Some(entry.rows) || target != source {
            return Err(Error::Internal(format!(
                "table {}: {} rows in SQLite, {} copied, {} in PostgreSQL; nothing was written",
                entry.table, source, entry.rows, target
            )));
        }
    }
    // The snapshot was only read. Written meanwhile (a host serving the file, a command), the
    // copy would leave out what was written after it: refused, PostgreSQL left as it was
    // (round 25 storage review: a host idle at the start was not seen by its lock file).
    sqlite
        .execute_batch("ROLLBACK")
        .map_err(|e| source_error(path, e))?;
    if data_version(&sqlite, path)? != written {
        return Err(Error::Conflict(format!(
            "{} was written while it was copied: stop every flowhost process using it, then \
             copy it again; nothing was written",
            path.display()
        )));
    }
    tx.commit().map_err(infra)?;
    Ok(copied)
}

/// SQLite's `data_version` of the source: it changes with each commit another connection
/// makes.
fn data_version(sqlite: &rusqlite::Connection, path: &Path) -> Result<i64, Error> {
    sqlite
        .query_row("PRAGMA data_version", [], |r| r.get(0))
        .map_err(|e| source_error(path, e))
}

/// The rows of every table of the SQLite database, by table name, in its open snapshot.
fn source_counts(
    sqlite: &rusqlite::Connection,
    path: &Path,
) -> Result<std::collections::HashMap<String, i64>, Error> {
    let names: Vec<String> = sqlite
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .map_err(|e| source_error(path, e))?;
    names
        .into_iter()
        .map(|name| {
            let rows = sqlite
                .query_row(&format!("SELECT count(*) FROM {}", quote(&name)), [], |r| {
                    r.get(0)
                })
                .map_err(|e| source_error(path, e))?;
            Ok((name, rows))
        })
        .collect()
}

/// Opens the SQLite database read-only. A missing file is refused (opening it would create
/// an empty one); so is one at another schema version than this flowhost's.
fn open_source(path: &Path) -> Result<Connection, Error> {
    if !path.is_file() {
        return Err(Error::Invalid(format!(
            "there is no SQLite database file at {} (--db PATH)",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Error::Invalid(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(crate::store::BUSY_TIMEOUT)
        .map_err(|e| source_error(path, e))?;
    // Another application's file at a version of its own is no Flowhost database either
    // (round 21 storage review: at 37 it was told to be opened first, which then refused it).
    crate::store::refuse_another_applications(&conn)
        .map_err(|e| Error::Invalid(format!("{}: {e:#}", path.display())))?;
    let version = crate::store::migrations::current_version(&conn).map_err(|e| {
        Error::Invalid(format!(
            "{} is not a flowhost database: {e:#}",
            path.display()
        ))
    })?;
    // Version 0 is a new file, or another application's: no Flowhost database either way,
    // which opening would not make one (`store::refuse_another_applications`).
    if version == 0 {
        return Err(Error::Invalid(format!(
            "{} holds no Flowhost schema: it is not a Flowhost database",
            path.display()
        )));
    }
    let newest = crate::store::migrations::newest_version();
    if version > newest {
        return Err(Error::Invalid(format!(
            "{} is at schema version {version}, newer than this flowhost ({newest}); use a \
             newer flowhost",
            path.display()
        )));
    }
    if version < newest {
        return Err(Error::Invalid(format!(
            "{} is at schema version {version}, older than this flowhost's ({newest}): run \
             any flowhost command on it first (opening it migrates it), then copy it",
            path.display()
        )));
    }
    Ok(conn)
}

fn source_error(path: &Path, e: rusqlite::Error) -> Error {
    let text = format!("SQLite {}: {e}", path.display());
    if crate::store::failure::is_sqlite_infrastructure(&e) {
        Error::Busy(text)
    } else {
        Error::Internal(text)
    }
}

/// flowhost's tables in PostgreSQL with their columns (the version table aside).
fn target_tables(tx: &mut Transaction<'_>) -> Result<BTreeMap<String, Table>, Error> {
    let rows = tx
        .query(
            "SELECT c.table_name::text, c.column_name::text, c.data_type::text,
                    c.is_nullable::text = 'YES', c.is_identity::text = 'YES'
             FROM information_schema.columns c
             JOIN information_schema.tables t
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
               AND c.table_name::text <> $1
             ORDER BY c.table_name, c.ordinal_position",
            &[&VERSION_TABLE],
        )
        .map_err(infra)?;
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for row in rows {
        let table: String = row.get(0);
        let name: String = row.get(1);
        let ty = PgType::parse(&table, &name, &row.get::<_, String>(2))?;
        tables
            .entry(table.clone())
            .or_insert_with(|| Table {
                name: table,
                columns: Vec::new(),
                key: Vec::new(),
            })
            .columns
            .push(Column {
                name,
                ty,
                nullable: row.get(3),
                identity: row.get(4),
            });
    }
    Ok(tables)
}

/// Checks that SQLite and PostgreSQL have the same tables and columns (the schemas are
/// twins: a difference is this flowhost's fault) and records each table's SQLite key.
fn match_source(
    sqlite: &Connection,
    path: &Path,
    tables: &mut BTreeMap<String, Table>,
) -> Result<(), Error> {
    let names: BTreeSet<String> = sqlite
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| source_error(path, e))?;
    let mismatch = |what: String| {
        Error::Internal(format!(
            "the PostgreSQL schema does not match the SQLite one: {what}"
        ))
    };
    for name in &names {
        let Some(table) = tables.get_mut(name) else {
            return Err(mismatch(format!("PostgreSQL has no table {name}")));
        };
        let columns: Vec<(String, i64)> = sqlite
            .prepare("SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid")
            .and_then(|mut s| {
                s.query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .map_err(|e| source_error(path, e))?;
        let mut key: Vec<(i64, usize)> = Vec::new();
        for (column, pk) in &columns {
            let Some(i) = table.columns.iter().position(|c| &c.name == column) else {
                return Err(mismatch(format!(
                    "PostgreSQL has no column {name}.{column}"
                )));
            };
            if *pk > 0 {
                key.push((*pk, i));
            }
        }
        if let Some(extra) = table
            .columns
            .iter()
            .find(|c| !columns.iter().any(|(n, _)| n == &c.name))
        {
            return Err(mismatch(format!(
                "SQLite has no column {name}.{}",
                extra.name
            )));
        }
        key.sort();
        table.key = key.into_iter().map(|(_, i)| i).collect();
    }
    if let Some(extra) = tables.keys().find(|t| !names.contains(*t)) {
        return Err(mismatch(format!("SQLite has no table {extra}")));
    }
    Ok(())
}

/// Refuses a PostgreSQL database that holds any row (beyond the schema's seeds): the copy
/// never merges into existing data.
fn refuse_unless_fresh(
    tx: &mut Transaction<'_>,
    tables: &BTreeMap<String, Table>,
) -> Result<(), Error> {
    for name in tables.keys() {
        let seed = SEEDED.iter().find(|(t, _)| t == name).map(|(_, c)| *c);
        let sql = match seed {
            Some(condition) => format!(
                "SELECT count(*) FROM {} WHERE NOT ({condition})",
                quote(name)
            ),
            None => format!("SELECT count(*) FROM {}", quote(name)),
        };
        let rows: i64 = tx.query_one(&sql, &[]).map_err(infra)?.get(0);
        if rows > 0 {
            return Err(Error::Conflict(format!(
                "the PostgreSQL database is not empty (table {name} holds {rows} row{}): \
                 db migrate copies only into an empty database; nothing was written",
                if rows == 1 { "" } else { "s" }
            )));
        }
    }
    Ok(())
}

/// Table names such that each comes after every table it references.
fn foreign_key_order(
    tx: &mut Transaction<'_>,
    tables: &BTreeMap<String, Table>,
) -> Result<Vec<String>, Error> {
    let edges = tx
        .query(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
             WHERE contype = 'f' AND connamespace = current_schema()::regnamespace",
            &[],
        )
        .map_err(infra)?;
    let mut needs: BTreeMap<&str, BTreeSet<String>> = tables
        .keys()
        .map(|t| (t.as_str(), BTreeSet::new()))
        .collect();
    for edge in edges {
        let (from, to): (String, String) = (edge.get(0), edge.get(1));
        if from != to
            && let Some(set) = needs.get_mut(from.as_str())
        {
            set.insert(to);
        }
    }
    let mut order: Vec<String> = Vec::with_capacity(tables.len());
    while !needs.is_empty() {
        let ready: Vec<&str> = needs
            .iter()
            .filter(|(_, deps)| deps.iter().all(|d| order.contains(d)))
            .map(|(t, _)| *t)
            .collect();
        if ready.is_empty() {
            return Err(Error::Internal(format!(
                "the foreign keys among {:?} form a cycle",
                needs.keys().collect::<Vec<_>>()
            )));
        }
        for t in ready {
            needs.remove(t);
            order.push(t.to_string());
        }
    }
    Ok(order)
}

/// Copies one table's rows in order of its SQLite key; returns how many.
fn copy_table(
    sqlite: &Connection,
    path: &Path,
    tx: &mut Transaction<'_>,
    table: &Table,
) -> Result<u64, Error> {
    let columns: Vec<String> = table.columns.iter().map(|c| quote(&c.name)).collect();
    let order = if table.key.is_empty() {
        "rowid".to_string()
    } else {
        table
            .key
            .iter()
            .map(|&i| columns[i].clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut select = sqlite
        .prepare(&format!(
            "SELECT {} FROM {} ORDER BY {order}",
            columns.join(", "),
            quote(&table.name)
        ))
        .map_err(|e| source_error(path, e))?;
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    let insert = tx
        .prepare(&format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote(&table.name),
            columns.join(", "),
            placeholders.join(", ")
        ))
        .map_err(infra)?;
    let mut rows = select.query([]).map_err(|e| source_error(path, e))?;
    let mut copied = 0u64;
    while let Some(row) = rows.next().map_err(|e| source_error(path, e))? {
        let mut values: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(columns.len());
        for (i, column) in table.columns.iter().enumerate() {
            let value = row.get_ref(i).map_err(|e| source_error(path, e))?;
            let converted = convert(value, column).map_err(|why| {
                Error::Invalid(format!(
                    "{}.{} of the row {}: {why}; nothing was written to PostgreSQL",
                    table.name,
                    column.name,
                    row_name(table, row)
                ))
            })?;
            values.push(converted);
        }
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
        tx.execute(&insert, &params).map_err(|e| {
            // The server's or the connection's failure (a lost connection, a full disk, a
            // lock wait) is to try again, not a row to look for (round 20 storage review).
            if crate::store::failure::is_postgres_infrastructure(&e) || e.as_db_error().is_none() {
                return Error::Busy(format!(
                    "copying {} row {}: PostgreSQL: {}; nothing was written, try again",
                    table.name,
                    row_name(table, row),
                    message(&e)
                ));
            }
            Error::Invalid(format!(
                "{} row {}: PostgreSQL refused it: {}; nothing was written",
                table.name,
                row_name(table, row),
                message(&e)
            ))
        })?;
        copied += 1;
    }
    Ok(copied)
}

/// A SQLite value as the parameter of its PostgreSQL column, or why it does not fit.
fn convert(value: ValueRef<'_>, column: &Column) -> Result<Box<dyn ToSql + Sync>, String> {
    Ok(match (column.ty, value) {
        (_, ValueRef::Null) if !column.nullable => {
            return Err("NULL, where PostgreSQL requires a value".into());
        }
        (PgType::BigInt, ValueRef::Null) => Box::new(None::<i64>),
        (PgType::Text, ValueRef::Null) => Box::new(None::<String>),
        (PgType::Bytea, ValueRef::Null) => Box::new(None::<Vec<u8>>),
        (PgType::Double, ValueRef::Null) => Box::new(None::<f64>),
        (PgType::BigInt, ValueRef::Integer(n)) => Box::new(n),
        // Only integers a double holds exactly.
        (PgType::Double, ValueRef::Integer(n)) if n.unsigned_abs() <= 1 << 53 => Box::new(n as f64),
        (PgType::Double, ValueRef::Real(f)) => Box::new(f),
        (PgType::Text, ValueRef::Text(bytes)) => {
            let text =
                std::str::from_utf8(bytes).map_err(|e| format!("text that is not UTF-8 ({e})"))?;
            if text.contains('\0') {
                return Err("text holding a NUL character, which PostgreSQL cannot store".into());
            }
            Box::new(text.to_string())
        }
        (PgType::Bytea, ValueRef::Blob(bytes)) => Box::new(bytes.to_vec()),
        (ty, other) => {
            return Err(format!(
                "{}, which does not fit PostgreSQL's {} (values are never converted)",
                describe(other),
                ty.name()
            ));
        }
    })
}

/// A value for messages: its storage class and (shortened) content.
fn describe(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(n) => format!("the integer {n}"),
        ValueRef::Real(f) => format!("the real {f}"),
        ValueRef::Text(bytes) => format!(
            "the text {:?}",
            crate::text::clip(&String::from_utf8_lossy(bytes))
        ),
        ValueRef::Blob(bytes) => format!("a blob of {} bytes", bytes.len()),
    }
}

/// A row by its key: `id=5`, `(epoch=3, workspace_id=1)`.
fn row_name(table: &Table, row: &rusqlite::Row<'_>) -> String {
    let parts: Vec<String> = table
        .key
        .iter()
        .map(|&i| {
            let value = match row.get_ref(i) {
                Ok(ValueRef::Integer(n)) => n.to_string(),
                Ok(ValueRef::Text(bytes)) => {
                    format!("{:?}", crate::text::clip(&String::from_utf8_lossy(bytes)))
                }
                Ok(other) => describe(other),
                Err(e) => format!("unreadable ({e})"),
            };
            format!("{}={value}", table.columns[i].name)
        })
        .collect();
    match parts.len() {
        0 => "without a key".into(),
        1 => parts.concat(),
        _ => format!("({})", parts.join(", ")),
    }
}
