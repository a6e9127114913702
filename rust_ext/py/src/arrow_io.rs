//! Arrow in and out: read string-like and list columns without a Python object per row, and build
//! the output tables of the batch functions.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Int32Array, Int64Array, ListArray, RecordBatch, StringArray, StructArray,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, Schema};
use wrl_core::rows::{Cell, Rejection};

/// A string-like column: Utf8, LargeUtf8, Utf8View, or Binary variants checked row by row.
pub enum StrColumn<'a> {
    Missing,
    Array(&'a dyn Array),
}

impl<'a> StrColumn<'a> {
    pub fn new(batch: &'a RecordBatch, name: &str) -> Result<Self, String> {
        let Some(col) = batch.column_by_name(name) else { return Ok(StrColumn::Missing) };
        match col.data_type() {
            DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::Null => Ok(StrColumn::Array(col.as_ref())),
            other => Err(format!("column {name:?} must be a string column, not {other}")),
        }
    }

    pub fn get(&self, i: usize) -> Cell<'a> {
        let StrColumn::Array(a) = self else { return Cell::Null };
        if a.is_null(i) {
            return Cell::Null;
        }
        let bytes: &[u8] = match a.data_type() {
            DataType::Utf8 => return Cell::Text(a.as_string::<i32>().value(i)),
            DataType::LargeUtf8 => return Cell::Text(a.as_string::<i64>().value(i)),
            DataType::Utf8View => return Cell::Text(a.as_string_view().value(i)),
            DataType::Binary => a.as_binary::<i32>().value(i),
            DataType::LargeBinary => a.as_binary::<i64>().value(i),
            DataType::BinaryView => a.as_binary_view().value(i),
            _ => return Cell::Null,
        };
        match std::str::from_utf8(bytes) {
            Ok(s) => Cell::Text(s),
            Err(_) => Cell::InvalidUtf8,
        }
    }

    pub fn is_missing(&self) -> bool {
        matches!(self, StrColumn::Missing)
    }
}

/// A list<string> cell as owned strings (None for null).
pub fn string_list(batch: &RecordBatch, name: &str, i: usize) -> Result<Option<Vec<String>>, String> {
    let Some(col) = batch.column_by_name(name) else { return Ok(None) };
    if col.is_null(i) {
        return Ok(None);
    }
    let values = match col.data_type() {
        DataType::List(_) => col.as_list::<i32>().value(i),
        DataType::LargeList(_) => col.as_list::<i64>().value(i),
        DataType::Null => return Ok(None),
        other => return Err(format!("column {name:?} must be a list of strings, not {other}")),
    };
    let strings = StrColumnArray(values);
    (0..strings.0.len())
        .map(|j| match strings.get(j) {
            Some(s) => Ok(s),
            None => Err(format!("column {name:?} holds a null or non-string item")),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

struct StrColumnArray(ArrayRef);

impl StrColumnArray {
    fn get(&self, j: usize) -> Option<String> {
        if self.0.is_null(j) {
            return None;
        }
        match self.0.data_type() {
            DataType::Utf8 => Some(self.0.as_string::<i32>().value(j).to_string()),
            DataType::LargeUtf8 => Some(self.0.as_string::<i64>().value(j).to_string()),
            DataType::Utf8View => Some(self.0.as_string_view().value(j).to_string()),
            _ => None,
        }
    }
}

/// The `requirements` list<struct> column written by `parse_batch`, read back for dropping.
pub struct RequirementColumn {
    list: ListArray,
}

impl RequirementColumn {
    pub fn new(batch: &RecordBatch, name: &str) -> Result<Self, String> {
        let col = batch.column_by_name(name).ok_or_else(|| format!("missing column {name:?}"))?;
        let list = match col.data_type() {
            DataType::List(f) if matches!(f.data_type(), DataType::Struct(_)) => col.as_list::<i32>().clone(),
            other => return Err(format!("column {name:?} must be list<struct> as written by parse, not {other}")),
        };
        let DataType::Struct(fields) = list.values().data_type() else { unreachable!() };
        for needed in ["id", "type", "start", "end"] {
            if fields.find(needed).is_none() {
                return Err(format!("column {name:?} lacks the struct field {needed:?}"));
            }
        }
        Ok(RequirementColumn { list })
    }

    /// The requirements of row `i` (id, type, char span).
    pub fn get(&self, i: usize) -> Result<Vec<wrl_core::Requirement>, String> {
        if self.list.is_null(i) {
            return Ok(Vec::new());
        }
        let values = self.list.value(i);
        let st = values.as_struct();
        let text_of = |name: &str, j: usize| -> Option<String> {
            let c = st.column_by_name(name)?;
            if c.is_null(j) {
                return None;
            }
            match c.data_type() {
                DataType::Utf8 => Some(c.as_string::<i32>().value(j).to_string()),
                DataType::LargeUtf8 => Some(c.as_string::<i64>().value(j).to_string()),
                DataType::Utf8View => Some(c.as_string_view().value(j).to_string()),
                _ => None,
            }
        };
        let int_of = |name: &str, j: usize| -> Result<Option<usize>, String> {
            let c = st.column_by_name(name).unwrap();
            if c.is_null(j) {
                return Ok(None);
            }
            let v = match c.data_type() {
                DataType::Int32 => c.as_primitive::<Int32Type>().value(j) as i64,
                DataType::Int64 => c.as_primitive::<Int64Type>().value(j),
                other => return Err(format!("requirement field {name:?} must be an integer, not {other}")),
            };
            usize::try_from(v).map(Some).map_err(|_| format!("requirement field {name:?} is negative ({v})"))
        };
        (0..st.len())
            .map(|j| {
                let id = text_of("id", j).ok_or("a requirement has no id")?;
                let rtype = text_of("type", j).ok_or("a requirement has no type")?;
                let (start, end) = (int_of("start", j)?, int_of("end", j)?);
                wrl_core::span::check_order(&id, start, end)?;
                let params = match text_of("params", j) {
                    Some(p) => serde_json::from_str(&p).map_err(|e| format!("requirement {id}: params are not JSON: {e}"))?,
                    None => Default::default(),
                };
                Ok(wrl_core::Requirement {
                    id,
                    rtype,
                    start,
                    end,
                    text: text_of("text", j).unwrap_or_default(),
                    params,
                    source: text_of("source", j).unwrap_or_else(|| "text".into()),
                })
            })
            .collect()
    }
}

/// Builds a list<string> array.
#[derive(Default)]
pub struct StringLists {
    offsets: Vec<i32>,
    values: Vec<String>,
}

impl StringLists {
    pub fn push<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, items: I) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.values.extend(items.into_iter().map(Into::into));
        self.offsets.push(self.values.len() as i32);
    }

    pub fn finish(mut self) -> ArrayRef {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        let field = Arc::new(Field::new("item", DataType::Utf8, true));
        let values: ArrayRef = Arc::new(StringArray::from(self.values));
        Arc::new(ListArray::new(field, OffsetBuffer::new(self.offsets.into()), values, None))
    }
}

/// The struct fields of the `requirements` column.
pub fn requirement_fields() -> Fields {
    Fields::from(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("family", DataType::Utf8, false),
        Field::new("start", DataType::Int32, true),
        Field::new("end", DataType::Int32, true),
        Field::new("text", DataType::Utf8, false),
        Field::new("params", DataType::Utf8, false),
        Field::new("verifiable", DataType::Boolean, false),
        Field::new("source", DataType::Utf8, false),
    ])
}

/// Builds the list<struct> `requirements` column.
#[derive(Default)]
pub struct RequirementLists {
    offsets: Vec<i32>,
    id: Vec<String>,
    rtype: Vec<String>,
    family: Vec<&'static str>,
    start: Vec<Option<i32>>,
    end: Vec<Option<i32>>,
    text: Vec<String>,
    params: Vec<String>,
    verifiable: Vec<bool>,
    source: Vec<String>,
}

impl RequirementLists {
    pub fn push(&mut self, reqs: &[wrl_core::Requirement]) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        for r in reqs {
            self.id.push(r.id.clone());
            self.family.push(r.family());
            self.verifiable.push(r.verifiable());
            self.params.push(r.params_json());
            self.rtype.push(r.rtype.clone());
            self.start.push(r.start.map(|s| s as i32));
            self.end.push(r.end.map(|e| e as i32));
            self.text.push(r.text.clone());
            self.source.push(r.source.clone());
        }
        self.offsets.push(self.id.len() as i32);
    }

    pub fn finish(mut self) -> ArrayRef {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        let fields = requirement_fields();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(self.id)),
            Arc::new(StringArray::from(self.rtype)),
            Arc::new(StringArray::from(self.family)),
            Arc::new(Int32Array::from(self.start)),
            Arc::new(Int32Array::from(self.end)),
            Arc::new(StringArray::from(self.text)),
            Arc::new(StringArray::from(self.params)),
            Arc::new(BooleanArray::from(self.verifiable)),
            Arc::new(StringArray::from(self.source)),
        ];
        let values = StructArray::new(fields.clone(), columns, None);
        let field = Arc::new(Field::new("item", DataType::Struct(fields), false));
        Arc::new(ListArray::new(field, OffsetBuffer::new(self.offsets.into()), Arc::new(values), None))
    }
}

/// Rows rejected by a stage, with their reasons.
#[derive(Default)]
pub struct Rejects {
    row: Vec<i64>,
    id: Vec<Option<String>>,
    kind: Vec<&'static str>,
    reason: Vec<String>,
}

impl Rejects {
    pub fn push(&mut self, row: usize, id: Option<&str>, rejection: Rejection) {
        self.row.push(row as i64);
        self.id.push(id.map(str::to_string));
        self.kind.push(rejection.kind);
        self.reason.push(rejection.reason);
    }

    pub fn finish(self, stage: &str) -> RecordBatch {
        let n = self.row.len();
        let schema = Arc::new(Schema::new(vec![
            Field::new("row", DataType::Int64, false),
            Field::new("id", DataType::Utf8, true),
            Field::new("stage", DataType::Utf8, false),
            Field::new("reason_kind", DataType::Utf8, false),
            Field::new("reason", DataType::Utf8, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(self.row)),
                Arc::new(StringArray::from(self.id)),
                Arc::new(StringArray::from(vec![stage; n])),
                Arc::new(StringArray::from(self.kind)),
                Arc::new(StringArray::from(self.reason)),
            ],
        )
        .expect("rejects schema matches its columns")
    }
}
