//! The edge of p1-influx: its command line, and the settings the rest of the crate sees.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use p1_common::runtime::address::{HTTP, ServerUrl};
use p1_common::runtime::cli::{Exits, LogArgs};
use p1_common::runtime::duration;
use p1_common::{Error, Kind};

use crate::line_protocol::{Schema, TimeSource};
use crate::sender::{Api, Delivery, Target, base64, encode_query};
use crate::spool::{SpoolDirs, SpoolSettings};

pub(crate) const PROG: &str = "p1-influx";

/// Write readings and relay events to InfluxDB 1.x, 2.x or 3.x, never blocking, never losing.
///
/// Reads NDJSON records on stdin and appends them, as line protocol, to an on-disk spool; a
/// sender posts the spool in gzip batches (up to --batch-lines lines, or every --flush
/// seconds) and deletes each part only once the server took it. A restart sends what is left
/// first. At the end of input everything is sent before exiting (a bulk import); SIGTERM
/// sends for --drain seconds and leaves the rest in the spool. Secrets come from files or the
/// environment only.
#[derive(Debug, Parser)]
#[command(name = PROG, version, after_long_help = EXITS.after(AFTER_HELP))]
pub struct Cli {
    /// The server, http or https (certificates verified), e.g. <http://127.0.0.1:8086>.
    #[arg(long, required_unless_present = "print")]
    pub(crate) url: Option<String>,
    /// InfluxDB 1.x database (or 3.x database, with a token).
    #[arg(long)]
    pub(crate) db: Option<String>,
    /// InfluxDB 1.x retention policy.
    #[arg(long)]
    pub(crate) rp: Option<String>,
    /// InfluxDB 1.x user (password from --password-file or INFLUX_PASSWORD).
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// InfluxDB 2.x organisation.
    #[arg(long)]
    pub(crate) org: Option<String>,
    /// InfluxDB 2.x bucket.
    #[arg(long)]
    pub(crate) bucket: Option<String>,
    /// Which write API, when the flags alone do not say: --org/--bucket mean v2, --db with a
    /// token v3, --db without one v1.
    #[arg(long, value_parser = PossibleValuesParser::new(Api::NAMES.iter().copied()).try_map(|s| s.parse::<Api>()))]
    pub(crate) api: Option<Api>,
    /// A file holding the API token (else INFLUX_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,
    /// A file holding the 1.x password (else INFLUX_PASSWORD).
    #[arg(long, value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,
    /// Measurement of the readings (M-Bus and relay points get _mbus and _relay added).
    #[arg(long, default_value = "p1")]
    pub(crate) measurement: String,
    /// A tag for every point, KEY=VALUE (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub(crate) tags: Vec<(String, String)>,
    /// Only these reading keys become fields (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "KEYS")]
    pub(crate) fields: Option<Vec<String>>,
    /// These reading keys do not (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "KEYS")]
    pub(crate) exclude: Vec<String>,
    /// Timestamp of a reading's point: meter (the meter's time, else received, else now),
    /// received (when p1-read received the telegram, else now), now (when p1-influx read it).
    #[arg(long, default_value = "meter",
          value_parser = PossibleValuesParser::new(TimeSource::NAMES.iter().copied()).try_map(|s| s.parse::<TimeSource>()))]
    pub(crate) time_source: TimeSource,
    /// Write the line protocol to stdout instead of sending it.
    #[arg(long)]
    pub(crate) print: bool,
    /// The spool (default: $STATE_DIRECTORY, else $XDG_STATE_HOME/p1-influx, else
    /// ~/.local/state/p1-influx). Each database (URL and name) has a directory of its own in
    /// it: what was spooled for one is never sent to another.
    #[arg(long, value_name = "DIR")]
    pub(crate) spool_dir: Option<PathBuf>,
    /// Where the spool is kept while the database keeps up: a directory in memory (a tmpfs),
    /// so that an SD card is not written every few seconds; none for the disk only
    /// (default: $RUNTIME_DIRECTORY, else $XDG_RUNTIME_DIR/p1-influx, else
    /// /dev/shm/p1-influx-UID, a directory of this user's own, else none).
    #[arg(long, value_name = "DIR|none")]
    pub(crate) spool_hot: Option<PathBuf>,
    /// What is in the spool on disk is fsynced this long after it was read, at
    /// the latest: the most a power cut loses while the database is unreachable.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration::arg)]
    pub(crate) sync: Duration,
    /// The spool's bound; past it the oldest data goes (e.g. 512M, 2G).
    #[arg(long, value_name = "SIZE", default_value = "512M", value_parser = parse_size)]
    pub(crate) spool_max: u64,
    /// Lines per batch.
    #[arg(long, default_value_t = 5000)]
    pub(crate) batch_lines: usize,
    /// Send what has come at least this often.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration::arg)]
    pub(crate) flush: Duration,
    /// Timeout of each request.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration::arg)]
    pub(crate) timeout: Duration,
    /// On SIGTERM, keep sending for this long.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration::arg)]
    pub(crate) drain: Duration,
    #[command(flatten)]
    pub(crate) log: LogArgs,
}

/// How p1-influx ends.
const EXITS: Exits = Exits {
    success: "end of input with everything sent, or SIGTERM (the rest stays in the spool)",
    failures: &[
        (Kind::Failure, "e.g. the spool cannot be written"),
        (
            Kind::Config,
            "a secret file unreadable, the API not determined",
        ),
    ],
};

/// The long help after the options; also part of p1(5). The integer fields come from the
/// reading's field declarations.
pub fn after_help() -> String {
    let integers =
        p1_common::contract::field::integer_field_names::<p1_common::contract::reading::Reading>();
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
    format!(
        "{}\n{}",
        AFTER_HELP.replace("{integers}", &list),
        EXITS.help()
    )
}

const AFTER_HELP: &str = "\
SCHEMA
  p1        one point per reading, tag meter_id, every numeric reading key a field of a type
            fixed for ever (InfluxDB rejects a type that changes): every meter quantity
            float, counts and states integer:
            {integers}
  p1_mbus   per M-Bus device at its own timestamp: tags channel, kind, id, meter_id;
            fields value (float), valve (integer)
  p1_relay  per relay event: tag load; fields on (0 or 1, integer), reason (string),
            price (float, when a price rule switched the load)
  p1_peak   per peak record of p1-relay: fields elapsed_s (integer), average_kw,
            projected_kw, month_peak_kw, budget_kw, headroom_kw, allowed_kw (float)
  p1_price  per price record of p1-relay --prices, at the slot's start: field value
            (EUR a kWh, float)
  Timestamps in seconds; --tag adds tags to every point.

  Example (InfluxQL): the quarter-hour average import, as the capacity tariff counts it:
    SELECT mean(\"power_import_kw\") FROM \"p1\" WHERE time > now() - 1d GROUP BY time(15m)

DELIVERY
  204: done. 400/422 partial write: the rejected lines are logged and dropped (2.x, which
  rejects whole batches, is bisected to find them). 413: the batch is split. 429/503: wait
  Retry-After. 401, 403, 404, others and no answer: the data stays in the spool, retried
  with backoff; what to fix is logged once a minute.

EXAMPLES
  ... | p1-influx --url http://127.0.0.1:8086 --db p1                        InfluxDB 1.x
  ... | p1-influx --url http://127.0.0.1:8086 --org home --bucket p1 --token-file /etc/p1/influx.token
  p1-parse capture.txt | p1-influx --url http://db:8086 --db p1             a bulk import
  ... | p1-influx --print                                                  line protocol out

SEE ALSO
  p1-parse(1), p1-relay(1), p1-pipeline(1), p1(5)
";

fn parse_tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("'{text}' is not KEY=VALUE")),
    }
}

/// `512M`, `2G`, `100k`, or bytes.
fn parse_size(text: &str) -> Result<u64, String> {
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
        return Ok(Some(p1_common::runtime::secret::read(path)?));
    }
    Ok(std::env::var(variable).ok().filter(|v| !v.is_empty()))
}

/// The write endpoint and credentials from the flags.
fn target(cli: &Cli) -> Result<Target, Error> {
    let given = cli.url.as_deref().unwrap_or_default();
    let checked = ServerUrl::parse(given, HTTP).map_err(|e| Error::config(format!("--url {e}")))?;
    if checked.path.contains(['?', '#']) {
        return Err(Error::config(format!(
            "--url \"{given}\": a query or fragment; expected http://HOST[:PORT][/PATH]"
        )));
    }
    let url = given.trim_end_matches('/');
    let token = secret(cli.token_file.as_ref(), "INFLUX_TOKEN")?;
    let password = secret(cli.password_file.as_ref(), "INFLUX_PASSWORD")?;
    let api = match cli.api {
        Some(api) => api,
        None if cli.org.is_some() || cli.bucket.is_some() => Api::V2,
        None if cli.db.is_some() && token.is_some() && cli.user.is_none() => Api::V3,
        None if cli.db.is_some() => Api::V1,
        None => {
            return Err(Error::config(
                "say where to write: --db (1.x, 3.x) or --org and --bucket (2.x)",
            ));
        }
    };
    let need = |value: &Option<String>, flag: &str| {
        value
            .as_deref()
            .map(encode_query)
            .ok_or_else(|| Error::config(format!("--api {api:?} needs {flag}").to_lowercase()))
    };
    let (url, authorization) = match api {
        Api::V1 => {
            let mut url = format!("{url}/write?db={}&precision=s", need(&cli.db, "--db")?);
            if let Some(rp) = &cli.rp {
                url = format!("{url}&rp={}", encode_query(rp));
            }
            let auth = match (&cli.user, &password, &token) {
                (Some(user), Some(password), _) => Some(format!(
                    "Basic {}",
                    base64(format!("{user}:{password}").as_bytes())
                )),
                (Some(_), None, _) => {
                    return Err(Error::config(
                        "--user needs a password: --password-file or INFLUX_PASSWORD",
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

/// The first directory of a systemd directory variable (it may hold several, colon-separated).
fn systemd_dir(variable: &str) -> Option<PathBuf> {
    let dirs = std::env::var_os(variable).filter(|d| !d.is_empty())?;
    let first = dirs.to_string_lossy().split(':').next()?.to_string();
    Some(PathBuf::from(first))
}

fn default_spool_dir() -> PathBuf {
    if let Some(dir) = systemd_dir("STATE_DIRECTORY") {
        return dir;
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("p1-influx");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/state/p1-influx"),
        None => PathBuf::from("/var/lib/p1-influx"),
    }
}

/// The spool's directories for the target named `target`: its own directory in the spool,
/// and in `--spool-hot`, or else one in the runtime directory (a tmpfs) named after the spool
/// on disk, so that two p1-influx with their own spools never share it.
fn spool_dirs(spool: &std::path::Path, hot: Option<PathBuf>, target: &str) -> SpoolDirs {
    let cold = spool.join(target);
    let hot = match hot {
        Some(dir) if dir.as_os_str() == "none" => None,
        Some(dir) => Some(dir.join(target)),
        None => systemd_dir("RUNTIME_DIRECTORY")
            .or_else(|| systemd_dir("XDG_RUNTIME_DIR").map(|d| d.join("p1-influx")))
            .or_else(|| own_dir_in(Path::new(SHARED_MEMORY)))
            .map(|base| base.join(format!("spool-{:016x}", fnv1a(&cold)))),
    };
    SpoolDirs { cold, hot }
}

/// The tmpfs every Raspberry Pi OS and Debian system has, for a process that was given no
/// runtime directory (cron, supervisord, a shell).
const SHARED_MEMORY: &str = "/dev/shm";

/// This user's own directory in `shared` (`p1-influx-UID`, made mode 0700), if `shared` is
/// a directory and the one found there belongs to this user and no other may write to it:
/// `/dev/shm` is writable by all, and a directory someone else made there is never used.
fn own_dir_in(shared: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let dir = shared.join(format!("p1-influx-{uid}"));
    if !shared.is_dir() {
        return None;
    }
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let found = std::fs::symlink_metadata(&dir).ok()?;
    let private = found.is_dir() && found.uid() == uid && found.mode() & 0o022 == 0;
    if !private {
        log::warn!(
            "{}: not this user's own directory: the spool stays on disk",
            dir.display()
        );
    }
    private.then_some(dir)
}

/// A short stable name for a spool on disk: FNV-1a of its absolute path.
fn fnv1a(path: &std::path::Path) -> u64 {
    use std::os::unix::ffi::OsStrExt as _;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    p1_common::runtime::id::fnv1a(absolute.as_os_str().as_bytes())
}

/// What p1-influx does, decided from the command line.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) schema: Schema,
    /// After SIGTERM: how long the input is still read, and the spool still sent.
    pub(crate) drain: Duration,
    pub(crate) output: Output,
}

/// Where points go, and how they are sent.
#[derive(Debug)]
pub(crate) struct Sending {
    pub(crate) spool: SpoolSettings,
    pub(crate) delivery: Delivery,
}

#[derive(Debug)]
pub(crate) enum Output {
    /// `--print`: line protocol to stdout.
    Print,
    Send(Box<Sending>),
}

impl Settings {
    /// The settings, with secrets read and the write API resolved.
    pub(crate) fn from_cli(cli: Cli) -> Result<Settings, Error> {
        let drain = cli.drain;
        let output = if cli.print {
            Output::Print
        } else {
            let target = target(&cli)?;
            let spool = cli.spool_dir.clone().unwrap_or_else(default_spool_dir);
            Output::Send(Box::new(Sending {
                spool: SpoolSettings {
                    dirs: spool_dirs(&spool, cli.spool_hot.clone(), &target.spool_name()),
                    max_bytes: cli.spool_max,
                    batch_lines: cli.batch_lines.max(1),
                    max_age: cli.flush,
                    sync: cli.sync,
                },
                delivery: Delivery {
                    target,
                    timeout: cli.timeout,
                    batch_age: cli.flush,
                    sync: cli.sync,
                    drain,
                },
            }))
        };
        Ok(Settings {
            drain,
            schema: Schema::new(
                &cli.measurement,
                &cli.tags,
                cli.fields,
                cli.exclude,
                cli.time_source,
            ),
            output,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn shared(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("p1-influx-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn without_a_runtime_directory_the_spool_takes_a_private_one_in_shared_memory_regression_24() {
        let dir = shared("own");
        let own = own_dir_in(&dir).expect("a directory of its own");
        assert!(own.starts_with(&dir));
        let mode = std::fs::metadata(&own).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert_eq!(
            own_dir_in(&dir),
            Some(own),
            "the same one at the next start"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_directory_others_may_write_to_is_not_used_regression_24() {
        let dir = shared("open");
        let own = own_dir_in(&dir).unwrap();
        std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(own_dir_in(&dir), None);
        assert_eq!(
            own_dir_in(&dir.join("missing")),
            None,
            "no tmpfs, no hot spool"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
