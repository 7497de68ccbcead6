//! What the function writes, as CloudWatch Logs would see it: each line of
//! its standard output and error, and the metrics CloudWatch extracts from
//! the lines in embedded metric format (EMF).
//!
//! The extraction follows AWS's "Specification: Embedded metric format": a
//! line is an EMF document when it is a JSON object whose `_aws` member has
//! a numeric `Timestamp` and a `CloudWatchMetrics` array of directives; each
//! directive has a `Namespace`, `Dimensions` (sets of at most 30 keys, each
//! a string member of the document) and `Metrics` (`Name`, optional `Unit`),
//! each metric a member holding a number or an array of numbers. Every
//! dimension set of a directive makes one metric per name. A line that
//! claims to be EMF (`_aws`) but breaks a rule is counted as invalid, as
//! CloudWatch counts it in `AWS/Logs` `EMFValidationErrors`, and yields no
//! metric.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex as SyncMutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};

use crate::lock;

/// How many lines are kept (the oldest go first).
pub const MAX_LINES: usize = 10_000;

/// The most dimension keys in one set.
const MAX_DIMENSIONS: usize = 30;

/// A metric's identity: namespace, name, and its dimensions (key, value).
type MetricKey = (String, String, Vec<(String, String)>);

/// The function's lines and the metrics extracted from them.
#[derive(Debug, Default)]
pub struct FunctionLogs {
    lines: SyncMutex<VecDeque<(&'static str, String)>>,
    metrics: SyncMutex<BTreeMap<MetricKey, Summary>>,
    invalid_emf: AtomicU64,
}

/// The values one metric received.
#[derive(Debug, Clone, Default)]
struct Summary {
    unit: Option<String>,
    values: Vec<f64>,
}

impl FunctionLogs {
    /// Takes one line the function wrote on `stream` (`stdout` or `stderr`).
    pub fn push(&self, stream: &'static str, text: &str) {
        if let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(text)
            && doc.contains_key("_aws")
        {
            match extract(&doc) {
                Ok(found) => {
                    let mut metrics = lock(&self.metrics);
                    for (key, unit, values) in found {
                        let summary = metrics.entry(key).or_default();
                        summary.unit = unit;
                        summary.values.extend(values);
                    }
                }
                Err(why) => {
                    tracing::warn!(%why, "the function wrote an invalid EMF line");
                    self.invalid_emf.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        let mut lines = lock(&self.lines);
        if lines.len() == MAX_LINES {
            lines.pop_front();
        }
        lines.push_back((stream, text.to_owned()));
    }

    /// The lines kept, oldest first: `{"lines": [{"stream", "text"}]}`.
    pub fn lines_json(&self) -> Value {
        let lines: Vec<Value> = lock(&self.lines)
            .iter()
            .map(|(stream, text)| json!({"stream": stream, "text": text}))
            .collect();
        json!({ "lines": lines })
    }

    /// Lines that claimed to be EMF and were not.
    pub fn invalid_emf(&self) -> u64 {
        self.invalid_emf.load(Ordering::SeqCst)
    }

    /// Every metric extracted so far: namespace, name, unit, dimensions
    /// (an object), and the count, sum, minimum and maximum of its values.
    pub fn metrics_json(&self) -> Value {
        let metrics = lock(&self.metrics);
        let rows: Vec<Value> = metrics
            .iter()
            .map(|((namespace, name, dimensions), summary)| {
                let values = &summary.values;
                let fold = |pick: fn(f64, f64) -> f64| values.iter().copied().reduce(pick);
                json!({
                    "namespace": namespace,
                    "metric": name,
                    "unit": summary.unit,
                    "dimensions": dimensions
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                        .collect::<Map<String, Value>>(),
                    "count": values.len(),
                    "sum": values.iter().sum::<f64>(),
                    "min": fold(f64::min),
                    "max": fold(f64::max),
                })
            })
            .collect();
        Value::Array(rows)
    }
}

type Extracted = (MetricKey, Option<String>, Vec<f64>);

/// The metrics of one EMF document, or why it is not one.
fn extract(doc: &Map<String, Value>) -> Result<Vec<Extracted>, String> {
    let meta = doc
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("`_aws` is not an object")?;
    if !meta.get("Timestamp").is_some_and(Value::is_number) {
        return Err("`_aws.Timestamp` is not a number".into());
    }
    let directives = meta
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("`_aws.CloudWatchMetrics` is not an array")?;
    let mut found = Vec::new();
    for directive in directives {
        found.extend(directive_metrics(doc, directive)?);
    }
    Ok(found)
}

/// The metrics one directive makes: each metric under each dimension set.
fn directive_metrics(
    doc: &Map<String, Value>,
    directive: &Value,
) -> Result<Vec<Extracted>, String> {
    let namespace = directive["Namespace"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or("a directive has no Namespace")?;
    let sets = directive["Dimensions"]
        .as_array()
        .ok_or("a directive's Dimensions is not an array")?;
    let mut dimension_sets = Vec::new();
    for set in sets {
        let keys = set.as_array().ok_or("a dimension set is not an array")?;
        if keys.len() > MAX_DIMENSIONS {
            return Err(format!("a dimension set has over {MAX_DIMENSIONS} keys"));
        }
        let mut dimensions = Vec::new();
        for key in keys {
            let key = key.as_str().ok_or("a dimension key is not a string")?;
            let value = doc
                .get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("dimension {key:?} is not a string member"))?;
            dimensions.push((key.to_owned(), value.to_owned()));
        }
        dimension_sets.push(dimensions);
    }
    let definitions = directive["Metrics"]
        .as_array()
        .ok_or("a directive's Metrics is not an array")?;
    let mut found = Vec::new();
    for definition in definitions {
        let name = definition["Name"].as_str().ok_or("a metric has no Name")?;
        let unit = definition["Unit"].as_str().map(str::to_owned);
        let values = match &doc.get(name) {
            Some(Value::Number(n)) => vec![n.as_f64().unwrap_or_default()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_f64).collect(),
            _ => return Err(format!("metric {name:?} has no numeric member")),
        };
        for dimensions in &dimension_sets {
            let key = (namespace.to_owned(), name.to_owned(), dimensions.clone());
            found.push((key, unit.clone(), values.clone()));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(value: Value) -> String {
        value.to_string()
    }

    #[test]
    fn emf_lines_become_metrics_and_bad_ones_are_counted() {
        let logs = FunctionLogs::default();
        let directive = json!({"Namespace": "ns", "Dimensions": [[], ["tool"]],
                               "Metrics": [{"Name": "Duration", "Unit": "Milliseconds"}]});
        for ms in [2.0, 4.0] {
            logs.push(
                "stdout",
                &line(
                    json!({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [directive]},
                             "tool": "t", "Duration": ms}),
                ),
            );
        }
        logs.push("stderr", "not json");
        for bad in [
            json!({"_aws": {"CloudWatchMetrics": [directive]}, "tool": "t", "Duration": 1}),
            json!({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [directive]}, "Duration": 1}),
            json!({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [directive]}, "tool": "t"}),
        ] {
            logs.push("stdout", &line(bad));
        }
        assert_eq!(logs.invalid_emf(), 3);
        let metrics = logs.metrics_json();
        let rows = metrics.as_array().unwrap();
        assert_eq!(rows.len(), 2, "{metrics}");
        for row in rows {
            assert_eq!(row["count"], 2);
            assert_eq!(row["sum"], 6.0);
            assert_eq!(row["min"], 2.0);
            assert_eq!(row["max"], 4.0);
            assert_eq!(row["unit"], "Milliseconds");
        }
        assert_eq!(rows[1]["dimensions"], json!({"tool": "t"}));
        assert_eq!(logs.lines_json()["lines"].as_array().unwrap().len(), 6);
    }
}
