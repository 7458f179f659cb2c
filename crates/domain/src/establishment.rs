//! Establishments: prisons by their 3-letter code, and the special places a
//! person can be while outside a prison (DESIGN.md §2).

use crate::ids::EstablishmentCode;
use serde::Serialize;
use utoipa::ToSchema;

/// What kind of place a code names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EstablishmentKind {
    Prison,
    Court,
    Hospital,
    Released,
    Transit,
}

impl EstablishmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prison => "prison",
            Self::Court => "court",
            Self::Hospital => "hospital",
            Self::Released => "released",
            Self::Transit => "transit",
        }
    }
}

/// The codes of the non-prison places.
pub const COURT: &str = "CRT";
pub const HOSPITAL: &str = "HOSP";
pub const RELEASED: &str = "OUT";
pub const TRANSIT: &str = "TRN";

/// An establishment known to Gatehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Establishment {
    pub code: EstablishmentCode,
    pub name: String,
    pub kind: EstablishmentKind,
}

impl Establishment {
    /// The kind a code names: one of the special places, or else a prison.
    pub fn kind_of(code: &EstablishmentCode) -> EstablishmentKind {
        match code.as_str() {
            COURT => EstablishmentKind::Court,
            HOSPITAL => EstablishmentKind::Hospital,
            RELEASED => EstablishmentKind::Released,
            TRANSIT => EstablishmentKind::Transit,
            _ => EstablishmentKind::Prison,
        }
    }

    /// The built-in catalogue: the special places and the prisons of England
    /// and Wales by their public HMPPS codes. An operator may add more.
    pub fn catalogue() -> Vec<Establishment> {
        SPECIAL_PLACES
            .iter()
            .chain(PRISONS.iter())
            .map(|(code, name)| {
                let code = EstablishmentCode::parse(code).expect("catalogue codes are well-formed");
                let kind = Self::kind_of(&code);
                Establishment {
                    code,
                    name: (*name).to_owned(),
                    kind,
                }
            })
            .collect()
    }
}

const SPECIAL_PLACES: &[(&str, &str)] = &[
    (COURT, "Court"),
    (HOSPITAL, "Hospital"),
    (RELEASED, "Released"),
    (TRANSIT, "In transit"),
];

/// Public establishment codes (reference data, not personal data).
const PRISONS: &[(&str, &str)] = &[
    ("ACI", "HMP Altcourse"),
    ("AGI", "HMP Askham Grange"),
    ("ASI", "HMP Ashfield"),
    ("AYI", "HMP Aylesbury"),
    ("BAI", "HMP Belmarsh"),
    ("BCI", "HMP Buckley Hall"),
    ("BFI", "HMP Bedford"),
    ("BLI", "HMP Bristol"),
    ("BMI", "HMP Birmingham"),
    ("BNI", "HMP Bullingdon"),
    ("BRI", "HMP Bure"),
    ("BSI", "HMP Brinsford"),
    ("BWI", "HMP Berwyn"),
    ("BXI", "HMP Brixton"),
    ("BZI", "HMP Bronzefield"),
    ("CDI", "HMP Chelmsford"),
    ("CFI", "HMP Cardiff"),
    ("CKI", "HMYOI Cookham Wood"),
    ("CLI", "HMP Coldingley"),
    ("CWI", "HMP Channings Wood"),
    ("DAI", "HMP Dartmoor"),
    ("DGI", "HMP Dovegate"),
    ("DHI", "HMP Drake Hall"),
    ("DMI", "HMP Durham"),
    ("DNI", "HMP Doncaster"),
    ("DTI", "HMYOI Deerbolt"),
    ("DWI", "HMP Downview"),
    ("EEI", "HMP Erlestoke"),
    ("EHI", "HMP Standford Hill"),
    ("ESI", "HMP East Sutton Park"),
    ("EWI", "HMP Eastwood Park"),
    ("EXI", "HMP Exeter"),
    ("EYI", "HMP Elmley"),
    ("FBI", "HMP Forest Bank"),
    ("FDI", "HMP Ford"),
    ("FHI", "HMP Foston Hall"),
    ("FKI", "HMP Frankland"),
    ("FMI", "HMYOI Feltham"),
    ("FNI", "HMP Full Sutton"),
    ("FSI", "HMP Featherstone"),
    ("FWI", "HMP Fosse Way"),
    ("FYI", "HMP Five Wells"),
    ("GHI", "HMP Garth"),
    ("GMI", "HMP Guys Marsh"),
    ("GNI", "HMP Grendon"),
    ("GTI", "HMP Gartree"),
    ("HBI", "HMP Hollesley Bay"),
    ("HCI", "HMP Huntercombe"),
    ("HDI", "HMP Hatfield"),
    ("HEI", "HMP Hewell"),
    ("HHI", "HMP Holme House"),
    ("HII", "HMP Hindley"),
    ("HLI", "HMP Hull"),
    ("HMI", "HMP Humber"),
    ("HOI", "HMP High Down"),
    ("HPI", "HMP Highpoint"),
    ("HVI", "HMP Haverigg"),
    ("ISI", "HMP Isis"),
    ("IWI", "HMP Isle of Wight"),
    ("KMI", "HMP Kirkham"),
    ("KVI", "HMP Kirklevington Grange"),
    ("LCI", "HMP Leicester"),
    ("LEI", "HMP Leeds"),
    ("LFI", "HMP Lancaster Farms"),
    ("LGI", "HMP Lowdham Grange"),
    ("LHI", "HMP Lindholme"),
    ("LII", "HMP Lincoln"),
    ("LLI", "HMP Long Lartin"),
    ("LNI", "HMP Low Newton"),
    ("LPI", "HMP Liverpool"),
    ("LTI", "HMP Littlehey"),
    ("LWI", "HMP Lewes"),
    ("LYI", "HMP Leyhill"),
    ("MDI", "HMP Moorland"),
    ("MHI", "HMP Morton Hall"),
    ("MRI", "HMP Manchester"),
    ("MSI", "HMP Maidstone"),
    ("MTI", "HMP The Mount"),
    ("NHI", "HMP New Hall"),
    ("NLI", "HMP Northumberland"),
    ("NMI", "HMP Nottingham"),
    ("NSI", "HMP North Sea Camp"),
    ("NWI", "HMP Norwich"),
    ("ONI", "HMP Onley"),
    ("OWI", "HMP Oakwood"),
    ("PBI", "HMP Peterborough"),
    ("PDI", "HMP Portland"),
    ("PFI", "HMP Peterborough (Women)"),
    ("PNI", "HMP Preston"),
    ("PRI", "HMP Parc"),
    ("PVI", "HMP Pentonville"),
    ("RCI", "HMYOI Rochester"),
    ("RHI", "HMP Rye Hill"),
    ("RNI", "HMP Ranby"),
    ("RSI", "HMP Risley"),
    ("SDI", "HMP Send"),
    ("SFI", "HMP Stafford"),
    ("SHI", "HMP Stoke Heath"),
    ("SKI", "HMP Stocken"),
    ("SLI", "HMP Swaleside"),
    ("SNI", "HMP Swinfen Hall"),
    ("SPI", "HMP Spring Hill"),
    ("STI", "HMP Styal"),
    ("SUI", "HMP Sudbury"),
    ("SWI", "HMP Swansea"),
    ("TCI", "HMP Thorn Cross"),
    ("TSI", "HMP Thameside"),
    ("UKI", "HMP Usk"),
    ("UPI", "HMP Prescoed"),
    ("VEI", "HMP The Verne"),
    ("WCI", "HMP Winchester"),
    ("WDI", "HMP Wakefield"),
    ("WEI", "HMP Wealstun"),
    ("WHI", "HMP Woodhill"),
    ("WII", "HMP Warren Hill"),
    ("WLI", "HMP Wayland"),
    ("WMI", "HMP Wymott"),
    ("WNI", "HMP Werrington"),
    ("WRI", "HMP Whitemoor"),
    ("WSI", "HMP Wormwood Scrubs"),
    ("WTI", "HMP Whatton"),
    ("WWI", "HMP Wandsworth"),
    ("WYI", "HMYOI Wetherby"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_well_formed_and_large_enough_for_the_national_estate() {
        let all = Establishment::catalogue();
        let prisons: std::collections::BTreeSet<_> = all
            .iter()
            .filter(|e| e.kind == EstablishmentKind::Prison)
            .map(|e| e.code.clone())
            .collect();
        assert!(prisons.len() >= 120, "{} prisons", prisons.len());
        assert!(
            all.iter()
                .any(|e| e.code.as_str() == "HOSP" && e.kind == EstablishmentKind::Hospital)
        );
    }
}
