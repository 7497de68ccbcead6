//! `word_count`: words and characters of a text.

use mcp_core::{Annotations, CallContext, Tool, ToolDefinition, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Counts words (split on Unicode whitespace) and characters (Unicode scalar values).
#[derive(Debug, Clone, Copy, Default)]
pub struct WordCount;

/// The arguments of `word_count`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WordCountArgs {
    /// The text to count.
    pub text: String,
}

/// The result of `word_count`.
#[derive(Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Counts {
    /// Runs of non-whitespace characters.
    pub words: usize,
    /// Unicode scalar values (not bytes, not grapheme clusters).
    pub characters: usize,
}

impl Tool for WordCount {
    type Args = WordCountArgs;
    type Output = Counts;

    fn definition(&self) -> ToolDefinition {
        ToolDefinition::new(
            "word_count",
            "Count the words and characters in a text. Words are separated by Unicode \
             whitespace; characters are Unicode scalar values. Read-only: it computes, it \
             changes nothing.",
        )
        .title("Word count")
        .annotations(Annotations::read_only())
    }

    async fn call(&self, args: WordCountArgs, _cx: &CallContext<'_>) -> Result<Counts, ToolError> {
        Ok(count(&args.text))
    }
}

/// The counting itself.
pub fn count(text: &str) -> Counts {
    Counts {
        words: text.split_whitespace().count(),
        characters: text.chars().count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_ascii() {
        assert_eq!(
            count("hello brave new world"),
            Counts {
                words: 4,
                characters: 21
            }
        );
        assert_eq!(
            count(""),
            Counts {
                words: 0,
                characters: 0
            }
        );
        assert_eq!(
            count("  \t\n "),
            Counts {
                words: 0,
                characters: 5
            }
        );
    }

    #[test]
    fn counts_unicode() {
        // No-break space (U+00A0) and ideographic space (U+3000) are whitespace.
        assert_eq!(
            count("a\u{a0}b\u{3000}c"),
            Counts {
                words: 3,
                characters: 5
            }
        );
        // Scalar values, not bytes: "héllo" is 5 characters, 6 bytes.
        assert_eq!(
            count("héllo wörld"),
            Counts {
                words: 2,
                characters: 11
            }
        );
        // An emoji with a skin-tone modifier is two scalar values.
        assert_eq!(
            count("👍🏽"),
            Counts {
                words: 1,
                characters: 2
            }
        );
    }
}
