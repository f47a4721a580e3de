//! p1-watch: the meter live in a terminal, from the record stream or a running p1-serve.
//!
//! - `settings`: the command line;
//! - `latest`: what the view shows, from records or p1-serve's `/p1/now`;
//! - `screen`: the full-screen view (ratatui); `plain`: one line a second for a pipe;
//! - here: the stage (records in, a redraw a second), the keys and the fetching threads.

mod latest;
mod plain;
mod screen;
mod settings;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use p1_common::Error;
use p1_common::contract::events::{PeakRecord, RelayEvent};
use p1_common::contract::live::Now;
use p1_common::contract::price::PriceRecord;
use p1_common::contract::reading::Reading;
use p1_common::runtime::error::Context as _;
use p1_common::runtime::stage::{End, Events, Handled, Out, Runtime, Stage, Stdout};
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

use crate::latest::Latest;
use crate::screen::Look;
pub use crate::settings::Cli;
use crate::settings::{PROG, Settings, Source};

/// Entry point of the binary.
#[must_use]
pub fn main() -> ExitCode {
    p1_common::runtime::cli::main(PROG, |cli: Cli| run(Settings::from_cli(cli)?))
}

/// What the stage's threads tell the loop.
#[derive(Debug)]
enum Input {
    /// q, Esc or Ctrl-C.
    Quit,
    /// The terminal changed size.
    Redraw,
    /// p1-serve's answer.
    Now(Box<Now>),
    /// p1-serve could not be asked, and why.
    Unreachable(String),
}

/// How often the view is redrawn, at most.
const REDRAW: Duration = Duration::from_secs(1);

fn run(settings: Settings) -> Result<(), Error> {
    let mut runtime = Runtime::start(false)?;
    if let Source::Serve(url) = settings.source {
        runtime = runtime.without_stdin();
        spawn_fetching(url, runtime.events());
    }
    let terminal = if settings.screen {
        spawn_keys(runtime.events());
        Some(ratatui::try_init().context("cannot set up the terminal")?)
    } else {
        None
    };
    let mut watch = Watch {
        latest: Latest::default(),
        look: Look {
            stale_after: settings.stale_after,
            colour: settings.colour,
        },
        terminal,
        next_draw: Instant::now(),
        quit: false,
    };
    let end = runtime.run(&mut watch, &mut Stdout::stdout());
    if matches!(end, Ok(End::Input)) && watch.terminal.is_some() {
        watch.after_input(&runtime);
    }
    if watch.terminal.take().is_some() {
        ratatui::restore();
    }
    end.map(|_| ())
}

/// The stage: the latest records, drawn once a second.
struct Watch {
    latest: Latest,
    look: Look,
    /// The full screen, when stdout is a terminal.
    terminal: Option<DefaultTerminal>,
    next_draw: Instant,
    quit: bool,
}

impl Watch {
    /// The screen, or a plain line when stdout is no terminal.
    fn draw(&mut self, out: &mut Out<'_>) -> Handled {
        if self.terminal.is_some() {
            return self.draw_screen();
        }
        let mut line = plain::line(&self.latest, self.look.stale_after);
        line.push('\n');
        out.write_raw(line.as_bytes())
    }

    fn draw_screen(&mut self) -> Handled {
        let (latest, look) = (&self.latest, self.look);
        if let Some(terminal) = &mut self.terminal {
            terminal
                .draw(|frame| screen::draw(frame, latest, look))
                .context("the terminal")?;
        }
        Ok(())
    }

    /// The input is over but a person is looking: the screen stays, ageing to STALE, until
    /// q or a stop.
    fn after_input(&mut self, runtime: &Runtime<Input>) {
        self.latest.trouble = Some("the input ended (q quits)".into());
        while !self.quit && !runtime.signals().stop_requested() {
            // A terminal that is gone (its window closed) cannot be drawn on: done.
            if self.draw_screen().is_err() {
                return;
            }
            if let Some(input) = runtime.next_event(REDRAW) {
                self.take(input);
            }
        }
    }

    fn take(&mut self, input: Input) {
        match input {
            Input::Quit => self.quit = true,
            Input::Redraw => self.next_draw = Instant::now(),
            Input::Now(now) => self.latest.now(*now),
            Input::Unreachable(why) => self.latest.trouble = Some(why),
        }
    }
}

impl Stage for Watch {
    type Event = Input;

    fn on_reading(&mut self, reading: Reading, _: &mut Out<'_>) -> Handled {
        self.latest.reading(reading);
        Ok(())
    }

    fn on_peak(&mut self, peak: PeakRecord, _: &mut Out<'_>) -> Handled {
        self.latest.peak = Some(peak);
        Ok(())
    }

    fn on_relay(&mut self, event: RelayEvent, _: &mut Out<'_>) -> Handled {
        self.latest.relay(event);
        Ok(())
    }

    fn on_price(&mut self, price: PriceRecord, _: &mut Out<'_>) -> Handled {
        self.latest.price = Some(price);
        Ok(())
    }

    fn on_event(&mut self, input: Input, _: &mut Out<'_>) -> Handled {
        self.take(input);
        Ok(())
    }

    fn next_tick(&self) -> Option<Instant> {
        Some(self.next_draw)
    }

    fn on_tick(&mut self, out: &mut Out<'_>) -> Handled {
        self.draw(out)?;
        self.next_draw = (self.next_draw + REDRAW).max(Instant::now());
        Ok(())
    }

    /// SIGHUP: the terminal is gone (its window closed, the ssh session ended).
    fn on_hangup(&mut self, _: &mut Out<'_>) -> Handled {
        if self.terminal.is_some() {
            self.quit = true;
        }
        Ok(())
    }

    fn finished(&self) -> bool {
        self.quit
    }

    /// A viewer has nothing to finish: a stop is at once.
    fn drain(&self) -> Duration {
        Duration::ZERO
    }
}

/// The keys, read on a thread of their own (from the terminal, even when stdin is a pipe).
fn spawn_keys(events: Events<Input>) {
    std::thread::spawn(move || {
        while let Ok(input) = event::read() {
            let told = match input {
                Event::Key(key) if key.kind == KeyEventKind::Press => {
                    let ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL)
                        && key.code == KeyCode::Char('c');
                    let quit = matches!(key.code, KeyCode::Char('q' | 'Q') | KeyCode::Esc);
                    if quit || ctrl_c {
                        events.send(Input::Quit)
                    } else {
                        true
                    }
                }
                Event::Resize(..) => events.send(Input::Redraw),
                _ => true,
            };
            if !told {
                return;
            }
        }
    });
}

/// p1-serve's `/p1/now`, asked once a second on a thread of its own.
fn spawn_fetching(url: String, events: Events<Input>) {
    std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(3)))
            .build()
            .into();
        loop {
            let asked = Instant::now();
            let input = match fetch(&agent, &url) {
                Ok(now) => Input::Now(Box::new(now)),
                Err(why) => Input::Unreachable(format!("{url}: {why}")),
            };
            if !events.send(input) {
                return;
            }
            std::thread::sleep(REDRAW.saturating_sub(asked.elapsed()));
        }
    });
}

fn fetch(agent: &ureq::Agent, url: &str) -> Result<Now, String> {
    let mut answer = agent.get(url).call().map_err(|e| e.to_string())?;
    let text = answer
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("not p1-serve's /p1/now: {e}"))
}
