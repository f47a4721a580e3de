//! The view as one screen, readable in 80x24 over ssh: the power now, per phase, the
//! quarter hour with a bar, the loads and why they switched, gas and water, and how old it
//! all is; STALE in place of the values once it is too old.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Gauge, Paragraph};

use crate::latest::{Latest, clock, kw, meters, net_kw, on_off, phases, price};
use crate::plain::signed;

/// How the screen is drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Look {
    pub(crate) stale_after: Duration,
    /// False when NO_COLOR is set.
    pub(crate) colour: bool,
}

impl Look {
    fn fg(self, colour: Color) -> Style {
        if self.colour {
            Style::new().fg(colour)
        } else {
            Style::new()
        }
    }
}

/// Draws `latest` on `frame`.
pub(crate) fn draw(frame: &mut Frame<'_>, latest: &Latest, look: Look) {
    let stale = latest.stale(look.stale_after);
    let loads = latest.loads.len().max(1) as u16;
    let meters = latest.reading.as_ref().map_or(0, |r| meters(r).len()) as u16;
    let [head, power, quarter, loads_area, meters_area, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(6),
        Constraint::Length(4),
        Constraint::Length(loads + 1),
        Constraint::Length(if meters > 0 { meters + 1 } else { 0 }),
        Constraint::Min(1),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(header(latest, stale, look)), head);
    power_section(frame, power, latest, stale, look);
    quarter_section(frame, quarter, latest, stale, look);
    loads_section(frame, loads_area, latest, stale, look);
    if meters > 0 {
        meters_section(frame, meters_area, latest, stale);
    }
    let hint = Line::from(Span::styled(
        "q quits",
        Style::new().add_modifier(Modifier::DIM),
    ));
    frame.render_widget(Paragraph::new(hint), foot);
}

fn header(latest: &Latest, stale: bool, look: Look) -> Line<'static> {
    let title = Span::styled("p1-watch  ", Style::new().add_modifier(Modifier::BOLD));
    let Some(reading) = &latest.reading else {
        let why = latest
            .trouble
            .clone()
            .unwrap_or_else(|| "waiting for the first reading".into());
        return Line::from(vec![title, Span::raw(why)]);
    };
    let time = reading
        .time
        .as_ref()
        .and_then(p1_common::protocol::meter_time::MeterTime::datetime)
        .map_or_else(
            || "time unknown".into(),
            |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
        );
    let age = latest.age().map_or(0.0, |a| a.as_secs_f64());
    let mut spans = vec![title, Span::raw(time)];
    if stale {
        spans.push(Span::styled(
            format!("  STALE: no reading for {age:.0} s"),
            look.fg(Color::Red)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ));
    } else {
        spans.push(Span::raw(format!("  ({age:.1} s old)")));
    }
    if let Some(trouble) = &latest.trouble {
        spans.push(Span::raw(format!("  {trouble}")));
    }
    Line::from(spans)
}

/// A value, or STALE in its place.
fn value(text: String, stale: bool) -> String {
    if stale { "STALE".into() } else { text }
}

fn power_section(frame: &mut Frame<'_>, area: Rect, latest: &Latest, stale: bool, look: Look) {
    let block = Block::new()
        .borders(Borders::TOP)
        .title(" Power (import +, export -) ");
    let mut lines = Vec::new();
    if let Some(r) = &latest.reading {
        let net = net_kw(r);
        let colour = match net {
            Some(n) if n > 0.0 => Color::Red,
            Some(n) if n < 0.0 => Color::Green,
            _ => Color::Reset,
        };
        lines.push(Line::from(vec![
            Span::raw("net "),
            Span::styled(
                format!("{:>9} kW", value(signed(net), stale)),
                look.fg(colour).add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!(
                "   import {} kW   export {} kW",
                value(kw(r.power_import_kw), stale),
                value(kw(r.power_export_kw), stale)
            )),
        ]));
        lines.push(Line::from(format!(
            "{:<4}{:>11}{:>11}{:>9}{:>8}",
            "", "import kW", "export kW", "V", "A"
        )));
        for (name, p) in phases(r) {
            let one =
                |v: Option<f64>| value(v.map_or_else(|| "-".into(), |v| format!("{v:.1}")), stale);
            lines.push(Line::from(format!(
                "{name:<4}{:>11}{:>11}{:>9}{:>8}",
                value(kw(p.import_kw), stale),
                value(kw(p.export_kw), stale),
                one(p.voltage_v),
                one(p.current_a)
            )));
        }
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn quarter_section(frame: &mut Frame<'_>, area: Rect, latest: &Latest, stale: bool, look: Look) {
    let Some(p) = &latest.peak else {
        let block = Block::new().borders(Borders::TOP).title(" Quarter hour ");
        let mut lines = vec![Line::from(
            "no peak records (p1-relay with a [peak] section writes them)",
        )];
        lines.extend(latest.price.as_ref().map(|p| Line::from(price(p))));
        frame.render_widget(Paragraph::new(lines).block(block), area);
        return;
    };
    let title = format!(" Quarter hour from {} ", clock(Some(&p.quarter_start)));
    let block = Block::new().borders(Borders::TOP).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [numbers, bar] =
        Layout::vertical([Constraint::Length(2), Constraint::Length(1)]).areas(inner);
    let month = p
        .month_peak_kw
        .map_or_else(|| "-".into(), |m| format!("{m:.3}"));
    let lines = vec![
        Line::from(format!(
            "average {} kW   projected {} kW   budget {} kW",
            value(kw(Some(p.average_kw)), stale),
            value(kw(Some(p.projected_kw)), stale),
            value(kw(Some(p.budget_kw)), stale)
        )),
        Line::from(format!(
            "headroom {} kW   month's peak {} kW{}",
            value(kw(Some(p.headroom_kw)), stale),
            value(month, stale),
            latest
                .price
                .as_ref()
                .map_or_else(String::new, |p| format!("   {}", price(p)))
        )),
    ];
    frame.render_widget(Paragraph::new(lines), numbers);
    let share = if p.budget_kw > 0.0 {
        p.projected_kw / p.budget_kw
    } else {
        0.0
    };
    let colour = if share > 1.0 { Color::Red } else { Color::Blue };
    let gauge = Gauge::default()
        .gauge_style(look.fg(colour))
        .ratio(share.clamp(0.0, 1.0))
        .label(if stale {
            "STALE".to_string()
        } else {
            format!("projected {:.0}% of budget", share * 100.0)
        });
    frame.render_widget(gauge, bar);
}

fn loads_section(frame: &mut Frame<'_>, area: Rect, latest: &Latest, stale: bool, look: Look) {
    let block = Block::new().borders(Borders::TOP).title(" Loads ");
    let width = usize::from(area.width);
    let lines: Vec<Line<'_>> = if latest.loads.is_empty() {
        vec![Line::from(
            "no relay events (p1-relay before p1-watch writes them)",
        )]
    } else {
        latest
            .loads
            .values()
            .map(|e| {
                let word = on_off(e.state);
                let colour = if e.state.is_on() {
                    Color::Green
                } else {
                    Color::Reset
                };
                let head = format!("{:<16} ", e.load);
                let since = format!(" since {}  ", clock(Some(&e.time)));
                let room = width.saturating_sub(head.len() + 4 + since.len());
                let reason: String = e.reason.chars().take(room).collect();
                Line::from(vec![
                    Span::raw(head),
                    Span::styled(
                        format!("{:<4}", value(word.into(), stale)),
                        look.fg(colour).add_modifier(Modifier::BOLD),
                    ),
                    Span::raw(since),
                    Span::styled(reason, Style::new().add_modifier(Modifier::DIM)),
                ])
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn meters_section(frame: &mut Frame<'_>, area: Rect, latest: &Latest, stale: bool) {
    let block = Block::new().borders(Borders::TOP).title(" Gas and water ");
    let lines: Vec<Line<'_>> = latest
        .reading
        .as_ref()
        .map(meters)
        .unwrap_or_default()
        .into_iter()
        .map(|(kind, reading, at)| {
            Line::from(format!("{kind:<8}{:>16}  read {at}", value(reading, stale)))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
