//! Home Assistant MQTT discovery: one device per meter and per M-Bus meter, and an entity
//! per key the meter sends, each with the device class, state class and unit Home
//! Assistant's energy dashboard accepts. Derived from the reading's field declarations: what
//! each field measures, in which unit.

use p1_common::contract::field::FieldTable as _;
use p1_common::contract::reading::{MbusDevice, MbusKind, Reading};
use p1_common::protocol::values::{Measure, Unit};
use serde_json::{Value, json};

use crate::topics::Topics;

/// What Home Assistant is told of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kind {
    pub(crate) device_class: Option<&'static str>,
    pub(crate) state_class: Option<&'static str>,
    pub(crate) unit: Option<&'static str>,
    /// The value is published in kilo-units and shown in base units (kW as W).
    pub(crate) times_1000: bool,
}

const fn kind(
    device_class: Option<&'static str>,
    state_class: &'static str,
    unit: Option<&'static str>,
    times_1000: bool,
) -> Kind {
    Kind {
        device_class,
        state_class: Some(state_class),
        unit,
        times_1000,
    }
}

/// The entity of a numeric key, from what its declaration says it measures.
pub(crate) fn kind_of(measure: Measure) -> Kind {
    const TOTAL: &str = "total_increasing";
    const NOW: &str = "measurement";
    match measure {
        Measure::Quantity(unit) => match unit {
            Unit::KWh => kind(Some("energy"), TOTAL, Some("kWh"), false),
            Unit::KVarh => kind(None, TOTAL, Some("kvarh"), false),
            Unit::KW => kind(Some("power"), NOW, Some("W"), true),
            Unit::KVar => kind(Some("reactive_power"), NOW, Some("var"), true),
            Unit::KVA => kind(Some("apparent_power"), NOW, Some("VA"), true),
            Unit::Volt => kind(Some("voltage"), NOW, Some("V"), false),
            Unit::Ampere => kind(Some("current"), NOW, Some("A"), false),
            Unit::Hertz => kind(Some("frequency"), NOW, Some("Hz"), false),
            Unit::Ratio => kind(Some("power_factor"), NOW, None, false),
        },
        Measure::Count => kind(None, TOTAL, None, false),
        // A state (the tariff, a breaker): shown as it is.
        Measure::Other => Kind {
            device_class: None,
            state_class: None,
            unit: None,
            times_1000: false,
        },
    }
}

/// The names of keys that the words of the key do not say well.
const NAMES: &[(&str, &str)] = &[
    ("demand_avg_kw", "Quarter-hour demand"),
    ("demand_max_month_kw", "Month's peak demand"),
    ("tariff", "Tariff"),
    ("breaker_state", "Breaker"),
    ("power_failures", "Power failures"),
    ("long_power_failures", "Long power failures"),
    ("ean", "EAN code"),
];

/// A readable name from a key: `energy_import_t1_kwh` is "Energy import tariff 1",
/// `voltage_l1_v` "Voltage phase 1", `demand_avg_kw` "Quarter-hour demand".
fn title(key: &str, measure: Measure) -> String {
    if let Some((_, name)) = NAMES.iter().find(|(k, _)| *k == key) {
        return (*name).to_string();
    }
    let stem = match measure {
        Measure::Quantity(unit) => key.strip_suffix(unit.key_suffix()).unwrap_or(key),
        Measure::Count | Measure::Other => key,
    };
    let words: Vec<String> = stem
        .split('_')
        .map(|word| match word.as_bytes() {
            [b't', n @ b'1'..=b'9'] => format!("tariff {}", char::from(*n)),
            [b'l', n @ b'1'..=b'3'] => format!("phase {}", char::from(*n)),
            [b'q', n @ b'1'..=b'4'] => format!("quadrant {}", char::from(*n)),
            _ => word.to_string(),
        })
        .collect();
    capitalized(&words.join(" "))
}

fn capitalized(text: &str) -> String {
    let mut text = text.to_string();
    if let Some(first) = text.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    text
}

/// Keys whose value is a setting of the meter, not a measurement: the limiter's and the
/// fuse's thresholds (999.9 kW, 999 A mean "no limit"), shown as diagnostics and kept out
/// of the long-term statistics.
fn is_setting(key: &str) -> bool {
    key.contains("threshold") || key.starts_with("current_limit")
}

/// How many decimals Home Assistant shows, by unit.
fn precision(unit: Option<&str>) -> Option<u32> {
    match unit? {
        "kWh" | "kvarh" | "m³" => Some(3),
        "W" | "var" | "VA" => Some(0),
        "V" | "A" | "Hz" => Some(1),
        _ => None,
    }
}

/// The meter's maker, from the three letters of its header (`/FLU5...`), as the DSMR
/// manufacturer flags have them.
const MAKERS: &[(&str, &str)] = &[
    ("FLU", "Fluvius"),
    ("ISK", "Iskraemeco"),
    ("KFM", "Kaifa"),
    ("XMX", "Xemex"),
    ("ENE", "Sagemcom"),
    ("SAG", "Sagemcom"),
    ("EST", "Sagemcom"),
    ("LGF", "Landis+Gyr"),
    ("LGB", "Landis+Gyr"),
    ("KMP", "Kamstrup"),
    ("ELL", "Elster"),
    ("ESY", "EasyMeter"),
    ("ADN", "Aidon"),
    ("AUX", "Aux"),
    ("MCS", "MCS"),
];

/// The manufacturer and the model from a telegram header (`FLU5\253769484_A`): the maker
/// by its flag, the model the identification after the baud-rate digit.
fn maker_and_model(header: &str) -> (String, String) {
    let header = header.trim_start_matches('/');
    if header.is_empty() {
        return ("unknown".into(), "P1 meter".into());
    }
    let flag = header.get(..3).unwrap_or(header);
    let maker = MAKERS
        .iter()
        .find(|(code, _)| code.eq_ignore_ascii_case(flag))
        .map_or_else(|| flag.to_string(), |(_, name)| (*name).to_string());
    let rest = header.get(4..).unwrap_or("");
    // `\2`: the mode of IEC 62056-21, not part of the model (`\XS210` is one).
    let rest = rest.strip_prefix('\\').unwrap_or(rest);
    let model = rest
        .strip_prefix(|c: char| c.is_ascii_digit())
        .filter(|_| header.get(4..5) == Some("\\"))
        .unwrap_or(rest)
        .trim();
    let model = if model.is_empty() { "P1 meter" } else { model };
    (maker, model.to_string())
}

/// One retained discovery message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub(crate) topic: String,
    pub(crate) payload: Value,
}

/// The value template of a key of the state JSON.
fn template(key: &str, kind: &Kind) -> String {
    if kind.times_1000 {
        format!("{{{{ (value_json.{key} * 1000) | round(1) }}}}")
    } else {
        format!("{{{{ value_json.{key} }}}}")
    }
}

fn entity(topics: &Topics, unique: &str, name: &str, device: &Value, kind: &Kind) -> Value {
    let mut entity = json!({
        "name": name,
        "unique_id": unique,
        "availability_topic": topics.status(),
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": device,
        "origin": {
            "name": "p1-mqtt",
            "sw_version": env!("CARGO_PKG_VERSION"),
        },
    });
    if let Some(class) = kind.device_class {
        entity["device_class"] = class.into();
    }
    if let Some(class) = kind.state_class {
        entity["state_class"] = class.into();
    }
    if let Some(unit) = kind.unit {
        entity["unit_of_measurement"] = unit.into();
    }
    if let Some(digits) = precision(kind.unit) {
        entity["suggested_display_precision"] = digits.into();
    }
    entity
}

/// The meter's device, from its first reading.
fn meter_device(topics: &Topics, reading: &Reading) -> Value {
    let (maker, model) = maker_and_model(reading.header.as_deref().unwrap_or(""));
    json!({
        "identifiers": [topics.device_id()],
        "name": format!("P1 meter {}", topics.meter_id()),
        "manufacturer": maker,
        "model": model,
        "serial_number": topics.meter_id(),
        "sw_version": concat!("p1-mqtt ", env!("CARGO_PKG_VERSION")),
    })
}

/// The meter's device, where its sensors are announced.
struct MeterDevice<'a> {
    topics: &'a Topics,
    prefix: &'a str,
    device: Value,
}

impl MeterDevice<'_> {
    /// A sensor of the meter, its value from the state topic through `template`.
    fn sensor(&self, key: &str, title: &str, kind: &Kind, template: &str) -> Config {
        let id = self.topics.device_id();
        let mut payload = entity(
            self.topics,
            &format!("{id}_{key}"),
            title,
            &self.device,
            kind,
        );
        payload["state_topic"] = self.topics.state().into();
        payload["value_template"] = template.into();
        Config {
            topic: format!("{}/sensor/{id}/{key}/config", self.prefix),
            payload,
        }
    }
}

/// Every discovery message for a meter's reading: a sensor per key it sends, the net grid
/// power, and a device per M-Bus meter.
pub(crate) fn for_reading(topics: &Topics, prefix: &str, reading: &Reading) -> Vec<Config> {
    let meter = MeterDevice {
        topics,
        prefix,
        device: meter_device(topics, reading),
    };
    let mut configs = Vec::new();
    for field in Reading::fields() {
        if (field.line_value)(reading).is_none() {
            continue;
        }
        let (key, measure) = (field.name, (field.measure)());
        let mut kind = kind_of(measure);
        if is_setting(key) {
            kind.state_class = None;
        }
        let template = match key {
            "breaker_state" => BREAKER_TEMPLATE.to_string(),
            "tariff" => "{{ value_json.tariff | string }}".to_string(),
            _ => template(key, &kind),
        };
        let mut config = meter.sensor(key, &title(key, measure), &kind, &template);
        if is_setting(key) {
            config.payload["entity_category"] = "diagnostic".into();
        }
        if key == "breaker_state" {
            config.payload["device_class"] = "enum".into();
            config.payload["options"] = json!(BREAKER_STATES);
        }
        if key == "demand_max_month_kw" {
            config.payload["json_attributes_topic"] = topics.state().into();
            config.payload["json_attributes_template"] =
                "{{ {'time': value_json.demand_max_month_time, 'history': value_json.demand_max_history} | tojson }}"
                    .into();
        }
        configs.push(config);
    }
    let energy = kind(Some("energy"), "total_increasing", Some("kWh"), false);
    for (direction, first) in [
        ("import", reading.energy_import_t1_kwh),
        ("export", reading.energy_export_t1_kwh),
    ] {
        if first.is_some() {
            configs.push(meter.sensor(
                &format!("energy_{direction}_kwh"),
                &format!("Energy {direction} total"),
                &energy,
                &total_template(direction),
            ));
        }
    }
    if reading.power_import_kw.is_some() && reading.power_export_kw.is_some() {
        configs.push(meter.sensor(
            "power_net_w",
            "Net grid power",
            &kind(Some("power"), "measurement", Some("W"), false),
            "{{ ((value_json.power_import_kw - value_json.power_export_kw) * 1000) | round(1) }}",
        ));
    }
    for mbus in &reading.mbus {
        configs.extend(for_mbus(topics, prefix, mbus));
    }
    configs
}

/// The breaker's states, as DSMR numbers them (0, 1, 2).
const BREAKER_STATES: [&str; 3] = ["disconnected", "connected", "ready for reconnection"];

/// The breaker's state as text.
const BREAKER_TEMPLATE: &str =
    "{{ ['disconnected', 'connected', 'ready for reconnection'][value_json.breaker_state | int] }}";

/// The sum of a direction's tariff registers (Walloon meters have up to five).
fn total_template(direction: &str) -> String {
    let terms: Vec<String> = (1..=5)
        .map(|t| format!("(value_json.energy_{direction}_t{t}_kwh | default(0))"))
        .collect();
    format!("{{{{ ({}) | round(3) }}}}", terms.join(" + "))
}

/// An M-Bus meter: its own device, linked to the meter.
fn for_mbus(topics: &Topics, prefix: &str, mbus: &MbusDevice) -> Option<Config> {
    mbus.value?;
    let unit = mbus.unit.as_deref().unwrap_or("");
    let cubic = unit.eq_ignore_ascii_case("m3");
    let (class, unit) = match (mbus.kind, cubic) {
        (MbusKind::Gas, true) => (Some("gas"), "m³"),
        (MbusKind::Water, true) => (Some("water"), "m³"),
        (MbusKind::Heat, false) if unit.eq_ignore_ascii_case("GJ") => (Some("energy"), "GJ"),
        (_, true) => (None, "m³"),
        _ => (None, unit),
    };
    let id = format!("{}_mbus{}", topics.device_id(), mbus.channel);
    let device = json!({
        "identifiers": [id],
        "name": format!("{} meter {}", capitalized(mbus.kind.name()), mbus.id.as_deref().unwrap_or(&id)),
        "manufacturer": "M-Bus",
        "model": format!("M-Bus channel {} ({})", mbus.channel, mbus.kind.name()),
        "via_device": topics.device_id(),
    });
    let kind = Kind {
        device_class: class,
        state_class: Some("total_increasing"),
        unit: None,
        times_1000: false,
    };
    let name = capitalized(mbus.kind.name());
    let mut payload = entity(topics, &id, &name, &device, &kind);
    if !unit.is_empty() {
        payload["unit_of_measurement"] = unit.into();
        if let Some(digits) = precision(Some(unit)) {
            payload["suggested_display_precision"] = digits.into();
        }
    }
    payload["state_topic"] = topics.mbus(mbus.channel).into();
    payload["value_template"] = "{{ value_json.value }}".into();
    payload["json_attributes_topic"] = topics.mbus(mbus.channel).into();
    Some(Config {
        topic: format!("{prefix}/sensor/{id}/value/config"),
        payload,
    })
}

/// The peak record's sensors: the headroom, the projected average and the budget, in W.
pub(crate) fn for_peak(topics: &Topics, prefix: &str, reading: &Reading) -> Vec<Config> {
    let device = meter_device(topics, reading);
    let power = kind(Some("power"), "measurement", Some("W"), true);
    [
        ("headroom_kw", "Peak headroom"),
        ("projected_kw", "Quarter-hour projection"),
        ("budget_kw", "Peak budget"),
        ("allowed_kw", "Allowed import"),
    ]
    .into_iter()
    .map(|(key, name)| {
        let unique = format!("{}_peak_{key}", topics.device_id());
        let mut payload = entity(topics, &unique, name, &device, &power);
        payload["state_topic"] = topics.peak().into();
        payload["value_template"] = template(key, &power).into();
        Config {
            topic: format!("{prefix}/sensor/{}/peak_{key}/config", topics.device_id()),
            payload,
        }
    })
    .collect()
}

/// The price of the slot: a sensor in EUR/kWh, its attributes the payload's (start, end and
/// the next 24 hours). No device class: Home Assistant's `monetary` takes a currency alone.
pub(crate) fn for_price(topics: &Topics, prefix: &str, reading: &Reading) -> Config {
    let device = meter_device(topics, reading);
    let price = kind(None, "measurement", Some("EUR/kWh"), false);
    let unique = format!("{}_price", topics.device_id());
    let mut payload = entity(topics, &unique, "Electricity price", &device, &price);
    payload["state_topic"] = topics.price().into();
    payload["value_template"] = template("value", &price).into();
    payload["json_attributes_topic"] = topics.price().into();
    payload["suggested_display_precision"] = 4.into();
    Config {
        topic: format!("{prefix}/sensor/{}/price/config", topics.device_id()),
        payload,
    }
}

/// A load: a binary sensor of its state with the reason, and with the control socket a
/// select of its mode.
pub(crate) fn for_load(
    topics: &Topics,
    prefix: &str,
    reading: &Reading,
    load: &str,
    control: bool,
) -> Vec<Config> {
    let device = meter_device(topics, reading);
    let slug = crate::topics::safe(load);
    let unique = format!("{}_load_{slug}", topics.device_id());
    let none = Kind {
        device_class: Some("power"),
        state_class: None,
        unit: None,
        times_1000: false,
    };
    let mut state = entity(topics, &unique, load, &device, &none);
    state["state_topic"] = topics.relay(load).into();
    state["value_template"] = "{{ value_json.state }}".into();
    state["payload_on"] = "on".into();
    state["payload_off"] = "off".into();
    state["json_attributes_topic"] = topics.relay(load).into();
    let mut configs = vec![Config {
        topic: format!(
            "{prefix}/binary_sensor/{}/load_{slug}/config",
            topics.device_id()
        ),
        payload: state,
    }];
    if control {
        let plain = Kind {
            device_class: None,
            ..none
        };
        let unique = format!("{unique}_mode");
        let mut mode = entity(topics, &unique, &format!("{load} mode"), &device, &plain);
        mode["state_topic"] = topics.relay_mode(load).into();
        mode["command_topic"] = topics.relay_set(load).into();
        mode["options"] = json!(["auto", "on", "off"]);
        configs.push(Config {
            topic: format!(
                "{prefix}/select/{}/load_{slug}_mode/config",
                topics.device_id()
            ),
            payload: mode,
        });
    }
    configs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure_of(key: &str) -> Measure {
        let field = Reading::fields().iter().find(|f| f.name == key);
        (field.expect("a key").measure)()
    }

    #[test]
    fn keys_get_the_classes_home_assistant_accepts_together() {
        let energy = kind_of(measure_of("energy_import_t1_kwh"));
        assert_eq!(
            (energy.device_class, energy.state_class, energy.unit),
            (Some("energy"), Some("total_increasing"), Some("kWh"))
        );
        let power = kind_of(measure_of("power_export_l2_kw"));
        assert_eq!(
            (
                power.device_class,
                power.state_class,
                power.unit,
                power.times_1000
            ),
            (Some("power"), Some("measurement"), Some("W"), true)
        );
        assert_eq!(kind_of(measure_of("voltage_l1_v")).unit, Some("V"));
        assert_eq!(
            kind_of(measure_of("power_factor_l1")).device_class,
            Some("power_factor")
        );
        assert_eq!(
            kind_of(measure_of("power_failures")).state_class,
            Some("total_increasing")
        );
        assert_eq!(kind_of(measure_of("tariff")).state_class, None);
    }

    /// Issue 23 (17): names a person reads, not the keys' words.
    #[test]
    fn entities_have_readable_names_regression_23() {
        let name = |key: &str| title(key, measure_of(key));
        assert_eq!(name("energy_import_t1_kwh"), "Energy import tariff 1");
        assert_eq!(name("voltage_l1_v"), "Voltage phase 1");
        assert_eq!(name("power_factor_l1"), "Power factor phase 1");
        assert_eq!(name("demand_avg_kw"), "Quarter-hour demand");
        assert_eq!(name("power_import_kw"), "Power import");
        assert_eq!(
            name("reactive_energy_q1_kvarh"),
            "Reactive energy quadrant 1"
        );
        assert_eq!(capitalized(MbusKind::Gas.name()), "Gas");
        assert_eq!(
            maker_and_model("FLU5\\253769484_A"),
            ("Fluvius".into(), "53769484_A".into())
        );
        assert_eq!(
            maker_and_model("/Ene5\\XS210 ESMR 5.0"),
            ("Sagemcom".into(), "XS210 ESMR 5.0".into())
        );
        assert_eq!(
            maker_and_model("KFM5KAIFA-METER"),
            ("Kaifa".into(), "KAIFA-METER".into())
        );
        assert_eq!(maker_and_model("ABC5"), ("ABC".into(), "P1 meter".into()));
    }

    /// Only numeric keys become sensors: no meter id, no time.
    #[test]
    fn texts_and_times_get_no_sensor() {
        let reading: Reading = serde_json::from_str(
            r#"{"meter_id":"M1","time":"2024-06-01T12:00:00+02:00","tariff":1,"power_import_kw":0.5}"#,
        )
        .unwrap();
        let topics: Vec<String> = for_reading(&Topics::new("p1", "M1"), "homeassistant", &reading)
            .into_iter()
            .map(|c| c.topic)
            .collect();
        assert_eq!(
            topics,
            [
                "homeassistant/sensor/p1_M1/tariff/config",
                "homeassistant/sensor/p1_M1/power_import_kw/config"
            ]
        );
    }
}
