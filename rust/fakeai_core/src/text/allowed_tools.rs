//! `tool_choice: {"type": "allowed_tools", "allowed_tools": {"mode", "tools"}}` (the SDK's
//! `ChatCompletionAllowedToolChoiceParam`): the declared tools a reply may call, each named as a named
//! choice names one (`{"type": "function", "function": {"name"}}`, `{"type": "custom", "custom":
//! {"name"}}`).
//!
//! The whole `tools` list stays the prompt's (its tokens count, as OpenAI keeps it whole for prompt
//! caching); only the reply is restricted: `mode: "required"` calls one or more of the listed tools
//! always, `"auto"` as `"auto"` calls (not right after a tool's result), both choosing among them as
//! [`super::tools`] chooses among all. Every entry must name a declared tool of its type, else a 400
//! naming it (`tool_choice.allowed_tools.tools[1]`, code `invalid_type` for a value of the wrong JSON
//! type); listing a tool twice is listing it once. An empty list allows no tool: `auto` answers in
//! text, `required` is a 400.

use crate::invalid::Invalid;
use crate::text::tools::{Function, Mode};
use serde_json::Value;
use std::collections::HashMap;

const AT: &str = "tool_choice.allowed_tools";
/// The longest text an error quotes whole.
const MAX_SHOWN_CHARS: usize = 64;

/// A value as an error quotes it: a string quoted (cut after [`MAX_SHOWN_CHARS`]), a scalar as JSON
/// writes it, an object or array by its kind.
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) if s.chars().count() > MAX_SHOWN_CHARS => {
            format!("'{}...'", s.chars().take(MAX_SHOWN_CHARS).collect::<String>())
        }
        Value::String(s) => format!("'{s}'"),
        Value::Object(_) => "an object".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        other => other.to_string(),
    }
}

/// The mode of `choice` (an `allowed_tools` choice) and the tools it allows: indexes into
/// `functions`, ascending and distinct. An empty list with mode `auto` is [`Mode::Never`].
pub fn parse(choice: &Value, functions: &[Function]) -> Result<(Mode, Vec<usize>), Invalid> {
    let Some(allowed) = choice.get("allowed_tools") else { return Err(Invalid::missing(AT)) };
    let Some(allowed) = allowed.as_object() else {
        return Err(
            Invalid::new(AT, format!("Invalid type for '{AT}': expected an object.")).code("invalid_type")
        );
    };
    let mut mode = match allowed.get("mode") {
        None => return Err(Invalid::missing(format!("{AT}.mode"))),
        Some(Value::String(s)) if s == "auto" => Mode::Auto,
        Some(Value::String(s)) if s == "required" => Mode::Required,
        Some(other) => {
            return Err(Invalid::new(
                format!("{AT}.mode"),
                format!("Invalid value: {}. Supported values are: 'auto' and 'required'.", shown(other)),
            ))
        }
    };
    let list = match allowed.get("tools") {
        None => return Err(Invalid::missing(format!("{AT}.tools"))),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(Invalid::new(
                format!("{AT}.tools"),
                format!("Invalid type for '{AT}.tools': expected an array of objects."),
            )
            .code("invalid_type"))
        }
    };
    // (name, custom) -> the first declaration of it, as a named choice finds it
    let mut declared: HashMap<(&str, bool), usize> = HashMap::with_capacity(functions.len());
    for (i, f) in functions.iter().enumerate() {
        declared.entry((f.name.as_str(), f.custom.is_some())).or_insert(i);
    }
    let mut chosen = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        chosen.push(lookup(entry, &format!("{AT}.tools[{i}]"), &declared)?);
    }
    chosen.sort_unstable();
    chosen.dedup();
    if chosen.is_empty() {
        if mode == Mode::Required {
            return Err(Invalid::new(
                format!("{AT}.tools"),
                format!(
                    "Invalid '{AT}.tools': empty array. Mode 'required' needs at least one tool to call."
                ),
            )
            .code("empty_array"));
        }
        mode = Mode::Never;
    }
    Ok((mode, chosen))
}

/// The declared tool one entry (at `at`) names.
fn lookup(entry: &Value, at: &str, declared: &HashMap<(&str, bool), usize>) -> Result<usize, Invalid> {
    if !entry.is_object() {
        return Err(
            Invalid::new(at, format!("Invalid type for '{at}': expected an object.")).code("invalid_type")
        );
    }
    let kind = match entry.get("type") {
        None => return Err(Invalid::missing(format!("{at}.type"))),
        Some(Value::String(k)) if k == "function" || k == "custom" => k.as_str(),
        Some(other) => {
            return Err(Invalid::new(
                format!("{at}.type"),
                format!("Invalid value: {}. Supported values are: 'function' and 'custom'.", shown(other)),
            ))
        }
    };
    let Some(def) = entry.get(kind) else { return Err(Invalid::missing(format!("{at}.{kind}"))) };
    let name = match def.get("name") {
        None => return Err(Invalid::missing(format!("{at}.{kind}.name"))),
        Some(Value::String(name)) => name.as_str(),
        Some(_) => {
            return Err(Invalid::new(
                format!("{at}.{kind}.name"),
                format!("Invalid type for '{at}.{kind}.name': expected a string."),
            )
            .code("invalid_type"))
        }
    };
    declared.get(&(name, kind == "custom")).copied().ok_or_else(|| {
        let what = if kind == "custom" { "custom tool" } else { "function" };
        let name = shown(&Value::String(name.to_owned()));
        Invalid::new(at, format!("Invalid value for '{at}': {what} {name} is not declared in 'tools'."))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::text::tools::{Declared, ToolParams, Tools};
    use serde_json::json;
    use std::rc::Rc;

    fn declared() -> Rc<Declared> {
        let list = json!([
            {"type": "function", "function": {"name": "get_weather", "description": "Weather forecasts"}},
            {"type": "function", "function": {"name": "get_time"}},
            {"type": "custom", "custom": {"name": "notes"}},
            {"type": "function", "function": {"name": "send_email"}}]);
        Rc::new(Declared::parse(list.to_string().as_bytes(), false).unwrap())
    }

    fn tools(choice: Value) -> Result<Tools, Invalid> {
        let params = ToolParams { tools: Some(declared()), tool_choice: Some(choice), ..Default::default() };
        Tools::parse(params).map(Option::unwrap)
    }

    fn choice(mode: &str, names: &[(&str, &str)]) -> Value {
        let list: Vec<Value> =
            names.iter().map(|(kind, name)| json!({"type": kind, *kind: {"name": name}})).collect();
        json!({"type": "allowed_tools", "allowed_tools": {"mode": mode, "tools": list}})
    }

    #[test]
    fn only_allowed_tools_are_called() {
        let allowed = [("function", "get_time"), ("custom", "notes"), ("function", "get_time")];
        let required = tools(choice("required", &allowed)).unwrap();
        assert_eq!((required.mode, required.allowed.as_deref()), (Mode::Required, Some(&[1, 2][..])));
        let mut seen = std::collections::HashSet::new();
        for seed in 0..40 {
            // a tool result came last: `required` still calls, `auto` answers in text
            let calls = required.plan(&mut Rng::new(seed), true, "what's the weather?");
            assert!((1..=2).contains(&calls.len()));
            seen.extend(calls.iter().map(|c| c.function));
        }
        assert_eq!(seen, [1, 2].into());
        let auto = tools(choice("auto", &[("function", "send_email")])).unwrap();
        assert!(auto.plan(&mut Rng::new(1), true, "").is_empty());
        for seed in 0..20 {
            let calls = auto.plan(&mut Rng::new(seed), false, "what's the weather?");
            assert_eq!(calls.iter().map(|c| c.function).collect::<Vec<_>>(), [3]);
        }
        let none = tools(choice("auto", &[])).unwrap();
        assert!(none.mode == Mode::Never && none.plan(&mut Rng::new(1), false, "").is_empty());
    }

    #[test]
    fn without_a_restriction_the_plan_is_unchanged() {
        // the same seed calls the same tools with `required` as with every tool allowed
        let every = [
            ("function", "get_weather"),
            ("function", "get_time"),
            ("custom", "notes"),
            ("function", "send_email"),
        ];
        let (all, plain) = (tools(choice("required", &every)).unwrap(), tools(json!("required")).unwrap());
        for seed in 0..20 {
            let ids = |t: &Tools| {
                t.plan(&mut Rng::new(seed), false, "weather").iter().map(|c| c.function).collect::<Vec<_>>()
            };
            assert_eq!(ids(&all), ids(&plain));
        }
    }

    #[test]
    fn bad_choices_name_the_param() {
        let at = |rest: &str| format!("{AT}{rest}");
        let bad = [
            (json!({"type": "allowed_tools"}), at("")),
            (json!({"type": "allowed_tools", "allowed_tools": []}), at("")),
            (json!({"type": "allowed_tools", "allowed_tools": {"tools": []}}), at(".mode")),
            (choice("sometimes", &[("function", "get_time")]), at(".mode")),
            (json!({"type": "allowed_tools", "allowed_tools": {"mode": "auto"}}), at(".tools")),
            (json!({"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": {}}}), at(".tools")),
            (choice("required", &[]), at(".tools")),
            (choice("auto", &[("function", "get_time"), ("function", "missing")]), at(".tools[1]")),
            (choice("auto", &[("function", "notes")]), at(".tools[0]")),
            (choice("auto", &[("custom", "get_time")]), at(".tools[0]")),
            (choice("auto", &[("retrieval", "x")]), at(".tools[0].type")),
            (
                json!({"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [3]}}),
                at(".tools[0]"),
            ),
            (
                json!({"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [{"type": "function"}]}}),
                at(".tools[0].function"),
            ),
            (
                json!({"type": "allowed_tools", "allowed_tools": {"mode": "auto",
                    "tools": [{"type": "function", "name": "get_time"}]}}),
                at(".tools[0].function"),
            ),
            (
                json!({"type": "allowed_tools", "allowed_tools": {"mode": "auto",
                    "tools": [{"type": "function", "function": {"name": 1}}]}}),
                at(".tools[0].function.name"),
            ),
        ];
        for (choice, param) in bad {
            assert_eq!(tools(choice.clone()).err().map(|e| e.param), Some(param), "{choice}");
        }
        let missing = tools(choice("auto", &[("function", "missing")])).err().unwrap();
        assert_eq!(
            missing.message,
            "Invalid value for 'tool_choice.allowed_tools.tools[0]': function 'missing' is not declared in 'tools'."
        );
    }
}
