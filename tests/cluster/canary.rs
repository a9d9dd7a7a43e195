//! Canary swaps on a live cluster (docs/recovery.md, "Canary swaps"): a correct module runs in
//! shadow beside RM 2's replica and is promoted once it agreed; a wrong one — wrong answers, or
//! right answers over a wrong state — is refused and quarantined alone while RM 2 never stops
//! serving; one swap at a time; a canary that saw nothing is not a pass. Every answer a client
//! saw is checked against the model of the rules (`crate::oracle`).

use serde_json::json;

use dmtbs_client::Error;
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};

use crate::client::converged;
use crate::recovery::{Api, Reference, checked_load, replicas, rm, start, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_module_in_shadow_is_promoted_once_it_agreed_on_results_and_state() {
    let cluster = start(IMPLEMENTATIONS, 1_000).await;
    let api = Api::new(&cluster);
    let mut reference = Reference::new();
    checked_load(&api, &mut reference, 81, 40).await;
    // RM 3 runs C too: forced (an upgrade path), with a canary of 100 requests.
    let started = api
        .0
        .swap_canary(2, "replica-c", 100, 60, true)
        .await
        .expect("the canary starts");
    assert_eq!(
        started.module, "replica-b",
        "nothing swapped yet: {started:?}"
    );
    let progress = started.canary.expect("a canary in progress");
    assert_eq!(
        (progress.module.as_str(), progress.requests),
        ("replica-c", 100)
    );
    checked_load(&api, &mut reference, 82, 150).await;
    let s = wait_for(&cluster, 2, "the promotion after the canary", |s| {
        s["module"] == "replica-c" && s["health"] == "serving" && s["canary"].is_null()
    })
    .await;
    let ended = s["lastCanary"].as_str().unwrap_or_default();
    assert!(
        ended.contains("replica-c promoted after agreeing on 100 requests and on the state"),
        "{s}"
    );
    assert_eq!(s["swaps"], 1, "{s}");
    assert_eq!(s["quarantine"], json!([]), "{s}");
    checked_load(&api, &mut reference, 83, 20).await;
    converged(&cluster).await;
    cluster.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_module_in_shadow_is_refused_and_quarantined_alone_while_the_rm_serves_on() {
    let cluster = start(IMPLEMENTATIONS, 1_000).await;
    let api = Api::new(&cluster);
    let mut reference = Reference::new();
    checked_load(&api, &mut reference, 91, 30).await;

    // Wrong answers: refused at the first one.
    api.0
        .swap_canary(2, components::FAULTY_RANDOM, 200, 60, false)
        .await
        .expect("the canary starts");
    // One swap at a time: any other swap of RM 2 is refused while the canary runs.
    match api.0.swap_canary(2, "replica-d", 10, 10, true).await {
        Err(Error::Api(e)) => {
            assert_eq!((e.status, e.code.as_str()), (409, "swap-refused"), "{e:?}");
            assert!(e.message.contains("one swap at a time"), "{e:?}");
        }
        other => panic!("a second swap during a canary: {other:?}"),
    }
    // ... and so is a swap of another RM: one swap in flight in the whole cluster.
    match api.0.swap_canary(3, "replica-e", 10, 10, false).await {
        Err(Error::Api(e)) => {
            assert_eq!((e.status, e.code.as_str()), (409, "swap-refused"), "{e:?}");
            assert!(
                e.message
                    .contains("a canary swap is in flight on replica manager 2: one swap at a time in the cluster"),
                "{e:?}"
            );
        }
        other => panic!("a swap of RM 3 during RM 2's canary: {other:?}"),
    }
    checked_load(&api, &mut reference, 92, 20).await;
    let s = wait_for(&cluster, 2, "the canary's refusal", |s| {
        s["lastCanary"]
            .as_str()
            .is_some_and(|c| c.contains("refused"))
    })
    .await;
    let ended = s["lastCanary"].as_str().unwrap_or_default();
    assert!(
        ended.starts_with("faulty-random refused: request ")
            && ended.contains("the current module answered"),
        "{s}"
    );
    assert_eq!(
        (s["module"].as_str(), s["health"].as_str(), &s["swaps"]),
        (Some("replica-b"), Some("serving"), &json!(0)),
        "RM 2 kept its replica: {s}"
    );

    // Right answers over a wrong state (a phantom show in every export): refused at the
    // state comparison that ends the canary.
    api.0
        .swap_canary(2, components::FAULTY_CORRUPT, 50, 60, false)
        .await
        .expect("the second canary starts");
    checked_load(&api, &mut reference, 93, 80).await;
    let s = wait_for(&cluster, 2, "the second canary's refusal", |s| {
        s["lastCanary"]
            .as_str()
            .is_some_and(|c| c.starts_with("faulty-corrupt"))
    })
    .await;
    assert!(
        s["lastCanary"]
            .as_str()
            .is_some_and(|c| c.contains("agreed on 50 requests but its state differs")),
        "{s}"
    );
    // Only the two refused modules are quarantined, on every RM; RM 2 still runs B.
    let status = replicas(&cluster).await;
    for id in 1..=4 {
        let r = rm(&status, id);
        let mut names: Vec<&str> = r["quarantine"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|q| q["module"].as_str())
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["faulty-corrupt", "faulty-random"], "rm {id}: {r}");
    }
    assert_eq!(rm(&status, 2)["module"], "replica-b");
    checked_load(&api, &mut reference, 94, 20).await;
    converged(&cluster).await;
    cluster.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_that_saw_no_request_in_its_time_is_refused_not_passed() {
    let cluster = start(IMPLEMENTATIONS, 1_000).await;
    let api = Api::new(&cluster);
    let mut reference = Reference::new();
    checked_load(&api, &mut reference, 95, 10).await;
    api.0
        .swap_canary(2, "replica-d", 100, 1, true)
        .await
        .expect("the canary starts");
    let s = wait_for(&cluster, 2, "the idle canary's end", |s| {
        s["lastCanary"]
            .as_str()
            .is_some_and(|c| c.contains("refused"))
    })
    .await;
    assert!(
        s["lastCanary"]
            .as_str()
            .is_some_and(|c| c.contains("no request reached it")),
        "{s}"
    );
    assert_eq!(s["module"], "replica-b", "{s}");
    // Not the module's fault: refused, not quarantined.
    assert_eq!(s["quarantine"], json!([]), "{s}");
    cluster.stop().await.expect("clean stop");
}
