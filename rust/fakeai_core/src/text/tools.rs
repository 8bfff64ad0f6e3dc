//! Tool calling: reading `tools`/`tool_choice` (and the legacy `functions`/`function_call`), and
//! deciding which functions a reply calls, with arguments generated from each one's parameter schema.
//!
//! When a reply calls a tool: `tool_choice: "none"` never; `"required"` and a named function always;
//! `"auto"` (the default) always, except right after a `role: tool` (or `function`) message, which
//! gets a normal text answer so an agent loop terminates. With `parallel_tool_calls` (default true) a
//! reply calls one to three distinct functions (a number drawn from the request's RNG), otherwise
//! exactly one. The functions called are the most relevant to the last user message: those sharing
//! the most words with it (words of the function's name, split at `_`, `-` and case changes, and of
//! its description), ties broken by the RNG, so a `seed` makes the choice repeatable.
//!
//! Custom tools (`{"type": "custom", "custom": {...}}`, see [`custom_tools`]) are declared and chosen
//! as functions are (`tool_choice: {"type": "custom", "custom": {"name": ...}}` names one); a call
//! of one carries free-text `input` in its format instead of JSON arguments.
//!
//! `tool_choice: {"type": "allowed_tools", ...}` ([`allowed_tools`]) keeps every tool declared (and
//! counted in the prompt) but lets a reply call only those it lists, with its mode's rule.

use crate::invalid::Invalid;
use crate::rng::Rng;
use crate::text::allowed_tools;
use crate::text::custom_tools;
use crate::text::schema_gen;
use crate::text::tokens;
use serde_json::Value;
use std::rc::Rc;

pub struct Function {
    pub name: String,
    pub parameters: Value,
    /// A custom tool's input format (`None`: a function, called with JSON arguments).
    pub custom: Option<custom_tools::Format>,
    /// Lower-case words of the name and description, to match against the user's request.
    keywords: Vec<String>,
}

/// Lower-case words of three letters or more, split at non-letters and camelCase boundaries, with
/// a plural `s` dropped.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut flush = |w: &mut String| {
        if w.len() >= 3 {
            if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") {
                w.pop();
            }
            out.push(std::mem::take(w));
        }
        w.clear();
    };
    let mut prev_lower = false;
    for c in text.chars() {
        if c.is_alphabetic() {
            if c.is_uppercase() && prev_lower {
                flush(&mut word);
            }
            word.extend(c.to_lowercase());
            prev_lower = c.is_lowercase();
        } else {
            flush(&mut word);
            prev_lower = false;
        }
    }
    flush(&mut word);
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Auto,
    Never,
    Required,
    Named(usize),
}

/// The functions a request declares (`tools` or legacy `functions`), parsed and checked.
pub struct Declared {
    pub functions: Vec<Function>,
    /// Prompt tokens of the definitions (those of their JSON text).
    pub tokens: u32,
}

pub struct Tools {
    pub declared: Rc<Declared>,
    pub mode: Mode,
    /// The functions a reply may call (`tool_choice` of type `allowed_tools`): indexes into
    /// `declared.functions`, ascending; `None`: any of them.
    pub allowed: Option<Vec<usize>>,
    pub parallel: bool,
    /// Declared through the legacy `functions` parameter: answer with `function_call`.
    pub legacy: bool,
}

/// One function call of a reply: the index of the function and its JSON arguments (a custom tool's
/// input text).
pub struct Call {
    pub function: usize,
    pub arguments: String,
}

/// The request fields that declare tools: the declarations parsed by [`Declared::parse`], the
/// choice fields as JSON.
#[derive(Default)]
pub struct ToolParams {
    pub tools: Option<Rc<Declared>>,
    pub tool_choice: Option<Value>,
    pub parallel_tool_calls: Option<bool>,
    pub functions: Option<Rc<Declared>>,
    pub function_call: Option<Value>,
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// One function definition (`{name, description?, parameters?, strict?}`) at `at`.
fn function(def: &Value, at: &str) -> Result<Function, Invalid> {
    let Some(def) = def.as_object() else {
        return Err(Invalid::new(at, format!("Invalid type for '{at}': expected an object.")));
    };
    let name = match def.get("name") {
        None => return Err(Invalid::missing(format!("{at}.name"))),
        Some(n) => n.as_str().unwrap_or(""),
    };
    if !valid_name(name) {
        return Err(Invalid::new(
            format!("{at}.name"),
            format!("Invalid '{at}.name': string does not match pattern. Expected a string of 1 to 64 characters that matches the pattern '^[a-zA-Z0-9_-]+$'."),
        ));
    }
    let parameters = match def.get("parameters") {
        None => serde_json::json!({"type": "object", "properties": {}}),
        Some(p) => {
            if let Err(e) = schema_gen::check_parameters(p) {
                return Err(Invalid::new(
                    format!("{at}.parameters"),
                    format!("Invalid schema for function '{name}': {e}."),
                )
                .code("invalid_function_parameters"));
            }
            p.clone()
        }
    };
    let description = def.get("description").and_then(Value::as_str).unwrap_or("");
    let mut keywords = words(name);
    keywords.extend(words(description));
    keywords.sort();
    keywords.dedup();
    Ok(Function { name: name.to_owned(), parameters, custom: None, keywords })
}

/// One custom tool definition (`{name, description?, format?}`) at `at`.
fn custom(def: &Value, at: &str) -> Result<Function, Invalid> {
    if !def.is_object() {
        return Err(Invalid::new(at, format!("Invalid type for '{at}': expected an object.")));
    }
    // its name and description read as a function's (the same checks and relevance keywords)
    let named = ["name", "description"].iter().filter_map(|k| Some((k.to_string(), def.get(*k)?.clone())));
    let mut tool = function(&Value::Object(named.collect()), at)?;
    tool.custom = Some(custom_tools::format(def, at, true)?);
    Ok(tool)
}

impl Declared {
    /// Parse the JSON text of `tools` (or, `legacy`, of `functions`).
    pub fn parse(text: &[u8], legacy: bool) -> Result<Declared, Invalid> {
        let param = if legacy { "functions" } else { "tools" };
        let list: Value = serde_json::from_slice(text)
            .map_err(|e| Invalid::new(param, format!("Invalid JSON in '{param}': {e}.")))?;
        let functions = definitions(&list, param, legacy)?;
        Ok(Declared { functions, tokens: tokens::count(&String::from_utf8_lossy(text)) as u32 })
    }
}

fn definitions(list: &Value, param: &str, legacy: bool) -> Result<Vec<Function>, Invalid> {
    let Some(items) = list.as_array() else {
        return Err(Invalid::new(
            param,
            format!("Invalid type for '{param}': expected an array of objects."),
        ));
    };
    if items.is_empty() {
        return Err(Invalid::new(
            param,
            format!("Invalid '{param}': empty array. Expected an array with minimum length 1, but got an empty array instead."),
        )
        .code("empty_array"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("{param}[{i}]");
            if legacy {
                return function(item, &at);
            }
            let kind = match item.get("type").and_then(Value::as_str) {
                Some(kind @ ("function" | "custom")) => kind,
                None => return Err(Invalid::missing(format!("{at}.type"))),
                Some(other) => {
                    return Err(Invalid::new(
                        format!("{at}.type"),
                        format!("Invalid value: '{other}'. Supported values are: 'function' and 'custom'."),
                    ))
                }
            };
            let (at, def) = (format!("{at}.{kind}"), item.get(kind));
            match (def, kind) {
                (Some(f), "function") => function(f, &at),
                (Some(c), _) => custom(c, &at),
                (None, _) => Err(Invalid::missing(at)),
            }
        })
        .collect()
}

/// `tool_choice` / `function_call`: a mode string, or an object naming one of `functions`.
fn mode(choice: &Value, functions: &[Function], param: &str, legacy: bool) -> Result<Mode, Invalid> {
    let name = match choice {
        Value::String(s) => {
            return match (s.as_str(), legacy) {
                ("auto", _) => Ok(Mode::Auto),
                ("none", _) => Ok(Mode::Never),
                ("required", false) => Ok(Mode::Required),
                _ => Err(Invalid::new(
                    param,
                    format!(
                        "Invalid value: '{s}'. Supported values are: 'none', 'auto'{}.",
                        if legacy { "" } else { " and 'required'" }
                    ),
                )),
            };
        }
        // Legacy: `{"name": ...}`; tools: `{"type": "function", "function": {"name": ...}}`, or
        // `{"type": "custom", "custom": {"name": ...}}` for a custom tool.
        Value::Object(_) if legacy => choice.get("name"),
        Value::Object(_) if choice.get("type").and_then(Value::as_str) == Some("custom") => {
            let name = choice.pointer("/custom/name").and_then(Value::as_str);
            let found = name.and_then(|n| functions.iter().position(|f| f.name == n && f.custom.is_some()));
            return match (name, found) {
                (Some(_), Some(i)) => Ok(Mode::Named(i)),
                (Some(n), None) => Err(Invalid::new(
                    param,
                    format!("Invalid value for '{param}': custom tool '{n}' is not declared in 'tools'."),
                )),
                (None, _) => Err(Invalid::missing(format!("{param}.custom.name"))),
            };
        }
        Value::Object(_) => choice.pointer("/function/name"),
        _ => None,
    };
    let Some(name) = name.and_then(Value::as_str) else {
        let shape = if legacy {
            "{\"name\": ...}"
        } else {
            "{\"type\": \"function\", \"function\": {\"name\": ...}}"
        };
        return Err(Invalid::new(
            param,
            format!("Invalid value for '{param}': expected 'none', 'auto' or {shape}."),
        ));
    };
    match functions.iter().position(|f| f.name == name && f.custom.is_none()) {
        Some(i) => Ok(Mode::Named(i)),
        None => Err(Invalid::new(
            param,
            format!(
                "Invalid value for '{param}': function '{name}' is not declared in '{}'.",
                if legacy { "functions" } else { "tools" }
            ),
        )),
    }
}

impl Tools {
    /// The tools a request declares, or `None` when it declares none.
    pub fn parse(p: ToolParams) -> Result<Option<Tools>, Invalid> {
        let present = |v: &Option<Value>| v.as_ref().filter(|v| !v.is_null()).cloned();
        let (tool_choice, function_call) = (present(&p.tool_choice), present(&p.function_call));
        match (p.tools, p.functions) {
            (Some(_), Some(_)) => Err(Invalid::new(
                "functions",
                "'functions' cannot be used together with 'tools'; use 'tools'.",
            )),
            (Some(declared), None) => {
                let (mode, allowed) = match tool_choice {
                    Some(c) if c.get("type").and_then(Value::as_str) == Some("allowed_tools") => {
                        let (m, listed) = allowed_tools::parse(&c, &declared.functions)?;
                        (m, Some(listed))
                    }
                    Some(c) => (mode(&c, &declared.functions, "tool_choice", false)?, None),
                    None => (Mode::Auto, None),
                };
                Ok(Some(Tools {
                    declared,
                    mode,
                    allowed,
                    parallel: p.parallel_tool_calls.unwrap_or(true),
                    legacy: false,
                }))
            }
            (None, Some(declared)) => {
                let mode = match function_call {
                    Some(c) => mode(&c, &declared.functions, "function_call", true)?,
                    None => Mode::Auto,
                };
                Ok(Some(Tools { declared, mode, allowed: None, parallel: false, legacy: true }))
            }
            (None, None) => {
                for (value, param, needs) in [
                    (tool_choice.is_some(), "tool_choice", "tools"),
                    (p.parallel_tool_calls.is_some(), "parallel_tool_calls", "tools"),
                    (function_call.is_some(), "function_call", "functions"),
                ] {
                    if value {
                        return Err(Invalid::new(
                            param,
                            format!("Invalid value for '{param}': '{param}' is only allowed when '{needs}' are specified."),
                        ));
                    }
                }
                Ok(None)
            }
        }
    }

    /// The calls one reply makes (empty: the reply is text). `after_tool_result`: the last message
    /// of the conversation is a tool's result; `asked`: the last user message.
    pub fn plan(&self, rng: &mut Rng, after_tool_result: bool, asked: &str) -> Vec<Call> {
        let chosen: Vec<usize> = match self.mode {
            Mode::Never => return Vec::new(),
            Mode::Auto if after_tool_result => return Vec::new(),
            Mode::Named(i) => vec![i],
            Mode::Auto | Mode::Required => {
                let functions = &self.declared.functions;
                let n = self.allowed.as_ref().map_or(functions.len(), Vec::len);
                if n == 0 {
                    return Vec::new();
                }
                let k = if self.parallel { 1 + rng.below(n.min(3) as u64) as usize } else { 1 };
                let asked = words(asked);
                let allowed = |i: &usize| self.allowed.as_ref().is_none_or(|a| a.binary_search(i).is_ok());
                let mut ranked: Vec<(usize, u64, usize)> = functions
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| allowed(i))
                    .map(|(i, f)| {
                        (f.keywords.iter().filter(|w| asked.contains(w)).count(), rng.next_u64(), i)
                    })
                    .collect();
                ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                ranked.into_iter().take(k).map(|(_, _, i)| i).collect()
            }
        };
        chosen
            .into_iter()
            .map(|function| {
                let f = &self.declared.functions[function];
                let arguments = match &f.custom {
                    Some(format) => custom_tools::input(format, rng),
                    None => schema_gen::generate(&f.parameters, rng).to_string(),
                };
                Call { function, arguments }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn weather() -> Value {
        json!([{"type": "function", "function": {"name": "get_weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
            {"type": "function", "function": {"name": "get_time"}}])
    }

    fn declared(list: Value, legacy: bool) -> Result<Rc<Declared>, Invalid> {
        Declared::parse(list.to_string().as_bytes(), legacy).map(Rc::new)
    }

    fn parse(tools: Value, choice: Option<Value>) -> Result<Option<Tools>, Invalid> {
        Tools::parse(ToolParams {
            tools: Some(declared(tools, false)?),
            tool_choice: choice,
            ..Default::default()
        })
    }

    #[test]
    fn auto_calls_unless_a_tool_result_came_last() {
        let tools = parse(weather(), None).unwrap().unwrap();
        let mut rng = Rng::new(1);
        for _ in 0..50 {
            let calls = tools.plan(&mut rng, false, "");
            assert!((1..=2).contains(&calls.len()));
            for c in &calls {
                let args: Value = serde_json::from_str(&c.arguments).unwrap();
                if c.function == 0 {
                    assert!(args["city"].is_string());
                }
            }
        }
        assert!(tools.plan(&mut rng, true, "").is_empty());
    }

    #[test]
    fn named_required_none_and_serial() {
        let named = json!({"type": "function", "function": {"name": "get_time"}});
        let tools = parse(weather(), Some(named)).unwrap().unwrap();
        let calls = tools.plan(&mut Rng::new(2), true, "");
        assert_eq!((calls.len(), calls[0].function, calls[0].arguments.as_str()), (1, 1, "{}"));
        let none = parse(weather(), Some(json!("none"))).unwrap().unwrap();
        assert!(none.plan(&mut Rng::new(2), false, "").is_empty());
        let required = parse(weather(), Some(json!("required"))).unwrap().unwrap();
        assert!(!required.plan(&mut Rng::new(2), true, "").is_empty());
        let serial = Tools::parse(ToolParams {
            tools: Some(declared(weather(), false).unwrap()),
            parallel_tool_calls: Some(false),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        assert!((0..30).all(|i| serial.plan(&mut Rng::new(i), false, "").len() == 1));
    }

    #[test]
    fn the_most_relevant_function_is_called() {
        let list = json!([
            {"type": "function", "function": {"name": "search_docs", "description": "Full-text search"}},
            {"type": "function", "function": {"name": "getWeather", "description": "Forecasts for a city"}},
            {"type": "function", "function": {"name": "send-email"}}]);
        let tools = Tools::parse(ToolParams {
            tools: Some(declared(list, false).unwrap()),
            parallel_tool_calls: Some(false),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        for seed in 0..20 {
            let call = |asked: &str| tools.plan(&mut Rng::new(seed), false, asked)[0].function;
            assert_eq!(call("What's the weather in Paris?"), 1);
            assert_eq!(call("Give me the forecasts for Lyon"), 1);
            assert_eq!(call("Send an e-mail to Bob"), 2);
            assert_eq!(call("search the docs for 'prefix'"), 0);
        }
        let picked: std::collections::HashSet<usize> =
            (0..30).map(|s| tools.plan(&mut Rng::new(s), false, "hello")[0].function).collect();
        assert_eq!(picked.len(), 3);
        assert_eq!(
            words("getWeather HTTPServer snake_case docs"),
            ["get", "weather", "httpserver", "snake", "case", "doc"]
        );
    }

    #[test]
    fn legacy_functions() {
        let t = Tools::parse(ToolParams {
            functions: Some(
                declared(json!([{"name": "f", "parameters": {"type": "object"}}]), true).unwrap(),
            ),
            function_call: Some(json!({"name": "f"})),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        assert!(t.legacy && t.mode == Mode::Named(0));
        assert!(t.declared.tokens > 5);
        assert_eq!(Declared::parse(b"[{", true).err().unwrap().param, "functions");
    }

    #[test]
    fn bad_declarations_name_the_param() {
        let bad = [
            (json!([]), None, "tools"),
            (json!({"a": 1}), None, "tools"),
            (json!([{"type": "retrieval"}]), None, "tools[0].type"),
            (json!([{"type": "function"}]), None, "tools[0].function"),
            (json!([{"type": "function", "function": {"name": "a b"}}]), None, "tools[0].function.name"),
            (
                json!([{"type": "function", "function": {"name": "f", "parameters": {"type": "nope"}}}]),
                None,
                "tools[0].function.parameters",
            ),
            (weather(), Some(json!({"type": "function", "function": {"name": "missing"}})), "tool_choice"),
            (weather(), Some(json!("sometimes")), "tool_choice"),
        ];
        for (tools, choice, param) in bad {
            assert_eq!(parse(tools, choice).err().unwrap().param, param);
        }
        let orphan = Tools::parse(ToolParams { tool_choice: Some(json!("auto")), ..Default::default() });
        assert_eq!(orphan.err().unwrap().param, "tool_choice");
        assert!(Tools::parse(ToolParams::default()).unwrap().is_none());
    }
}
