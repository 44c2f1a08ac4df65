//! `date` (SEARCH) and `date-time` (INTERNALDATE, APPEND).

use super::literal::{PResult, Writer, byte, fail};

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// A calendar date (`1-Feb-2024`), valid by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// A valid date (year 1..=9999), or `None`.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        if (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month)
        {
            Some(Date { year, month, day })
        } else {
            None
        }
    }
    /// The year.
    pub fn year(&self) -> u16 {
        self.year
    }
    /// The month, 1..=12.
    pub fn month(&self) -> u8 {
        self.month
    }
    /// The day, 1..=31.
    pub fn day(&self) -> u8 {
        self.day
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        w.num(self.day as u64);
        w.byte(b'-');
        w.raw(MONTHS[self.month as usize - 1]);
        w.byte(b'-');
        write_padded(w, self.year as u32, 4);
    }
}

fn write_padded(w: &mut Writer, n: u32, width: usize) {
    let s = n.to_string();
    for _ in s.len()..width {
        w.byte(b'0');
    }
    w.raw(s.as_bytes());
}

/// A `date-time`: local date and time plus the zone offset in minutes east of UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    date: Date,
    hour: u8,
    minute: u8,
    second: u8,
    zone_minutes: i16,
}

impl DateTime {
    /// A valid date-time (zone within ±99:59, minutes < 60), or `None`.
    pub fn new(date: Date, hour: u8, minute: u8, second: u8, zone_minutes: i16) -> Option<Self> {
        if hour < 24 && minute < 60 && second < 61 && zone_minutes.abs() <= 99 * 60 + 59 {
            Some(DateTime {
                date,
                hour,
                minute,
                second,
                zone_minutes,
            })
        } else {
            None
        }
    }
    /// The local date.
    pub fn date(&self) -> Date {
        self.date
    }
    /// (hour, minute, second).
    pub fn time(&self) -> (u8, u8, u8) {
        (self.hour, self.minute, self.second)
    }
    /// Zone offset in minutes east of UTC.
    pub fn zone_minutes(&self) -> i16 {
        self.zone_minutes
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        w.byte(b'"');
        if self.date.day < 10 {
            w.byte(b' ');
        }
        self.date.write(w);
        w.byte(b' ');
        write_padded(w, self.hour as u32, 2);
        w.byte(b':');
        write_padded(w, self.minute as u32, 2);
        w.byte(b':');
        write_padded(w, self.second as u32, 2);
        w.byte(b' ');
        w.byte(if self.zone_minutes < 0 { b'-' } else { b'+' });
        let z = self.zone_minutes.unsigned_abs() as u32;
        write_padded(w, z / 60, 2);
        write_padded(w, z % 60, 2);
        w.byte(b'"');
    }
}

fn digits(i: &[u8], min: usize, max: usize) -> PResult<'_, u32> {
    let n = i
        .iter()
        .take(max)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if n < min {
        return fail(i);
    }
    let v = i[..n].iter().fold(0u32, |a, &b| a * 10 + (b - b'0') as u32);
    Ok((&i[n..], v))
}

fn month(i: &[u8]) -> PResult<'_, u8> {
    if i.len() < 3 {
        return fail(i);
    }
    match MONTHS
        .iter()
        .position(|m| i[..3].eq_ignore_ascii_case(&m[..]))
    {
        Some(k) => Ok((&i[3..], k as u8 + 1)),
        None => fail(i),
    }
}

fn date_text(i: &[u8]) -> PResult<'_, Date> {
    let (r, d) = digits(i, 1, 2)?;
    let (r, _) = byte(b'-')(r)?;
    let (r, m) = month(r)?;
    let (r, _) = byte(b'-')(r)?;
    let (r, y) = digits(r, 4, 4)?;
    match Date::new(y as u16, m, d as u8) {
        Some(dt) => Ok((r, dt)),
        None => fail(i),
    }
}

/// `date = date-text / DQUOTE date-text DQUOTE`.
pub(crate) fn date(i: &[u8]) -> PResult<'_, Date> {
    if i.first() == Some(&b'"') {
        let (r, d) = date_text(&i[1..])?;
        let (r, _) = byte(b'"')(r)?;
        Ok((r, d))
    } else {
        date_text(i)
    }
}

/// `date-time`.
pub(crate) fn date_time(i: &[u8]) -> PResult<'_, DateTime> {
    let (r, _) = byte(b'"')(i)?;
    let (r, d) = if r.first() == Some(&b' ') {
        digits(&r[1..], 1, 1)?
    } else {
        digits(r, 2, 2)?
    };
    let (r, _) = byte(b'-')(r)?;
    let (r, m) = month(r)?;
    let (r, _) = byte(b'-')(r)?;
    let (r, y) = digits(r, 4, 4)?;
    let (r, _) = byte(b' ')(r)?;
    let (r, hh) = digits(r, 2, 2)?;
    let (r, _) = byte(b':')(r)?;
    let (r, mm) = digits(r, 2, 2)?;
    let (r, _) = byte(b':')(r)?;
    let (r, ss) = digits(r, 2, 2)?;
    let (r, _) = byte(b' ')(r)?;
    let (r, sign) = match r.first() {
        Some(b'+') => (&r[1..], 1i16),
        Some(b'-') => (&r[1..], -1i16),
        _ => return fail(r),
    };
    let (r, zh) = digits(r, 2, 2)?;
    let (r, zm) = digits(r, 2, 2)?;
    let (r, _) = byte(b'"')(r)?;
    if zm >= 60 {
        return fail(i);
    }
    let date = match Date::new(y as u16, m, d as u8) {
        Some(v) => v,
        None => return fail(i),
    };
    match DateTime::new(
        date,
        hh as u8,
        mm as u8,
        ss as u8,
        sign * (zh * 60 + zm) as i16,
    ) {
        Some(v) => Ok((r, v)),
        None => fail(i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_time_round_trip() {
        let (_, dt) = date_time(b"\" 7-Feb-1994 21:52:25 -0800\"").unwrap();
        assert_eq!(dt.zone_minutes(), -480);
        let mut w = Writer::new(false);
        dt.write(&mut w);
        assert_eq!(w.buf, b"\" 7-Feb-1994 21:52:25 -0800\"");
        assert!(date_time(b"\"31-Feb-1994 21:52:25 -0800\"").is_err());
        assert_eq!(
            date(b"1-feb-2024").unwrap().1,
            Date::new(2024, 2, 1).unwrap()
        );
        assert!(date(b"29-Feb-2023").is_err());
        assert!(date(b"29-Feb-2024").is_ok());
    }
}
