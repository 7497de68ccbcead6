//! `mcp-local`: the stdio MCP server. Parses flags, sets up logging on stderr,
//! and hands off to the library.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tracing_subscriber::EnvFilter;

/// A stdio MCP server with the project's tools (word_count, demo_echo).
///
/// Start it from an MCP client (Claude Desktop, Claude Code, VS Code, the
/// MCP Inspector): it reads newline-delimited JSON-RPC on stdin and writes
/// replies on stdout. Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=debug)
/// for more. It serves protocol revisions 2024-11-05 to 2026-07-28.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Args {
    /// Longest accepted message in bytes; longer lines get an error reply.
    #[arg(long, default_value_t = mcp_local::DEFAULT_MAX_LINE_BYTES as u64, value_parser = clap::value_parser!(u64).range(64..=1 << 30))]
    max_line_bytes: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_ansi(false)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcp-local: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let config = mcp_local::Config {
        max_line_bytes: usize::try_from(args.max_line_bytes).unwrap_or(usize::MAX),
        ..mcp_local::Config::default()
    };
    let settings = mcp_settings::FunctionSettings::from_env()?;
    let server = mcp_local::server(&settings)?;
    exit_cleanly_on_signals()?;
    tracing::info!(tools = server.tools().len(), "serving MCP on stdio");
    mcp_local::serve(
        &server,
        io::BufReader::new(io::stdin()),
        io::stdout(),
        &config,
    )?;
    tracing::info!("end of input: shutting down");
    Ok(())
}

/// SIGTERM and SIGINT end the server with exit 0, but never in the middle of
/// a reply: holding the stdout lock waits for a line being written.
fn exit_cleanly_on_signals() -> anyhow::Result<()> {
    let mut signals = Signals::new([SIGTERM, SIGINT])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let mut stdout = io::stdout().lock();
                let _ = stdout.flush();
                tracing::info!(signal, "signal received: shutting down");
                std::process::exit(0);
            }
        })?;
    Ok(())
}
