//! The raw telegram fan-out (`--raw-listen`): a plain TCP server, as ser2net gives. Each
//! client gets every CRC-valid telegram, byte for byte, from the next one on, through a
//! queue and a writer thread of its own; a client whose queue is full (it does not read) is
//! dropped, so it slows neither the others nor the pipeline.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use log::{debug, info};

/// Telegrams a client may be behind before it is dropped (about 1 MB; they are shared, so
/// that is the memory of all the queues together, not of each).
const BACKLOG: usize = 1024;

/// A client's socket send buffer: a few dozen telegrams.
const SEND_BUFFER: usize = 64 * 1024;

/// The clients' queues.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fanout {
    clients: Arc<Mutex<Vec<SyncSender<Arc<str>>>>>,
}

impl Fanout {
    /// Listens on `address` for at most `max_clients` clients at once.
    pub(crate) fn start(addresses: &[SocketAddr], max_clients: usize) -> std::io::Result<Fanout> {
        let listener = TcpListener::bind(addresses)?;
        let fanout = Fanout::default();
        let clients = Arc::clone(&fanout.clients);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let mut list = clients
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if list.len() >= max_clients {
                    debug!("raw: {max_clients} clients already: one refused");
                    continue;
                }
                let (queue, telegrams) = mpsc::sync_channel(BACKLOG);
                let peer = stream
                    .peer_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                let spawned = std::thread::Builder::new()
                    .stack_size(128 * 1024)
                    .spawn(move || write_to(stream, &telegrams));
                if spawned.is_ok() {
                    list.push(queue);
                    debug!("raw: {peer} connected ({} clients)", list.len());
                }
            }
        });
        Ok(fanout)
    }

    /// Queues a telegram for every client; drops the ones that are too far behind or gone.
    pub(crate) fn publish(&self, telegram: &str) {
        let mut list = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if list.is_empty() {
            return;
        }
        let telegram: Arc<str> = Arc::from(telegram);
        let before = list.len();
        list.retain(|client| client.try_send(Arc::clone(&telegram)).is_ok());
        if list.len() < before {
            info!(
                "raw: {} client(s) dropped: too slow, or gone",
                before - list.len()
            );
        }
    }
}

fn write_to(mut stream: TcpStream, telegrams: &Receiver<Arc<str>>) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_nodelay(true);
    let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER);
    for telegram in telegrams {
        if stream.write_all(telegram.as_bytes()).is_err() {
            break;
        }
    }
    debug!("raw: {peer} gone");
}
