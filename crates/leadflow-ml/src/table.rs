use serde::{Deserialize, Serialize};

/// One column of a [`Table`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Column {
    /// Missing values are NaN.
    Numeric(Vec<f64>),
    /// Missing values are `None`.
    Categorical(Vec<Option<String>>),
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Numeric(v) => v.len(),
            Column::Categorical(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows at `rows`, in that order.
    pub fn take(&self, rows: &[usize]) -> Column {
        match self {
            Column::Numeric(v) => Column::Numeric(rows.iter().map(|&r| v[r]).collect()),
            Column::Categorical(v) => Column::Categorical(rows.iter().map(|&r| v[r].clone()).collect()),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TableError {
    #[error("column `{name}` has {found} rows, the table has {expected}")]
    Length { name: String, found: usize, expected: usize },
    #[error("two columns are named `{0}`")]
    Duplicate(String),
}

/// Named columns of equal length.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    names: Vec<String>,
    columns: Vec<Column>,
    rows: usize,
}

impl Table {
    pub fn new(columns: Vec<(String, Column)>) -> Result<Table, TableError> {
        let rows = columns.first().map_or(0, |(_, c)| c.len());
        let mut table = Table { names: Vec::new(), columns: Vec::new(), rows };
        for (name, column) in columns {
            if column.len() != rows {
                return Err(TableError::Length { name, found: column.len(), expected: rows });
            }
            if table.names.contains(&name) {
                return Err(TableError::Duplicate(name));
            }
            table.names.push(name);
            table.columns.push(column);
        }
        Ok(table)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The rows at `rows`, in that order.
    pub fn take(&self, rows: &[usize]) -> Table {
        Table {
            names: self.names.clone(),
            columns: self.columns.iter().map(|c| c.take(rows)).collect(),
            rows: rows.len(),
        }
    }
}
