//! A component's own budget: limits it declares for its episodes in a `codegym:budget`
//! custom section (JSON) of the component, such as `codegym build-py --fuel-per-step`
//! writes. A budget only tightens: the host's limits are the operator's ceiling, so a
//! component can make its own runaway calls fail sooner but never claim more than the host
//! gives anyone.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Limits, LoadError};

/// The custom section's name.
pub const SECTION: &str = "codegym:budget";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_per_step: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_per_episode: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_timeout_ms: Option<u64>,
}

impl Budget {
    /// The budget declared in `component`'s top-level custom sections, if any.
    pub fn read(component: &[u8]) -> Result<Option<Self>, LoadError> {
        let bad = |reason: String| LoadError::Budget(reason);
        let mut found = None;
        for (name, payload) in custom_sections(component) {
            if name != SECTION.as_bytes() {
                continue;
            }
            if found.is_some() {
                return Err(bad(format!("more than one `{SECTION}` section")));
            }
            let budget: Self = serde_json::from_slice(payload).map_err(|error| bad(error.to_string()))?;
            budget.check().map_err(bad)?;
            found = Some(budget);
        }
        Ok(found)
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        let zero = [
            ("fuel_per_step", self.fuel_per_step == Some(0)),
            ("fuel_per_episode", self.fuel_per_episode == Some(0)),
            ("memory_bytes", self.memory_bytes == Some(0)),
            ("step_timeout_ms", self.step_timeout_ms == Some(0)),
        ];
        match zero.iter().find(|(_, is_zero)| *is_zero) {
            Some((name, _)) => Err(format!("{name} must be positive")),
            None => Ok(()),
        }
    }

    /// `host` tightened by this budget.
    pub fn apply(&self, host: Limits) -> Limits {
        let min = |declared: Option<u64>, ceiling: u64| declared.map_or(ceiling, |d| d.min(ceiling));
        Limits {
            fuel_per_step: min(self.fuel_per_step, host.fuel_per_step),
            fuel_per_episode: min(self.fuel_per_episode, host.fuel_per_episode),
            memory_bytes: self.memory_bytes.map_or(host.memory_bytes, |d| d.min(host.memory_bytes)),
            step_timeout: self
                .step_timeout_ms
                .map_or(host.step_timeout, |ms| Duration::from_millis(ms).min(host.step_timeout)),
            ..host
        }
    }

    /// This budget as a custom section, to append to a component.
    pub fn section(&self) -> Vec<u8> {
        budget_section(&serde_json::to_vec(self).unwrap_or_default())
    }
}

/// A `codegym:budget` custom section holding `payload`.
fn budget_section(payload: &[u8]) -> Vec<u8> {
    let mut contents = leb128(SECTION.len());
    contents.extend_from_slice(SECTION.as_bytes());
    contents.extend_from_slice(payload);
    let mut section = vec![0];
    section.extend(leb128(contents.len()));
    section.extend(contents);
    section
}

/// `(name, payload)` of each top-level custom section of a module or component. Stops
/// quietly at anything malformed: wasmtime has validated the binary already.
fn custom_sections(binary: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = binary.get(8..).unwrap_or_default();
    std::iter::from_fn(move || {
        loop {
            let (&id, after_id) = rest.split_first()?;
            let (size, after_size) = read_leb128(after_id)?;
            let contents = after_size.get(..size)?;
            rest = &after_size[size..];
            if id != 0 {
                continue;
            }
            let (name_len, after_len) = read_leb128(contents)?;
            let name = after_len.get(..name_len)?;
            return Some((name, &after_len[name_len..]));
        }
    })
}

fn read_leb128(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut value = 0usize;
    for (i, &byte) in bytes.iter().enumerate().take(5) {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

fn leb128(mut value: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_round_trips_and_only_tightens() {
        let budget = Budget { fuel_per_step: Some(1_000), memory_bytes: Some(1 << 40), ..Budget::default() };
        // An empty core module (magic + version) with the section and an unrelated one.
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.extend([0, 4, 3, b'a', b'b', b'c']);
        module.extend(budget.section());
        assert_eq!(Budget::read(&module).unwrap(), Some(budget));
        let host = Limits::default();
        let limits = budget.apply(host);
        assert_eq!(limits.fuel_per_step, 1_000);
        assert_eq!(limits.memory_bytes, host.memory_bytes);
        assert_eq!(limits.fuel_per_episode, host.fuel_per_episode);
        assert_eq!(Budget::read(b"\0asm\x01\0\0\0").unwrap(), None);
    }

    #[test]
    fn bad_sections_are_load_errors() {
        let section = |json: &str| {
            let mut bytes = b"\0asm\x01\0\0\0".to_vec();
            bytes.extend(budget_section(json.as_bytes()));
            Budget::read(&bytes).unwrap_err().to_string()
        };
        assert!(
            section(r#"{"fuel": 5}"#).starts_with("invalid `codegym:budget` section: unknown field `fuel`")
        );
        assert_eq!(
            section(r#"{"fuel_per_step": 0}"#),
            "invalid `codegym:budget` section: fuel_per_step must be positive"
        );
    }
}
