fn main() {
    let anchor = "2026-03-01T12:00:00Z".parse().unwrap();
    let e = gatehouse_synth::Estate::new(gatehouse_synth::EstateConfig::demo(anchor));
    let i: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    println!("{:?}", e.person(i));
    for v in e.person_items(i) { println!("{v}"); }
}
