//! Transactions as raw JSON text, so that invalid JSON, duplicate keys and escaped keys can be written.

use super::*;

/// A JSON object as (raw key including quotes, raw value) pairs, in order.
#[derive(Clone)]
pub(crate) struct Obj(pub(crate) Vec<(String, String)>);

pub(crate) fn key(name: &str) -> String {
    serde_json::to_string(name).unwrap()
}

pub(crate) fn string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

pub(crate) fn number(x: f64) -> String {
    Value::from(x).to_string()
}

impl Obj {
    pub(crate) fn from_values(values: &[f64]) -> Obj {
        Obj(FEATURE_NAMES.iter().zip(values).map(|(n, v)| (key(n), number(*v))).collect())
    }
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        let k = key(name);
        self.0.iter().position(|(raw, _)| *raw == k)
    }
    /// Replaces the value of `name`, or appends the field.
    pub(crate) fn set(&mut self, name: &str, raw_value: impl Into<String>) -> &mut Self {
        let raw_value = raw_value.into();
        match self.position(name) {
            Some(i) => self.0[i].1 = raw_value,
            None => self.0.push((key(name), raw_value)),
        }
        self
    }
    pub(crate) fn value(&self, name: &str) -> String {
        self.0[self.position(name).unwrap()].1.clone()
    }
    pub(crate) fn remove(&mut self, name: &str) -> &mut Self {
        let i = self.position(name).unwrap();
        self.0.remove(i);
        self
    }
    pub(crate) fn rename(&mut self, name: &str, raw_key: String) -> &mut Self {
        let i = self.position(name).unwrap();
        self.0[i].0 = raw_key;
        self
    }
    pub(crate) fn insert(&mut self, at: usize, raw_key: String, raw_value: String) -> &mut Self {
        self.0.insert(at.min(self.0.len()), (raw_key, raw_value));
        self
    }
    pub(crate) fn render(&self) -> String {
        let fields: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        format!("{{{}}}", fields.join(","))
    }
    /// Rendered with random (valid) whitespace between every token.
    pub(crate) fn render_spaced(&self, rng: &mut Rng) -> String {
        const WS: [&str; 6] = ["", "", " ", "\n", "\t", "\r\n  "];
        let mut s = String::from("{");
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            for part in [*rng.pick(&WS), k, *rng.pick(&WS), ":", *rng.pick(&WS), v, *rng.pick(&WS)] {
                s.push_str(part);
            }
        }
        s.push('}');
        s
    }
    pub(crate) fn pretty(&self) -> String {
        let fields: Vec<String> = self.0.iter().map(|(k, v)| format!("  {k}: {v}")).collect();
        format!("{{\n{}\n}}\n", fields.join(",\n"))
    }
}

pub(crate) fn batch(items: &[String]) -> String {
    format!("{{\"transactions\":[{}]}}", items.join(","))
}

/// Real held-out transactions (feature values in model order).
pub(crate) fn parity_rows(n: usize) -> Vec<Vec<f64>> {
    let rows = read_parity_rows().unwrap();
    rows.iter().take(n).map(|r| r.transaction.features.iter().map(|&v| f64::from(v)).collect()).collect()
}

pub(crate) fn is_known_field(name: &str) -> bool {
    feature_index(name).is_some() || name == "Time" || name == "transaction_id"
}
