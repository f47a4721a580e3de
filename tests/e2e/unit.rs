//! The systemd unit: valid for systemd, and exposing little (issue 11). Runs where
//! systemd-analyze is installed.

use std::path::Path;
use std::process::Command;

use p1_testkit::{TempDir, run, skip_without_optional};

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

#[test]
fn the_unit_verifies_and_its_exposure_is_at_most_2_regression_11() {
    if skip_without_optional("systemd-analyze") {
        return;
    }
    // A root with the unit, its command, and the system's own units it depends on.
    let dir = TempDir::new("unit");
    let root = dir.root();
    let unit = root.join("etc/systemd/system/p1.service");
    std::fs::create_dir_all(unit.parent().expect("dir")).expect("mkdir");
    std::fs::copy(repo("scripts/systemd/p1.service"), &unit).expect("unit");
    std::fs::create_dir_all(root.join("usr/local/bin")).expect("mkdir");
    std::fs::copy(
        repo("scripts/p1-pipeline"),
        root.join("usr/local/bin/p1-pipeline"),
    )
    .expect("copy");
    let system_units = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.join("sysinit.target").exists())
        .expect("the system's units");
    let target = root.join("usr/lib/systemd/system");
    std::fs::create_dir_all(&target).expect("mkdir");
    for entry in std::fs::read_dir(system_units)
        .expect("units")
        .filter_map(Result::ok)
    {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::copy(entry.path(), target.join(entry.file_name())).expect("copy unit");
        }
    }

    let verify = run(
        Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(format!("--root={}", root.display()))
            .arg(&unit),
        b"",
    );
    let complaints = String::from_utf8_lossy(&verify.stderr).into_owned();
    assert!(verify.status.success(), "{complaints}");
    assert!(!complaints.contains("p1.service"), "{complaints}");

    let security = run(
        Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(&unit),
        b"",
    );
    let report = String::from_utf8_lossy(&security.stdout).into_owned();
    let score: f64 = report
        .lines()
        .find_map(|l| l.split("Overall exposure level for p1.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no score in:\n{report}"));
    assert!(score <= 2.0, "exposure {score}:\n{report}");
}
