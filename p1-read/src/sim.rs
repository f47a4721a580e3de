//! A simulated Belgian meter (Fluvius e-MUCS 1.7.1, three phases, gas on M-Bus channel 1), so
//! that the whole toolkit can be tried without one.
//!
//! Every second of its clock it integrates a household: a base load and appliances that switch
//! (fridge, kettle, washing machine, cooking, a heat pump in the cold months, evening lights),
//! and solar panels that follow the sun's course for the date with passing clouds. The phases
//! are netted for the totals, as the meter does. The capacity-tariff registers follow the
//! integrated import: `1-0:1.4.0` is the average demand over the elapsed part of the running
//! quarter hour, `1-0:1.6.0` the month's highest quarter-hour average, and `0-0:98.1.0` the
//! last 13 monthly peaks. Everything derives from the seed and the start time.

use std::collections::VecDeque;
use std::fmt::Write as _;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use p1_common::protocol::crc::crc16;
use p1_common::protocol::meter_time::ClockZone;

/// splitmix64: a small, fast, well-mixed generator; the simulation needs no more.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }
}

/// An appliance that runs now and then.
#[derive(Debug, Clone)]
struct Appliance {
    phase: usize,
    kw: f64,
    /// Seconds it runs once started.
    run_s: u32,
    /// Expected starts per day, spread over `hours`.
    starts_per_day: f64,
    hours: (u32, u32),
    /// Only in the heating season (October to April).
    heating_only: bool,
    remaining_s: u32,
}

fn appliances() -> Vec<Appliance> {
    let a = |phase, kw, run_s, starts_per_day, hours, heating_only| Appliance {
        phase,
        kw,
        run_s,
        starts_per_day,
        hours,
        heating_only,
        remaining_s: 0,
    };
    vec![
        a(0, 0.12, 15 * 60, 32.0, (0, 24), false),  // fridge
        a(1, 2.0, 3 * 60, 4.0, (7, 22), false),     // kettle
        a(2, 2.1, 75 * 60, 1.0, (9, 15), false),    // washing machine
        a(0, 2.4, 45 * 60, 1.0, (17, 19), false),   // cooking
        a(1, 1.4, 40 * 60, 10.0, (0, 24), true),    // heat pump
        a(2, 0.25, 4 * 3600, 1.0, (18, 20), false), // lights and TV
        a(1, 1.8, 15 * 60, 1.5, (6, 9), false),     // shower pump / hair dryer
    ]
}

/// The state of the simulated meter.
#[derive(Debug, Clone)]
pub struct SimMeter {
    rng: Rng,
    zone: ClockZone,
    /// The meter's clock, UTC; the next telegram is stamped with it.
    now: NaiveDateTime,
    start: NaiveDateTime,
    meter_id: String,
    gas_id: String,
    solar_peak_kw: f64,
    cloud: f64,
    appliances: Vec<Appliance>,
    import_kwh: [f64; 2],
    export_kwh: [f64; 2],
    quarter_start: NaiveDateTime,
    quarter_import_kwh: f64,
    month_peak_kw: f64,
    month_peak_time: NaiveDateTime,
    /// (month start, peak time, kW), oldest first, at most 13.
    history: VecDeque<(NaiveDateTime, Option<NaiveDateTime>, f64)>,
    gas_m3: f64,
    gas_shown: (NaiveDateTime, f64),
    text: String,
}

/// The values of one second, for the telegram.
struct Powers {
    import_l: [f64; 3],
    export_l: [f64; 3],
    voltage: [f64; 3],
    current: [f64; 3],
    import: f64,
    export: f64,
}

impl SimMeter {
    /// A meter whose clock starts at `start` (UTC), its history and registers drawn from `seed`.
    pub fn new(seed: u64, start: NaiveDateTime) -> Self {
        let mut rng = Rng(seed);
        let zone = ClockZone::default();
        let serial = rng.next_u64() % 10_000_000_000;
        let meter_id = p1_common::runtime::id::hex(format!("1SIM{serial:010}").as_bytes());
        let gas_id = p1_common::runtime::id::hex(
            format!("7SIM{:010}", rng.next_u64() % 10_000_000_000).as_bytes(),
        );
        let start = start.with_nanosecond(0).unwrap_or(start);
        let (local, _) = zone.local_time(start);
        let month_start = zone.utc_of_local(first_of_month(local.date()));
        let mut history = VecDeque::new();
        let mut month = first_of_month(local.date());
        for _ in 0..13 {
            let previous = first_of_month(month.date().pred_opt().unwrap_or(month.date()));
            let days = (month - previous).num_days().max(1);
            let peak_at = previous
                + Duration::seconds(rng.range(0.0, days as f64 * 86400.0) as i64 / 900 * 900);
            history.push_front((
                zone.utc_of_local(month),
                Some(zone.utc_of_local(peak_at)),
                round3(rng.range(2.0, 6.5)),
            ));
            month = previous;
        }
        let elapsed_in_month = (start - month_start).num_seconds().max(0);
        let (month_peak_kw, month_peak_time) = if elapsed_in_month >= 900 {
            let at = month_start
                + Duration::seconds(rng.range(0.0, elapsed_in_month as f64) as i64 / 900 * 900);
            (
                round3(rng.range(1.5, 3.5)),
                at.max(month_start + Duration::seconds(900)),
            )
        } else {
            (0.0, month_start)
        };
        let import_kwh = [rng.range(1000.0, 6000.0), rng.range(1000.0, 6000.0)];
        let export_kwh = [rng.range(200.0, 3000.0), rng.range(100.0, 1000.0)];
        let local_quarter = local
            .date()
            .and_hms_opt(local.hour(), local.minute() / 15 * 15, 0)
            .unwrap_or(local);
        let quarter_start = zone.utc_of_local(local_quarter).max(start);
        let gas_m3 = rng.range(500.0, 4000.0);
        SimMeter {
            solar_peak_kw: rng.range(3.5, 6.0),
            cloud: 0.9,
            appliances: appliances(),
            rng,
            zone,
            now: start,
            start,
            meter_id,
            gas_id,
            import_kwh,
            export_kwh,
            quarter_start,
            quarter_import_kwh: import_kwh[0] + import_kwh[1],
            month_peak_kw,
            month_peak_time,
            history,
            gas_m3,
            gas_shown: (
                start - Duration::seconds(i64::from(start.minute() % 5 * 60 + start.second())),
                gas_m3,
            ),
            text: String::with_capacity(1536),
        }
    }

    /// Integrates the second that ends now and returns its telegram, with CRC.
    pub fn next_telegram(&mut self) -> &str {
        let powers = self.step();
        self.format(&powers);
        self.now += Duration::seconds(1);
        &self.text
    }

    fn local(&self) -> NaiveDateTime {
        self.zone.local_time(self.now).0
    }

    fn tariff(&self) -> usize {
        let local = self.local();
        let weekday = local.weekday().num_days_from_monday() < 5;
        usize::from(!(weekday && (7..22).contains(&local.hour())))
    }

    fn heating_season(&self) -> bool {
        !(5..=9).contains(&self.local().month())
    }

    fn solar_kw(&mut self) -> f64 {
        let local = self.local();
        let day = f64::from(local.ordinal());
        // Day length in Belgium: about 8 h at the winter solstice, 16.5 h at midsummer.
        let length_h = 12.25 - 4.25 * (2.0 * std::f64::consts::PI * (day + 10.0) / 365.25).cos();
        let noon_h = if self.zone.local_time(self.now).1 {
            13.75
        } else {
            12.75
        };
        let hour = f64::from(local.hour())
            + f64::from(local.minute()) / 60.0
            + f64::from(local.second()) / 3600.0;
        let from_sunrise = hour - (noon_h - length_h / 2.0);
        if !(0.0..length_h).contains(&from_sunrise) {
            return 0.0;
        }
        let elevation = (std::f64::consts::PI * from_sunrise / length_h).sin();
        let season = 0.55 + 0.45 * (length_h - 8.0) / 8.5;
        // Clouds drift slowly between 0.25 and 1.
        self.cloud = (self.cloud + self.rng.range(-0.01, 0.01)).clamp(0.25, 1.0);
        self.solar_peak_kw * season * elevation.powf(1.3) * self.cloud
    }

    fn step(&mut self) -> Powers {
        let local = self.local();
        let heating = self.heating_season();
        let mut load = [0.06, 0.05, 0.07];
        for i in 0..self.appliances.len() {
            let hour = local.hour();
            let a = &self.appliances[i];
            let in_hours = (a.hours.0..a.hours.1).contains(&hour);
            let allowed = in_hours && (!a.heating_only || heating);
            if a.remaining_s == 0 && allowed {
                let window_s = f64::from((a.hours.1 - a.hours.0) * 3600);
                let chance = a.starts_per_day / window_s;
                if self.rng.unit() < chance {
                    self.appliances[i].remaining_s = a.run_s;
                }
            }
            let a = &mut self.appliances[i];
            if a.remaining_s > 0 {
                a.remaining_s -= 1;
                load[a.phase] += a.kw;
            }
        }
        let solar = self.solar_kw() / 3.0;
        let mut p = Powers {
            import_l: [0.0; 3],
            export_l: [0.0; 3],
            voltage: [0.0; 3],
            current: [0.0; 3],
            import: 0.0,
            export: 0.0,
        };
        let mut total = 0.0;
        for (phase, load) in load.iter().enumerate() {
            let net = load * self.rng.range(0.97, 1.03) - solar;
            total += net;
            p.import_l[phase] = round3(net.max(0.0));
            p.export_l[phase] = round3((-net).max(0.0));
            p.voltage[phase] = round1(231.0 - 1.5 * net + self.rng.range(-0.6, 0.6));
            p.current[phase] = round2(net.abs() * 1000.0 / p.voltage[phase]);
        }
        p.import = round3(total.max(0.0));
        p.export = round3((-total).max(0.0));
        let tariff = self.tariff();
        self.import_kwh[tariff] += p.import / 3600.0;
        self.export_kwh[tariff] += p.export / 3600.0;
        if heating {
            self.gas_m3 += self.rng.range(0.0, 1.2) / 3600.0;
        }
        if local.second() == 0 && local.minute().is_multiple_of(5) {
            self.gas_shown = (self.now, self.gas_m3);
        }
        if local.second() == 0 && local.minute().is_multiple_of(15) && self.now > self.start {
            self.close_quarter(local);
        }
        p
    }

    fn imported(&self) -> f64 {
        self.import_kwh[0] + self.import_kwh[1]
    }

    /// At a quarter-hour boundary: the quarter's average may be the month's new peak; at a
    /// month's start, the month's peak goes into the history.
    fn close_quarter(&mut self, local: NaiveDateTime) {
        let average = (self.imported() - self.quarter_import_kwh) * 4.0;
        if average > self.month_peak_kw {
            self.month_peak_kw = round3(average);
            self.month_peak_time = self.now;
        }
        if local.day() == 1 && local.hour() == 0 && local.minute() == 0 {
            let peak_time = (self.month_peak_kw > 0.0).then_some(self.month_peak_time);
            self.history
                .push_back((self.now, peak_time, self.month_peak_kw));
            while self.history.len() > 13 {
                self.history.pop_front();
            }
            self.month_peak_kw = 0.0;
            self.month_peak_time = self.now;
        }
        self.quarter_start = self.now;
        self.quarter_import_kwh = self.imported();
    }

    /// `1-0:1.4.0`: the average import over the elapsed part of the running quarter hour.
    fn demand_avg_kw(&self, present_kw: f64) -> f64 {
        let elapsed_s = (self.now - self.quarter_start).num_seconds();
        if elapsed_s <= 0 {
            return present_kw;
        }
        (self.imported() - self.quarter_import_kwh) * 3600.0 / elapsed_s as f64
    }

    fn format(&mut self, p: &Powers) {
        let zone = self.zone;
        let stamp = move |t: NaiveDateTime| zone.meter_text(t);
        let mut t = std::mem::take(&mut self.text);
        t.clear();
        let _ = write!(
            t,
            "/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n0-0:96.1.1({})\r\n",
            self.meter_id
        );
        let _ = write!(t, "0-0:1.0.0({})\r\n", stamp(self.now));
        for (code, value) in [
            ("1-0:1.8.1", self.import_kwh[0]),
            ("1-0:1.8.2", self.import_kwh[1]),
            ("1-0:2.8.1", self.export_kwh[0]),
            ("1-0:2.8.2", self.export_kwh[1]),
        ] {
            let _ = write!(t, "{code}({:010.3}*kWh)\r\n", floor3(value));
        }
        let _ = write!(
            t,
            "1-0:1.4.0({:06.3}*kW)\r\n",
            floor3(self.demand_avg_kw(p.import))
        );
        let _ = write!(
            t,
            "1-0:1.6.0({})({:06.3}*kW)\r\n",
            stamp(self.month_peak_time),
            self.month_peak_kw
        );
        let _ = write!(
            t,
            "0-0:98.1.0({})(1-0:1.6.0)(1-0:1.6.0)",
            self.history.len()
        );
        for (month, peak_time, kw) in &self.history {
            let peak = peak_time.map_or_else(|| "632525252525W".to_string(), stamp);
            let _ = write!(t, "({})({peak})({kw:06.3}*kW)", stamp(*month));
        }
        let _ = write!(t, "\r\n0-0:96.14.0({:04})\r\n", self.tariff() + 1);
        let _ = write!(
            t,
            "1-0:1.7.0({:06.3}*kW)\r\n1-0:2.7.0({:06.3}*kW)\r\n",
            p.import, p.export
        );
        write_phases(&mut t, 21, p.import_l, (6, 3), "kW");
        write_phases(&mut t, 22, p.export_l, (6, 3), "kW");
        write_phases(&mut t, 32, p.voltage, (5, 1), "V");
        write_phases(&mut t, 31, p.current, (6, 2), "A");
        t.push_str(
            "0-0:96.3.10(1)\r\n0-0:17.0.0(999.9*kW)\r\n1-0:31.4.0(999*A)\r\n0-0:96.13.0()\r\n",
        );
        let _ = write!(
            t,
            "0-1:24.1.0(003)\r\n0-1:96.1.1({})\r\n0-1:24.4.0(1)\r\n",
            self.gas_id
        );
        let _ = write!(
            t,
            "0-1:24.2.3({})({:09.3}*m3)\r\n!",
            stamp(self.gas_shown.0),
            floor3(self.gas_shown.1)
        );
        let crc = crc16(t.as_bytes());
        let _ = write!(t, "{crc:04X}\r\n");
        self.text = t;
    }
}

/// One quantity's three phases, at OBIS `1-0:<first + 20 × (phase - 1)>.7.0`, each value
/// zero-padded to `(width, decimals)`.
fn write_phases(
    t: &mut String,
    first: u32,
    values: [f64; 3],
    (width, decimals): (usize, usize),
    unit: &str,
) {
    for (code, value) in (first..).step_by(20).zip(values) {
        let _ = write!(t, "1-0:{code}.7.0({value:0width$.decimals$}*{unit})\r\n");
    }
}

fn first_of_month(date: NaiveDate) -> NaiveDateTime {
    date.with_day(1)
        .unwrap_or(date)
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Registers show whole Wh (and litres): truncating keeps them from ever going down.
fn floor3(v: f64) -> f64 {
    (v * 1000.0).floor() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 6, 1)
            .and_then(|d| d.and_hms_opt(8, 0, 0))
            .expect("date")
    }

    #[test]
    fn the_same_seed_gives_the_same_telegrams() {
        let mut a = SimMeter::new(7, start());
        let mut b = SimMeter::new(7, start());
        let mut c = SimMeter::new(8, start());
        let mut differs = false;
        for _ in 0..100 {
            let (ta, tb, tc) = (
                a.next_telegram().to_string(),
                b.next_telegram().to_string(),
                c.next_telegram().to_string(),
            );
            assert_eq!(ta, tb);
            differs |= ta != tc;
        }
        assert!(differs);
    }

    #[test]
    fn telegrams_end_with_their_crc() {
        let mut sim = SimMeter::new(1, start());
        let text = sim.next_telegram().to_string();
        let bang = text.rfind('!').expect("!");
        let crc = u16::from_str_radix(&text[bang + 1..bang + 5], 16).expect("hex");
        assert_eq!(crc, crc16(&text.as_bytes()[..=bang]));
        assert!(text.ends_with("\r\n"));
    }
}
