//! Where in a body a JSON error happened, as a short path (`V5`, `transactions[3].Amount`, `V2[0][0]`), so that
//! e.g. a bare `NaN` names its field.
//!
//! Hand-written rather than `serde_path_to_error` (tried): that crate drops a member from its path once the
//! member's value has parsed, so `"V1": 1.2.3` — where serde_json fails just *after* the value `1.2` — would name
//! no field, and 319 of the 12,000 generated bad requests (`functions/predict/tests/bad_input`) lost their field.

use super::shown_name;

/// The path (at most three steps, e.g. `transactions[3].V5`) of the object member being read at a
/// serde_json error position (1-based line, byte column), or `None` if that is not inside a member.
/// A light scan of the bytes before the error: only ever run on a body that failed to parse.
pub(super) fn json_path_at(body: &[u8], line: usize, column: usize) -> Option<String> {
    enum Frame {
        /// The byte range of the current key (quotes included), and whether its value is being read.
        Object(Option<(usize, usize)>, bool),
        Array(usize),
    }
    if line == 0 {
        return None;
    }
    let mut start = 0;
    for _ in 1..line {
        start += body.get(start..)?.iter().position(|&b| b == b'\n')? + 1;
    }
    // The column is just past the byte that failed, which may already be the `,` after a bad value.
    let scanned = &body[..(start + column).saturating_sub(1).min(body.len())];
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < scanned.len() {
        match scanned[i] {
            b'"' => {
                let open = i;
                i += 1;
                while i < scanned.len() && scanned[i] != b'"' {
                    i += if scanned[i] == b'\\' { 2 } else { 1 };
                }
                if i >= scanned.len() {
                    break;
                }
                if let Some(Frame::Object(key, false)) = stack.last_mut() {
                    *key = Some((open, i + 1));
                }
            }
            b'{' => stack.push(Frame::Object(None, false)),
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(Frame::Object(_, in_value)) = stack.last_mut() {
                    *in_value = true;
                }
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object(_, in_value)) => *in_value = false,
                Some(Frame::Array(n)) => *n += 1,
                None => {}
            },
            _ => {}
        }
        // serde_json stops at 128 levels, so a longer stack means the scan went wrong: say nothing.
        if stack.len() > 256 {
            return None;
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in stack.iter().take(3) {
        match frame {
            Frame::Object(Some((from, to)), true) => {
                let raw = &scanned[*from..*to];
                let key = serde_json::from_slice::<String>(raw)
                    .unwrap_or_else(|_| String::from_utf8_lossy(&raw[1..raw.len() - 1]).into_owned());
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&shown_name(&key));
            }
            Frame::Array(n) if !path.is_empty() => path.push_str(&format!("[{n}]")),
            _ => break,
        }
    }
    (!path.is_empty()).then_some(path)
}
