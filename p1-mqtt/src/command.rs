//! A load's command payload: `on`, `off` or `auto` (any case), optionally with how long it
//! holds (`on 2h`, `off 90m`, `on 3600`), or JSON `{"mode":"on","for":"2h"}`.

use std::fmt;

use p1_common::contract::control::ControlMode;
use p1_common::runtime::choice::NotOneOf;
use serde::Deserialize;

/// Why a payload is not a command.
#[derive(Debug)]
pub(crate) enum NotACommand {
    Json(serde_json::Error),
    /// `for` in JSON that is neither a number nor a text.
    For(serde_json::Value),
    Words,
    Mode(NotOneOf),
    Duration(String),
}

impl fmt::Display for NotACommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotACommand::Json(e) => write!(f, "not a command: {e}"),
            NotACommand::For(value) => write!(f, "'for': {value} is not a duration"),
            NotACommand::Words => f.write_str("say MODE [DURATION], e.g. on 2h"),
            NotACommand::Mode(e) => e.fmt(f),
            NotACommand::Duration(text) => {
                write!(f, "'{text}' is not a duration like 90s, 30m or 2h")
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Json {
    mode: String,
    #[serde(default, rename = "for")]
    hold: Option<serde_json::Value>,
}

/// The mode and the seconds it holds, or why the payload is not a command.
pub(crate) fn parse(payload: &str) -> Result<(ControlMode, Option<u64>), NotACommand> {
    let payload = payload.trim();
    let (mode, hold) = if payload.starts_with('{') {
        let json: Json = serde_json::from_str(payload).map_err(NotACommand::Json)?;
        let hold = match json.hold {
            None => None,
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            Some(serde_json::Value::String(s)) => Some(s),
            Some(other) => return Err(NotACommand::For(other)),
        };
        (json.mode, hold)
    } else {
        let mut words = payload.split_whitespace();
        let mode = words.next().unwrap_or_default().to_string();
        let hold = words.next().map(str::to_string);
        if words.next().is_some() {
            return Err(NotACommand::Words);
        }
        (mode, hold)
    };
    let mode = mode
        .to_ascii_lowercase()
        .parse::<ControlMode>()
        .map_err(NotACommand::Mode)?;
    let seconds = hold.as_deref().map(seconds).transpose()?;
    Ok((mode, seconds))
}

/// `3600`, `90s`, `30m`, `2h`: one number and one unit.
fn seconds(text: &str) -> Result<u64, NotACommand> {
    let bad = || NotACommand::Duration(text.to_string());
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let value: u64 = text[..digits].parse().map_err(|_| bad())?;
    let factor = match &text[digits..] {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    value.checked_mul(factor).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_from_home_assistant_and_scripts() {
        let parse = |payload| parse(payload).map_err(|e| e.to_string());
        assert_eq!(parse("on"), Ok((ControlMode::On, None)));
        assert_eq!(parse("OFF"), Ok((ControlMode::Off, None)));
        assert_eq!(parse("auto\n"), Ok((ControlMode::Auto, None)));
        assert_eq!(parse("on 2h"), Ok((ControlMode::On, Some(7200))));
        assert_eq!(
            parse(r#"{"mode":"on","for":"90m"}"#),
            Ok((ControlMode::On, Some(5400)))
        );
        assert_eq!(
            parse(r#"{"mode":"off","for":600}"#),
            Ok((ControlMode::Off, Some(600)))
        );
        assert_eq!(
            parse("toggle"),
            Err("'toggle' is not a mode: auto, on, off".to_string())
        );
        for bad in [
            "",
            "toggle",
            "on forever",
            "on 2h now",
            r#"{"mode":"on","x":1}"#,
            "on 99999999999999999999d",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
