// Chunked authenticated encryption of byte streams (state transfers): what is sealed opens
// unchanged and only in order, and any alteration, loss, reordering or truncation is detected.

use dmtbs_proto::stream::{CHUNK, FRAME_HEADER, FRAME_TAG};
use dmtbs_proto::{Codec, NodeId, Opener, StreamError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{key, other_key};

const SALT: [u8; 32] = [0x5a; 32];
const CONTEXT: &[u8] = b"the request this stream answers";

fn codec() -> Codec {
    Codec::new(&key(), NodeId::Rm(2))
}

/// Data with a recognisable plaintext all through it.
fn data(len: usize) -> Vec<u8> {
    b"ATWC0001 Avatar ATWM251126 "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

fn frames(data: &[u8]) -> Vec<Vec<u8>> {
    codec()
        .stream_sealer(&SALT, CONTEXT)
        .seal_all(data)
        .collect()
}

/// Opens `frames` in order; the data if every frame opened and the last one came.
fn open(opener: &mut Opener, frames: &[Vec<u8>]) -> Result<Vec<u8>, StreamError> {
    let mut out = Vec::new();
    for frame in frames {
        let header: [u8; FRAME_HEADER] = frame[..FRAME_HEADER].try_into().unwrap();
        let len = opener.body_len(&header)?;
        let body = frame[FRAME_HEADER..].to_vec();
        assert_eq!(len, body.len());
        out.extend(opener.open(&header, body)?);
    }
    Ok(out)
}

fn opener() -> Opener {
    // The other end: another node's codec, same cluster key.
    Codec::new(&key(), NodeId::Rm(1)).stream_opener(&SALT, CONTEXT)
}

#[test]
fn a_stream_opens_unchanged_in_chunks_and_its_plaintext_never_shows() {
    for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 12_345] {
        let data = data(len);
        let frames = frames(&data);
        assert_eq!(frames.len(), len.div_ceil(CHUNK).max(1), "{len} bytes");
        assert!(
            frames
                .iter()
                .all(|f| f.len() <= FRAME_HEADER + CHUNK + FRAME_TAG)
        );
        let mut opener = opener();
        assert_eq!(open(&mut opener, &frames), Ok(data));
        assert!(opener.finished());
        if len > 0 {
            let all: Vec<u8> = frames.concat();
            assert!(!all.windows(8).any(|w| w == b"ATWC0001"), "{len} bytes");
        }
    }
}

#[test]
fn a_stream_cut_short_is_never_finished() {
    let frames = frames(&data(3 * CHUNK));
    let mut opener = opener();
    let opened = open(&mut opener, &frames[..2]).expect("authentic frames");
    assert_eq!(opened.len(), 2 * CHUNK);
    assert!(!opener.finished(), "the last frame did not come");
}

#[test]
fn lost_reordered_repeated_or_relabelled_frames_are_refused() {
    let frames = frames(&data(3 * CHUNK));
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("a frame lost", vec![frames[0].clone(), frames[2].clone()]),
        ("two swapped", vec![frames[1].clone(), frames[0].clone()]),
        ("one repeated", vec![frames[0].clone(), frames[0].clone()]),
        ("a middle frame marked last", {
            let mut early = frames[1].clone();
            early[0] = 1;
            vec![frames[0].clone(), early]
        }),
    ];
    for (what, sent) in cases {
        assert!(
            matches!(open(&mut opener(), &sent), Err(StreamError::Forged(_))),
            "{what}"
        );
    }
    // Nothing after the last frame.
    let one = self::frames(b"short");
    let mut opener = opener();
    assert!(open(&mut opener, &one).is_ok());
    assert_eq!(
        opener.body_len(&one[0][..FRAME_HEADER].try_into().unwrap()),
        Err(StreamError::AfterLast)
    );
}

#[test]
fn another_salt_context_or_key_opens_nothing() {
    let frames = frames(&data(100));
    let openers = [
        codec().stream_opener(&[0x5b; 32], CONTEXT),
        codec().stream_opener(&SALT, b"another request"),
        Codec::new(&other_key(), NodeId::Rm(1)).stream_opener(&SALT, CONTEXT),
    ];
    for mut opener in openers {
        assert_eq!(open(&mut opener, &frames), Err(StreamError::Forged(0)));
    }
}

#[test]
fn headers_no_sealer_makes_are_refused_before_reading_the_body() {
    let opener = opener();
    let header = |flags: u8, len: u32| {
        let mut h = [flags; FRAME_HEADER];
        h[1..].copy_from_slice(&len.to_be_bytes());
        h
    };
    for bad in [
        header(0, (CHUNK + FRAME_TAG + 1) as u32),
        header(0, u32::MAX),
        header(0, FRAME_TAG as u32 - 1),
        header(2, 100),
        header(0x80, 100),
    ] {
        assert!(
            matches!(opener.body_len(&bad), Err(StreamError::BadHeader(_))),
            "{bad:?}"
        );
    }
    assert_eq!(opener.body_len(&header(1, FRAME_TAG as u32)), Ok(FRAME_TAG));
}

#[test]
fn fuzz_random_alterations_of_frames_never_open() {
    let seed = std::env::var("DMTBS_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random::<u64>());
    println!(
        "seed {seed} (rerun: DMTBS_FUZZ_SEED={seed} cargo test -p dmtbs-proto --test it fuzz_random_alterations)"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let frames = frames(&data(2_000));
    for i in 0..5_000 {
        let mut frame = frames[0].clone();
        for _ in 0..rng.random_range(1..=3) {
            let at = rng.random_range(0..frame.len());
            frame[at] ^= 1 << rng.random_range(0..8);
        }
        if frame == frames[0] {
            continue;
        }
        let mut opener = opener();
        let header: [u8; FRAME_HEADER] = frame[..FRAME_HEADER].try_into().unwrap();
        let opened = opener.body_len(&header).and_then(|len| {
            if len == frame.len() - FRAME_HEADER {
                opener.open(&header, frame[FRAME_HEADER..].to_vec())
            } else {
                Err(StreamError::BadHeader("length changed".into()))
            }
        });
        assert!(opened.is_err(), "alteration {i} opened (seed {seed})");
    }
}
