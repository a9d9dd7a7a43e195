//! Acceptance suites for DMTBS. Each suite is one test binary (a folder here): `replicas/` runs
//! the replica components through the host runtime. Shared helpers are in `dmtbs-testkit`.

/// A cluster with one replica that lies, and the requests that make it lie three times in a row:
/// what the status page's cluster and browser tests both watch being swapped out.
pub mod liar {
    use dmtbs_client::Client;
    use dmtbs_cluster::config::TransportMode;
    use dmtbs_cluster::local::{LocalCluster, test_config};
    use dmtbs_contract::Operation;
    use dmtbs_testkit::build::{add_show, book};
    use dmtbs_testkit::components::{self, IMPLEMENTATIONS};

    /// Four RMs on `today`, RM `rm` running `faulty-logic` (the weekly limit off by one) with
    /// its slot's correct implementation as the known-good fallback.
    pub async fn start(rm: usize, today: &str) -> LocalCluster {
        let mut modules = IMPLEMENTATIONS;
        modules[rm - 1] = components::FAULTY_LOGIC;
        let mut config = test_config(&components::dir(), modules, TransportMode::Multicast, today)
            .expect("test configuration");
        for (i, r) in config.rms.iter_mut().enumerate() {
            if r.modules[0] != IMPLEMENTATIONS[i] {
                r.modules.push(IMPLEMENTATIONS[i].to_owned());
            }
        }
        LocalCluster::start(config).await.expect("cluster starts")
    }

    /// Sends `op`; the answer must have HTTP status `status` (the vote outvotes the liar).
    pub async fn send(client: &Client, op: &Operation, status: u16) {
        let result = client.execute(op).await;
        let got = match &result {
            Ok(answer) => answer.status,
            Err(dmtbs_client::Error::Api(e)) => e.status,
            Err(e) => panic!("{op:?}: the front end does not answer: {e}"),
        };
        assert_eq!(got, status, "{op:?} → {result:?}");
    }

    /// Three wrong results in a row from the liar: three Atwater customers each book three
    /// other-area shows in the week of 24 Nov 2026 (every replica agrees), then a fourth, which
    /// the rules refuse (`weekly-limit`) and `faulty-logic` accepts. Returns how many requests
    /// were answered (all of them, each with the status the rules give).
    pub async fn provoke_three_wrong_results(client: &Client) -> u64 {
        let mut answered = 0;
        for (actor, movie, show) in [
            ("VERA0001", "Avatar", "VERM251126"),
            ("OUTA0001", "Avatar", "OUTA261126"),
            ("VERA0001", "Titanic", "VERE251126"),
            ("OUTA0001", "Titanic", "OUTM271126"),
        ] {
            send(client, &add_show(actor, movie, show, 100), 201).await;
            answered += 1;
        }
        let customers = ["ATWC0101", "ATWC0102", "ATWC0103"];
        for c in customers {
            for (movie, show) in [
                ("Avatar", "VERM251126"),
                ("Avatar", "OUTA261126"),
                ("Titanic", "VERE251126"),
            ] {
                send(client, &book(c, c, movie, show, 1), 200).await;
                answered += 1;
            }
        }
        for c in customers {
            send(client, &book(c, c, "Titanic", "OUTM271126", 1), 409).await;
            answered += 1;
        }
        answered
    }
}
