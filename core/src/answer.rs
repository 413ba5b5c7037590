use serde_json::Value;

/// A value of the same shape as `answer` that differs from it, for checking that a wrong
/// `Done` gets reward 0: numbers move by one, booleans flip, strings grow, and arrays and
/// objects change their first element that can change. `None` when nothing can (`null`,
/// empty containers).
pub fn perturb_answer(answer: &Value) -> Option<Value> {
    match answer {
        Value::Null => None,
        Value::Bool(b) => Some(Value::Bool(!b)),
        Value::Number(n) => perturb_number(n).map(Value::Number),
        Value::String(s) => {
            let mut changed = s.clone();
            changed.push('x');
            Some(Value::String(changed))
        }
        Value::Array(items) => {
            let (index, changed) =
                items.iter().enumerate().find_map(|(i, v)| Some((i, perturb_answer(v)?)))?;
            let mut items = items.clone();
            items[index] = changed;
            Some(Value::Array(items))
        }
        Value::Object(fields) => {
            let (key, changed) = fields.iter().find_map(|(k, v)| Some((k.clone(), perturb_answer(v)?)))?;
            let mut fields = fields.clone();
            fields.insert(key, changed);
            Some(Value::Object(fields))
        }
    }
}

fn perturb_number(n: &serde_json::Number) -> Option<serde_json::Number> {
    if let Some(i) = n.as_i64() {
        Some(i.checked_add(1).unwrap_or(i - 1).into())
    } else if let Some(u) = n.as_u64() {
        Some(u.checked_add(1).unwrap_or(u - 1).into())
    } else {
        serde_json::Number::from_f64(n.as_f64()? + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn perturbs_every_shape() {
        let cases = [
            (json!(3), Some(json!(4))),
            (json!(-1), Some(json!(0))),
            (json!(true), Some(json!(false))),
            (json!("ab"), Some(json!("abx"))),
            (json!([[], 1, 2]), Some(json!([[], 2, 2]))),
            (json!({"a": null, "b": 1}), Some(json!({"a": null, "b": 2}))),
            (json!(null), None),
            (json!([]), None),
        ];
        for (input, expected) in cases {
            assert_eq!(perturb_answer(&input), expected, "{input}");
        }
    }
}
