//! A function's response stream as a front passes it on: the part both
//! streaming fronts share (the Function URL with `InvokeMode:
//! RESPONSE_STREAM`, the REST API with `ResponseTransferMode: STREAM`).
//!
//! The function writes a prelude (JSON, each front its own shape), eight NUL
//! bytes, then the body. [`start`] invokes it and waits for the prelude; the
//! front reads the prelude into its status and headers, and the body goes
//! on chunk by chunk as the function writes it ([`Chunks`]). A stream that
//! the function ends with an error in its trailers, or that its timeout or
//! the front's limit cuts, ends in error (for HTTP/1.1, without the last
//! chunk): a client can tell it from a finished answer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::Frame;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};

use crate::runtime::{Answer, Function, InvokeError};

/// The body of a front's response: whole, or a function's stream.
pub type StreamBody = BoxBody<Bytes, StreamCut>;

/// Why a streamed body ended before its end.
#[derive(Debug, thiserror::Error)]
pub enum StreamCut {
    /// The invocation failed mid-stream: an error in the function's
    /// trailers, its timeout, or its process stopping.
    #[error("the function's response stream ended in error: {0}")]
    Function(InvokeError),
    /// The front's limit on a whole stream (API Gateway's 15 minutes).
    #[error("the stream reached the front's limit of {0:?}")]
    Limit(Duration),
    /// The front's limit on a stream without data (API Gateway's 5 minutes).
    #[error("the stream sent nothing for {0:?}, the front's idle limit")]
    Idle(Duration),
}

/// What a front allows a stream; `None`: no limit of its own (the
/// function's timeout still applies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// The longest a whole stream may take, from the invocation on.
    pub total: Option<Duration>,
    /// The longest the body may go without data.
    pub idle: Option<Duration>,
}

/// How an invocation for a streaming front began.
pub(crate) enum Started {
    /// The prelude (without its NUL bytes) and the body after it.
    Stream {
        /// The prelude's JSON.
        prelude: Vec<u8>,
        /// The body.
        body: Chunks,
    },
    /// The function answered with a buffered payload.
    Payload(Bytes),
    /// The function's stream ended before its prelude's end.
    NoPrelude,
    /// The invocation failed before the prelude's end.
    Failed(InvokeError),
    /// The front's limit came before the prelude's end.
    OverLimit,
}

/// The end of a streamed response's prelude.
pub(crate) const PRELUDE_END: &[u8; 8] = &[0; 8];

/// How many chunks wait for a slow client before the function's writes wait.
const CHUNKS: usize = 16;

/// Invokes `function` with `event` for a streaming front and waits for the
/// prelude. A client that hangs up later does not stop the function.
pub(crate) async fn start(function: Arc<Function>, event: Bytes, limits: Limits) -> Started {
    let until = limits.total.map(|total| (total, Instant::now() + total));
    let (sink, mut chunks) = mpsc::channel(CHUNKS);
    let mut invocation = tokio::spawn(async move { function.invoke_streaming(event, sink).await });
    let mut head = Vec::new();
    loop {
        let received = match until {
            Some((_, at)) => match tokio::time::timeout_at(at, chunks.recv()).await {
                Ok(received) => received,
                Err(_) => return Started::OverLimit,
            },
            None => chunks.recv().await,
        };
        let Some(chunk) = received else { break };
        head.extend_from_slice(&chunk);
        // Found by scanning: the delimiter may span chunks.
        if let Some(at) = head
            .windows(PRELUDE_END.len())
            .position(|w| w == PRELUDE_END)
        {
            let rest = Bytes::from(head.split_off(at + PRELUDE_END.len()));
            head.truncate(at);
            let body = Chunks {
                first: (!rest.is_empty()).then_some(rest),
                rest: chunks,
                invocation: Some(invocation),
                until: until.map(|(total, at)| (total, Box::pin(tokio::time::sleep_until(at)))),
                idle: limits
                    .idle
                    .map(|idle| (idle, Box::pin(tokio::time::sleep(idle)))),
            };
            return Started::Stream {
                prelude: head,
                body,
            };
        }
    }
    match (&mut invocation).await {
        Ok(Ok(Answer::Payload(payload))) => Started::Payload(payload),
        Ok(Ok(Answer::Streamed)) => Started::NoPrelude,
        Ok(Err(error)) => Started::Failed(error),
        Err(_) => Started::Failed(InvokeError::Crashed("the invocation stopped".into())),
    }
}

/// A streamed response's body: the bytes after the prelude, then the
/// chunks as the function writes them; at the end, the invocation's
/// outcome decides whether the body ends cleanly or in error.
pub(crate) struct Chunks {
    first: Option<Bytes>,
    rest: mpsc::Receiver<Bytes>,
    invocation: Option<JoinHandle<Result<Answer, InvokeError>>>,
    until: Option<(Duration, Pin<Box<Sleep>>)>,
    idle: Option<(Duration, Pin<Box<Sleep>>)>,
}

type Polled = Poll<Option<Result<Frame<Bytes>, StreamCut>>>;

impl Chunks {
    /// A limit that ran out, if one did.
    fn over(&mut self, cx: &mut Context<'_>) -> Option<StreamCut> {
        if let Some((total, sleep)) = &mut self.until
            && sleep.as_mut().poll(cx).is_ready()
        {
            return Some(StreamCut::Limit(*total));
        }
        if let Some((idle, sleep)) = &mut self.idle
            && sleep.as_mut().poll(cx).is_ready()
        {
            return Some(StreamCut::Idle(*idle));
        }
        None
    }

    /// How the invocation ended, once its stream did.
    fn outcome(&mut self, cx: &mut Context<'_>) -> Polled {
        let Some(invocation) = &mut self.invocation else {
            return Poll::Ready(None);
        };
        let ended = ready!(Pin::new(invocation).poll(cx));
        self.invocation = None;
        Poll::Ready(match ended {
            Ok(Ok(_)) => None,
            Ok(Err(error)) => Some(Err(StreamCut::Function(error))),
            Err(_) => Some(Err(StreamCut::Function(InvokeError::Crashed(
                "the invocation stopped".into(),
            )))),
        })
    }
}

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = StreamCut;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        if self.invocation.is_some()
            && let Some(cut) = self.over(cx)
        {
            tracing::warn!(%cut, "the front cut a response stream");
            // Dropping the invocation's handle leaves the function running,
            // as a front that gave up does.
            self.invocation = None;
            return Poll::Ready(Some(Err(cut)));
        }
        match self.rest.poll_recv(cx) {
            Poll::Ready(Some(chunk)) => {
                if let Some((idle, sleep)) = &mut self.idle {
                    sleep.as_mut().reset(Instant::now() + *idle);
                }
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Poll::Ready(None) => self.outcome(cx),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt as _;

    use super::*;

    /// A body fed by hand: its chunks' sender, and the invocation's outcome
    /// to give when the chunks end.
    fn chunks(
        limits: Limits,
        outcome: Result<Answer, InvokeError>,
    ) -> (
        mpsc::Sender<Bytes>,
        tokio::sync::oneshot::Sender<()>,
        Chunks,
    ) {
        let (sink, rest) = mpsc::channel(4);
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let invocation = tokio::spawn(async move {
            let _ = finished.await;
            outcome
        });
        let body = Chunks {
            first: Some(Bytes::from_static(b"first")),
            rest,
            invocation: Some(invocation),
            until: limits
                .total
                .map(|total| (total, Box::pin(tokio::time::sleep(total)))),
            idle: limits
                .idle
                .map(|idle| (idle, Box::pin(tokio::time::sleep(idle)))),
        };
        (sink, finish, body)
    }

    async fn next(body: &mut Chunks) -> Option<Result<Bytes, String>> {
        let frame = body.frame().await?;
        Some(
            frame
                .map(|f| f.into_data().unwrap_or_default())
                .map_err(|e| e.to_string()),
        )
    }

    #[tokio::test]
    async fn a_stream_ends_cleanly_or_in_error_as_its_invocation_did() {
        let (sink, finish, mut body) = chunks(Limits::default(), Ok(Answer::Streamed));
        assert_eq!(
            next(&mut body).await,
            Some(Ok(Bytes::from_static(b"first")))
        );
        sink.send(Bytes::from_static(b"more")).await.unwrap();
        assert_eq!(next(&mut body).await, Some(Ok(Bytes::from_static(b"more"))));
        drop(sink);
        let _ = finish.send(());
        assert_eq!(next(&mut body).await, None, "a finished stream ends");

        let failed = InvokeError::Errored {
            error_type: "Runtime.DeadlineExceeded".into(),
            message: "out of time".into(),
        };
        let (sink, finish, mut body) = chunks(Limits::default(), Err(failed));
        next(&mut body).await;
        drop(sink);
        let _ = finish.send(());
        let end = next(&mut body).await.unwrap().unwrap_err();
        assert!(end.contains("Runtime.DeadlineExceeded"), "{end}");
    }

    #[tokio::test]
    async fn the_fronts_limits_cut_a_stream() {
        let limits = Limits {
            total: Some(Duration::from_millis(1_000)),
            idle: Some(Duration::from_millis(400)),
        };
        // Data every 100 ms keeps it going until the total limit.
        let (sink, _finish, mut body) = chunks(limits, Ok(Answer::Streamed));
        next(&mut body).await;
        let started = Instant::now();
        let feeder = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if sink.send(Bytes::from_static(b"tick")).await.is_err() {
                    break;
                }
            }
        });
        let mut ticks = 0;
        let end = loop {
            match next(&mut body).await.unwrap() {
                Ok(_) => ticks += 1,
                Err(end) => break end,
            }
        };
        assert!(ticks >= 3, "{ticks} chunks before the limit");
        assert!(end.contains("limit of 1s"), "{end}");
        assert!(started.elapsed() >= Duration::from_millis(900));
        feeder.abort();

        // Nothing for 400 ms: the idle limit.
        let (_sink, _finish, mut body) = chunks(limits, Ok(Answer::Streamed));
        next(&mut body).await;
        let end = next(&mut body).await.unwrap().unwrap_err();
        assert!(end.contains("nothing for 400ms"), "{end}");
    }
}
