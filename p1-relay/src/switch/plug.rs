//! A smart plug over HTTP (Shelly Gen1 and Gen2+, Tasmota). ON carries an auto-off timer
//! and is re-sent while on, so the plug switches itself off if p1-relay (or the Pi) dies.

use std::time::Duration;

use super::{Switch, SwitchError};

#[derive(Debug, Clone, Copy)]
pub(crate) enum Plug {
    Shelly { id: u8, generation: u8 },
    Tasmota { relay: u8 },
}

/// A smart plug over HTTP.
pub(crate) struct HttpSwitch {
    base: String,
    plug: Plug,
    auto_off: Duration,
    agent: ureq::Agent,
}

impl HttpSwitch {
    pub(crate) fn new(url: &str, plug: Plug, auto_off: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        HttpSwitch {
            base: url.trim_end_matches('/').to_string(),
            plug,
            auto_off: auto_off.max(Duration::from_secs(2)),
            agent,
        }
    }

    fn url(&self, on: bool) -> String {
        let secs = self.auto_off.as_secs();
        match (self.plug, on) {
            (Plug::Shelly { id, generation: 1 }, true) => {
                format!("{}/relay/{id}?turn=on&timer={secs}", self.base)
            }
            (Plug::Shelly { id, generation: 1 }, false) => {
                format!("{}/relay/{id}?turn=off", self.base)
            }
            (Plug::Shelly { id, .. }, true) => format!(
                "{}/rpc/Switch.Set?id={id}&on=true&toggle_after={secs}",
                self.base
            ),
            (Plug::Shelly { id, .. }, false) => {
                format!("{}/rpc/Switch.Set?id={id}&on=false", self.base)
            }
            (Plug::Tasmota { relay }, true) => {
                // PulseTime: 1-111 are tenths of a second, 112 and up are seconds + 100.
                let pulse = if secs <= 11 { secs * 10 } else { secs + 100 };
                format!(
                    "{}/cm?cmnd=Backlog%20PulseTime{relay}%20{pulse}%3BPower{relay}%20On",
                    self.base
                )
            }
            (Plug::Tasmota { relay }, false) => format!("{}/cm?cmnd=Power{relay}%20Off", self.base),
        }
    }
}

impl Switch for HttpSwitch {
    fn set(&mut self, on: bool) -> Result<(), SwitchError> {
        let url = self.url(on);
        match self.agent.get(&url).call() {
            Ok(_) => Ok(()),
            Err(source) => Err(SwitchError::Http {
                url,
                source: Box::new(source),
            }),
        }
    }

    fn refresh_every(&self) -> Option<Duration> {
        Some(self.auto_off / 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plug(plug: Plug, secs: u64) -> HttpSwitch {
        HttpSwitch::new("http://plug/", plug, Duration::from_secs(secs))
    }

    #[test]
    fn plug_urls() {
        let s = plug(
            Plug::Shelly {
                id: 0,
                generation: 1,
            },
            180,
        );
        assert_eq!(s.url(true), "http://plug/relay/0?turn=on&timer=180");
        assert_eq!(s.url(false), "http://plug/relay/0?turn=off");
        let s = plug(
            Plug::Shelly {
                id: 1,
                generation: 2,
            },
            180,
        );
        assert_eq!(
            s.url(true),
            "http://plug/rpc/Switch.Set?id=1&on=true&toggle_after=180"
        );
        assert_eq!(s.url(false), "http://plug/rpc/Switch.Set?id=1&on=false");
        let s = plug(Plug::Tasmota { relay: 1 }, 180);
        assert_eq!(
            s.url(true),
            "http://plug/cm?cmnd=Backlog%20PulseTime1%20280%3BPower1%20On"
        );
        assert_eq!(s.url(false), "http://plug/cm?cmnd=Power1%20Off");
        let s = plug(Plug::Tasmota { relay: 2 }, 10);
        assert_eq!(
            s.url(true),
            "http://plug/cm?cmnd=Backlog%20PulseTime2%20100%3BPower2%20On"
        );
    }
}
