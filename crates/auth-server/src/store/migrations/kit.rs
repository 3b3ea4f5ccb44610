//! What every migration repeats, written once: a table's identifiers and its `CREATE TABLE`
//! statement declared as a list of columns ([`table!`]), a migration that creates one table
//! ([`table_migration!`]), the identifiers of a table a migration only alters ([`idens!`]), a
//! one-column index ([`TableIden::index`]) and added columns ([`add_columns`]).
//!
//! The statements built here are the ones the migrations spelled out before (same columns, same
//! order, same names), so databases migrated before and after have the same schema.

use sea_orm_migration::prelude::*;

/// The identifiers of one table: `Self::TABLE` and one variant per column.
pub(super) trait TableIden: Iden + Sized + 'static {
    /// The table itself.
    const TABLE: Self;

    /// `CREATE INDEX name ON table (self)`.
    fn index(self, name: &str) -> IndexCreateStatement {
        Index::create()
            .name(name)
            .table(Self::TABLE)
            .col(self)
            .to_owned()
    }
}

/// `idens!(Name { A, B })` declares `enum Name { Table, A, B }`, the identifiers of a table that a
/// migration alters or indexes without creating it.
macro_rules! idens {
    ($name:ident { $($col:ident),* $(,)? }) => {
        #[derive(DeriveIden)]
        enum $name {
            Table,
            $($col),*
        }

        impl $crate::store::migrations::kit::TableIden for $name {
            const TABLE: Self = Self::Table;
        }
    };
}

/// `table!(Name { Col: kind, Other: kind.method() })` declares the identifiers as [`idens!`] does,
/// and `Name::create()`: `CREATE TABLE name` with, in order, each column built by the
/// `sea_orm_migration::schema` function `kind` (`string`, `big_integer_null`, ...) and the
/// `ColumnDef` methods after it (`primary_key()`, `unique_key()`).
macro_rules! table {
    ($name:ident { $($col:ident: $kind:ident $(.$method:ident())*),* $(,)? }) => {
        $crate::store::migrations::kit::idens!($name { $($col),* });

        impl $name {
            /// The `CREATE TABLE` statement.
            fn create() -> TableCreateStatement {
                Table::create()
                    .table(Self::Table)
                    $(.col($kind(Self::$col)$(.$method())*))*
                    .to_owned()
            }
        }
    };
}

/// `table_migration!(Name { columns } indexes: [statements])`: the file's `Migration` (named
/// after the file, as `DeriveMigrationName` names it), whose `up` creates the one table declared
/// as [`table!`] declares it, then the indexes, if any, in order.
macro_rules! table_migration {
    ($name:ident { $($columns:tt)* } $(indexes: [$($index:expr),* $(,)?])?) => {
        #[derive(DeriveMigrationName)]
        pub struct Migration;

        $crate::store::migrations::kit::table!($name { $($columns)* });

        #[async_trait::async_trait]
        impl MigrationTrait for Migration {
            async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                manager.create_table($name::create()).await?;
                $crate::store::migrations::kit::create_indexes(manager, [$($($index),*)?]).await
            }
        }
    };
}

pub(super) use {idens, table, table_migration};

/// Adds `columns` to `table`, one `ALTER TABLE` each (SQLite adds one column per statement).
pub(super) async fn add_columns(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    columns: impl IntoIterator<Item = ColumnDef>,
) -> Result<(), DbErr> {
    let table = table.into_iden();
    for column in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(table.clone())
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

/// Creates `indexes` in order.
pub(super) async fn create_indexes(
    manager: &SchemaManager<'_>,
    indexes: impl IntoIterator<Item = IndexCreateStatement>,
) -> Result<(), DbErr> {
    for index in indexes {
        manager.create_index(index).await?;
    }
    Ok(())
}
