//! Plausible's CSV export read as Beacon's daily counters.
//!
//! The export is one CSV per table (`imported_pages_20240101_20241231.csv`, ...), each row one
//! day and one value with that day's counts; the columns are those Plausible documents for its
//! CSV import. Each row becomes the daily rollup counters it stands for ([`Table::targets`]),
//! with Plausible's names turned into the ones Beacon's own tracking stores (`Mac` is `macOS`,
//! `Laptop` a `desktop`, an empty source `Direct`), so an imported day and a tracked one list
//! the same rows.

use std::collections::HashMap;

use beacon_event::fields::PAGE_VIEW;
use csv::StringRecord;
use time::Date;

use crate::rollup::{channel_of, Counters, Dimension};

/// The tables of Plausible's export that Beacon reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    Visitors,
    Pages,
    EntryPages,
    ExitPages,
    Sources,
    Browsers,
    OperatingSystems,
    Devices,
    Locations,
    CustomEvents,
}

/// Where a row's counts go: the site's total (`None`) or one property's value.
pub type Target = Option<(Dimension, String)>;

/// The session columns most tables share (`visits` comes from `entrances` or `exits` on the
/// entry and exit pages).
const SESSION: [&str; 5] = [
    "visitors",
    "visits",
    "visit_duration",
    "bounces",
    "pageviews",
];

impl Table {
    pub const ALL: [Table; 10] = [
        Self::Visitors,
        Self::Pages,
        Self::EntryPages,
        Self::ExitPages,
        Self::Sources,
        Self::Browsers,
        Self::OperatingSystems,
        Self::Devices,
        Self::Locations,
        Self::CustomEvents,
    ];

    /// The table's name in the export, which its files are named after.
    pub fn name(self) -> &'static str {
        match self {
            Self::Visitors => "imported_visitors",
            Self::Pages => "imported_pages",
            Self::EntryPages => "imported_entry_pages",
            Self::ExitPages => "imported_exit_pages",
            Self::Sources => "imported_sources",
            Self::Browsers => "imported_browsers",
            Self::OperatingSystems => "imported_operating_systems",
            Self::Devices => "imported_devices",
            Self::Locations => "imported_locations",
            Self::CustomEvents => "imported_custom_events",
        }
    }

    /// The table a file of the export holds, by its name (`imported_pages.csv` or
    /// `imported_pages_20240101_20241231.csv`, in any folder); `None` for other files.
    pub fn of_file(path: &str) -> Option<Self> {
        let name = path.rsplit(['/', '\\']).next()?.strip_suffix(".csv")?;
        Self::ALL.into_iter().find(|t| {
            name.strip_prefix(t.name())
                .is_some_and(|rest| rest.is_empty() || is_date_range(rest))
        })
    }

    /// The dimension of every document this table's rows count in (`None`: the site's total).
    pub fn dims(self) -> &'static [Option<Dimension>] {
        use Dimension as D;
        match self {
            Self::Visitors => &[None, Some(D::EventType)],
            Self::Pages => &[Some(D::Path)],
            Self::EntryPages => &[Some(D::EntryPage)],
            Self::ExitPages => &[Some(D::ExitPage)],
            Self::Sources => &[
                Some(D::Source),
                Some(D::Referrer),
                Some(D::Channel),
                Some(D::UtmSource),
                Some(D::UtmMedium),
                Some(D::UtmCampaign),
                Some(D::UtmContent),
                Some(D::UtmTerm),
            ],
            Self::Browsers => &[Some(D::Browser)],
            Self::OperatingSystems => &[Some(D::Os)],
            Self::Devices => &[Some(D::Device)],
            Self::Locations => &[Some(D::Country)],
            Self::CustomEvents => &[Some(D::EventType)],
        }
    }

    /// The columns a file of this table must have (others are ignored).
    pub fn columns(self) -> Vec<&'static str> {
        let (own, counts): (&[&str], &[&str]) = match self {
            Self::Visitors => (
                &[],
                &[
                    "visitors",
                    "pageviews",
                    "bounces",
                    "visits",
                    "visit_duration",
                ],
            ),
            Self::Pages => (&["page"], &["visitors", "pageviews"]),
            Self::EntryPages => (
                &["entry_page"],
                &[
                    "visitors",
                    "entrances",
                    "visit_duration",
                    "bounces",
                    "pageviews",
                ],
            ),
            Self::ExitPages => (
                &["exit_page"],
                &[
                    "visitors",
                    "exits",
                    "visit_duration",
                    "bounces",
                    "pageviews",
                ],
            ),
            Self::Sources => (
                &[
                    "source",
                    "referrer",
                    "utm_source",
                    "utm_medium",
                    "utm_campaign",
                    "utm_content",
                    "utm_term",
                ],
                &SESSION,
            ),
            Self::Browsers => (&["browser"], &SESSION),
            Self::OperatingSystems => (&["operating_system"], &SESSION),
            Self::Devices => (&["device"], &SESSION),
            Self::Locations => (&["country"], &SESSION),
            Self::CustomEvents => (&["name"], &["visitors", "events"]),
        };
        std::iter::once("date")
            .chain(own.iter().chain(counts).copied())
            .collect()
    }
}

/// `_YYYYMMDD_YYYYMMDD`, the range Plausible appends to a file's name.
fn is_date_range(rest: &str) -> bool {
    let b = rest.as_bytes();
    b.len() == 18
        && b[0] == b'_'
        && b[9] == b'_'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 0 || i == 9 || c.is_ascii_digit())
}

/// Why a row was not imported.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Skip {
    /// A column's text is not what it must be (a date, a count).
    Malformed(&'static str),
    /// The CSV reader could not read the row (bytes that are not UTF-8, say).
    Unreadable,
    /// The row has fewer fields than the header names (a cut-off line).
    Short,
    /// The day has data tracked by Beacon, which was told to win.
    NativeDay,
    /// The site's today or later: not over, so its counts are not final.
    NotOver,
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed("date") => f.write_str("date is not a YYYY-MM-DD day"),
            Self::Malformed(column) => write!(f, "{column} is not a whole number (0 to 2^40)"),
            Self::Unreadable => f.write_str("not a readable CSV row"),
            Self::Short => f.write_str("fewer fields than the header"),
            Self::NotOver => f.write_str("the day is not over (today or later, the site's time)"),
            Self::NativeDay => f.write_str("the day has Beacon's own data (--prefer native)"),
        }
    }
}

/// A file's header: where each column the table needs is.
#[derive(Debug)]
pub struct Columns {
    table: Table,
    at: HashMap<&'static str, usize>,
}

impl Columns {
    /// Reads `header`; the error names the columns missing.
    pub fn new(table: Table, header: &StringRecord) -> Result<Self, String> {
        let mut at = HashMap::new();
        let mut missing = Vec::new();
        for column in table.columns() {
            match header.iter().position(|h| h.trim() == column) {
                Some(i) => {
                    at.insert(column, i);
                }
                None => missing.push(column),
            }
        }
        if missing.is_empty() {
            Ok(Self { table, at })
        } else {
            Err(format!("missing column(s) {}", missing.join(", ")))
        }
    }

    fn text<'r>(&self, row: &'r StringRecord, column: &'static str) -> &'r str {
        self.at
            .get(column)
            .and_then(|i| row.get(*i))
            .map_or("", str::trim)
    }

    fn count(&self, row: &StringRecord, column: &'static str) -> Result<i64, Skip> {
        match self.text(row, column) {
            "" => Ok(0),
            t => t
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=MAX_COUNT).contains(n))
                .ok_or(Skip::Malformed(column)),
        }
    }

    /// The row's day (a row cut short has none).
    pub fn date(&self, row: &StringRecord) -> Result<Date, Skip> {
        if self.at.values().any(|i| *i >= row.len()) {
            return Err(Skip::Short);
        }
        Date::parse(self.text(row, "date"), DAY).map_err(|_| Skip::Malformed("date"))
    }

    /// A visit table's counters, the visits read from `visits`.
    fn session(&self, row: &StringRecord, visits: &'static str) -> Result<Counters, Skip> {
        let views = self.count(row, "pageviews")?;
        Ok(Counters {
            views,
            events: views,
            visitors: self.count(row, "visitors")?,
            visits: self.count(row, visits)?,
            bounces: self.count(row, "bounces")?,
            duration: self.count(row, "visit_duration")?,
            ..Counters::default()
        })
    }

    /// An event table's counters: `pageviews` (pages) or `events` (custom events) and
    /// visitors.
    fn hits(&self, row: &StringRecord, column: &'static str) -> Result<Counters, Skip> {
        let n = self.count(row, column)?;
        Ok(Counters {
            views: if column == "pageviews" { n } else { 0 },
            events: n,
            visitors: self.count(row, "visitors")?,
            ..Counters::default()
        })
    }

    /// The counters `row` adds to each document it counts in.
    pub fn targets(&self, row: &StringRecord) -> Result<Vec<(Target, Counters)>, Skip> {
        let t = |column| self.text(row, column);
        let visit = || self.session(row, "visits");
        let one = |dim: Dimension, value: &str, counters| {
            vec![(Some((dim, dim.shown(value).to_owned())), counters)]
        };
        Ok(match self.table {
            Table::Visitors => {
                let total = visit()?;
                let views = self.hits(row, "pageviews")?;
                let page_views = Some((Dimension::EventType, PAGE_VIEW.to_owned()));
                vec![(None, total), (page_views, views)]
            }
            Table::Pages => one(Dimension::Path, t("page"), self.hits(row, "pageviews")?),
            Table::EntryPages => one(
                Dimension::EntryPage,
                t("entry_page"),
                self.session(row, "entrances")?,
            ),
            Table::ExitPages => one(
                Dimension::ExitPage,
                t("exit_page"),
                self.session(row, "exits")?,
            ),
            Table::Sources => sources(t, visit()?),
            Table::Browsers => one(Dimension::Browser, browser(t("browser")), visit()?),
            Table::OperatingSystems => one(Dimension::Os, os(t("operating_system")), visit()?),
            Table::Devices => one(Dimension::Device, &device(t("device")), visit()?),
            Table::Locations => one(Dimension::Country, t("country"), visit()?),
            Table::CustomEvents => one(Dimension::EventType, t("name"), self.hits(row, "events")?),
        })
    }
}

/// The largest count a row may hold: a trillion, far above any site's day, and low enough that
/// summing millions of rows cannot overflow a counter.
const MAX_COUNT: i64 = 1 << 40;

/// How the export writes a day.
const DAY: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// A row of `imported_sources` counts in the source, the referrer's domain, each UTM tag and
/// the channel they make.
fn sources<'r>(
    text: impl Fn(&'static str) -> &'r str,
    counters: Counters,
) -> Vec<(Target, Counters)> {
    let source = match text("source") {
        "Direct / None" => "",
        s => s,
    };
    let referrer = match text("referrer") {
        "" => String::new(),
        r if r.contains("://") => beacon_enrich::referrer::classify(Some(r), None).domain,
        r => beacon_enrich::referrer::classify(Some(&format!("https://{r}")), None).domain,
    };
    let utm = [
        (Dimension::UtmSource, text("utm_source")),
        (Dimension::UtmMedium, text("utm_medium")),
        (Dimension::UtmCampaign, text("utm_campaign")),
        (Dimension::UtmContent, text("utm_content")),
        (Dimension::UtmTerm, text("utm_term")),
    ];
    let channel = channel_of(source, [utm[0].1, utm[1].1, utm[2].1]);
    [
        (Dimension::Source, source),
        (Dimension::Referrer, referrer.as_str()),
        (Dimension::Channel, channel),
    ]
    .into_iter()
    .chain(utm)
    .map(|(dim, value)| (Some((dim, dim.shown(value).to_owned())), counters))
    .collect()
}

/// Plausible's browser names where Beacon's differ.
fn browser(name: &str) -> &str {
    match name {
        "Microsoft Edge" => "Edge",
        "Samsung Browser" => "Samsung Internet",
        "(not set)" => "",
        other => other,
    }
}

/// Plausible's operating system names where Beacon's differ.
fn os(name: &str) -> &str {
    match name {
        "Mac" => "macOS",
        "GNU/Linux" => "Linux",
        "Chrome OS" => "ChromeOS",
        "(not set)" => "",
        other => other,
    }
}

/// Plausible sorts devices by screen width, Beacon by what the browser says it runs on: a
/// laptop is a desktop.
fn device(name: &str) -> String {
    match name {
        "Laptop" => "desktop".to_owned(),
        "(not set)" => String::new(),
        other => other.to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(table: Table, header: &[&str]) -> Columns {
        Columns::new(table, &StringRecord::from(header.to_vec())).unwrap()
    }

    #[test]
    fn files_are_told_apart_by_name() {
        assert_eq!(
            Table::of_file("export/imported_pages_20240101_20241231.csv"),
            Some(Table::Pages)
        );
        assert_eq!(
            Table::of_file("imported_entry_pages.csv"),
            Some(Table::EntryPages)
        );
        assert_eq!(Table::of_file("imported_pages_2024.csv"), None);
        assert_eq!(
            Table::of_file("imported_custom_props_20240101_20241231.csv"),
            None
        );
        assert_eq!(Table::of_file("imported_pages_20240101_20241231.txt"), None);
    }

    #[test]
    fn every_table_names_the_dims_its_rows_count_in() {
        for table in Table::ALL {
            let columns = table.columns();
            let header = StringRecord::from(columns.clone());
            let row: Vec<&str> = columns
                .iter()
                .map(|c| if *c == "date" { "2024-01-02" } else { "1" })
                .collect();
            let targets = Columns::new(table, &header)
                .unwrap()
                .targets(&StringRecord::from(row))
                .unwrap();
            let dims: Vec<Option<Dimension>> = targets
                .iter()
                .map(|(t, _)| t.as_ref().map(|(d, _)| *d))
                .collect();
            let mut want = table.dims().to_vec();
            let mut got = dims.clone();
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, want, "{table:?}");
        }
    }

    #[test]
    fn a_header_without_a_needed_column_is_refused_by_name() {
        let header = StringRecord::from(vec!["date", "page", "visitors"]);
        let err = Columns::new(Table::Pages, &header).unwrap_err();
        assert_eq!(err, "missing column(s) pageviews");
    }

    #[test]
    fn a_source_row_counts_in_every_acquisition_property() {
        let c = columns(Table::Sources, &Table::Sources.columns());
        let row = StringRecord::from(vec![
            "2024-01-02",
            "Google",
            "www.google.com/search",
            "",
            "cpc",
            "spring",
            "",
            "",
            "3",
            "4",
            "120",
            "1",
            "9",
        ]);
        let got = c.targets(&row).unwrap();
        let value = |dim| {
            got.iter()
                .find(|(t, _)| t.as_ref().is_some_and(|(d, _)| *d == dim))
                .map(|(t, c)| (t.clone().unwrap().1, *c))
                .unwrap()
        };
        assert_eq!(value(Dimension::Source).0, "Google");
        assert_eq!(value(Dimension::Referrer).0, "google.com");
        assert_eq!(value(Dimension::Channel).0, "Paid Search");
        assert_eq!(value(Dimension::UtmContent).0, "");
        // visitors, visits, visit_duration, bounces, pageviews: the order of `columns()`.
        let want = Counters {
            views: 9,
            events: 9,
            visitors: 3,
            visits: 4,
            bounces: 1,
            duration: 120,
            ..Counters::default()
        };
        assert_eq!(got.len(), 8);
        assert!(got.iter().all(|(_, c)| *c == want));
    }

    #[test]
    fn plausible_names_become_beacons() {
        let c = columns(Table::Devices, &Table::Devices.columns());
        let row = StringRecord::from(vec!["2024-01-02", "Laptop", "1", "1", "0", "0", "1"]);
        assert_eq!(
            c.targets(&row).unwrap()[0].0,
            Some((Dimension::Device, "desktop".to_owned()))
        );
        let row = StringRecord::from(vec!["2024-01-02", "", "1", "1", "0", "0", "1"]);
        assert_eq!(
            c.targets(&row).unwrap()[0].0,
            Some((Dimension::Device, "unknown".to_owned()))
        );
        let row = StringRecord::from(vec!["2024-01-02", "Mobile", "x", "1", "0", "0", "1"]);
        assert_eq!(c.targets(&row), Err(Skip::Malformed("visitors")));
        let row = StringRecord::from(vec![
            "2024-01-02",
            "Mobile",
            "1099511627777",
            "1",
            "0",
            "0",
            "1",
        ]);
        assert_eq!(c.targets(&row), Err(Skip::Malformed("visitors")));
        let cut = StringRecord::from(vec!["2024-01-02", "Mobile", "1"]);
        assert_eq!(c.date(&cut), Err(Skip::Short));
        let row = StringRecord::from(vec!["02/01/2024", "Mobile", "1", "1", "0", "0", "1"]);
        assert_eq!(c.date(&row), Err(Skip::Malformed("date")));
        assert_eq!(os("Mac"), "macOS");
        assert_eq!(browser("Microsoft Edge"), "Edge");
    }
}
