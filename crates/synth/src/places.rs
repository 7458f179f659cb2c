//! The prisons an estate uses, their rough sizes and kinds, cells, and the
//! courts their people are taken to.

use crate::mix;
use gatehouse_domain::{Establishment, EstablishmentCode, EstablishmentKind};
use rand::Rng;

/// Establishments that hold women (the women's estate of England and Wales).
pub const WOMENS: &[&str] = &[
    "AGI", "BZI", "DHI", "DWI", "ESI", "EWI", "FHI", "LNI", "NHI", "PFI", "SDI", "STI",
];
/// Open (category D) prisons, from which release on temporary licence is routine.
pub const OPEN: &[&str] = &[
    "AGI", "EHI", "ESI", "FDI", "HBI", "HDI", "KMI", "KVI", "LYI", "NSI", "SPI", "SUI", "TCI",
    "UPI",
];
/// Establishments for children (under 18), left out: the synthetic estate is the adult estate.
pub const CHILDRENS: &[&str] = &["CKI", "WNI", "WYI"];
/// The prisons every estate starts with, in this order.
pub const FIRST: &[&str] = &["LEI", "MDI", "NHI"];

/// A prison in use, with what the generator needs to know of it.
#[derive(Debug, Clone)]
pub struct Prison {
    pub establishment: Establishment,
    pub women: bool,
    pub open: bool,
    /// Relative population (about the number of people held).
    pub weight: u64,
}

impl Prison {
    pub fn code(&self) -> &str {
        self.establishment.code.as_str()
    }
}

/// The adult prisons of the catalogue in estate order: [`FIRST`], then the
/// rest in catalogue order, without the children's establishments.
pub fn adult_prisons() -> Vec<Prison> {
    let all: Vec<Establishment> = Establishment::catalogue()
        .into_iter()
        .filter(|e| e.kind == EstablishmentKind::Prison && !CHILDRENS.contains(&e.code.as_str()))
        .collect();
    let mut ordered: Vec<Establishment> = FIRST
        .iter()
        .filter_map(|c| all.iter().find(|e| e.code.as_str() == *c).cloned())
        .collect();
    ordered.extend(
        all.into_iter()
            .filter(|e| !FIRST.contains(&e.code.as_str())),
    );
    ordered
        .into_iter()
        .map(|establishment| {
            let code = establishment.code.as_str();
            let women = WOMENS.contains(&code);
            let open = OPEN.contains(&code);
            let h = mix(u64::from_le_bytes({
                let mut b = [0u8; 8];
                b[..code.len()].copy_from_slice(code.as_bytes());
                b
            }));
            let weight = match code {
                "LEI" => 1_100,
                "MDI" => 1_000,
                "NHI" => 400,
                _ if women => 250 + h % 300,
                _ if open => 250 + h % 350,
                _ => 400 + h % 1_100,
            };
            Prison {
                establishment,
                women,
                open,
                weight,
            }
        })
        .collect()
}

/// A cell: wing A–F, landing 1–4, cell 001–040.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub wing: u8,
    pub landing: u8,
    pub number: u8,
}

impl Cell {
    pub fn random<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self {
            wing: rng.random_range(0..6u8),
            landing: rng.random_range(1..=4u8),
            number: rng.random_range(1..=40u8),
        }
    }

    /// A random cell other than `self`.
    pub fn another<R: Rng + ?Sized>(self, rng: &mut R) -> Self {
        loop {
            let c = Self::random(rng);
            if c != self {
                return c;
            }
        }
    }

    pub fn render(self, establishment: &EstablishmentCode) -> String {
        format!(
            "{}-{}-{}-{:03}",
            establishment.as_str(),
            char::from(b'A' + self.wing),
            self.landing,
            self.number
        )
    }

    /// Reads the wing, landing and cell of `LEI-A-2-014`.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut it = raw.split('-').skip(1);
        let wing = it.next()?.bytes().next()?.checked_sub(b'A')?;
        let landing = it.next()?.parse().ok()?;
        let number = it.next()?.parse().ok()?;
        Some(Self {
            wing,
            landing,
            number,
        })
    }
}

pub const COURTS: &[&str] = &[
    "Leeds Crown Court",
    "Leeds Magistrates' Court",
    "Bradford Crown Court",
    "Sheffield Crown Court",
    "Doncaster Crown Court",
    "Hull Crown Court",
    "York Crown Court",
    "Teesside Crown Court",
    "Newcastle Crown Court",
    "Durham Crown Court",
    "Carlisle Crown Court",
    "Preston Crown Court",
    "Liverpool Crown Court",
    "Manchester Crown Court (Minshull Street)",
    "Chester Crown Court",
    "Stoke-on-Trent Crown Court",
    "Stafford Crown Court",
    "Wolverhampton Crown Court",
    "Birmingham Crown Court",
    "Coventry Crown Court",
    "Leicester Crown Court",
    "Nottingham Crown Court",
    "Derby Crown Court",
    "Lincoln Crown Court",
    "Northampton Crown Court",
    "Peterborough Crown Court",
    "Cambridge Crown Court",
    "Norwich Crown Court",
    "Ipswich Crown Court",
    "Chelmsford Crown Court",
    "Luton Crown Court",
    "St Albans Crown Court",
    "Oxford Crown Court",
    "Reading Crown Court",
    "Central Criminal Court",
    "Southwark Crown Court",
    "Snaresbrook Crown Court",
    "Wood Green Crown Court",
    "Croydon Crown Court",
    "Westminster Magistrates' Court",
    "Maidstone Crown Court",
    "Canterbury Crown Court",
    "Lewes Crown Court",
    "Guildford Crown Court",
    "Winchester Crown Court",
    "Portsmouth Crown Court",
    "Bournemouth Crown Court",
    "Salisbury Crown Court",
    "Bristol Crown Court",
    "Gloucester Crown Court",
    "Worcester Crown Court",
    "Exeter Crown Court",
    "Plymouth Crown Court",
    "Truro Crown Court",
    "Cardiff Crown Court",
    "Newport Crown Court",
    "Swansea Crown Court",
    "Mold Crown Court",
    "Caernarfon Crown Court",
];

/// A court near the prison: a fixed local list for the demo prisons, three
/// neighbours in [`COURTS`] chosen by the code for the rest.
pub fn court_for<R: Rng + ?Sized>(code: &str, rng: &mut R) -> &'static str {
    let local: &[&str] = match code {
        "LEI" => &[
            "Leeds Crown Court",
            "Leeds Magistrates' Court",
            "Bradford Crown Court",
        ],
        "MDI" => &[
            "Doncaster Crown Court",
            "Sheffield Crown Court",
            "Hull Crown Court",
        ],
        "NHI" => &[
            "Leeds Crown Court",
            "Bradford Crown Court",
            "Sheffield Crown Court",
        ],
        _ => {
            let start = (mix(code.bytes().fold(7u64, |h, b| h * 31 + u64::from(b)))
                % COURTS.len() as u64) as usize;
            let k = rng.random_range(0..3u32) as usize;
            return COURTS[(start + k) % COURTS.len()];
        }
    };
    local[rng.random_range(0..local.len() as u32) as usize]
}
