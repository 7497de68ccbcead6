//! The floor the Lambda benchmark compares against: `lambda_http` answering
//! every request with a constant, nothing else.

use lambda_http::{Body, Error, Request, Response, service_fn};

fn main() -> Result<(), Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(lambda_http::run(service_fn(|_: Request| async {
            Ok::<_, Error>(Response::new(Body::Text(r#"{"echo":"hello"}"#.into())))
        })))
}
