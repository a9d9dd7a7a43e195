// Shared fixtures: keys, codecs, and a realistic value of every message variant.

use dmtbs_contract::{
    AddShow, Availability, Book, Booked, BookingError, Cancel, Date, DroppedBooking, Exchange,
    Exchanged, MovedBooking, Operation, RemoveShow, Schedule, ScheduledBooking, ShowRemaining,
    ShowRemoved, Success,
};
use dmtbs_proto::codec::HEADER_LEN;
use dmtbs_proto::{
    Accepted, AdminCommand, ClientRequest, ClusterKey, Codec, EpochState, LinkDrop, Message,
    NodeId, NodeInfo, Progress, Replay, ReplicaResult, SeqRange, Sequenced, Verdict,
};

/// The test cluster's key, raw, so tests can seal and open datagrams independently of the codec.
pub const KEY_BYTES: [u8; 32] = *b"dmtbs test cluster key, 32 bytes";

pub fn key() -> ClusterKey {
    ClusterKey::from_bytes(KEY_BYTES)
}

/// Differs from [`key`] in one bit.
pub fn other_key() -> ClusterKey {
    let mut bytes = KEY_BYTES;
    bytes[31] ^= 1;
    ClusterKey::from_bytes(bytes)
}

/// The datagram cipher, keyed as docs/protocol.md says: HKDF-SHA256 of the cluster key (no
/// salt) expanded with the label `dmtbs v4 datagram key`. Written from the documentation, not
/// from the codec, so tests check the documented format.
fn cipher(key: &[u8; 32]) -> chacha20poly1305::ChaCha20Poly1305 {
    use chacha20poly1305::KeyInit;
    let mut derived = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, key)
        .expand(b"dmtbs v4 datagram key", &mut derived)
        .unwrap();
    chacha20poly1305::ChaCha20Poly1305::new(&derived.into())
}

/// The AEAD nonce of a datagram with this header: sender (3 B) | 0 | nonce (8 B).
fn nonce(header: &[u8]) -> chacha20poly1305::Nonce {
    let mut nonce = [0u8; 12];
    nonce[..3].copy_from_slice(&header[5..8]);
    nonce[4..].copy_from_slice(&header[8..16]);
    nonce.into()
}

/// A datagram framed by hand: `plain` is the 16-byte header then the body in clear; the body is
/// encrypted under `key` with the header as associated data and the tag appended. Checks the
/// documented layout, and makes authentic datagrams with arbitrary content.
pub fn seal(key: &[u8; 32], plain: &[u8]) -> Vec<u8> {
    use chacha20poly1305::aead::AeadInPlace;
    let mut datagram = plain.to_vec();
    let (header, body) = datagram.split_at_mut(HEADER_LEN);
    let tag = cipher(key)
        .encrypt_in_place_detached(&nonce(header), header, body)
        .unwrap();
    datagram.extend_from_slice(&tag);
    datagram
}

/// The header and the decrypted body of an authentic datagram (the inverse of [`seal`]).
pub fn unseal(key: &[u8; 32], datagram: &[u8]) -> Vec<u8> {
    use chacha20poly1305::aead::AeadInPlace;
    let (plain, tag) = datagram.split_at(datagram.len() - dmtbs_proto::codec::TAG_LEN);
    let mut plain = plain.to_vec();
    let (header, body) = plain.split_at_mut(HEADER_LEN);
    cipher(key)
        .decrypt_in_place_detached(&nonce(header), header, body, tag.into())
        .expect("an authentic datagram");
    plain
}

/// A valid datagram changed in clear and sealed again, so it is authentic (`edit` sees the
/// header then the decrypted body).
pub fn reseal(datagram: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut plain = unseal(&KEY_BYTES, datagram);
    edit(&mut plain);
    seal(&KEY_BYTES, &plain)
}

/// A sender and a receiver sharing the cluster key, both started now.
pub fn pair(sender: NodeId) -> (Codec, Codec) {
    (
        Codec::new(&key(), sender),
        Codec::new(&key(), NodeId::Rm(1)),
    )
}

/// A receiver that refuses no nonce for being old: one that started at the epoch, for senders
/// made with small `Codec::with_nonce_start` values.
pub fn receiver_since_epoch() -> Codec {
    Codec::with_nonce_start(&key(), NodeId::Rm(1), 0)
}

/// The nonce in a datagram's header (bytes 8..16, big-endian).
pub fn nonce_of(datagram: &[u8]) -> u64 {
    u64::from_be_bytes(datagram[8..16].try_into().unwrap())
}

pub fn s(text: &str) -> String {
    text.to_owned()
}

pub fn today() -> Date {
    Date {
        year: 2026,
        month: 5,
        day: 10,
    }
}

pub fn book(customer: &str, tickets: u32) -> Operation {
    Operation::Book(Book {
        actor: s(customer),
        customer: s(customer),
        movie: s("Avatar"),
        show_id: s("ATWM120526"),
        tickets,
    })
}

/// One of each booking operation.
pub fn operations() -> Vec<Operation> {
    vec![
        Operation::AddShow(AddShow {
            actor: s("ATWA0001"),
            movie: s("Avatar"),
            show_id: s("ATWM120526"),
            capacity: 200,
        }),
        Operation::RemoveShow(RemoveShow {
            actor: s("VERA0002"),
            movie: s("Titanic"),
            show_id: s("VERE130526"),
        }),
        Operation::Availability(Availability {
            actor: s("OUTC0003"),
            movie: s("Avengers"),
        }),
        book("ATWC1234", 3),
        Operation::Schedule(Schedule {
            actor: s("ATWC1234"),
            customer: s("ATWC1234"),
        }),
        Operation::Cancel(Cancel {
            actor: s("ATWA0001"),
            customer: s("ATWC1234"),
            movie: s("Avatar"),
            show_id: s("ATWM120526"),
            tickets: 1,
        }),
        Operation::Exchange(Exchange {
            actor: s("ATWC1234"),
            customer: s("ATWC1234"),
            old_movie: s("Avatar"),
            old_show_id: s("ATWM120526"),
            new_movie: s("Titanic"),
            new_show_id: s("ATWA140526"),
            tickets: 2,
        }),
    ]
}

/// Successes and refusals of every shape.
pub fn outcomes() -> Vec<dmtbs_contract::Outcome> {
    vec![
        Ok(Success::ShowAdded),
        Ok(Success::ShowUpdated(150)),
        Ok(Success::ShowRemoved(ShowRemoved {
            moved: vec![MovedBooking {
                customer: s("ATWC0001"),
                to_show_id: s("ATWE120526"),
                tickets: 2,
            }],
            dropped: vec![DroppedBooking {
                customer: s("ATWC0002"),
                tickets: 4,
            }],
        })),
        Ok(Success::Availability(vec![
            ShowRemaining {
                show_id: s("ATWM120526"),
                remaining: 0,
            },
            ShowRemaining {
                show_id: s("VERA130526"),
                remaining: 17,
            },
        ])),
        Ok(Success::Booked(Booked {
            held: 3,
            remaining: 197,
        })),
        Ok(Success::Schedule(vec![ScheduledBooking {
            movie: s("Avatar"),
            show_id: s("ATWM120526"),
            tickets: 3,
        }])),
        Ok(Success::Cancelled(0)),
        Ok(Success::Exchanged(Exchanged {
            old_held: 0,
            new_held: 2,
        })),
        Err(BookingError::InvalidUserId),
        Err(BookingError::ShowFull(4)),
        Err(BookingError::TooManyTickets(2)),
        Err(BookingError::WeeklyLimit),
    ]
}

/// Every `Message` variant with realistic content.
pub fn every_variant() -> Vec<Message> {
    let ops = operations();
    vec![
        Message::Submit(
            ops.iter()
                .enumerate()
                .map(|(i, operation)| ClientRequest {
                    fe: 7,
                    request_id: 1000 + i as u64,
                    key: (i == 0).then(|| "retry-7f3a".to_owned()),
                    operation: operation.clone(),
                })
                .collect(),
        ),
        Message::Submit(Vec::new()),
        Message::Accepted(vec![
            Accepted {
                epoch: 3,
                request_id: 1000,
                seq: 41,
            },
            Accepted {
                epoch: 3,
                request_id: 1001,
                seq: 42,
            },
        ]),
        Message::Deliver(
            ops.iter()
                .enumerate()
                .map(|(i, operation)| Sequenced {
                    epoch: 3,
                    seq: 41 + i as u64,
                    today: today(),
                    fe: 7,
                    request_id: 1000 + i as u64,
                    key: (i == 0).then(|| "retry-7f3a".to_owned()),
                    operation: operation.clone(),
                })
                .collect(),
        ),
        Message::Heartbeat { latest: 47 },
        Message::Heartbeat { latest: u64::MAX },
        Message::Ack {
            rm: 3,
            through: 47,
            epoch: 3,
            promised: 4,
        },
        Message::Nack {
            rm: 2,
            missing: vec![
                SeqRange {
                    first: 12,
                    last: 15,
                },
                SeqRange {
                    first: 40,
                    last: 40,
                },
            ],
        },
        Message::Results(
            outcomes()
                .into_iter()
                .enumerate()
                .map(|(i, outcome)| ReplicaResult {
                    rm: 4,
                    epoch: 3,
                    seq: 41 + i as u64,
                    request_id: 1000 + i as u64,
                    outcome,
                    replay_of: (i == 1).then_some(Replay {
                        seq: 7,
                        same_operation: true,
                    }),
                })
                .collect(),
        ),
        Message::Verdicts(vec![
            Verdict {
                seq: 42,
                agreed: vec![1, 2, 4],
                wrong: vec![3],
                silent: vec![],
            },
            Verdict {
                seq: 43,
                agreed: vec![1, 2],
                wrong: vec![],
                silent: vec![3, 4],
            },
        ]),
        Message::EpochWanted { epoch: 4 },
        Message::EpochState(EpochState {
            rm: 2,
            promised: 4,
            chain: vec![(1, 0), (3, 1_234_000)],
            durable_through: 1_234_567,
            fresh: false,
        }),
        Message::EpochStart {
            epoch: 4,
            start: 1_234_567,
            chain: vec![(1, 0), (3, 1_234_000), (4, 1_234_567)],
        },
    ]
    .into_iter()
    .chain(chaos_variants())
    .collect()
}

/// The chaos (fault injection) commands and their answers.
pub fn chaos_variants() -> Vec<Message> {
    vec![
        Message::Admin(AdminCommand::Drop {
            nonce: 9,
            from: NodeId::Sequencer,
            percent: 30,
        }),
        Message::Admin(AdminCommand::Drop {
            nonce: u64::MAX,
            from: NodeId::FrontEnd(300),
            percent: 100,
        }),
        Message::Admin(AdminCommand::Heal { nonce: 10 }),
        Message::Admin(AdminCommand::Links { nonce: 11 }),
        Message::AdminReply {
            nonce: 9,
            error: None,
            links: vec![
                LinkDrop {
                    from: NodeId::Sequencer,
                    percent: 30,
                    dropped: 1234,
                },
                LinkDrop {
                    from: NodeId::Rm(4),
                    percent: 0,
                    dropped: 0,
                },
            ],
            node: NodeInfo {
                pid: 4242,
                started_unix_ms: 1_796_000_000_000,
                uptime_ms: 61_000,
                progress: Some(Progress {
                    epoch: 3,
                    latest: 1_234_567,
                    phase: s("numbering"),
                }),
            },
        },
        Message::AdminReply {
            nonce: 12,
            error: Some(s("the sequencer hosts no replica")),
            links: vec![],
            node: NodeInfo::default(),
        },
    ]
}

/// One encoded datagram of every variant, from the sequencer.
pub fn valid_datagrams(sender: &Codec) -> Vec<Vec<u8>> {
    every_variant().iter().map(|m| sender.encode(m)).collect()
}
