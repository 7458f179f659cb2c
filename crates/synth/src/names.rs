//! Synthetic name lists. Given names and family names are common in England,
//! Wales, Scotland and Ireland, with the many other names found across the
//! United Kingdom today. Each list is roughly in order of how common the name
//! is, and [`given_name`] and [`family_name`] favour the top of each list, so
//! "JAMES SMITH" turns up more often than "OWAIN PRYCE", as it would in a
//! real roll. A name is drawn independently of every other field: a
//! combination belongs to no real person.

use rand::Rng;

/// The sex a synthetic person is recorded with, which decides the given-name
/// list and (by the kind of establishment) where the person is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
        }
    }
}

pub const MALE_GIVEN: &[&str] = &[
    "James", "David", "Daniel", "Michael", "John", "Thomas", "Christopher", "Matthew", "Paul",
    "Mark", "Andrew", "Ryan", "Lee", "Jamie", "Liam", "Richard", "Robert", "Steven", "Adam",
    "Jordan", "Connor", "Luke", "Jack", "Kyle", "Joshua", "Nathan", "Craig", "Dean", "Scott",
    "Anthony", "Callum", "Gary", "Wayne", "Darren", "Stuart", "Carl", "Shaun", "Jason", "Kevin",
    "Peter", "Simon", "Ian", "Neil", "Martin", "Stephen", "Alan", "Brian", "Sean", "Mohammed",
    "Muhammad", "Ashley", "Aaron", "Bradley", "Jake", "Kieran", "Reece", "Tyler", "George",
    "William", "Harry", "Charlie", "Samuel", "Benjamin", "Joseph", "Alexander", "Oliver", "Lewis",
    "Ben", "Sam", "Josh", "Tom", "Dylan", "Ethan", "Mason", "Cameron", "Rhys", "Gareth", "Keith",
    "Graham", "Colin", "Trevor", "Barry", "Terry", "Kenneth", "Edward", "Patrick", "Declan",
    "Conor", "Ciaran", "Niall", "Marcus", "Leon", "Curtis", "Dwayne", "Jermaine", "Tyrone",
    "Ahmed", "Ali", "Imran", "Hassan", "Omar", "Bilal", "Tariq", "Adnan", "Zain", "Arjun",
    "Sanjay", "Rajesh", "Harjit", "Jaspal", "Tomasz", "Piotr", "Marcin", "Jakub", "Pawel",
    "Andrei", "Florin", "Ionut", "Mihai", "Kwame", "Emmanuel", "Tunde", "Chidi", "Kofi", "Dafydd",
    "Owain", "Ieuan", "Aled", "Huw", "Gethin", "Euan", "Fraser", "Hamish", "Ross", "Derek",
    "Raymond", "Roger", "Dennis", "Leslie", "Malcolm", "Frank", "Henry", "Joel", "Elliot",
    "Jonathan", "Nicholas", "Philip", "Gavin", "Glenn", "Russell", "Robbie", "Jay", "Kane",
    "Brandon", "Levi", "Mitchell", "Harvey", "Alfie", "Louis", "Finley", "Toby", "Vincent",
    "Victor", "Norman", "Clive", "Stanley", "Albert", "Arthur", "Ernest", "Derrick", "Winston",
    "Delroy", "Errol", "Clinton", "Junior", "Abdul", "Yusuf", "Ibrahim", "Khalid", "Faisal",
    "Amir", "Samir", "Karim", "Ravi", "Vikram", "Deepak", "Gurdeep", "Lukasz", "Krzysztof",
    "Bogdan", "Vasile", "Darius", "Arben", "Besnik", "Erion",
];

pub const FEMALE_GIVEN: &[&str] = &[
    "Sarah", "Emma", "Laura", "Claire", "Lisa", "Nicola", "Rebecca", "Gemma", "Amy", "Stacey",
    "Kelly", "Michelle", "Louise", "Rachel", "Hannah", "Jessica", "Charlotte", "Sophie", "Chloe",
    "Lauren", "Jade", "Danielle", "Kirsty", "Leanne", "Natalie", "Samantha", "Victoria", "Katie",
    "Zoe", "Holly", "Megan", "Shannon", "Paige", "Jodie", "Kayleigh", "Chelsea", "Tracy", "Donna",
    "Karen", "Julie", "Joanne", "Deborah", "Susan", "Helen", "Angela", "Dawn", "Mandy", "Carol",
    "Patricia", "Linda", "Margaret", "Jacqueline", "Sharon", "Tina", "Wendy", "Elizabeth",
    "Jennifer", "Catherine", "Anna", "Maria", "Amber", "Aisha", "Fatima", "Amina", "Zainab",
    "Sana", "Nadia", "Priya", "Anjali", "Simran", "Harpreet", "Agnieszka", "Katarzyna",
    "Magdalena", "Ioana", "Elena", "Grace", "Abigail", "Ellie", "Mia", "Olivia", "Emily", "Lucy",
    "Bethan", "Cerys", "Sian", "Rhiannon", "Ffion", "Carys", "Siobhan", "Aoife", "Niamh",
    "Roisin", "Ciara", "Eilidh", "Kerry", "Shona", "Chantelle", "Keisha", "Precious", "Blessing",
    "Jasmine", "Naomi", "Leah", "Tanya", "Sonia", "Vanessa", "Lorraine", "Beverley", "Diane",
    "Janet", "Gillian", "Alison", "Toni", "Jenna", "Courtney", "Demi", "Kimberley", "Ashleigh",
    "Melissa", "Rosie", "Eleanor", "Abbie", "Hayley", "Lindsey", "Stephanie", "Caroline",
    "Joanna", "Kathryn", "Marie", "Teresa", "Yvonne", "Pauline", "Maureen", "Christine",
    "Sandra", "Barbara", "Jean", "Denise", "Tracey", "Rochelle", "Charmaine", "Simone",
    "Marcia", "Yasmin", "Shabana", "Rukhsana", "Nasreen", "Parveen", "Gurpreet", "Kamaljit",
    "Monika", "Justyna", "Andreea", "Georgiana", "Adaeze", "Chioma", "Abena",
];

pub const FAMILY: &[&str] = &[
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
    "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner",
    "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker",
    "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis", "Parker",
    "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter",
    "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards",
    "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson",
    "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain",
    "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd",
    "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey",
    "Graham", "Pearson", "Ahmed", "Fletcher", "Walsh", "Kaur", "Gibson", "Howard", "Andrews",
    "Stewart", "Elliott", "Reynolds", "Saunders", "Payne", "Fox", "Ford", "Pearce", "Day",
    "Brooks", "West", "Lawrence", "Cole", "Atkinson", "Bradley", "Spencer", "Gill", "Dawson",
    "Ball", "Burton", "O'Brien", "Watts", "Rose", "Booth", "Perry", "Ryan", "Grant", "Wells",
    "Armstrong", "Francis", "Rees", "Hayes", "Hart", "Hudson", "Newman", "Barrett", "Webster",
    "Hunter", "Gregory", "Carr", "Lowe", "Page", "Marsh", "Riley", "Dunn", "Woods", "Parsons",
    "Berry", "Stone", "Reid", "Holland", "Hawkins", "Harding", "Porter", "Robertson", "Newton",
    "Oliver", "Reed", "Kennedy", "Williamson", "Bird", "Gardner", "Shah", "Dean", "Lane", "Cooke",
    "Bates", "Henderson", "Parry", "Burgess", "Bishop", "Walton", "Burns", "Nicholson",
    "Shepherd", "Ross", "Cross", "Long", "Freeman", "Warren", "Nicholls", "Hamilton", "Byrne",
    "Sutton", "McDonald", "Yates", "Hodgson", "Robson", "Curtis", "Hopkins", "O'Connor", "Harper",
    "Coleman", "Watkins", "Moss", "McCarthy", "Chambers", "O'Neill", "Griffin", "Sharp", "Hardy",
    "Wheeler", "Potter", "Osborne", "Johnston", "Gordon", "Doyle", "Wallace", "George", "Jordan",
    "Hutchinson", "Rowe", "Burke", "May", "Pritchard", "Gilbert", "Willis", "Higgins", "Read",
    "Miles", "Stevenson", "Stephenson", "Hammond", "Arnold", "Buckley", "Walters", "Hewitt",
    "Barber", "Nelson", "Slater", "Austin", "Sullivan", "Whitehead", "Mann", "Frost", "Lambert",
    "Stephens", "Blake", "Akhtar", "Lynch", "Goodwin", "Barton", "Woodward", "Thomson",
    "Cunningham", "Quinn", "Barnett", "Baxter", "Bibi", "Clayton", "Nash", "Greenwood",
    "Jennings", "Holt", "Kemp", "Poole", "Gallagher", "Bond", "Stokes", "Tucker", "Davidson",
    "Fowler", "Heath", "Norman", "Middleton", "Banks", "Pugh", "Bowen", "Vaughan", "Howells",
    "Llewellyn", "Pryce", "Prosser", "Jarvis", "MacLeod", "Fraser", "Ferguson", "Sinclair",
    "Doherty", "Brennan", "Kavanagh", "Maguire", "Farrell", "Flynn", "Nolan", "Connolly",
    "Rahman", "Islam", "Iqbal", "Mahmood", "Malik", "Sharma", "Kumar", "Chauhan", "Sandhu",
    "Nowak", "Kowalski", "Wisniewski", "Lewandowski", "Popescu", "Ionescu", "Mensah", "Okafor",
    "Adeyemi", "Okonkwo", "Osei", "Boateng", "Samuels", "Gayle", "Henry", "Campbell-Reid",
    "Chen", "Wong", "Nguyen", "Hoxha", "Krasniqi", "Yilmaz", "Demir", "Mohamed", "Abdi",
    "Hassan", "Warsame", "Pollard", "Rhodes", "Storey", "Kirk", "Hargreaves", "Sykes", "Tate",
    "Brook", "Ackroyd", "Haigh", "Crowther", "Horsfall", "Firth", "Priestley", "Lockwood",
];

/// Picks an index in `0..n`, favouring low indices (the commoner names): the
/// smaller of two uniform draws, a triangular distribution.
fn favour_common<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    let n = n as u32;
    let a = rng.random_range(0..n);
    let b = rng.random_range(0..n);
    a.min(b) as usize
}

/// A given name for the sex, in title case.
pub fn given_name<R: Rng + ?Sized>(sex: Sex, rng: &mut R) -> &'static str {
    let list = match sex {
        Sex::Male => MALE_GIVEN,
        Sex::Female => FEMALE_GIVEN,
    };
    list[favour_common(rng, list.len())]
}

/// A family name, in title case.
pub fn family_name<R: Rng + ?Sized>(rng: &mut R) -> &'static str {
    FAMILY[favour_common(rng, FAMILY.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_big_enough_and_clean() {
        assert!(MALE_GIVEN.len() >= 150, "{}", MALE_GIVEN.len());
        assert!(FEMALE_GIVEN.len() >= 150, "{}", FEMALE_GIVEN.len());
        assert!(FAMILY.len() >= 300, "{}", FAMILY.len());
        for n in MALE_GIVEN.iter().chain(FEMALE_GIVEN).chain(FAMILY) {
            assert!(!n.is_empty() && n.trim() == *n, "{n:?}");
            assert!(n.chars().all(|c| c.is_ascii_alphabetic() || c == '\'' || c == '-'), "{n:?}");
        }
    }
}
