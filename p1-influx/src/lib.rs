//! p1-influx: NDJSON records (p1-parse's readings, p1-relay's events) into InfluxDB 1.x, 2.x
//! or 3.x. The stdin side never waits on the network: records go to an on-disk spool, and a
//! sender thread posts it, so a slow or absent database neither stalls the pipeline nor loses
//! a point.

pub mod line_protocol;
pub mod sender;
pub mod spool;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::time::Duration;

use clap::Parser;
use log::{info, warn};
use p1_common::input::{Line, spawn_stdin_lines};
use p1_common::output::RecordWriter;
use p1_common::record::Record;
use p1_common::signals::Signals;
use p1_common::{Error, logger};

use crate::line_protocol::{Schema, TimeSource};
use crate::sender::{Api, Sender, Target, base64, encode_query};
use crate::spool::Spool;

const PROG: &str = "p1-influx";

/// Write readings and relay events to InfluxDB 1.x, 2.x or 3.x, never blocking, never losing.
///
/// Reads NDJSON records on stdin and appends them, as line protocol, to an on-disk spool; a
/// sender posts the spool in gzip batches (up to --batch-lines lines, or every --flush
/// seconds) and deletes each part only once the server took it. A restart sends what is left
/// first. At the end of input everything is sent before exiting (a bulk import); SIGTERM
/// sends for --drain seconds and leaves the rest in the spool. Secrets come from files or the
/// environment only.
#[derive(Debug, Parser)]
#[command(name = PROG, version, after_long_help = after_help())]
pub struct Cli {
    /// The server, http or https (certificates verified), e.g. http://127.0.0.1:8086.
    #[arg(long, required_unless_present = "print")]
    pub url: Option<String>,
    /// InfluxDB 1.x database (or 3.x database, with a token).
    #[arg(long)]
    pub db: Option<String>,
    /// InfluxDB 1.x retention policy.
    #[arg(long)]
    pub rp: Option<String>,
    /// InfluxDB 1.x user (password from --password-file or INFLUX_PASSWORD).
    #[arg(long)]
    pub user: Option<String>,
    /// InfluxDB 2.x organisation.
    #[arg(long)]
    pub org: Option<String>,
    /// InfluxDB 2.x bucket.
    #[arg(long)]
    pub bucket: Option<String>,
    /// Which write API, when the flags alone do not say: --org/--bucket mean v2, --db with a
    /// token v3, --db without one v1.
    #[arg(long)]
    pub api: Option<Api>,
    /// A file holding the API token (else INFLUX_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// A file holding the 1.x password (else INFLUX_PASSWORD).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Measurement of the readings (M-Bus and relay points get _mbus and _relay added).
    #[arg(long, default_value = "p1")]
    pub measurement: String,
    /// A tag for every point, KEY=VALUE (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Only these reading keys become fields (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "KEYS")]
    pub fields: Option<Vec<String>>,
    /// These reading keys do not (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "KEYS")]
    pub exclude: Vec<String>,
    /// Timestamp of a reading's point.
    #[arg(long, value_enum, default_value = "meter")]
    pub time_source: TimeSource,
    /// Write the line protocol to stdout instead of sending it.
    #[arg(long)]
    pub print: bool,
    /// The spool (default: $STATE_DIRECTORY, else $XDG_STATE_HOME/p1-influx, else
    /// ~/.local/state/p1-influx).
    #[arg(long, value_name = "DIR")]
    pub spool_dir: Option<PathBuf>,
    /// The spool's bound; past it the oldest data goes (e.g. 512M, 2G).
    #[arg(long, value_name = "SIZE", default_value = "512M", value_parser = parse_size)]
    pub spool_max: u64,
    /// Lines per batch.
    #[arg(long, default_value_t = 5000)]
    pub batch_lines: usize,
    /// Send what has come at least this often, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub flush: u64,
    /// Timeout of each request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// On SIGTERM, keep sending for this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub drain: u64,
    /// Errors only.
    #[arg(short, long)]
    pub quiet: bool,
    /// More detail on stderr.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The long help after the options; also part of p1(5). The integer fields come from the
/// reading's field declarations.
pub fn after_help() -> String {
    let integers = p1_common::field::integer_field_names::<p1_common::reading::Reading>();
    let mut list = String::new();
    let mut width = 12;
    for (i, name) in integers.iter().enumerate() {
        let sep = if i + 1 == integers.len() { "" } else { "," };
        if width + name.len() + 2 > 90 {
            list.push_str("\n            ");
            width = 12;
        } else if i > 0 {
            list.push(' ');
        }
        list.push_str(name);
        list.push_str(sep);
        width += name.len() + 2;
    }
    AFTER_HELP.replace("{integers}", &list)
}

const AFTER_HELP: &str = "\
SCHEMA
  p1        one point per reading, tag meter_id, every numeric reading key a field of a type
            fixed for ever (InfluxDB rejects a type that changes): every meter quantity
            float, counts and states integer:
            {integers}
  p1_mbus   per M-Bus device at its own timestamp: tags channel, kind, id, meter_id;
            fields value (float), valve (integer)
  p1_relay  per relay event: tag load; fields on (0 or 1, integer), reason (string)
  Timestamps in seconds; --tag adds tags to every point.

  Example (InfluxQL): the quarter-hour average import, as the capacity tariff counts it:
    SELECT mean(\"power_import_kw\") FROM \"p1\" WHERE time > now() - 1d GROUP BY time(15m)

DELIVERY
  204: done. 400/422 partial write: the rejected lines are logged and dropped (2.x, which
  rejects whole batches, is bisected to find them). 413: the batch is split. 429/503: wait
  Retry-After. 401, 403, 404, others and no answer: the data stays in the spool, retried
  with backoff; what to fix is logged once a minute.

EXIT STATUS
  0   end of input with everything sent, or SIGTERM (the rest stays in the spool)
  1   runtime failure (e.g. the spool cannot be written)
  2   usage error
  78  configuration error (secret file unreadable, API not determined)
";

fn parse_tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("'{text}' is not KEY=VALUE")),
    }
}

/// `512M`, `2G`, `100k`, or bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("'{text}' is not a size like 512M or 2G");
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number.parse().map_err(|_| bad())?;
    let factor = match unit
        .trim_end_matches(['B', 'b'])
        .to_ascii_uppercase()
        .as_str()
    {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(factor).ok_or_else(bad)
}

fn secret(file: Option<&PathBuf>, variable: &str) -> Result<Option<String>, Error> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        return Ok(Some(text.trim().to_string()));
    }
    Ok(std::env::var(variable).ok().filter(|v| !v.is_empty()))
}

/// The write endpoint and credentials from the flags.
pub fn target(cli: &Cli) -> Result<Target, Error> {
    let url = cli.url.as_deref().unwrap_or_default().trim_end_matches('/');
    let token = secret(cli.token_file.as_ref(), "INFLUX_TOKEN")?;
    let password = secret(cli.password_file.as_ref(), "INFLUX_PASSWORD")?;
    let api = match cli.api {
        Some(api) => api,
        None if cli.org.is_some() || cli.bucket.is_some() => Api::V2,
        None if cli.db.is_some() && token.is_some() && cli.user.is_none() => Api::V3,
        None if cli.db.is_some() => Api::V1,
        None => {
            return Err(Error::Config(
                "say where to write: --db (1.x, 3.x) or --org and --bucket (2.x)".into(),
            ));
        }
    };
    let need = |value: &Option<String>, flag: &str| {
        value
            .as_deref()
            .map(encode_query)
            .ok_or_else(|| Error::Config(format!("--api {api:?} needs {flag}").to_lowercase()))
    };
    let (url, authorization) = match api {
        Api::V1 => {
            let mut url = format!("{url}/write?db={}&precision=s", need(&cli.db, "--db")?);
            if let Some(rp) = &cli.rp {
                url.push_str(&format!("&rp={}", encode_query(rp)));
            }
            let auth = match (&cli.user, &password, &token) {
                (Some(user), Some(password), _) => Some(format!(
                    "Basic {}",
                    base64(format!("{user}:{password}").as_bytes())
                )),
                (Some(_), None, _) => {
                    return Err(Error::Config(
                        "--user needs a password: --password-file or INFLUX_PASSWORD".into(),
                    ));
                }
                (None, _, Some(token)) => Some(format!("Token {token}")),
                (None, _, None) => None,
            };
            (url, auth)
        }
        Api::V2 => (
            format!(
                "{url}/api/v2/write?org={}&bucket={}&precision=s",
                need(&cli.org, "--org")?,
                need(&cli.bucket, "--bucket")?
            ),
            token.map(|t| format!("Token {t}")),
        ),
        Api::V3 => (
            format!(
                "{url}/api/v3/write_lp?db={}&precision=second",
                need(&cli.db, "--db")?
            ),
            token.map(|t| format!("Bearer {t}")),
        ),
    };
    Ok(Target {
        api,
        url,
        authorization,
    })
}

fn default_spool_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("STATE_DIRECTORY").filter(|d| !d.is_empty()) {
        // systemd may pass several, colon-separated: the first is ours.
        let first = dir
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        return PathBuf::from(first);
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("p1-influx");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/state/p1-influx"),
        None => PathBuf::from("/var/lib/p1-influx"),
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::init(PROG, logger::level(cli.quiet, cli.verbose));
    p1_common::exit_code(PROG, run(&cli))
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Converts one input line; warns (with its number) about lines with nothing to write.
struct Converter {
    schema: Schema,
    line_number: u64,
    skipped: u64,
    buf: String,
}

impl Converter {
    fn convert(&mut self, text: &str) -> usize {
        self.line_number += 1;
        self.buf.clear();
        let text = text.trim();
        if text.is_empty() {
            return 0;
        }
        let result = Record::from_json(text)
            .map_err(|e| e.to_string())
            .and_then(|record| {
                self.schema
                    .record(&record, now_secs(), &mut self.buf)
                    .map_err(|e| e.to_string())
            });
        match result {
            Ok(n) => n,
            Err(why) => {
                self.skipped += 1;
                if self.skipped <= 10 || self.skipped.is_power_of_two() {
                    warn!(
                        "stdin: line {}: {why}: skipped ({} so far)",
                        self.line_number, self.skipped
                    );
                }
                0
            }
        }
    }
}

pub fn run(cli: &Cli) -> Result<(), Error> {
    let schema = Schema::new(
        &cli.measurement,
        &cli.tags,
        cli.fields.clone(),
        cli.exclude.clone(),
        cli.time_source,
    );
    let mut converter = Converter {
        schema,
        line_number: 0,
        skipped: 0,
        buf: String::with_capacity(4096),
    };
    if cli.print {
        return print(&mut converter);
    }
    let target = target(cli)?;
    let signals = Signals::install()?;
    let dir = cli.spool_dir.clone().unwrap_or_else(default_spool_dir);
    let mut spool = Spool::open(
        &dir,
        cli.spool_max,
        cli.batch_lines,
        Duration::from_secs(cli.flush),
    )
    .map_err(Error::Failure)?;
    let input_done = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let (wake, woken) = mpsc::channel();
    let mut sender = Sender::new(
        target.clone(),
        dir.clone(),
        Duration::from_secs(cli.timeout),
        Arc::clone(&input_done),
        Arc::clone(&stop),
        Duration::from_secs(cli.drain),
        woken,
    );
    info!(
        "writing to {} through the spool {}",
        target.url,
        dir.display()
    );
    let sending = std::thread::spawn(move || {
        sender.run();
        sender.sent_lines
    });
    let lines = spawn_stdin_lines(1 << 20, 1024);
    let spool_error = |e: std::io::Error| Error::io(format!("spool {}", dir.display()), e);
    // A line taken while looking whether more input is waiting.
    let mut pending: Option<Line> = None;
    let ended_by = loop {
        if signals.stop_requested() {
            break "stop requested";
        }
        let line = match pending.take() {
            Some(line) => Some(line),
            None => match lines.recv_timeout(Duration::from_millis(500)) {
                Ok(line) => Some(line),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break "end of input",
            },
        };
        match line {
            Some(Line::Text(text)) => {
                let n = converter.convert(&text);
                if n > 0 {
                    spool.append(&converter.buf, n).map_err(spool_error)?;
                }
                match lines.try_recv() {
                    Ok(next) => pending = Some(next),
                    // Idle input: hand the data to the kernel so a crash cannot lose it.
                    Err(TryRecvError::Empty) => spool.flush().map_err(spool_error)?,
                    Err(TryRecvError::Disconnected) => {}
                }
            }
            Some(Line::End) => break "end of input",
            Some(Line::Failed(e)) => return Err(Error::io("stdin", e)),
            None => {}
        }
        if spool.seal_if_old().map_err(spool_error)? {
            let _ = wake.send(());
        }
    };
    spool.seal().map_err(spool_error)?;
    if ended_by == "stop requested" {
        stop.store(true, Ordering::Relaxed);
    }
    input_done.store(true, Ordering::Release);
    let _ = wake.send(());
    // A second SIGTERM while draining stops at once.
    let sent = loop {
        if sending.is_finished() {
            break sending.join().unwrap_or(0);
        }
        if signals.stop_requested() {
            stop.store(true, Ordering::Relaxed);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let left = spool::sealed_segments(&dir).map(|s| s.len()).unwrap_or(0);
    info!(
        "{ended_by}: {} lines read, {sent} points sent, {} skipped, {} dropped (spool full){}",
        converter.line_number,
        converter.skipped,
        spool.dropped_lines,
        if left > 0 {
            format!("; {left} batches left in the spool for the next run")
        } else {
            String::new()
        }
    );
    Ok(())
}

/// `--print`: line protocol to stdout, one record at a time.
fn print(converter: &mut Converter) -> Result<(), Error> {
    let mut out = RecordWriter::stdout();
    let lines = spawn_stdin_lines(1 << 20, 1024);
    loop {
        match lines.recv() {
            Ok(Line::Text(text)) => {
                if converter.convert(&text) > 0 {
                    out.write_raw(converter.buf.as_bytes())?;
                }
            }
            Ok(Line::Failed(e)) => return Err(Error::io("stdin", e)),
            Ok(Line::End) | Err(_) => return Ok(()),
        }
    }
}
