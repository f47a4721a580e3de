//! The Debian package (issue 24): the amd64 one, made by `scripts/package`, installed with
//! dpkg on a fresh minimal Debian (debootstrap's, made once by `scripts/lib/debian-root`)
//! and the pipeline run from the installed paths as the user the package made; and
//! p1-parse cross-built for the Pi's arm64 and armhf, run under qemu-user-static, reading
//! the corpus byte for byte as this machine's build does.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::binaries;
use p1_testkit::{TempDir, skip_unless_root, skip_without};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The fresh Debian `scripts/lib/debian-root` keeps in the user's cache, if it is there.
fn debian_root() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let root = cache.join("p1/debian-bookworm-minbase");
    root.with_extension("ready").exists().then_some(root)
}

/// The amd64 package of the binaries under test, made by `scripts/package` from the test
/// build (stripped by cargo-deb) into `dir`.
fn package(dir: &TempDir) -> PathBuf {
    binaries();
    let made = p1_testkit::run_with(
        Command::new(workspace().join("scripts/package"))
            .arg("x86_64-unknown-linux-gnu")
            .env("P1_PACKAGE_PROFILE", "dev")
            .env("P1_PACKAGE_OUT", dir.root()),
        b"",
        Duration::from_mins(5),
    );
    assert!(made.status.success(), "scripts/package: {}", made.stderr());
    p1_testkit::fs::children(dir.root(), "p1_")
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with("_amd64.deb"))
        .expect("the amd64 package")
}

#[test]
fn the_package_installs_on_a_fresh_debian_and_runs_from_its_paths_regression_24() {
    if skip_unless_root() || skip_without(&["chroot", "dpkg-deb"]) {
        return;
    }
    let Some(fresh) = debian_root() else {
        p1_testkit::tools::skip_for_want_of(
            "a fresh Debian made by scripts/lib/debian-root (scripts/test makes it)",
        );
        return;
    };
    let dir = TempDir::new("package");
    let deb = package(&dir);
    let root = dir.path("root");
    let script = format!(
        r#"set -e
cp -a '{fresh}' '{root}'
cp '{deb}' '{root}/tmp/p1.deb'
chroot '{root}' dpkg -i /tmp/p1.deb >/dev/null
printf 'P1_SOURCE=sim\nP1_READ_ARGS="--speed 0 --count 5"\nP1_RELAY_CONFIG=\nP1_INFLUX_ARGS="--print"\n' > '{root}/tmp/test.env'
echo "status: $(chroot '{root}' dpkg-query -W -f '${{Status}}' p1)"
echo "user: $(chroot '{root}' getent passwd p1 | cut -d: -f6,7)"
echo "state: $(chroot '{root}' stat -c '%U %a' /var/lib/p1)"
echo "env: $(chroot '{root}' stat -c '%G %a' /etc/p1/p1.env)"
echo "conffiles: $(chroot '{root}' dpkg-query -W -f '${{Conffiles}}' p1 | awk '{{print $1}}' | tr '\n' ' ')"
echo "unit: $(grep '^ExecStart=' '{root}/lib/systemd/system/p1.service')"
echo "enabled: $(ls '{root}/etc/systemd/system/multi-user.target.wants' 2>/dev/null | grep -c p1 || true)"
echo "man: $(ls '{root}/usr/share/man/man1' | grep -c '^p1-')"
chroot --userspec=p1:p1 '{root}' /usr/bin/p1-pipeline --env /tmp/test.env
"#,
        fresh = fresh.display(),
        root = root.display(),
        deb = deb.display(),
    );
    let ran = p1_testkit::run_with(
        Command::new("bash").arg("-c").arg(script),
        b"",
        Duration::from_mins(2),
    );
    let said = ran.stdout();
    assert!(ran.status.success(), "{said}\n{}", ran.stderr());
    for expected in [
        "status: install ok installed",
        "user: /nonexistent:/usr/sbin/nologin",
        "state: p1 750",
        "env: p1 640",
        "conffiles: /etc/p1/p1.env /etc/p1/relay.toml",
        "unit: ExecStart=/usr/bin/p1-pipeline",
        "enabled: 0",
        "man: 10",
    ] {
        assert!(said.contains(expected), "{expected:?} in:\n{said}");
    }
    assert_eq!(
        said.matches("p1,meter_id=").count(),
        5,
        "{said}\n{}",
        ran.stderr()
    );
    for binary in [
        "p1-read",
        "p1-parse",
        "p1-relay",
        "p1-mqtt",
        "p1-serve",
        "p1-report",
        "p1-watch",
        "p1-prices",
        "p1-influx",
    ] {
        let bytes = std::fs::read(root.join("usr/bin").join(binary)).expect(binary);
        let symbols = bytes.windows(7).any(|w| w == b".symtab");
        assert!(!symbols, "{binary} is not stripped");
    }
}

/// The Raspberry Pi's two targets: the triple, its linker and its qemu.
const PI_TARGETS: [(&str, &str, &str, &str); 2] = [
    (
        "aarch64-unknown-linux-gnu",
        "aarch64-linux-gnu-gcc",
        "qemu-aarch64-static",
        "/usr/aarch64-linux-gnu",
    ),
    (
        "armv7-unknown-linux-gnueabihf",
        "arm-linux-gnueabihf-gcc",
        "qemu-arm-static",
        "/usr/arm-linux-gnueabihf",
    ),
];

/// Whether rustup has the standard library of `triple` (it comes from rustup's own server,
/// which is not always reachable).
fn has_rust_target(triple: &str) -> bool {
    Command::new("rustc")
        .args(["--print", "target-libdir", "--target", triple])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .is_some_and(|dir| {
            dir.is_dir() && std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
        })
}

#[test]
fn p1_parse_for_the_pi_reads_the_corpus_byte_for_byte_as_amd64_regression_24() {
    let corpus: Vec<PathBuf> = {
        let mut files = p1_testkit::fs::children(&workspace().join("tests/fixtures/realworld"), "");
        files.retain(|f| f.extension().is_some_and(|e| e == "txt"));
        files.sort();
        files
    };
    assert!(corpus.len() >= 40, "the corpus: {corpus:?}");
    let here = p1_testkit::run(Command::new(binaries().join("p1-parse")).args(&corpus), b"");
    let readings = here.stdout();
    assert!(
        readings.matches("\"type\":\"reading\"").count() >= 40,
        "{}",
        here.stderr()
    );
    for (triple, linker, qemu, sysroot) in PI_TARGETS {
        if !has_rust_target(triple) {
            // Optional: rustup's server is not always reachable to add a target.
            eprintln!(
                "skipped {triple}: no Rust standard library for it (rustup target add {triple})"
            );
            continue;
        }
        if skip_without(&[linker, qemu]) {
            return;
        }
        let upper = triple.to_uppercase().replace('-', "_");
        let built = p1_testkit::run_with(
            Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args([
                    "build", "-q", "--locked", "-p", "p1-parse", "--target", triple,
                ])
                .env(format!("CARGO_TARGET_{upper}_LINKER"), linker)
                .current_dir(workspace()),
            b"",
            Duration::from_mins(8),
        );
        assert!(built.status.success(), "{triple}: {}", built.stderr());
        let binary = workspace()
            .join("target")
            .join(triple)
            .join("debug/p1-parse");
        let there = p1_testkit::run_with(
            Command::new(qemu)
                .arg("-L")
                .arg(sysroot)
                .arg(&binary)
                .args(&corpus),
            b"",
            Duration::from_mins(2),
        );
        assert_eq!(there.code(), here.code(), "{triple}: {}", there.stderr());
        assert!(
            there.stdout() == readings,
            "{triple}: the readings differ from amd64's"
        );
    }
}
