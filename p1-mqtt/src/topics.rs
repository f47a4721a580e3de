//! The topics of one meter, under the prefix: `<prefix>/<meter_id>/...`.

/// A name made topic-safe (and id-safe for Home Assistant): letters, digits, `-` and `_`.
pub(crate) fn safe(name: &str) -> String {
    let text: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if text.is_empty() {
        "meter".to_string()
    } else {
        text
    }
}

/// One meter's topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Topics {
    base: String,
    meter_id: String,
}

impl Topics {
    pub(crate) fn new(prefix: &str, meter_id: &str) -> Self {
        let meter_id = safe(meter_id);
        Topics {
            base: format!("{prefix}/{meter_id}"),
            meter_id,
        }
    }

    pub(crate) fn meter_id(&self) -> &str {
        &self.meter_id
    }

    /// The id of the meter's device in Home Assistant.
    pub(crate) fn device_id(&self) -> String {
        format!("p1_{}", self.meter_id)
    }

    pub(crate) fn state(&self) -> String {
        format!("{}/state", self.base)
    }

    pub(crate) fn status(&self) -> String {
        format!("{}/status", self.base)
    }

    pub(crate) fn peak(&self) -> String {
        format!("{}/peak", self.base)
    }

    pub(crate) fn price(&self) -> String {
        format!("{}/price", self.base)
    }

    pub(crate) fn telegram(&self) -> String {
        format!("{}/telegram", self.base)
    }

    pub(crate) fn key(&self, key: &str) -> String {
        format!("{}/{key}", self.base)
    }

    pub(crate) fn mbus(&self, channel: u8) -> String {
        format!("{}/mbus/{channel}", self.base)
    }

    pub(crate) fn relay(&self, load: &str) -> String {
        format!("{}/relay/{}", self.base, safe(load))
    }

    pub(crate) fn relay_mode(&self, load: &str) -> String {
        format!("{}/mode", self.relay(load))
    }

    pub(crate) fn relay_set(&self, load: &str) -> String {
        format!("{}/set", self.relay(load))
    }

    /// Every load's command topic, to subscribe to.
    pub(crate) fn relay_set_filter(&self) -> String {
        format!("{}/relay/+/set", self.base)
    }

    /// The load a command topic is for (its topic-safe name).
    pub(crate) fn load_of_command<'t>(&self, topic: &'t str) -> Option<&'t str> {
        topic
            .strip_prefix(&self.base)?
            .strip_prefix("/relay/")?
            .strip_suffix("/set")
            .filter(|load| !load.contains('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_ids_become_topic_safe_and_commands_name_their_load() {
        let topics = Topics::new("p1", "1SAG 31/0+#");
        assert_eq!(topics.state(), "p1/1SAG_31_0__/state");
        assert_eq!(topics.relay("heat pump"), "p1/1SAG_31_0__/relay/heat_pump");
        assert_eq!(
            topics.load_of_command("p1/1SAG_31_0__/relay/heat_pump/set"),
            Some("heat_pump")
        );
        assert_eq!(topics.load_of_command("p1/other/relay/boiler/set"), None);
        assert_eq!(safe(""), "meter");
    }
}
