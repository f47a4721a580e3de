//! p1-read from a TCP source (ser2net, network dongles): a listener on 127.0.0.1.

use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

use crate::common::*;

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn a_dropped_connection_is_reopened_and_reading_goes_on() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("tcp://{}", listener.local_addr().expect("addr"));
    let mut reader = p1_read(&[&url]);
    let telegrams = sim_telegrams(5, 21);

    let mut conn = accept(&listener, WAIT);
    send(&mut conn, &telegrams[..3]);
    assert_eq!(telegrams_out(&mut reader, 3, WAIT), telegrams[..3]);
    drop(conn);
    reader.wait_stderr("connection closed; reopening with backoff", WAIT);

    let mut conn = accept(&listener, WAIT);
    reader.wait_stderr("open again after", WAIT);
    send(&mut conn, &telegrams[3..]);
    assert_eq!(telegrams_out(&mut reader, 2, WAIT), telegrams[3..]);
    assert_eq!(reader.terminate(WAIT).code(), Some(0));
}

#[test]
fn a_refused_connection_at_start_is_retried_until_the_server_is_up() {
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let mut reader = p1_read(&[&format!("tcp://127.0.0.1:{port}")]);
    reader.wait_stderr("retrying with backoff", WAIT);
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the same port");
    let mut conn = accept(&listener, WAIT);
    let telegram = &sim_telegrams(1, 2)[0];
    conn.write_all(telegram.as_bytes()).expect("write");
    let line = &reader.stdout_lines(1, WAIT)[0];
    assert_eq!(&telegram_of(line), telegram);
    let envelope: serde_json::Value = serde_json::from_str(line).expect("json");
    assert_eq!(envelope["source"], format!("tcp://127.0.0.1:{port}"));
    assert_eq!(reader.terminate(WAIT).code(), Some(0));
}
