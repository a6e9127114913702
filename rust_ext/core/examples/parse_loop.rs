//! Parse instructions in a loop on one thread, for profiling the parser (`perf record`) without
//! Python or Arrow around it.
//!
//!     cargo run --release -p wrl-core --example parse_loop -- FILE [SECONDS]
//!
//! FILE is JSON lines with a "prompt" field (IFEval's format) or plain text, one instruction a
//! line. Prints instructions/s and MB/s over the whole run.

use std::time::{Duration, Instant};

use wrl_core::parse::{parse_instruction, ParseLimits};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: parse_loop FILE [SECONDS]");
    let seconds: f64 = args.next().map_or(5.0, |s| s.parse().expect("SECONDS is a number"));
    let text = std::fs::read_to_string(&path).expect("readable file");
    let prompts: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match serde_json::from_str::<serde_json::Value>(l) {
            Ok(v) => v.get("prompt").and_then(|p| p.as_str()).map_or_else(|| l.to_string(), str::to_string),
            Err(_) => l.to_string(),
        })
        .collect();
    let limits = ParseLimits::default();
    let (mut rows, mut bytes, mut found) = (0usize, 0usize, 0usize);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        for p in &prompts {
            if let Ok(parsed) = parse_instruction(p, &limits) {
                found += parsed.requirements.len();
            }
            rows += 1;
            bytes += p.len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} prompts, {rows} parsed in {secs:.2}s: {:.0} instr/s, {:.1} MB/s ({found} requirements)",
        prompts.len(),
        rows as f64 / secs,
        bytes as f64 / secs / 1e6
    );
}
