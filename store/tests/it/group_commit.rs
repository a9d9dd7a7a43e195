// Group commit: what is queued while one commit is being fsynced goes into the next one.

use crate::common::{assert_clean, entries, entry, reopen, start};

#[test]
fn a_thousand_appends_share_fewer_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (mut rm, _) = start(dir.path());
    let calls = 1_000;
    for seq in 1..=calls {
        rm.append(vec![entry(seq)]);
    }
    let mut commits = Vec::new();
    loop {
        let commit = rm.next_commit();
        let last = commit.durable_through;
        commits.push(commit);
        if last == calls {
            break;
        }
    }
    let operations: usize = commits.iter().map(|c| c.operations).sum();
    assert_eq!(
        operations, calls as usize,
        "every call is in exactly one commit"
    );
    assert!(
        commits.len() < calls as usize,
        "{} commits for {calls} calls: no grouping",
        commits.len()
    );
    assert!(commits.iter().any(|c| c.operations > 1));
    assert!(
        commits
            .windows(2)
            .all(|w| w[0].durable_through < w[1].durable_through),
        "each commit makes more of the log durable"
    );
    assert_eq!(rm.writer.fsyncs(), commits.len() as u64);
    assert_eq!(rm.writer.failure(), None);
    println!(
        "{calls} appends in {} commits (largest: {} calls)",
        commits.len(),
        commits.iter().map(|c| c.operations).max().unwrap()
    );
    drop(rm);

    let recovered = reopen(dir.path());
    assert_clean(&recovered);
    assert_eq!(recovered.log, entries(1..=calls));
}
