//! Limits on untrusted JSON, checked before it is parsed.

/// Deepest nesting accepted in any JSON that arrives from outside (a CSAF document nests ~12).
pub const MAX_DEPTH: usize = 64;

/// Why a JSON text was refused before parsing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JsonLimitError {
    /// Nested deeper than allowed.
    #[error("JSON nested deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// Larger than allowed.
    #[error("{what} is {size} bytes; the limit is {max}")]
    TooLarge {
        /// What was measured.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
}

/// Refuse JSON nested deeper than `max` arrays/objects, without parsing it (linear, no recursion).
pub fn check_depth(text: &[u8], max: usize) -> Result<(), JsonLimitError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in text {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(JsonLimitError::TooDeep { max });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Refuse a text over `max` bytes.
pub fn check_size(what: &'static str, text: &[u8], max: usize) -> Result<(), JsonLimitError> {
    if text.len() > max {
        Err(JsonLimitError::TooLarge {
            what,
            size: text.len(),
            max,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth() {
        let deep = "[".repeat(65) + &"]".repeat(65);
        assert_eq!(
            check_depth(deep.as_bytes(), 64),
            Err(JsonLimitError::TooDeep { max: 64 })
        );
        let ok = "[".repeat(64) + &"]".repeat(64);
        assert!(check_depth(ok.as_bytes(), 64).is_ok());
        // Brackets inside strings do not count.
        let s = format!("{{\"a\":\"{}\\\"\"}}", "[".repeat(100));
        assert!(check_depth(s.as_bytes(), 2).is_ok());
    }
}
