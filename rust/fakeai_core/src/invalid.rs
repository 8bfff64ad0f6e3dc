//! A request value the core rejects, with the parameter it names; the bindings turn it into a 400.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The request parameter at fault, as OpenAI names it (`tools[0].function.parameters`).
    pub param: String,
    pub message: String,
    /// OpenAI's error `code` (`invalid_value`, `context_length_exceeded`, ...).
    pub code: &'static str,
}

impl Invalid {
    pub fn new(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self { param: param.into(), message: message.into(), code: "invalid_value" }
    }

    pub fn code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    /// OpenAI's wording for an absent required field.
    pub fn missing(param: impl Into<String>) -> Self {
        let param = param.into();
        Self {
            message: format!("Missing required parameter: '{param}'."),
            param,
            code: "missing_required_parameter",
        }
    }
}
