//! Addresses as users type them, checked at start: a server's URL (scheme, host, port), and
//! a host and port to listen on, the host an address or a name. A mistake is a configuration
//! error naming the form expected, never a send that fails for ever.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};

/// A server's URL: one of the schemes allowed, a host, a port (given, or the scheme's), and
/// the path after them, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    /// The scheme, as allowed (`http`, `mqtts`...).
    pub scheme: &'static str,
    /// The host name or address (an IPv6 address without its brackets).
    pub host: String,
    /// The port.
    pub port: u16,
    /// What follows the port, `/` included; empty when nothing does.
    pub path: String,
}

/// A scheme a URL may have, and its port when the URL gives none.
pub type Scheme = (&'static str, u16);

/// `http` and `https`, for the HTTP servers p1 talks to.
pub const HTTP: &[Scheme] = &[("http", 80), ("https", 443)];

/// An address that is not of the form expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadAddress {
    /// The address as given.
    pub text: String,
    /// What is wrong with it.
    pub why: &'static str,
    /// The form expected, as a user would write it.
    pub expected: String,
}

impl fmt::Display for BadAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"{}\": {}; expected {}",
            self.text, self.why, self.expected
        )
    }
}

impl std::error::Error for BadAddress {}

impl ServerUrl {
    /// `text` as `SCHEME://HOST[:PORT][/PATH]`, its scheme one of `schemes`.
    pub fn parse(text: &str, schemes: &[Scheme]) -> Result<ServerUrl, BadAddress> {
        let bad = |why| BadAddress {
            text: text.to_string(),
            why,
            expected: schemes
                .iter()
                .map(|(scheme, _)| format!("{scheme}://HOST[:PORT]"))
                .collect::<Vec<_>>()
                .join(" or "),
        };
        let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let &(scheme, default_port) = schemes
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(scheme))
            .ok_or_else(|| bad("a scheme not taken here"))?;
        let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        if authority.contains('@') {
            return Err(bad("credentials in the URL (give them as a file)"));
        }
        let (host, port) = split_host_port(authority).ok_or_else(|| bad("a bad port"))?;
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:".contains(c))
        {
            return Err(bad("a host that is no name nor address"));
        }
        Ok(ServerUrl {
            scheme,
            host: host.to_string(),
            port: port.unwrap_or(default_port),
            path: path.to_string(),
        })
    }

    /// `scheme://host:port`, without the path (an IPv6 host in brackets).
    pub fn origin(&self) -> String {
        if self.host.contains(':') {
            format!("{}://[{}]:{}", self.scheme, self.host, self.port)
        } else {
            format!("{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

/// `HOST[:PORT]` (an IPv6 host in brackets): the host, and the port if one is given; `None`
/// when the port is not a number from 1 to 65535.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port {
        Some(port) => Some(port.parse::<u16>().ok().filter(|&p| p > 0)?),
        None => None,
    };
    Some((host, port))
}

/// The addresses of `HOST:PORT` to listen on, the host an address or a name that resolves
/// (`localhost:8080`, `0.0.0.0:80`, `[::1]:80`).
pub fn listen_addresses(text: &str) -> Result<Vec<SocketAddr>, BadAddress> {
    let bad = |why| BadAddress {
        text: text.to_string(),
        why,
        expected: "HOST:PORT (an address or a name, e.g. 0.0.0.0:80 or localhost:8080)".into(),
    };
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok(vec![address]);
    }
    match split_host_port(text) {
        Some((host, Some(_))) if !host.is_empty() => {}
        _ => return Err(bad("no host and port")),
    }
    let mut addresses: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|_| bad("a host name that does not resolve"))?
        .collect();
    addresses.sort();
    addresses.dedup();
    if addresses.is_empty() {
        return Err(bad("a host name that does not resolve"));
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Result<String, String> {
        ServerUrl::parse(text, HTTP)
            .map(|u| format!("{}{}", u.origin(), u.path))
            .map_err(|e| e.to_string())
    }

    /// Issue 23 (4): what was accepted and then failed on every send is refused at start,
    /// saying what is wrong and what is expected.
    #[test]
    fn a_server_url_needs_a_scheme_a_host_and_a_port_regression_23() {
        assert_eq!(
            url("http://127.0.0.1:8086"),
            Ok("http://127.0.0.1:8086".into())
        );
        assert_eq!(
            url("HTTPS://influx.lan/"),
            Ok("https://influx.lan:443/".into())
        );
        assert_eq!(
            url("http://[::1]:8086/x?y"),
            Ok("http://[::1]:8086/x?y".into())
        );
        assert_eq!(
            url("127.0.0.1:8086"),
            Err(
                "\"127.0.0.1:8086\": no scheme; expected http://HOST[:PORT] or https://HOST[:PORT]"
                    .into()
            )
        );
        for (text, why) in [
            ("192.168.1.50", "no scheme"),
            ("ftp://host", "a scheme not taken here"),
            ("http://:8086", "no host"),
            ("http://host:80a", "a bad port"),
            ("http://host:0", "a bad port"),
            ("http://host:65536", "a bad port"),
            (
                "http://user:pw@host",
                "credentials in the URL (give them as a file)",
            ),
            ("http://ho st", "a host that is no name nor address"),
        ] {
            assert!(
                url(text).is_err_and(|e| e.contains(why)),
                "{text}: {:?}",
                url(text)
            );
        }
    }

    /// Issue 23 (6): host names resolve, as users type them.
    #[test]
    fn a_listen_address_may_name_its_host_regression_23() {
        let local = listen_addresses("localhost:8080").expect("localhost resolves");
        assert!(
            local
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 8080),
            "{local:?}"
        );
        assert_eq!(
            listen_addresses("0.0.0.0:80"),
            Ok(vec!["0.0.0.0:80".parse().expect("address")])
        );
        assert_eq!(
            listen_addresses("[::1]:80"),
            Ok(vec!["[::1]:80".parse().expect("address")])
        );
        for text in [
            "localhost",
            ":80",
            "localhost:http",
            "no-such-host.invalid:80",
        ] {
            assert!(listen_addresses(text).is_err(), "{text}");
        }
    }
}
