//! The mDNS advertisement of the HomeWizard API: `_hwenergy._tcp` with the TXT keys its
//! clients read (api_enabled, path, serial, product_name, product_type).

use log::{info, warn};
use std::net::{IpAddr, SocketAddr};

use mdns_sd::{IfKind, ServiceDaemon, ServiceInfo};

pub(crate) const SERVICE: &str = "_hwenergy._tcp.local.";

/// The TXT properties of the service.
pub(crate) fn properties(serial: &str) -> [(&'static str, String); 5] {
    [
        ("api_enabled", "1".to_string()),
        ("path", "/api/v1".to_string()),
        ("serial", serial.to_string()),
        ("product_name", "P1 meter".to_string()),
        ("product_type", "HWE-P1".to_string()),
    ]
}

/// Where the advertisement goes, for the address listened on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Nowhere: only this host reaches a loopback address.
    Nowhere,
    /// Every interface's addresses (listening on 0.0.0.0 or ::).
    Everywhere,
    /// That address alone, on its interface.
    Only(IpAddr),
}

impl Reach {
    pub(crate) fn of(listening: SocketAddr) -> Reach {
        match listening.ip() {
            ip if ip.is_loopback() => Reach::Nowhere,
            ip if ip.is_unspecified() => Reach::Everywhere,
            ip => Reach::Only(ip),
        }
    }
}

/// Advertises the API at `listening`, on the addresses it listens on; `None` (said) when
/// mDNS cannot run here or no other host could reach it.
pub(crate) fn advertise(listening: SocketAddr, serial: &str) -> Option<ServiceDaemon> {
    let reach = Reach::of(listening);
    if reach == Reach::Nowhere {
        info!("mDNS: not advertised: {listening} is reached from this host only");
        return None;
    }
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "p1-serve".into());
    let instance = format!("p1meter-{}", &serial[serial.len().saturating_sub(6)..]);
    let port = listening.port();
    let daemon = ServiceDaemon::new()
        .map_err(|e| warn!("mDNS: not advertised: {e}"))
        .ok()?;
    let address = match reach {
        Reach::Only(ip) => {
            let _ = daemon.disable_interface(IfKind::All);
            let _ = daemon.enable_interface(IfKind::Addr(ip));
            ip.to_string()
        }
        _ => String::new(),
    };
    let info = ServiceInfo::new(
        SERVICE,
        &instance,
        &format!("{host}.local."),
        address.as_str(),
        port,
        &properties(serial)[..],
    )
    .map(|info| {
        if reach == Reach::Everywhere {
            info.enable_addr_auto()
        } else {
            info
        }
    })
    .map_err(|e| warn!("mDNS: not advertised: {e}"))
    .ok()?;
    match daemon.register(info) {
        Ok(()) => {
            info!("mDNS: advertising {instance}.{SERVICE} on {listening}");
            Some(daemon)
        }
        Err(e) => {
            warn!("mDNS: not advertised: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 23 (16): listening on 127.0.0.1 only, p1-serve advertised itself to the
    /// network; it advertises only the addresses it listens on.
    #[test]
    fn only_the_addresses_listened_on_are_advertised_regression_23() {
        let reach = |a: &str| Reach::of(a.parse().expect("address"));
        assert_eq!(reach("127.0.0.1:80"), Reach::Nowhere);
        assert_eq!(reach("[::1]:80"), Reach::Nowhere);
        assert_eq!(reach("0.0.0.0:80"), Reach::Everywhere);
        assert_eq!(reach("[::]:80"), Reach::Everywhere);
        assert_eq!(
            reach("192.168.1.20:8080"),
            Reach::Only("192.168.1.20".parse().expect("ip"))
        );
    }
}
