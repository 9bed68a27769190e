#[allow(dead_code)]
mod io;

fn main() {}
