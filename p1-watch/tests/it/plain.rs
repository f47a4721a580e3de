//! One plain line a second when stdout is no terminal.

use std::process::Command;
use std::time::Duration;

use p1_testkit::Proc;

use crate::live_fixture;

#[test]
fn a_pipe_gets_one_plain_line_a_second_and_the_end_of_input_ends_it_regression_25() {
    let mut watch =
        Proc::spawn(Command::new(env!("CARGO_BIN_EXE_p1-watch")).args(["--stale-after", "4"]));
    watch.write(&std::fs::read(live_fixture()).expect("the fixture"));
    let line = watch.wait_stdout("net", Duration::from_secs(10));
    assert!(
        line.starts_with("14:03:10  net -1.987 kW  L1 -1.234  L2 +0.111  L3 -0.642  quarter 1.250 kW, projected 2.750, budget 3.200, headroom 0.410, month peak 3.456  price -0.0120 EUR/kWh  boiler on  car off  ("),
        "{line}"
    );
    let stale = watch.wait_stdout("STALE", Duration::from_secs(10));
    assert!(
        stale.starts_with("14:03:10  STALE: no reading for"),
        "{stale}"
    );
    watch.close_stdin();
    assert_eq!(watch.wait(Duration::from_secs(10)).code(), Some(0));
}
