//! The `[cluster] quorum` setting end to end: one replica answering alone (quorum 1, the
//! benchmarks' baseline), and four replicas answering only at three identical results.

use dmtbs_client::{Booked, ShowChange};
use dmtbs_contract::{AddShow, Book};
use dmtbs_testkit::components::IMPLEMENTATIONS;

use crate::client::{client, converged, start_sized};

fn add() -> AddShow {
    AddShow {
        actor: "ATWA1000".into(),
        movie: "Avatar".into(),
        show_id: "ATWM251126".into(),
        capacity: 5,
    }
}

fn book(tickets: u32) -> Book {
    Book {
        actor: "ATWC0001".into(),
        customer: "ATWC0001".into(),
        movie: "Avatar".into(),
        show_id: "ATWM251126".into(),
        tickets,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_with_quorum_one_answers_alone() {
    let cluster = start_sized(&IMPLEMENTATIONS[..1], 1).await;
    let client = client(&cluster);
    let added = client.add_show(&add()).await.expect("show added");
    assert_eq!(
        (added.value, added.seq, added.agreed),
        (ShowChange::Added, 1, vec![1])
    );
    let booked = client.book(&book(2)).await.expect("booked");
    assert_eq!(
        (booked.value, booked.seq, booked.agreed),
        (
            Booked {
                held: 2,
                remaining: 3
            },
            2,
            vec![1]
        )
    );
    let refused = client.book(&book(9)).await.unwrap_err();
    let refused = refused.api().expect("refused by the rules");
    assert_eq!((refused.code.as_str(), refused.seq), ("show-full", Some(3)));
    assert_eq!(refused.agreed, vec![1]);
    converged(&cluster).await;
    cluster.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_three_answers_with_three_agreeing_replicas() {
    let cluster = start_sized(&IMPLEMENTATIONS, 3).await;
    let client = client(&cluster);
    client.add_show(&add()).await.expect("show added");
    for tickets in [1, 2] {
        let booked = client.book(&book(tickets)).await.expect("booked");
        assert!(booked.agreed.len() >= 3, "agreed by {:?}", booked.agreed);
    }
    converged(&cluster).await;
    cluster.stop().await.expect("clean shutdown");
}
