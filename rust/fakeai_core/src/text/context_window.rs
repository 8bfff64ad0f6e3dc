//! The context-window check: prompt plus requested completion must fit the model, as OpenAI words it.

use crate::invalid::Invalid;

/// Reject a request whose `prompt` tokens (`tools` of them from function definitions) plus
/// `completion` (the requested maximum, if any) exceed `limit`.
pub fn check(limit: u32, prompt: u32, tools: u32, completion: Option<u32>) -> Result<(), Invalid> {
    let total = u64::from(prompt) + u64::from(completion.unwrap_or(0));
    if total <= u64::from(limit) && prompt <= limit {
        return Ok(());
    }
    let messages = prompt - tools.min(prompt);
    let message = match completion {
        Some(c) if tools > 0 => format!(
            "This model's maximum context length is {limit} tokens. However, you requested {total} tokens \
             ({messages} in the messages, {tools} in the functions, and {c} in the completion). Please reduce the \
             length of the messages, functions, or completion."
        ),
        Some(c) => format!(
            "This model's maximum context length is {limit} tokens. However, you requested {total} tokens \
             ({messages} in the messages, {c} in the completion). Please reduce the length of the messages or \
             completion."
        ),
        None => format!(
            "This model's maximum context length is {limit} tokens. However, your messages resulted in {prompt} \
             tokens. Please reduce the length of the messages."
        ),
    };
    Err(Invalid::new("messages", message).code("context_length_exceeded"))
}

/// The same check for a legacy completion prompt, in the legacy endpoint's words.
pub fn check_prompt(limit: u32, prompt: u32, completion: u32) -> Result<(), Invalid> {
    let total = u64::from(prompt) + u64::from(completion);
    if total <= u64::from(limit) {
        return Ok(());
    }
    Err(Invalid::new(
        "prompt",
        format!(
            "This model's maximum context length is {limit} tokens, however you requested {total} tokens \
             ({prompt} in your prompt; {completion} for the completion). Please reduce your prompt; or completion \
             length."
        ),
    )
    .code("context_length_exceeded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_or_says_by_how_much() {
        assert!(check(100, 60, 0, Some(40)).is_ok());
        let e = check(100, 60, 0, Some(41)).unwrap_err();
        assert_eq!(e.code, "context_length_exceeded");
        assert!(e.message.contains("maximum context length is 100 tokens. However, you requested 101 tokens (60 in the messages, 41 in the completion)"));
        let e = check(100, 160, 50, Some(1)).unwrap_err();
        assert!(e.message.contains("(110 in the messages, 50 in the functions, and 1 in the completion)"));
        let e = check(100, 101, 0, None).unwrap_err();
        assert!(e.message.contains("your messages resulted in 101 tokens"));
        assert!(check_prompt(10, 5, 5).is_ok());
        let e = check_prompt(10, 5, 16).unwrap_err();
        assert!(e.message.contains("you requested 21 tokens (5 in your prompt; 16 for the completion)"));
        assert_eq!(e.param, "prompt");
    }
}
