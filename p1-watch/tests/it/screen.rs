//! The full screen in an 80x24 tmux pane.

use std::path::PathBuf;
use std::time::Duration;

use p1_testkit::skip_without;
use p1_testkit::tmux::Tmux;

use crate::live_fixture;

const WAIT: Duration = Duration::from_secs(15);

/// p1-watch in a pane, reading the fixture then an input that stays open (bash's process
/// substitution: the shell does not wait for it once p1-watch is gone); its process id is
/// written to `dir/pid`, its status to `dir/status` when it ends (the pane then stays,
/// showing the shell's screen).
fn watch(dir: &std::path::Path, env: &[(&str, &str)]) -> Tmux {
    let command = format!(
        "bash -c '{} --stale-after 5s < <(cat {}; exec sleep 60) & echo $! > {dir}/pid; \
         wait $!; echo $? > {dir}/status; exec sleep 60'",
        env!("CARGO_BIN_EXE_p1-watch"),
        live_fixture().display(),
        dir = dir.display()
    );
    Tmux::start(&command, (80, 24), env)
}

fn keep(name: &str, screen: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).expect("target/screenshots");
    std::fs::write(dir.join(name), screen).expect("the screen kept");
}

#[test]
fn the_screen_shows_the_records_then_stale_and_q_restores_the_terminal_regression_25() {
    if skip_without(&["tmux"]) {
        return;
    }
    let dir = p1_testkit::TempDir::new("p1-watch");
    let status = dir.path("status");
    let tmux = watch(dir.root(), &[]);
    // The gas line comes last in a frame: once it shows, the whole frame is drawn.
    let screen = tmux.wait_for("read 13:55:00", WAIT);
    keep("p1-watch.txt", &screen);
    let rows: Vec<&str> = screen.lines().map(str::trim_end).collect();
    for expected in [
        "p1-watch  2026-12-07 14:03:10",
        "net    -1.987 kW   import 0.000 kW   export 1.987 kW",
        "L1        0.000      1.234    231.4     5.3",
        "L2        0.111      0.000    229.9     0.6",
        "L3        0.000      0.642    232.0     2.8",
        " Quarter hour from 14:00:00",
        "average 1.250 kW   projected 2.750 kW   budget 3.200 kW",
        "headroom 0.410 kW   month's peak 3.456 kW   price -0.0120 EUR/kWh",
        "projected 86% of budget",
        "boiler           on   since 13:58:00  export 2.10 kW >= 2.00 kW for 60 s",
        "car              off  since 12:00:00  start",
        "gas           812.345 m3  read 13:55:00",
    ] {
        assert!(
            rows.iter().any(|r| r.contains(expected)),
            "{expected:?} not on\n{screen}"
        );
    }
    assert!(rows.len() <= 24 && rows.iter().all(|r| r.chars().count() <= 80));

    // No more records: past --stale-after the values make way for STALE.
    let stale = tmux.wait_for("STALE: no reading for", WAIT);
    keep("p1-watch-stale.txt", &stale);
    assert!(stale.contains("net     STALE kW"), "{stale}");
    assert!(!stale.contains("1.987"), "{stale}");

    tmux.send_keys("q");
    p1_testkit::wait_until("p1-watch to end", || status.exists());
    let code = std::fs::read_to_string(&status).unwrap_or_default();
    assert_eq!(code.trim(), "0");
    // The alternate screen is left: the pane shows the shell's screen again.
    let after = tmux.screen();
    assert!(!after.contains("Quarter hour"), "{after}");
}

#[test]
fn no_colour_when_no_color_is_set_regression_25() {
    if skip_without(&["tmux"]) {
        return;
    }
    let (a, b) = (
        p1_testkit::TempDir::new("p1-watch-colour"),
        p1_testkit::TempDir::new("p1-watch-bare"),
    );
    let coloured = watch(a.root(), &[]);
    coloured.wait_for("read 13:55:00", WAIT);
    let plain = watch(b.root(), &[("NO_COLOR", "1")]);
    plain.wait_for("read 13:55:00", WAIT);
    // SGR colour sequences: 30-37 and 90-97 foreground, 38;5 and 38;2 extended.
    let colours = |text: &str| {
        text.split('\u{1b}')
            .filter(|s| {
                s.strip_prefix('[').is_some_and(|sgr| {
                    sgr.split(['m', ';'])
                        .next()
                        .is_some_and(|code| matches!(code.parse::<u8>(), Ok(30..=38 | 90..=97)))
                })
            })
            .count()
    };
    assert!(
        colours(&coloured.screen_with_escapes()) > 0,
        "the boiler on in green, net in green"
    );
    let bare = plain.screen_with_escapes();
    assert_eq!(colours(&bare), 0, "{bare:?}");
    assert!(bare.contains("boiler"));
}

#[test]
fn a_terminal_that_goes_away_ends_it_regression_25() {
    if skip_without(&["tmux"]) {
        return;
    }
    let dir = p1_testkit::TempDir::new("p1-watch-hangup");
    let tmux = watch(dir.root(), &[]);
    tmux.wait_for("read 13:55:00", WAIT);
    let pid = std::fs::read_to_string(dir.path("pid")).expect("the pid");
    let proc = PathBuf::from(format!("/proc/{}", pid.trim()));
    assert!(proc.exists());
    // The window closes: tmux and its terminals are gone, the process must follow.
    drop(tmux);
    p1_testkit::wait_until("p1-watch to end with its terminal", || !proc.exists());
}
