// Every message survives encode → decode unchanged, from every kind of sender, concurrently.

use std::sync::Arc;

use dmtbs_proto::{Codec, FORMAT_VERSION, MAGIC, NodeId, RejectCounts};

use crate::common::{KEY_BYTES, chaos_variants, every_variant, key, nonce_of, pair};

#[test]
fn every_variant_round_trips_with_its_sender() {
    for sender in [NodeId::Sequencer, NodeId::FrontEnd(7), NodeId::Rm(4)] {
        let (tx, rx) = pair(sender);
        for message in every_variant() {
            let datagram = tx.encode(&message);
            assert_eq!(&datagram[..4], &MAGIC);
            assert_eq!(datagram[4], FORMAT_VERSION);
            assert_eq!(rx.decode(&datagram), Ok((sender, message)));
        }
        assert_eq!(rx.rejects(), RejectCounts::default());
    }
}

#[test]
fn chaos_commands_round_trip_and_quote_their_nonce() {
    let (tx, rx) = pair(NodeId::FrontEnd(1));
    let chaos = chaos_variants();
    assert!(chaos.len() >= 6);
    for message in chaos {
        assert_eq!(
            rx.decode(&tx.encode(&message)),
            Ok((NodeId::FrontEnd(1), message.clone()))
        );
        // An operator can always heal: chaos never drops its own commands and answers.
        assert!(message.is_operator_message(), "{message:?}");
    }
    let drop = dmtbs_proto::AdminCommand::Drop {
        nonce: 77,
        from: NodeId::Rm(2),
        percent: 5,
    };
    assert_eq!(drop.nonce(), 77);
    assert_eq!(dmtbs_proto::AdminCommand::Heal { nonce: 78 }.nonce(), 78);
    assert!(!dmtbs_proto::Message::Heartbeat { latest: 1 }.is_operator_message());
}

#[test]
fn the_chaos_command_was_appended_so_older_messages_encode_as_before() {
    // Postcard numbers enum variants in order: new ones go last, or every older datagram
    // would change meaning without a format version bump.
    let body = |m: &dmtbs_proto::Message| postcard::to_allocvec(m).unwrap();
    let status = body(&dmtbs_proto::Message::Admin(
        dmtbs_proto::AdminCommand::Status { nonce: 1 },
    ));
    assert_eq!(status, [16, 0, 1], "Message::Admin is variant 16, Status 0");
    let heal = body(&dmtbs_proto::Message::Admin(
        dmtbs_proto::AdminCommand::Heal { nonce: 1 },
    ));
    assert_eq!(heal, [16, 4, 1]);
    let reply = body(&dmtbs_proto::Message::AdminReply {
        nonce: 1,
        error: None,
        links: vec![],
        node: dmtbs_proto::NodeInfo::default(),
    });
    assert_eq!(reply, [19, 1, 0, 0, 0, 0, 0, 0], "after StateWanted (18)");
}

#[test]
fn node_names_parse_in_any_case_and_print_back() {
    for (text, node) in [
        ("sequencer", NodeId::Sequencer),
        ("SEQUENCER", NodeId::Sequencer),
        ("fe1", NodeId::FrontEnd(1)),
        ("Fe-12", NodeId::FrontEnd(12)),
        ("rm2", NodeId::Rm(2)),
        ("RM4", NodeId::Rm(4)),
        ("rm-3", NodeId::Rm(3)),
    ] {
        assert_eq!(text.parse::<NodeId>(), Ok(node), "{text}");
        assert_eq!(node.to_string().parse::<NodeId>(), Ok(node));
    }
    assert_eq!(NodeId::Rm(2).to_string(), "rm2");
    assert_eq!(NodeId::FrontEnd(1).to_string(), "fe1");
    for bad in ["", "rm", "rm+2", "rm256", "replica2", "fe1x", "seq", "rm 2"] {
        let e = bad.parse::<NodeId>().unwrap_err();
        assert!(e.to_string().contains("not a node name"), "{bad}: {e}");
    }
}

#[test]
fn encoding_is_compact() {
    let (tx, _) = pair(NodeId::Sequencer);
    let heartbeat = tx.encode(&dmtbs_proto::Message::Heartbeat { latest: 47 });
    // 16 header (magic, version, sender, nonce) + variant 1 + latest 1 + 16 tag.
    assert_eq!(heartbeat.len(), 34, "{} bytes", heartbeat.len());
}

#[test]
fn debug_output_never_shows_the_key() {
    let codec = Codec::new(&key(), NodeId::Sequencer);
    let shown = format!("{codec:?} {:?}", key());
    let hex: String = KEY_BYTES.iter().map(|b| format!("{b:02x}")).collect();
    for secret in [
        String::from_utf8_lossy(&KEY_BYTES).into_owned(),
        hex,
        format!("{:?}", KEY_BYTES),
    ] {
        assert!(!shown.contains(&secret), "{shown}");
    }
    assert!(shown.contains("Sequencer"));
}

#[test]
fn one_codec_serves_many_threads_and_never_reuses_a_nonce() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Codec>();

    let tx = Arc::new(Codec::new(&key(), NodeId::FrontEnd(1)));
    let rx = Arc::new(Codec::new(&key(), NodeId::Sequencer));
    let per_thread = 500;
    let datagrams: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let tx = Arc::clone(&tx);
                scope.spawn(move || {
                    (0..per_thread)
                        .map(|i| {
                            tx.encode(&dmtbs_proto::Message::Heartbeat {
                                latest: t * 10_000 + i,
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    // Every nonce handed out once: decoded in nonce order (as a lossless, ordered network would
    // deliver them), every datagram is accepted.
    let mut by_nonce: Vec<(u64, Vec<u8>)> =
        datagrams.into_iter().map(|d| (nonce_of(&d), d)).collect();
    by_nonce.sort();
    by_nonce.dedup_by_key(|(n, _)| *n);
    assert_eq!(by_nonce.len(), 4 * per_thread as usize);
    for (_, d) in &by_nonce {
        rx.decode(d).unwrap();
    }

    // One receiving codec shared by threads, each handling its own sender's stream.
    std::thread::scope(|scope| {
        for fe in 10..14 {
            let rx = Arc::clone(&rx);
            scope.spawn(move || {
                let tx = Codec::new(&key(), NodeId::FrontEnd(fe));
                for latest in 0..per_thread {
                    let message = dmtbs_proto::Message::Heartbeat { latest };
                    assert_eq!(
                        rx.decode(&tx.encode(&message)),
                        Ok((NodeId::FrontEnd(fe), message))
                    );
                }
            });
        }
    });
    assert_eq!(rx.rejects(), RejectCounts::default());
}
