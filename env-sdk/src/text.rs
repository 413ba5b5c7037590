//! Reading numbers back out of observations, for oracles.

/// Every integer in `text`, in order (a `-` directly before digits makes it negative).
///
/// ```
/// assert_eq!(codegym_env_sdk::ints("arr[3] = -17, next 4"), vec![3, -17, 4]);
/// ```
pub fn ints(text: &str) -> Vec<i64> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let negative = bytes[i] == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
        let start = if negative { i + 1 } else { i };
        if bytes.get(start).is_some_and(u8::is_ascii_digit) {
            let mut end = start;
            let mut value: i64 = 0;
            while let Some(digit) = bytes.get(end).filter(|b| b.is_ascii_digit()) {
                value = value.saturating_mul(10).saturating_add(i64::from(digit - b'0'));
                end += 1;
            }
            out.push(if negative { -value } else { value });
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// The first integer in `text`, if any.
pub fn first_int(text: &str) -> Option<i64> {
    ints(text).into_iter().next()
}
