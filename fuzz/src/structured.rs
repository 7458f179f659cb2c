//! Structure-aware prison-feed items.
//!
//! Random bytes rarely spell a valid HMPPS envelope, so this target builds the
//! JSON from a typed description (derived with `arbitrary`) that knows the
//! feed's keys and plausible values. Every choice's first variant is the
//! "plausible" one, so the empty input already builds a valid item and the
//! fuzzer spends its time on the rules deep in the parser: each field can
//! instead be absent, null, of the wrong JSON type, a different known value,
//! a known value with one edit, or any text.

use arbitrary::{Arbitrary, Unstructured};
use chrono::{DateTime, Duration, Utc};
use gatehouse_domain::NhsNumber;
use gatehouse_domain::feed::{hmpps, native};
use serde_json::{Map, Number, Value, json};

/// Builds the item and checks it with the feed invariants.
pub fn run(input: &FeedInput) {
    let now = input.now();
    let value = input.to_json();
    let _ = crate::feed::check(&value, now);
}

// ---------------------------------------------------------------- value lists

const PRISON_NUMBERS: &[&str] = &[
    "A1234BC", "B2345CD", "G2899UJ", "a1234BC", "A1234B", "A12345BC", "A123BCD", "Z9999ZZ",
];
const ESTABLISHMENTS: &[&str] = &[
    "LEI", "MDI", "KMI", "CRT", "HOSP", "OUT", "TRN", "ZZZ", "lei", "LE", "LEII", "HOS", "",
];
const CELLS: &[&str] = &[
    "LEI-A-2-014",
    "MDI-B-1-001",
    "LEI-ABCD-123-0001",
    "HOSP-A-1-1",
    "CRT-A-1-1",
    "LEI-A-2",
    "LEI-A-2-014-9",
    "LEI-ABCDE-1-1",
    "LEI-A-1234-1",
    "lei-a-2-014",
    "LEI--2-014",
    "LEI-A-2-01 4",
];
const REASONS: &[&str] = &[
    "NEW_ADMISSION",
    "READMISSION",
    "READMISSION_SWITCH_BOOKING",
    "TRANSFERRED",
    "RETURN_FROM_COURT",
    "TEMPORARY_ABSENCE_RETURN",
    "RETURN_FROM_HOSPITAL",
    "POST_MERGE_ADMISSION",
    "SENT_TO_COURT",
    "RELEASED_TO_HOSPITAL",
    "TEMPORARY_ABSENCE_RELEASE",
    "RELEASED",
    "CELL_MOVE",
    "ADMISSION",
    "new_admission",
    "UNKNOWN",
];
const MOVEMENT_KINDS: &[&str] = &[
    "reception",
    "transfer-out",
    "court-out",
    "hospital-out",
    "temporary-absence-out",
    "release",
    "cell-move",
    "Reception",
    "transfer",
];
const PLANNED_KINDS: &[&str] = &[
    "court-appearance",
    "transfer",
    "release",
    "hospital-escort",
    "court",
    "RELEASE",
];
const ALERT_CODES: &[&str] = &[
    "HA", "MEP", "XSA", "PEEP", "RNO121", "HA1", "VU", "TM", "OFR", "XA", "ha", "ZZZZ", "", "HA ",
];
const NHS_NUMBERS: &[&str] = &[
    "9434765919",
    "943 476 5919",
    "9434765918",
    "4010232137",
    "401 023 2137",
    "1234567890",
    "943476591",
    "94347659190",
    "943-476-5919",
    "9434765919 ",
];
const IDENT_TYPES: &[&str] = &["NOMS", "CRN", "PNC", "noms", ""];
const NAMES: &[&str] = &["Jon", "Smyth", "  Jon  ", "", " ", "O'Neil-Ḿ", "A\u{7}B", "名前"];
const IDS: &[&str] = &[
    "evt-1",
    "6a0783ee-024e-4201-8e1f-3ead5fd2492a",
    "",
    "sha256:00",
    "a\nb",
    "CRT-881",
];

// ---------------------------------------------------------------- building blocks

/// A small arbitrary JSON value, for fields given the wrong type. Nesting is
/// capped (serde_json caps it for raw input too), so a deep value can never
/// overflow the stack in this harness rather than in the parser.
#[derive(Debug, Clone)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(Key, Json)>),
}

const JSON_MAX_DEPTH: u32 = 4;

impl<'a> Arbitrary<'a> for Json {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Self::at_depth(u, 0)
    }
}

impl Json {
    fn at_depth(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Self> {
        let kinds = if depth >= JSON_MAX_DEPTH { 5 } else { 7 };
        Ok(match u.choose_index(kinds)? {
            0 => Self::Null,
            1 => Self::Bool(u.arbitrary()?),
            2 => Self::Int(u.arbitrary()?),
            3 => Self::Float(u.arbitrary()?),
            4 => Self::Str(u.arbitrary()?),
            5 => {
                let n = u.int_in_range(0..=4)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(Self::at_depth(u, depth + 1)?);
                }
                Self::Arr(items)
            }
            _ => {
                let n = u.int_in_range(0..=4)?;
                let mut fields = Vec::with_capacity(n);
                for _ in 0..n {
                    fields.push((u.arbitrary()?, Self::at_depth(u, depth + 1)?));
                }
                Self::Obj(fields)
            }
        })
    }

    pub fn to_json(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Int(n) => json!(n),
            Self::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Self::Str(s) => Value::String(s.clone()),
            Self::Arr(items) => Value::Array(items.iter().map(Self::to_json).collect()),
            Self::Obj(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.name(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// A key: one the feed knows (so stray structure lands on real fields), or any.
#[derive(Arbitrary, Debug, Clone)]
pub enum Key {
    Known(u8),
    Any(String),
}

const KEYS: &[&str] = &[
    "id",
    "eventType",
    "type",
    "version",
    "occurredAt",
    "additionalInformation",
    "personReference",
    "identifiers",
    "value",
    "prisonNumber",
    "nomsNumber",
    "prisonId",
    "toPrisonId",
    "reason",
    "cellLocation",
    "alertsAdded",
    "alertsRemoved",
    "alertCode",
    "alertUuid",
    "movement",
    "kind",
    "establishment",
    "destination",
    "cell",
    "alert",
    "code",
    "active",
    "activeFrom",
    "activeTo",
    "plannedMovement",
    "plannedFor",
    "description",
    "plannedMovementId",
    "person",
    "givenName",
    "familyName",
    "dateOfBirth",
    "nhsNumber",
];

impl Key {
    fn name(&self) -> String {
        match self {
            Self::Known(i) => KEYS[*i as usize % KEYS.len()].to_owned(),
            Self::Any(s) => s.clone(),
        }
    }
}

/// One edit to a known value.
#[derive(Arbitrary, Debug, Clone)]
pub enum Edit {
    Replace(u8, char),
    Insert(u8, char),
    Delete(u8),
    Truncate(u8),
    Lowercase,
    Pad,
    Repeat(u8),
    Append(String),
}

impl Edit {
    fn apply(&self, s: &str) -> String {
        let mut chars: Vec<char> = s.chars().collect();
        let at = |i: u8, len: usize| if len == 0 { 0 } else { i as usize % (len + 1) };
        match self {
            Self::Replace(i, c) => {
                if !chars.is_empty() {
                    let i = *i as usize % chars.len();
                    chars[i] = *c;
                }
            }
            Self::Insert(i, c) => {
                let i = at(*i, chars.len());
                chars.insert(i, *c);
            }
            Self::Delete(i) => {
                if !chars.is_empty() {
                    let i = *i as usize % chars.len();
                    chars.remove(i);
                }
            }
            Self::Truncate(i) => chars.truncate(at(*i, chars.len())),
            Self::Lowercase => return s.to_lowercase(),
            Self::Pad => return format!(" {s} "),
            Self::Repeat(n) => return s.repeat(1 + *n as usize % 40),
            Self::Append(t) => return format!("{s}{t}"),
        }
        chars.into_iter().collect()
    }
}

/// A string field: the plausible value for its context, another known value,
/// a known value with one edit, or any text.
#[derive(Arbitrary, Debug, Clone)]
pub enum Text {
    Auto,
    Pick(u8),
    Edited(u8, Edit),
    Any(String),
}

impl Text {
    fn resolve(&self, auto: &str, known: &[&str]) -> String {
        let pick = |i: u8| known[i as usize % known.len()];
        match self {
            Self::Auto => auto.to_owned(),
            Self::Pick(i) => pick(*i).to_owned(),
            Self::Edited(i, e) => e.apply(pick(*i)),
            Self::Any(s) => s.clone(),
        }
    }
}

/// A required field: mostly present, else missing, null or of the wrong type.
#[derive(Debug, Clone)]
pub enum Req<T> {
    Present(T),
    Absent,
    Null,
    Wrong(Json),
}

/// An optional field: mostly absent, else present, null or of the wrong type.
#[derive(Debug, Clone)]
pub enum Opt<T> {
    Absent,
    Present(T),
    Null,
    Wrong(Json),
}

// Written by hand, not derived: a derived generic enum shares one recursion
// guard among all its instantiations, so `Req<Info>` holding `Req<Text>`
// would refuse short inputs, and the empty input would not build the
// plausible item. A byte picks the variant (weighted); no bytes means 0.
impl<'a, T: Arbitrary<'a>> Arbitrary<'a> for Req<T> {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u8::arbitrary(u)? {
            0..=191 => Self::Present(T::arbitrary(u)?),
            192..=215 => Self::Absent,
            216..=231 => Self::Null,
            _ => Self::Wrong(Json::arbitrary(u)?),
        })
    }
}

impl<'a, T: Arbitrary<'a>> Arbitrary<'a> for Opt<T> {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u8::arbitrary(u)? {
            0..=127 => Self::Absent,
            128..=215 => Self::Present(T::arbitrary(u)?),
            216..=231 => Self::Null,
            _ => Self::Wrong(Json::arbitrary(u)?),
        })
    }
}

trait Slot<T> {
    fn get(&self) -> Option<Result<&T, Value>>;
}

impl<T> Slot<T> for Req<T> {
    fn get(&self) -> Option<Result<&T, Value>> {
        match self {
            Self::Present(t) => Some(Ok(t)),
            Self::Absent => None,
            Self::Null => Some(Err(Value::Null)),
            Self::Wrong(j) => Some(Err(j.to_json())),
        }
    }
}

impl<T> Slot<T> for Opt<T> {
    fn get(&self) -> Option<Result<&T, Value>> {
        match self {
            Self::Absent => None,
            Self::Present(t) => Some(Ok(t)),
            Self::Null => Some(Err(Value::Null)),
            Self::Wrong(j) => Some(Err(j.to_json())),
        }
    }
}

/// Puts `key` into `obj` as the slot says, building a present value with `f`.
fn put<T>(obj: &mut Map<String, Value>, key: &str, slot: &impl Slot<T>, f: impl FnOnce(&T) -> Value) {
    match slot.get() {
        None => {}
        Some(Ok(t)) => {
            obj.insert(key.to_owned(), f(t));
        }
        Some(Err(v)) => {
            obj.insert(key.to_owned(), v);
        }
    }
}

fn text(t: &Text, auto: &str, known: &[&str]) -> Value {
    Value::String(t.resolve(auto, known))
}

/// An RFC 3339 date-time: the plausible one, one built from (possibly
/// out-of-range) parts, or text.
#[derive(Arbitrary, Debug, Clone)]
pub enum Time {
    Auto,
    Parts {
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        fraction: Option<(u8, u64)>,
        offset: Offset,
        lower_case: bool,
    },
    Any(Text),
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Offset {
    Z,
    Plus(u8, u8),
    Minus(u8, u8),
    None,
}

const TIMES: &[&str] = &[
    "2026-03-01T09:00:00Z",
    "2026-03-01T09:52:18.8241261+01:00",
    "2026-03-01T12:04:59Z",
    "2026-03-01T12:05:01Z",
    "2024-10-14T15:08:51+01:00",
    "2026-03-01T09:00:00",
    "2026-03-01 09:00:00Z",
    "1985-12-31T23:59:60Z",
    "9999-12-31T23:59:59-23:59",
    "0000-01-01T00:00:00+23:59",
    "yesterday",
];

impl Time {
    fn resolve(&self, auto: &str) -> String {
        match self {
            Self::Auto => auto.to_owned(),
            Self::Parts {
                year,
                month,
                day,
                hour,
                minute,
                second,
                fraction,
                offset,
                lower_case,
            } => {
                // Mostly near real dates, with room for every edge.
                let year = if *year < 0xF000 { 1890 + u32::from(*year) % 250 } else { u32::from(*year) % 10_000 };
                let mut s = format!(
                    "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                    month % 14,
                    day % 33,
                    hour % 26,
                    minute % 62,
                    second % 62
                );
                if let Some((digits, value)) = fraction {
                    let digits = 1 + *digits as usize % 12;
                    let v = format!("{value:020}");
                    s.push('.');
                    s.push_str(&v[20 - digits..]);
                }
                match offset {
                    Offset::Z => s.push('Z'),
                    Offset::Plus(h, m) => s.push_str(&format!("+{:02}:{:02}", h % 26, m % 62)),
                    Offset::Minus(h, m) => s.push_str(&format!("-{:02}:{:02}", h % 26, m % 62)),
                    Offset::None => {}
                }
                if *lower_case {
                    s = s.to_lowercase();
                }
                s
            }
            Self::Any(t) => t.resolve(auto, TIMES),
        }
    }
}

/// A calendar date (`YYYY-MM-DD`), built the same way.
#[derive(Arbitrary, Debug, Clone)]
pub enum Date {
    Auto,
    Parts { year: u16, month: u8, day: u8 },
    Any(Text),
}

const DATES: &[&str] = &[
    "1985-03-04",
    "2026-02-27",
    "2026-03-02",
    "1900-01-01",
    "1899-12-31",
    "2024-02-29",
    "2025-02-29",
    "04/03/1985",
    "1985-3-4",
    "+1985-03-04",
    " 1985-03-04",
    "19850304",
];

impl Date {
    fn resolve(&self, auto: &str) -> String {
        match self {
            Self::Auto => auto.to_owned(),
            Self::Parts { year, month, day } => {
                let year = if *year < 0xF000 { 1890 + u32::from(*year) % 250 } else { u32::from(*year) % 10_000 };
                format!("{year:04}-{:02}-{:02}", month % 14, day % 33)
            }
            Self::Any(t) => t.resolve(auto, DATES),
        }
    }
}

/// An NHS number: a plausible one, one built from any nine-digit prefix (with
/// its check digit, or a wrong one), or text.
#[derive(Arbitrary, Debug, Clone)]
pub enum Nhs {
    Auto,
    Prefix { nine: u32, spaced: bool, wrong_check: Option<u8> },
    Any(Text),
}

impl Nhs {
    fn resolve(&self) -> String {
        match self {
            Self::Auto => "9434765919".into(),
            Self::Prefix {
                nine,
                spaced,
                wrong_check,
            } => {
                let nine = nine % 1_000_000_000;
                let s = match (NhsNumber::from_prefix(nine), wrong_check) {
                    (Some(n), None) => n.as_str().to_owned(),
                    (_, Some(c)) => format!("{nine:09}{}", c % 10),
                    (None, None) => format!("{nine:09}0"),
                };
                if *spaced {
                    format!("{} {} {}", &s[..3], &s[3..6], &s[6..])
                } else {
                    s
                }
            }
            Self::Any(t) => t.resolve("9434765919", NHS_NUMBERS),
        }
    }
}

// ---------------------------------------------------------------- the item

/// Which key names the item's type.
#[derive(Arbitrary, Debug, Clone)]
pub enum Shape {
    /// `eventType` for an HMPPS type, `type` for a Gatehouse one.
    Natural,
    EventType,
    Type,
    Both,
    Neither,
}

#[derive(Arbitrary, Debug, Clone)]
pub enum EventType {
    Known(u8),
    Edited(u8, Edit),
    Wrong(Json),
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Version {
    One,
    OneText,
    OnePointZero,
    Int(i64),
    Text(Text),
}

#[derive(Arbitrary, Debug, Clone)]
pub struct FeedInput {
    /// The server clock, in minutes from the base instant.
    pub now_minutes: i16,
    pub shape: Shape,
    pub event_type: EventType,
    pub id: Opt<Text>,
    pub version: Req<Version>,
    pub occurred_at: Req<Time>,
    pub info: Req<Info>,
    pub person_reference: Req<PersonRef>,
    pub prison_number: Req<Text>,
    pub person: Req<Person>,
    pub movement: Req<MovementIn>,
    pub alert: Req<AlertIn>,
    pub planned: Req<PlannedIn>,
    pub planned_movement_id: Req<Text>,
    /// Put every section in, not just the ones the type reads.
    pub all_sections: bool,
    /// Stray top-level fields, set last (they may overwrite known ones).
    pub extra: Vec<(Key, Json)>,
}

#[derive(Arbitrary, Debug, Clone)]
pub struct Info {
    pub noms_number: Req<Text>,
    pub prison_id: Req<Text>,
    pub reason: Req<Text>,
    pub cell_location: Opt<Text>,
    pub to_prison_id: Opt<Text>,
    pub alerts_added: Req<Vec<Text>>,
    pub alerts_removed: Opt<Vec<Text>>,
    pub alert_code: Req<Text>,
    pub alert_uuid: Req<Text>,
    pub extra: Vec<(Key, Json)>,
}

#[derive(Arbitrary, Debug, Clone)]
pub struct PersonRef {
    pub identifiers: Req<Vec<Ident>>,
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Ident {
    Noms(Req<Text>),
    Other { kind: Text, value: Opt<Json> },
    NotAnObject(Json),
}

#[derive(Arbitrary, Debug, Clone)]
pub struct Person {
    pub given_name: Req<Text>,
    pub family_name: Req<Text>,
    pub date_of_birth: Req<Date>,
    pub nhs_number: Req<Nhs>,
}

#[derive(Arbitrary, Debug, Clone)]
pub struct MovementIn {
    pub kind: Req<Text>,
    pub reason: Opt<Text>,
    pub establishment: Req<Text>,
    pub destination: Opt<Text>,
    pub cell: Opt<Text>,
}

#[derive(Arbitrary, Debug, Clone)]
pub struct AlertIn {
    pub id: Opt<Text>,
    pub code: Req<Text>,
    pub active: Req<bool>,
    pub active_from: Opt<Date>,
    pub active_to: Opt<Date>,
}

#[derive(Arbitrary, Debug, Clone)]
pub struct PlannedIn {
    pub id: Req<Text>,
    pub kind: Req<Text>,
    pub establishment: Req<Text>,
    pub destination: Opt<Text>,
    pub planned_for: Req<Time>,
    pub description: Opt<Text>,
}

/// Every type the feed accepts, HMPPS first, then Gatehouse's, then near misses.
fn all_event_types() -> Vec<&'static str> {
    let mut v: Vec<&str> = hmpps::EVENT_TYPES.to_vec();
    v.extend_from_slice(native::EVENT_TYPES);
    v.extend_from_slice(&[
        "prisoner-offender-search.prisoner.created",
        "prison-offender-events.prisoner.merged",
        "person.case-note.created",
        "gatehouse.nope",
    ]);
    v
}

impl FeedInput {
    pub fn now(&self) -> DateTime<Utc> {
        crate::base_now() + Duration::minutes(i64::from(self.now_minutes))
    }

    pub fn to_json(&self) -> Value {
        let types = all_event_types();
        let (type_name, type_value) = match &self.event_type {
            EventType::Known(i) => {
                let t = types[*i as usize % types.len()];
                (t.to_owned(), Value::String(t.to_owned()))
            }
            EventType::Edited(i, e) => {
                let t = types[*i as usize % types.len()];
                (t.to_owned(), Value::String(e.apply(t)))
            }
            EventType::Wrong(j) => (String::new(), j.to_json()),
        };
        let is_native = type_name.starts_with("gatehouse.");
        let mut obj = Map::new();
        put(&mut obj, "id", &self.id, |t| text(t, "evt-1", IDS));
        match self.shape {
            Shape::Natural if is_native => {
                obj.insert("type".into(), type_value);
            }
            Shape::Natural | Shape::EventType => {
                obj.insert("eventType".into(), type_value);
            }
            Shape::Type => {
                obj.insert("type".into(), type_value);
            }
            Shape::Both => {
                obj.insert("eventType".into(), type_value.clone());
                obj.insert("type".into(), type_value);
            }
            Shape::Neither => {}
        }
        put(&mut obj, "occurredAt", &self.occurred_at, |t| {
            Value::String(t.resolve("2026-03-01T09:00:00Z"))
        });

        let all = self.all_sections;
        let hmpps_item = !is_native || all;
        if hmpps_item {
            put(&mut obj, "version", &self.version, |v| match v {
                Version::One => json!(1),
                Version::OneText => json!("1"),
                Version::OnePointZero => json!(1.0),
                Version::Int(n) => json!(n),
                Version::Text(t) => text(t, "1", &["1", "01", "1.0", "2", ""]),
            });
            put(&mut obj, "additionalInformation", &self.info, |i| i.to_json(&type_name));
            put(&mut obj, "personReference", &self.person_reference, PersonRef::to_json);
        }
        if is_native || all {
            put(&mut obj, "prisonNumber", &self.prison_number, |t| {
                text(t, "A1234BC", PRISON_NUMBERS)
            });
        }
        let section = |name: &str| all || type_name == name;
        if section("gatehouse.person") {
            put(&mut obj, "person", &self.person, Person::to_json);
        }
        if section("gatehouse.movement") {
            put(&mut obj, "movement", &self.movement, MovementIn::to_json);
        }
        if section("gatehouse.alert") {
            put(&mut obj, "alert", &self.alert, AlertIn::to_json);
        }
        if section("gatehouse.planned-movement") {
            put(&mut obj, "plannedMovement", &self.planned, PlannedIn::to_json);
        }
        if section("gatehouse.planned-movement.cancelled") {
            put(&mut obj, "plannedMovementId", &self.planned_movement_id, |t| {
                text(t, "CRT-881", IDS)
            });
        }
        for (k, v) in &self.extra {
            obj.insert(k.name(), v.to_json());
        }
        Value::Object(obj)
    }
}

impl Info {
    fn to_json(&self, event_type: &str) -> Value {
        let mut o = Map::new();
        put(&mut o, "nomsNumber", &self.noms_number, |t| text(t, "A1234BC", PRISON_NUMBERS));
        // The reason that fits the type, so the plausible item is valid.
        let reason = if event_type.ends_with(".released") { "RELEASED" } else { "NEW_ADMISSION" };
        let wants = |suffix: &str| event_type.ends_with(suffix);
        if wants(".received") || wants(".released") {
            put(&mut o, "prisonId", &self.prison_id, |t| text(t, "LEI", ESTABLISHMENTS));
            put(&mut o, "reason", &self.reason, |t| text(t, reason, REASONS));
            put(&mut o, "toPrisonId", &self.to_prison_id, |t| text(t, "MDI", ESTABLISHMENTS));
        }
        if wants(".received") || wants(".cell.move") {
            let auto = if wants(".cell.move") { "LEI-B-1-001" } else { "LEI-A-2-014" };
            put(&mut o, "cellLocation", &self.cell_location, |t| text(t, auto, CELLS));
        }
        if wants(".alerts-updated") {
            let codes = |v: &Vec<Text>, auto: &str| {
                Value::Array(v.iter().map(|t| text(t, auto, ALERT_CODES)).collect())
            };
            put(&mut o, "alertsAdded", &self.alerts_added, |v| codes(v, "HA"));
            put(&mut o, "alertsRemoved", &self.alerts_removed, |v| codes(v, "MEP"));
        }
        if event_type.starts_with("person.alert.") {
            put(&mut o, "alertCode", &self.alert_code, |t| text(t, "PEEP", ALERT_CODES));
            put(&mut o, "alertUuid", &self.alert_uuid, |t| {
                text(t, "6a0783ee-024e-4201-8e1f-3ead5fd2492a", IDS)
            });
        }
        for (k, v) in &self.extra {
            o.insert(k.name(), v.to_json());
        }
        Value::Object(o)
    }
}

impl PersonRef {
    fn to_json(&self) -> Value {
        let mut o = Map::new();
        put(&mut o, "identifiers", &self.identifiers, |ids| {
            Value::Array(ids.iter().map(Ident::to_json).collect())
        });
        Value::Object(o)
    }
}

impl Ident {
    fn to_json(&self) -> Value {
        match self {
            Self::Noms(value) => {
                let mut o = Map::new();
                o.insert("type".into(), json!("NOMS"));
                put(&mut o, "value", value, |t| text(t, "A1234BC", PRISON_NUMBERS));
                Value::Object(o)
            }
            Self::Other { kind, value } => {
                let mut o = Map::new();
                o.insert("type".into(), text(kind, "CRN", IDENT_TYPES));
                put(&mut o, "value", value, Json::to_json);
                Value::Object(o)
            }
            Self::NotAnObject(j) => j.to_json(),
        }
    }
}

impl Person {
    fn to_json(&self) -> Value {
        let mut o = Map::new();
        put(&mut o, "givenName", &self.given_name, |t| text(t, "Jon", NAMES));
        put(&mut o, "familyName", &self.family_name, |t| text(t, "Smyth", NAMES));
        put(&mut o, "dateOfBirth", &self.date_of_birth, |d| {
            Value::String(d.resolve("1985-03-04"))
        });
        put(&mut o, "nhsNumber", &self.nhs_number, |n| Value::String(n.resolve()));
        Value::Object(o)
    }
}

impl MovementIn {
    fn to_json(&self) -> Value {
        let mut o = Map::new();
        put(&mut o, "kind", &self.kind, |t| text(t, "reception", MOVEMENT_KINDS));
        put(&mut o, "reason", &self.reason, |t| text(t, "NEW_ADMISSION", REASONS));
        put(&mut o, "establishment", &self.establishment, |t| {
            text(t, "LEI", ESTABLISHMENTS)
        });
        put(&mut o, "destination", &self.destination, |t| text(t, "MDI", ESTABLISHMENTS));
        put(&mut o, "cell", &self.cell, |t| text(t, "LEI-A-2-014", CELLS));
        Value::Object(o)
    }
}

impl AlertIn {
    fn to_json(&self) -> Value {
        let mut o = Map::new();
        put(&mut o, "id", &self.id, |t| text(t, "6a0783ee-024e-4201-8e1f-3ead5fd2492a", IDS));
        put(&mut o, "code", &self.code, |t| text(t, "HA", ALERT_CODES));
        // `false` is arbitrary's default, so the plausible alert is inactive.
        put(&mut o, "active", &self.active, |b| Value::Bool(*b));
        put(&mut o, "activeFrom", &self.active_from, |d| {
            Value::String(d.resolve("2026-02-27"))
        });
        put(&mut o, "activeTo", &self.active_to, |d| Value::String(d.resolve("2026-02-28")));
        Value::Object(o)
    }
}

impl PlannedIn {
    fn to_json(&self) -> Value {
        let mut o = Map::new();
        put(&mut o, "id", &self.id, |t| text(t, "CRT-881", IDS));
        put(&mut o, "kind", &self.kind, |t| text(t, "court-appearance", PLANNED_KINDS));
        put(&mut o, "establishment", &self.establishment, |t| {
            text(t, "LEI", ESTABLISHMENTS)
        });
        put(&mut o, "destination", &self.destination, |t| text(t, "MDI", ESTABLISHMENTS));
        put(&mut o, "plannedFor", &self.planned_for, |t| {
            Value::String(t.resolve("2026-03-06T09:30:00Z"))
        });
        put(&mut o, "description", &self.description, |t| {
            text(t, "Leeds Crown Court", &["Leeds Crown Court", "", "a\u{0}b"])
        });
        Value::Object(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The empty input, and each known type picked with everything else
    /// plausible, builds an item the parser accepts: the starting point the
    /// fuzzer mutates away from is deep inside the parser.
    #[test]
    fn plausible_items_parse() {
        let types = all_event_types();
        let accepted = hmpps::EVENT_TYPES.len() + native::EVENT_TYPES.len();
        for i in 0..accepted {
            let mut input = FeedInput::arbitrary(&mut Unstructured::new(&[])).unwrap();
            input.event_type = EventType::Known(i as u8);
            let v = input.to_json();
            let r = crate::feed::check(&v, input.now());
            assert!(r.is_ok(), "{}: {v}: {r:?}", types[i]);
        }
    }

    /// The committed seeds for this target decode (as the fuzz target decodes
    /// them) to items the parser accepts, one per accepted type.
    #[test]
    fn seeds_build_accepted_items() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/feed_structured");
        let mut accepted = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let input = FeedInput::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
            let v = input.to_json();
            if let Ok(item) = crate::feed::check(&v, input.now()) {
                accepted.insert(item.event_type);
            }
        }
        assert_eq!(accepted.len(), hmpps::EVENT_TYPES.len() + native::EVENT_TYPES.len());
    }

    /// The committed seeds of the raw-JSON target are accepted items.
    #[test]
    fn json_seeds_are_accepted() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/feed_json");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let items = match v {
                Value::Array(items) => items,
                one => vec![one],
            };
            for item in items {
                let r = crate::feed::check(&item, crate::base_now());
                assert!(r.is_ok(), "{}: {r:?}", path.display());
            }
        }
    }

    /// Prints what a corpus reaches: accepted items per type and refusals per
    /// field. `GATEHOUSE_FUZZ_TALLY=fuzz/corpus/feed_structured cargo test
    /// --lib tally -- --nocapture` (a folder of this target's inputs).
    #[test]
    fn tally_corpus() {
        let Ok(dir) = std::env::var("GATEHOUSE_FUZZ_TALLY") else {
            return;
        };
        let mut tally = std::collections::BTreeMap::<String, usize>::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let Ok(input) = FeedInput::arbitrary_take_rest(Unstructured::new(&bytes)) else {
                continue;
            };
            let key = match crate::feed::check(&input.to_json(), input.now()) {
                Ok(item) => format!("ok {} {}", item.event_type, item.command.name()),
                Err(e) => format!("refused {}", e.error.field),
            };
            *tally.entry(key).or_default() += 1;
        }
        for (k, n) in tally {
            println!("{n:6} {k}");
        }
    }

    /// Writes each plausible item as JSON into `$GATEHOUSE_FUZZ_DUMP`
    /// (a folder), for the raw-JSON target's seed corpus.
    #[test]
    fn dump_plausible_items() {
        let Ok(dir) = std::env::var("GATEHOUSE_FUZZ_DUMP") else {
            return;
        };
        let types = all_event_types();
        for (i, name) in types.iter().enumerate().take(16) {
            let mut input = FeedInput::arbitrary(&mut Unstructured::new(&[])).unwrap();
            input.event_type = EventType::Known(i as u8);
            let text = serde_json::to_string(&input.to_json()).unwrap();
            std::fs::write(format!("{dir}/{name}.json"), text).unwrap();
        }
    }
}
