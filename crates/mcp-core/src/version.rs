//! Protocol revisions and what each one allows.

use std::fmt;

/// A protocol revision this core serves.
///
/// Versions are an enumerated set, not an ordered scalar: every comparison
/// goes through the methods below, never through string ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProtocolVersion {
    /// The first public revision.
    V2024_11_05,
    /// Streamable HTTP, tool annotations.
    V2025_03_26,
    /// No batches; titles, `outputSchema`, `structuredContent`.
    V2025_06_18,
    /// Icons, tasks; the last revision with the `initialize` handshake.
    V2025_11_25,
    /// Stateless: `server/discover` and a per-request `_meta` envelope.
    V2026_07_28,
}

impl ProtocolVersion {
    /// Every supported revision, newest first (the order a server offers them in).
    pub const ALL: [ProtocolVersion; 5] = [
        ProtocolVersion::V2026_07_28,
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2024_11_05,
    ];

    /// The newest revision reachable through the `initialize` handshake.
    pub const LATEST_HANDSHAKE: ProtocolVersion = ProtocolVersion::V2025_11_25;

    /// The revision assumed for Streamable HTTP when `MCP-Protocol-Version` is absent.
    pub const HTTP_DEFAULT: ProtocolVersion = ProtocolVersion::V2025_03_26;

    /// The wire name of the revision.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V2024_11_05 => "2024-11-05",
            ProtocolVersion::V2025_03_26 => "2025-03-26",
            ProtocolVersion::V2025_06_18 => "2025-06-18",
            ProtocolVersion::V2025_11_25 => "2025-11-25",
            ProtocolVersion::V2026_07_28 => "2026-07-28",
        }
    }

    /// Parses a wire name; `None` for any revision this core does not serve.
    pub fn parse(s: &str) -> Option<ProtocolVersion> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The stateless revisions: no handshake, a `_meta` envelope on every request.
    pub const fn is_stateless(self) -> bool {
        matches!(self, ProtocolVersion::V2026_07_28)
    }

    /// JSON-RPC batches were allowed up to 2025-03-26 and removed in 2025-06-18.
    pub const fn allows_batches(self) -> bool {
        matches!(
            self,
            ProtocolVersion::V2024_11_05 | ProtocolVersion::V2025_03_26
        )
    }

    /// Tool annotations exist from 2025-03-26 on.
    pub const fn has_tool_annotations(self) -> bool {
        !matches!(self, ProtocolVersion::V2024_11_05)
    }

    /// `notifications/progress` carries a `message` from 2025-03-26 on.
    pub const fn has_progress_message(self) -> bool {
        !matches!(self, ProtocolVersion::V2024_11_05)
    }

    /// Audio content blocks exist from 2025-03-26 on.
    pub const fn has_audio_content(self) -> bool {
        !matches!(self, ProtocolVersion::V2024_11_05)
    }

    /// `completion/complete` and the completions capability exist from 2025-03-26 on.
    pub const fn has_completions(self) -> bool {
        !matches!(self, ProtocolVersion::V2024_11_05)
    }

    /// `title`, `outputSchema` and `structuredContent` exist from 2025-06-18 on.
    pub const fn has_structured_output(self) -> bool {
        !matches!(
            self,
            ProtocolVersion::V2024_11_05 | ProtocolVersion::V2025_03_26
        )
    }

    /// The wire names of every supported revision, newest first.
    pub fn supported_names() -> Vec<&'static str> {
        Self::ALL.iter().map(|v| v.as_str()).collect()
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for v in ProtocolVersion::ALL {
            assert_eq!(ProtocolVersion::parse(v.as_str()), Some(v));
        }
        assert_eq!(ProtocolVersion::parse("2025-01-01"), None);
        assert_eq!(ProtocolVersion::parse(""), None);
    }

    #[test]
    fn all_is_newest_first() {
        let mut sorted = ProtocolVersion::ALL;
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(sorted, ProtocolVersion::ALL);
    }

    #[test]
    fn feature_matrix() {
        use ProtocolVersion::*;
        let batches: Vec<_> = ProtocolVersion::ALL
            .into_iter()
            .filter(|v| v.allows_batches())
            .collect();
        assert_eq!(batches, [V2025_03_26, V2024_11_05]);
        assert!(!V2024_11_05.has_tool_annotations());
        assert!(V2025_03_26.has_tool_annotations());
        assert!(!V2025_03_26.has_structured_output());
        assert!(V2025_06_18.has_structured_output());
        assert!(V2026_07_28.is_stateless() && !V2025_11_25.is_stateless());
    }
}
