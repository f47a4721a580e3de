//! The mDNS advertisement of the HomeWizard API: `_hwenergy._tcp` with the TXT keys its
//! clients read (api_enabled, path, serial, product_name, product_type).

use log::{info, warn};
use mdns_sd::{ServiceDaemon, ServiceInfo};

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

/// Advertises the API on `port`; `None` (said) when mDNS cannot run here.
pub(crate) fn advertise(port: u16, serial: &str) -> Option<ServiceDaemon> {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "p1-serve".into());
    let instance = format!("p1meter-{}", &serial[serial.len().saturating_sub(6)..]);
    let daemon = ServiceDaemon::new()
        .map_err(|e| warn!("mDNS: not advertised: {e}"))
        .ok()?;
    let info = ServiceInfo::new(
        SERVICE,
        &instance,
        &format!("{host}.local."),
        "",
        port,
        &properties(serial)[..],
    )
    .map(ServiceInfo::enable_addr_auto)
    .map_err(|e| warn!("mDNS: not advertised: {e}"))
    .ok()?;
    match daemon.register(info) {
        Ok(()) => {
            info!("mDNS: advertising {instance}.{SERVICE} on port {port}");
            Some(daemon)
        }
        Err(e) => {
            warn!("mDNS: not advertised: {e}");
            None
        }
    }
}
