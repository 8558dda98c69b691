//! What a worker's log says about its group, in a few words: when a recovery fails, the
//! failure line carries it, because CI keeps the suite's output but not its log files.

use std::path::Path;

/// The last `max` rebalances and rejoins in a worker's log, one short entry each
/// (`22:02:50 Assign[0,1]`, `22:03:08 rejoin`), joined by `; `.
pub fn group_events(log: &Path, max: usize) -> String {
    let Ok(text) = std::fs::read_to_string(log) else {
        return format!("{} unreadable", log.display());
    };
    let entries: Vec<String> = text.lines().filter_map(entry).collect();
    let start = entries.len().saturating_sub(max);
    match entries[start..].join("; ") {
        s if s.is_empty() => "no rebalance logged".to_owned(),
        s => s,
    }
}

/// One log line as an entry, if it is about the group.
fn entry(line: &str) -> Option<String> {
    let line = strip_ansi(line);
    let time = line.get(11..19).unwrap_or("?");
    if let Some(at) = line.find("rebalance=") {
        let rest = &line[at + "rebalance=".len()..];
        let kind: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
        let partitions: Vec<&str> = rest
            .split("partition: ")
            .skip(1)
            .filter_map(|s| s.split(',').next())
            .collect();
        return Some(format!("{time} {kind}[{}]", partitions.join(",")));
    }
    if line.contains("starting over with a new consumer") {
        return Some(format!("{time} new consumer"));
    }
    line.contains("leaving the group and joining again")
        .then(|| format!("{time} rejoin"))
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // An escape sequence runs to its final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebalances_and_rejoins_become_short_entries() {
        let dir = std::env::temp_dir().join(format!("chaos-digest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("worker1.log");
        let lines = [
            "\u{1b}[2m2026-12-04T22:02:50.326401Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m beacon::pipeline::consumer: consumer group rebalance rebalance=Assign([TopicPartitionListElem { topic: \"t\", partition: 0, offset: Invalid }, TopicPartitionListElem { topic: \"t\", partition: 1, offset: Invalid }])",
            "2026-12-04T22:03:00.000000Z  INFO beacon::worker::consume: batch stored",
            "2026-12-04T22:03:07.999312Z  WARN beacon::worker::lookout: events may wait with nobody consuming them; leaving the group and joining again unconsumed=6155",
            "2026-12-04T22:03:08.001218Z  INFO beacon::pipeline::consumer: consumer group rebalance rebalance=Revoke([])",
        ];
        std::fs::write(&log, lines.join("\n")).unwrap();
        assert_eq!(
            group_events(&log, 10),
            "22:02:50 Assign[0,1]; 22:03:07 rejoin; 22:03:08 Revoke[]"
        );
        assert_eq!(group_events(&log, 1), "22:03:08 Revoke[]");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
