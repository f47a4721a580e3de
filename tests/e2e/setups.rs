//! The ways of running p1 without systemd that the README offers, started by Debian's own
//! daemons from the files in `scripts/`, word for word (issue 24): cron's `@reboot` line and
//! supervisord's program, each running the pipeline as the system user `p1`, which has no
//! home directory (as `scripts/install` makes it).
//!
//! Each daemon runs in a mount and PID namespace of its own (so root only), where
//! `/etc/passwd` knows `p1`, `/usr/local/bin` holds the binaries under test and `/etc/p1`,
//! `/var/lib/p1`, `/var/log`, `/etc/cron.d` and `/etc/supervisor/conf.d` are the test's
//! directories; nothing outside changes but the empty mount points `/etc/p1` and
//! `/var/lib/p1`, made where they are missing. The namespace ends with its first process.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::binaries;
use p1_testkit::{Proc, TempDir, free_port, skip_unless_root, skip_without, wait_within};

/// The uid and gid the test gives the user `p1`.
const P1_UID: u32 = 4242;
const WAIT: Duration = Duration::from_secs(30);

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts")
}

/// The test's root of the namespace: the binaries, the user database with `p1` in it, the
/// pipeline's settings (the simulated meter, a load, the HTTP API on `port`) and its state
/// directory.
fn sandbox(dir: &TempDir, port: u16) {
    let bin = dir.path("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let built = binaries();
    for stage in ["read", "parse", "relay", "mqtt", "serve", "influx"] {
        let name = format!("p1-{stage}");
        std::os::unix::fs::symlink(built.join(&name), bin.join(&name)).expect("link");
    }
    std::fs::copy(scripts().join("p1-pipeline"), bin.join("p1-pipeline")).expect("p1-pipeline");
    for (file, line) in [
        (
            "passwd",
            format!("p1:x:{P1_UID}:{P1_UID}::/home/p1:/usr/sbin/nologin\n"),
        ),
        ("group", format!("p1:x:{P1_UID}:\n")),
        ("shadow", "p1:!*:20000::::::\n".to_string()),
    ] {
        let mut text = std::fs::read_to_string(Path::new("/etc").join(file)).expect(file);
        text.push_str(&line);
        std::fs::write(dir.path(file), text).expect(file);
    }
    let etc = dir.path("etc-p1");
    std::fs::create_dir_all(&etc).expect("etc");
    std::fs::write(
        etc.join("p1.env"),
        format!(
            "P1_SOURCE=sim\nP1_RELAY_CONFIG=/etc/p1/relay.toml\n\
             P1_SERVE_ARGS=\"--listen 127.0.0.1:{port} --no-mdns\"\n"
        ),
    )
    .expect("p1.env");
    // A load that goes on at the first reading, so that p1-relay writes its state file.
    std::fs::write(
        etc.join("relay.toml"),
        "state_file = \"/var/lib/p1/relay-state.json\"\nsettle = \"0s\"\nstartup_grace = \"0s\"\n\
         [[load]]\nname = \"boiler\"\npower_kw = 2.0\non_export_kw = 0.0\noff_import_kw = 100.0\n\
         on_delay = \"1s\"\n[load.switch]\ntype = \"dry-run\"\n",
    )
    .expect("relay.toml");
    for dir in [&dir.root().to_path_buf(), &bin, &etc] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("mode");
    }
    for state in ["state", "log"] {
        std::fs::create_dir_all(dir.path(state)).expect("state");
        std::os::unix::fs::chown(dir.path(state), Some(P1_UID), Some(P1_UID)).expect("chown");
    }
}

/// Starts `daemon` (a shell command) in a namespace of its own, after the mounts that make
/// the sandbox in `dir` the system it sees; `extra` are more `mount --bind FROM TO` pairs.
fn start_in_namespace(dir: &TempDir, extra: &[(PathBuf, &str)], daemon: &str) -> Proc {
    let mut mounts = vec![
        (dir.path("passwd"), "/etc/passwd"),
        (dir.path("group"), "/etc/group"),
        (dir.path("shadow"), "/etc/shadow"),
        (dir.path("bin"), "/usr/local/bin"),
        (dir.path("etc-p1"), "/etc/p1"),
        (dir.path("state"), "/var/lib/p1"),
    ];
    mounts.extend(extra.iter().cloned());
    let mut script = String::from("set -e\nmount -t tmpfs tmpfs /run\n");
    for (from, to) in &mounts {
        script.push_str(&format!(
            "[ -e {to} ] || mkdir -p {to}\nmount --bind '{}' {to}\n",
            from.display()
        ));
    }
    script.push_str(&format!("exec {daemon}\n"));
    std::fs::write(dir.path("namespace.sh"), script).expect("script");
    Proc::spawn(
        Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "--pid",
                "--mount-proc",
            ])
            .arg("--kill-child")
            .arg("bash")
            .arg(dir.path("namespace.sh")),
    )
}

/// Waits for the HTTP API of the pipeline on `port` to serve a reading; what the daemon's
/// `logs` in `dir` say is shown if it does not come.
fn wait_for_a_reading(dir: &TempDir, logs: &[&str], port: u16, daemon: &mut Proc) {
    let served = || {
        p1_testkit::http::get(port, "/api/v1/data")
            .is_some_and(|body| body.contains("\"active_power_w\""))
    };
    let deadline = std::time::Instant::now() + WAIT;
    while !served() && daemon.group_alive() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    if !served() {
        let said: Vec<String> = logs
            .iter()
            .map(|log| {
                format!(
                    "{log}:\n{}",
                    std::fs::read_to_string(dir.path(log)).unwrap_or_default()
                )
            })
            .collect();
        panic!("no reading over HTTP within {WAIT:?}\n{}", said.join("\n"));
    }
}

/// A directory `into` of the sandbox holding the shipped `scripts/FILE` as `name`, word for
/// word, for a daemon's configuration directory.
fn shipped_into(dir: &TempDir, into: &str, file: &str, name: &str) -> PathBuf {
    let target = dir.path(into);
    std::fs::create_dir_all(&target).expect(into);
    std::fs::copy(scripts().join(file), target.join(name)).expect(file);
    target
}

/// Waits for p1-relay's state file, and says who wrote it.
fn state_file_owner(dir: &TempDir) -> u32 {
    let file = dir.path("state").join("relay-state.json");
    wait_within("p1-relay's state file", WAIT, || file.exists());
    std::fs::metadata(&file).expect("state file").uid()
}

#[test]
fn debians_cron_starts_the_shipped_line_as_p1_without_a_home_regression_24() {
    if skip_unless_root() || skip_without(&["cron", "unshare"]) {
        return;
    }
    let dir = TempDir::new("setup-cron");
    let port = free_port();
    sandbox(&dir, port);
    let crontabs = shipped_into(&dir, "cron.d", "cron/p1", "p1");
    let mut cron = start_in_namespace(&dir, &[(crontabs, "/etc/cron.d")], "cron -f -L 15");
    wait_for_a_reading(&dir, &["state/p1.log"], port, &mut cron);
    assert_eq!(state_file_owner(&dir), P1_UID, "the job runs as p1");
    // The line appends what the stages say to its log, as p1.
    let log = dir.path("state").join("p1.log");
    let text = std::fs::read_to_string(&log).expect("the job's log");
    assert!(text.contains("p1-serve: serving on"), "{text}");
    assert_eq!(std::fs::metadata(&log).expect("log").uid(), P1_UID);
}

#[test]
fn debians_supervisord_starts_and_stops_the_shipped_program_regression_24() {
    if skip_unless_root() || skip_without(&["supervisord", "supervisorctl", "unshare"]) {
        return;
    }
    let dir = TempDir::new("setup-supervisor");
    let port = free_port();
    sandbox(&dir, port);
    let programs = shipped_into(&dir, "conf.d", "supervisor/p1.conf", "p1.conf");
    let socket = dir.path("supervisor.sock");
    let config = dir.path("supervisord.conf");
    std::fs::write(
        &config,
        format!(
            "[supervisord]\nnodaemon=true\nuser=root\nlogfile={root}/supervisord.log\n\
             pidfile={root}/supervisord.pid\n[unix_http_server]\nfile={sock}\n\
             [rpcinterface:supervisor]\n\
             supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
             [supervisorctl]\nserverurl=unix://{sock}\n\
             [include]\nfiles = /etc/supervisor/conf.d/*.conf\n",
            root = dir.root().display(),
            sock = socket.display()
        ),
    )
    .expect("supervisord.conf");
    let mut supervisord = start_in_namespace(
        &dir,
        &[
            (programs, "/etc/supervisor/conf.d"),
            (dir.path("log"), "/var/log"),
        ],
        &format!("supervisord -c '{}'", config.display()),
    );
    wait_for_a_reading(
        &dir,
        &["supervisord.log", "log/p1.log"],
        port,
        &mut supervisord,
    );
    assert_eq!(state_file_owner(&dir), P1_UID, "the program runs as p1");
    let log = std::fs::read_to_string(dir.path("log").join("p1.log")).expect("the program's log");
    assert!(log.contains("p1-serve: serving on"), "{log}");

    // A stop goes to p1-pipeline, which stops the stream from its head: the load goes off.
    let stop = p1_testkit::run_with(
        Command::new("supervisorctl")
            .arg("-c")
            .arg(&config)
            .args(["stop", "p1"]),
        b"",
        WAIT,
    );
    assert!(stop.stdout().contains("p1: stopped"), "{stop:?}");
    let log = std::fs::read_to_string(dir.path("log").join("p1.log")).expect("the program's log");
    assert!(
        log.contains("boiler: off"),
        "the load went off at the stop: {log}"
    );
    assert!(
        p1_testkit::http::get(port, "/api/v1/data").is_none(),
        "nothing serves after the stop"
    );
}
