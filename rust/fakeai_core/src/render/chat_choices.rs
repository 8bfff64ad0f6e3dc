//! The choices of a chat completion: optional reasoning, then prose, JSON, a predicted edit, or tool
//! calls.
//!
//! A plain request (no tools, no `response_format`, no reasoning, no prediction) is exactly
//! [`choices::generate`]. Otherwise each choice draws, from its own RNG and in this order: the
//! reasoning (its tokens come out of the `max_tokens` budget first), the tool calls (see
//! [`crate::text::tools`]), and when no tool is called the content: JSON for `response_format`, the
//! edited prediction for `prediction`, prose otherwise. Tool calls cost the tokens of each function's
//! name and arguments.

use crate::render::choices::{self, Choice, ChoiceSpec};
use crate::render::ids;
use crate::rng::Rng;
use crate::text::length::{Finish, LengthSpec};
use crate::text::prediction;
use crate::text::reasoning::Effort;
use crate::text::response_format::Format;
use crate::text::schema_gen;
use crate::text::tokenized::Tokenized;
use crate::text::tokens;
use crate::text::tools::Tools;

pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// JSON arguments; a custom tool's input text.
    pub arguments: Tokenized,
    /// A call of a custom tool (`type: "custom"`, its `arguments` rendered as `input`).
    pub custom: bool,
}

pub enum Answer<'a> {
    /// Prose from the vocabulary (or echoed from the request), with logprobs when asked.
    Prose(Choice<'a>),
    /// Content built outside the vocabulary: JSON, or an edited prediction.
    Composed { content: Tokenized, finish: Finish },
    /// Function calls; `legacy` answers in the `function_call` shape; `cut`: `max_tokens` ended them
    /// (the last call's arguments are cut short and the choice finishes with `length`, as OpenAI's).
    Calls { calls: Vec<ToolCall>, legacy: bool, cut: bool },
}

pub struct ChatChoice<'a> {
    pub reasoning: Vec<&'static str>,
    pub answer: Answer<'a>,
    pub accepted_prediction: u32,
    pub rejected_prediction: u32,
}

/// What a chat request asks for beyond prose.
pub struct ChatSpec<'a> {
    pub base: ChoiceSpec,
    pub tools: Option<&'a Tools>,
    /// The conversation ends with a tool's result.
    pub after_tool_result: bool,
    /// The last user message (what tool calls should be relevant to).
    pub asked: &'a str,
    /// `None`: plain text.
    pub format: Option<&'a Format>,
    pub reasoning: Option<Effort>,
    pub prediction: Option<&'a str>,
}

impl ChatSpec<'_> {
    pub fn is_plain(&self) -> bool {
        self.tools.is_none()
            && self.format.is_none_or(|f| matches!(f, Format::Text))
            && self.reasoning.is_none()
            && self.prediction.is_none()
    }
}

impl ChatChoice<'_> {
    pub fn finish(&self) -> &'static str {
        match &self.answer {
            Answer::Prose(c) => c.finish.as_str(),
            Answer::Composed { finish, .. } => finish.as_str(),
            Answer::Calls { cut: true, .. } => "length",
            Answer::Calls { legacy: true, .. } => "function_call",
            Answer::Calls { legacy: false, .. } => "tool_calls",
        }
    }

    /// Tokens of the answer itself (without reasoning).
    pub fn answer_tokens(&self) -> u32 {
        match &self.answer {
            Answer::Prose(c) => c.tokens.len() as u32,
            Answer::Composed { content, .. } => content.len() as u32,
            Answer::Calls { calls, .. } => {
                calls.iter().map(|c| (tokens::count(&c.name) + c.arguments.len()) as u32).sum()
            }
        }
    }

    /// The answer's text: prose or composed content, empty for tool calls.
    pub fn text(&self) -> String {
        match &self.answer {
            Answer::Prose(c) => c.tokens.concat(),
            Answer::Composed { content, .. } => content.text.clone(),
            Answer::Calls { .. } => String::new(),
        }
    }

    /// Reasoning and answer tokens, plus the rejected prediction tokens (billed as completion tokens,
    /// as OpenAI does: see [`crate::text::prediction`]).
    pub fn completion_tokens(&self) -> u32 {
        self.reasoning.len() as u32 + self.answer_tokens() + self.rejected_prediction
    }

    /// Streamed steps of the answer: a token each; a tool call adds one step for its header.
    pub fn answer_steps(&self) -> usize {
        match &self.answer {
            Answer::Prose(c) => c.tokens.len(),
            Answer::Composed { content, .. } => content.len(),
            Answer::Calls { calls, .. } => calls.iter().map(|c| 1 + c.arguments.len()).sum(),
        }
    }

    pub fn steps(&self) -> usize {
        self.reasoning.len() + self.answer_steps()
    }
}

/// Generate the choices of one chat request (see the module docs). `key` as in [`choices::generate`].
pub fn generate(key: u64, spec: &ChatSpec<'_>) -> Vec<ChatChoice<'static>> {
    if spec.is_plain() {
        return choices::generate(key, &spec.base).into_iter().map(prose).collect();
    }
    // The JSON values of all choices and calls share one budget (see `schema_gen::within_request`).
    schema_gen::within_request(json_values(spec), || {
        (0..spec.base.n.max(1)).map(|index| one(&mut choices::rng_for(key, index), spec)).collect()
    })
}

/// Most JSON values one request generates: a format's or each call's, per choice.
fn json_values(spec: &ChatSpec<'_>) -> u64 {
    let calls =
        spec.tools.map_or(1, |t| if t.parallel { t.declared.functions.len().clamp(1, 3) as u64 } else { 1 });
    u64::from(spec.base.n.max(1)) * calls
}

/// Refuse, naming `n`, a request whose JSON values (choices times tool calls) together force more
/// than `schema_gen::MAX_REQUEST_BYTES`: [`generate`] would give the values past it as `null`. A
/// custom tool's regex grammar counts as its input's schema (a string matching it in full).
pub fn check_budget(spec: &ChatSpec<'_>) -> Result<(), crate::invalid::Invalid> {
    let mut schemas: Vec<&serde_json::Value> =
        spec.tools.map(|t| t.declared.functions.iter().map(input_schema).collect()).unwrap_or_default();
    if let Some(Format::JsonSchema(schema)) = spec.format {
        schemas.push(schema);
    }
    schema_gen::request_check(&schemas, json_values(spec), "n")
        .map_err(|e| crate::invalid::Invalid::new("n", format!("{}.", e.message)).code("invalid_json_schema"))
}

/// The schema of what a call of `f` carries: its parameters, or a custom tool's regex as a string.
fn input_schema(f: &crate::text::tools::Function) -> &serde_json::Value {
    match &f.custom {
        Some(crate::text::custom_tools::Format::Regex(schema)) => schema,
        _ => &f.parameters,
    }
}

/// A plain prose choice (also the shape of an echoed one).
pub fn prose(choice: Choice<'_>) -> ChatChoice<'_> {
    ChatChoice {
        reasoning: Vec::new(),
        answer: Answer::Prose(choice),
        accepted_prediction: 0,
        rejected_prediction: 0,
    }
}

fn one(rng: &mut Rng, spec: &ChatSpec<'_>) -> ChatChoice<'static> {
    let max = spec.base.length.max_tokens;
    let reasoning = match spec.reasoning {
        Some(effort) => {
            let len = effort.length(rng, max) as usize;
            crate::text::prose::generate(rng, len)
        }
        None => Vec::new(),
    };
    let budget = max.map(|m| m - reasoning.len() as u32);
    let mut out = ChatChoice {
        reasoning,
        answer: Answer::Prose(empty()),
        accepted_prediction: 0,
        rejected_prediction: 0,
    };
    if let Some(tools) = spec.tools {
        let planned = tools.plan(rng, spec.after_tool_result, spec.asked);
        if !planned.is_empty() {
            // Within `max_tokens`: each call costs its name's tokens and its arguments'; the call the
            // budget ends in keeps the arguments that fit, a call whose name does not fit is not made.
            let mut left = budget.map_or(usize::MAX, |b| b as usize);
            let (mut calls, mut cut) = (Vec::with_capacity(planned.len()), false);
            for c in planned {
                let function = &tools.declared.functions[c.function];
                let (name, custom) = (function.name.clone(), function.custom.is_some());
                let name_tokens = tokens::count(&name);
                if name_tokens > left || (name_tokens == left && !calls.is_empty()) {
                    cut = true;
                    break;
                }
                let mut arguments = Tokenized::new(c.arguments);
                left = left.saturating_sub(name_tokens);
                if arguments.len() > left {
                    arguments.truncate(left);
                    cut = true;
                }
                left -= arguments.len();
                calls.push(ToolCall { id: ids::new_id("call_", 24), name, arguments, custom });
                if cut {
                    break;
                }
            }
            // No call fits: the reply is cut before its first call (an empty reply, finish `length`).
            out.answer = if calls.is_empty() {
                Answer::Prose(empty())
            } else {
                Answer::Calls { calls, legacy: tools.legacy, cut }
            };
            return out;
        }
    }
    if let Some(json) = spec.format.and_then(|f| f.render(rng)) {
        let mut content = Tokenized::new(json);
        let mut finish = Finish::Stop;
        if let Some(b) = budget.filter(|b| content.len() > *b as usize) {
            content.truncate(b as usize);
            finish = Finish::Length;
        }
        out.answer = Answer::Composed { content, finish };
    } else if let Some(pred) = spec.prediction {
        let p = prediction::edit(pred, rng, budget);
        (out.accepted_prediction, out.rejected_prediction) = (p.accepted, p.rejected);
        out.answer = Answer::Composed { content: p.content, finish: p.finish };
    } else {
        let base =
            ChoiceSpec { length: LengthSpec { max_tokens: budget, ..spec.base.length }, ..spec.base.clone() };
        out.answer = Answer::Prose(choices::one(rng, &base));
    }
    out
}

fn empty() -> Choice<'static> {
    Choice { tokens: Vec::new(), finish: Finish::Length, logprobs: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tools::{Declared, ToolParams};
    use serde_json::json;

    fn spec(format: &Format, max: Option<u32>) -> ChatSpec<'_> {
        ChatSpec {
            base: ChoiceSpec {
                n: 1,
                length: LengthSpec { max_tokens: max, ..Default::default() },
                ..Default::default()
            },
            tools: None,
            after_tool_result: false,
            asked: "",
            format: Some(format),
            reasoning: None,
            prediction: None,
        }
    }

    #[test]
    fn plain_requests_are_the_prose_choices() {
        let s = spec(&Format::Text, Some(20));
        let a = generate(5, &s);
        let b = choices::generate(5, &s.base);
        match &a[0].answer {
            Answer::Prose(c) => assert_eq!(c.tokens, b[0].tokens),
            _ => panic!("not prose"),
        }
    }

    #[test]
    fn reasoning_comes_out_of_the_budget() {
        let mut s = spec(&Format::Text, Some(40));
        s.reasoning = Some(Effort::High);
        let c = &generate(1, &s)[0];
        assert_eq!(c.reasoning.len(), 40);
        assert_eq!((c.answer_tokens(), c.finish()), (0, "length"));
        s.base.length.max_tokens = None;
        let c = &generate(1, &s)[0];
        assert!(c.reasoning.len() >= 512 && c.answer_tokens() > 0);
        assert_eq!(c.completion_tokens() as usize, c.reasoning.len() + c.answer_tokens() as usize);
    }

    #[test]
    fn tool_calls_and_json() {
        let list = json!([{"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}}}]);
        let tools = Tools::parse(ToolParams {
            tools: Some(std::rc::Rc::new(Declared::parse(list.to_string().as_bytes(), false).unwrap())),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        let mut s = spec(&Format::Text, None);
        s.tools = Some(&tools);
        let c = &generate(1, &s)[0];
        assert_eq!(c.finish(), "tool_calls");
        let Answer::Calls { calls, .. } = &c.answer else { panic!("no calls") };
        assert!(calls[0].id.starts_with("call_") && calls[0].name == "f");
        assert_eq!(c.steps(), 1 + calls[0].arguments.len());
        s.after_tool_result = true;
        assert!(matches!(generate(1, &s)[0].answer, Answer::Prose(_)));

        // max_tokens ends a call as it ends prose: arguments cut short, finish "length"
        s.after_tool_result = false;
        s.base.length.max_tokens = Some(4);
        let c = &generate(1, &s)[0];
        let Answer::Calls { calls: cut_calls, cut: true, .. } = &c.answer else { panic!("not cut") };
        assert_eq!((c.finish(), c.answer_tokens()), ("length", 4));
        assert!(cut_calls[0].arguments.text.len() < calls[0].arguments.text.len());
        assert!(calls[0].arguments.text.starts_with(&cut_calls[0].arguments.text));
        // a budget smaller than the first call's name: no call, nothing charged past it
        s.base.length.max_tokens = Some(0);
        let c = &generate(1, &s)[0];
        assert_eq!((c.finish(), c.completion_tokens()), ("length", 0));

        let format = Format::JsonObject;
        let c = &generate(1, &spec(&format, Some(3)))[0];
        assert_eq!((c.answer_tokens(), c.finish()), (3, "length"));
    }

    #[test]
    fn predictions_report_accepted_and_rejected() {
        let mut s = spec(&Format::Text, None);
        s.prediction = Some("def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n");
        let c = &generate(3, &s)[0];
        assert!(c.accepted_prediction > 0 && c.rejected_prediction > 0);
        assert_eq!(c.finish(), "stop");
        assert_eq!(c.completion_tokens(), c.answer_tokens() + c.rejected_prediction);
        assert!(c.completion_tokens() >= c.accepted_prediction + c.rejected_prediction);
    }
}
