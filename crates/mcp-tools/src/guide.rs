//! The default server's one resource and one prompt: how `word_count`
//! counts, readable by URI, and a prompt that asks the model to use it.

use mcp_core::model::ResourceInfo;
use mcp_core::model::{Content, PromptArgument, PromptInfo, PromptMessage, ResourceContents};
use mcp_core::{CallContext, Prompt, PromptArguments, PromptError};

/// The URI of the guide resource.
pub const GUIDE_URI: &str = "ladder://guide/word-count";

/// The guide: what `word_count` calls a word and a character.
pub fn guide() -> (ResourceInfo, ResourceContents) {
    let text = "# How word_count counts\n\n\
        - A word is a run of characters between Unicode whitespace (spaces, tabs, \
        line breaks, and the other White_Space characters). Punctuation belongs to \
        the word it touches: \"well-known,\" is one word.\n\
        - A character is a Unicode scalar value: \"é\" written as one code point is one \
        character, and as \"e\" plus a combining accent it is two. Bytes and grapheme \
        clusters are not counted.\n\
        - The tool reads only the text it is given; it keeps nothing.\n";
    (
        ResourceInfo {
            uri: GUIDE_URI.into(),
            name: "word-count-guide".into(),
            title: Some("How word_count counts".into()),
            description: Some("What word_count calls a word and a character.".into()),
            mime_type: Some("text/markdown".into()),
        },
        ResourceContents::text(GUIDE_URI, "text/markdown", text),
    )
}

/// `count_words`: asks the model to count a text with `word_count`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountWords;

impl Prompt for CountWords {
    fn definition(&self) -> PromptInfo {
        PromptInfo::new(
            "count_words",
            "Ask for the words and characters of a text, counted by the word_count tool.",
        )
        .arguments(vec![PromptArgument::required("text", "The text to count")])
    }

    async fn get(
        &self,
        arguments: &PromptArguments,
        _: &CallContext<'_>,
    ) -> Result<Vec<PromptMessage>, PromptError> {
        let text = arguments.get("text").map_or("", String::as_str);
        Ok(vec![PromptMessage::user(Content::text(format!(
            "Count the words and characters of the text below with the word_count tool \
             (see {GUIDE_URI} for what it counts), and report both numbers.\n\n{text}"
        )))])
    }
}
