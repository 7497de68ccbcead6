//! Content blocks: what a tool result or a prompt message carries for the
//! model to read - text, images, audio, embedded resources and links to
//! resources - and the contents of a resource.
//!
//! Binary data is base64 on the wire; the constructors take bytes.
//!
//! Revisions differ in which blocks exist: audio came in 2025-03-26 and
//! resource links in 2025-06-18. [`Content::for_version`] turns a block a
//! revision lacks into a text block that says what was there, so a client
//! never receives a type its revision does not define.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::ProtocolVersion;

/// One content block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image, base64.
    Image {
        /// The bytes, base64.
        data: String,
        /// Its media type (`image/png`).
        #[serde(rename = "mimeType")]
        mime_type: String,
    },
    /// Audio, base64 (2025-03-26 on).
    Audio {
        /// The bytes, base64.
        data: String,
        /// Its media type (`audio/wav`).
        #[serde(rename = "mimeType")]
        mime_type: String,
    },
    /// A resource's contents, embedded.
    Resource {
        /// The contents.
        resource: ResourceContents,
    },
    /// A link to a resource the client may read (2025-06-18 on).
    ResourceLink(ResourceLink),
}

impl Content {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Content::Text { text: text.into() }
    }

    /// An image block from its bytes.
    pub fn image(bytes: &[u8], mime_type: impl Into<String>) -> Self {
        Content::Image {
            data: STANDARD.encode(bytes),
            mime_type: mime_type.into(),
        }
    }

    /// An audio block from its bytes.
    pub fn audio(bytes: &[u8], mime_type: impl Into<String>) -> Self {
        Content::Audio {
            data: STANDARD.encode(bytes),
            mime_type: mime_type.into(),
        }
    }

    /// An embedded resource.
    pub fn resource(contents: ResourceContents) -> Self {
        Content::Resource { resource: contents }
    }

    /// The block as `version` can carry it: a block type the revision lacks
    /// becomes a text block naming what it stood for.
    pub fn for_version(self, version: ProtocolVersion) -> Content {
        match self {
            Content::Audio { mime_type, .. } if !version.has_audio_content() => Content::text(
                format!("[{mime_type} audio: protocol {version} cannot carry audio content]"),
            ),
            Content::ResourceLink(link) if !version.has_structured_output() => {
                Content::text(format!("[resource {}: {}]", link.name, link.uri))
            }
            other => other,
        }
    }
}

/// The contents of one resource: its URI, media type, and text or bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceContents {
    /// The resource's URI.
    pub uri: String,
    /// Its media type.
    #[serde(rename = "mimeType", default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Text or bytes.
    #[serde(flatten)]
    pub body: ResourceBody,
}

/// A resource's text, or its bytes as base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ResourceBody {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// Bytes.
    Blob {
        /// The bytes, base64.
        blob: String,
    },
}

impl ResourceContents {
    /// Text contents.
    pub fn text(uri: impl Into<String>, mime_type: &str, text: impl Into<String>) -> Self {
        ResourceContents {
            uri: uri.into(),
            mime_type: Some(mime_type.to_owned()),
            body: ResourceBody::Text { text: text.into() },
        }
    }

    /// Binary contents, from the bytes.
    pub fn blob(uri: impl Into<String>, mime_type: &str, bytes: &[u8]) -> Self {
        ResourceContents {
            uri: uri.into(),
            mime_type: Some(mime_type.to_owned()),
            body: ResourceBody::Blob {
                blob: STANDARD.encode(bytes),
            },
        }
    }
}

/// A link to a resource, as a tool result carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceLink {
    /// The resource's URI.
    pub uri: String,
    /// Its name.
    pub name: String,
    /// What it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocks_serialise_as_the_schema_names_them() {
        let blocks = [
            Content::text("hi"),
            Content::image(&[1, 2, 3], "image/png"),
            Content::audio(b"RIFF", "audio/wav"),
            Content::resource(ResourceContents::text("test://a", "text/plain", "A")),
            Content::resource(ResourceContents::blob("test://b", "image/png", &[0xff])),
            Content::ResourceLink(ResourceLink {
                uri: "test://c".into(),
                name: "c".into(),
                description: None,
                mime_type: Some("text/plain".into()),
            }),
        ];
        let wire = serde_json::to_value(&blocks).unwrap();
        assert_eq!(
            wire,
            json!([
                {"type": "text", "text": "hi"},
                {"type": "image", "data": "AQID", "mimeType": "image/png"},
                {"type": "audio", "data": "UklGRg==", "mimeType": "audio/wav"},
                {"type": "resource", "resource": {"uri": "test://a", "mimeType": "text/plain", "text": "A"}},
                {"type": "resource", "resource": {"uri": "test://b", "mimeType": "image/png", "blob": "/w=="}},
                {"type": "resource_link", "uri": "test://c", "name": "c", "mimeType": "text/plain"},
            ])
        );
        let back: Vec<Content> = serde_json::from_value(wire).unwrap();
        assert_eq!(back, blocks);
    }

    #[test]
    fn a_revision_never_receives_a_block_it_lacks() {
        use ProtocolVersion::*;
        let audio = Content::audio(b"x", "audio/wav");
        let link = Content::ResourceLink(ResourceLink {
            uri: "test://c".into(),
            name: "c".into(),
            description: None,
            mime_type: None,
        });
        for version in ProtocolVersion::ALL {
            let a = audio.clone().for_version(version);
            let l = link.clone().for_version(version);
            assert_eq!(matches!(a, Content::Audio { .. }), version != V2024_11_05);
            assert_eq!(
                matches!(l, Content::ResourceLink(_)),
                version.has_structured_output()
            );
            for block in [a, l] {
                if let Content::Text { text } = block {
                    assert!(
                        text.contains("audio") || text.contains("test://c"),
                        "{text}"
                    );
                }
            }
        }
    }
}
