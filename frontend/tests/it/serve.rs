//! `serve_with` on a real loopback socket: eviction of idle connections at the cap, hyper's own
//! refusal of a malformed or oversized request head, a prompt stop with idle connections open.
//! (Floods, timeouts and memory are measured in the cluster suite's `hardening` and `flood`.)

use std::net::SocketAddr;
use std::time::Duration;

use dmtbs_contract::{Booked, Success};
use dmtbs_frontend::{Limits, serve_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::app;

/// Serves the test router within `limits` on a fresh loopback port until the sender is used.
async fn start(limits: Limits) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    let (router, _, _) = app(Ok(Success::Booked(Booked {
        held: 1,
        remaining: 1,
    })));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve_with(listener, router, &limits, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (addr, stop, server)
}

/// Sends `bytes` and reads until the server closes the connection (bounded): what it answered.
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    read_to_close(&mut s).await
}

async fn read_to_close(s: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server closes the connection");
    String::from_utf8_lossy(&answer).into_owned()
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn at_the_cap_the_longest_idle_connection_makes_room() {
    let limits = Limits {
        max_connections: 4,
        header_read_timeout_ms: 60_000,
        ..Limits::default()
    };
    let (addr, _stop, _server) = start(limits).await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(addr).await.unwrap());
        // Accepted one after the other, so the first is the longest idle.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A fifth client is answered long before any timeout would free a slot.
    let answer = tokio::time::timeout(Duration::from_secs(5), exchange(addr, HEALTHZ))
        .await
        .expect("answered while four idle sockets fill the cap");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The oldest idle socket was closed for it.
    let closed = read_to_close(&mut idle[0]).await;
    assert!(closed.is_empty(), "closed without an answer: {closed}");
}

#[tokio::test]
async fn hyper_refuses_a_malformed_or_oversized_head_and_closes() {
    let (addr, _stop, _server) = start(Limits::default()).await;
    let answer = exchange(addr, b"NOT HTTP AT ALL\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let mut head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 64 * 1024));
    head.extend_from_slice(b"\r\n\r\n");
    let answer = exchange(addr, &head).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    let mut many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..70 {
        many.extend_from_slice(format!("X-H{i}: 1\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let answer = exchange(addr, &many).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
}

#[tokio::test]
async fn stopping_closes_idle_connections_at_once() {
    let limits = Limits {
        header_read_timeout_ms: 60_000,
        ..Limits::default()
    };
    let (addr, stop, server) = start(limits).await;
    let _idle: Vec<TcpStream> = connect_many(addr, 10).await;
    let answer = exchange(addr, HEALTHZ).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops without waiting for idle sockets' timeouts")
        .unwrap();
}

async fn connect_many(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(TcpStream::connect(addr).await.unwrap());
    }
    v
}

#[tokio::test]
async fn a_zero_limit_is_refused_at_start_naming_it() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (router, _, _) = app(Ok(Success::Booked(Booked {
        held: 1,
        remaining: 1,
    })));
    let limits = Limits {
        header_read_timeout_ms: 0,
        ..Limits::default()
    };
    let e = serve_with(listener, router, &limits, std::future::pending())
        .await
        .expect_err("a zero timeout cannot serve");
    assert!(e.to_string().contains("header_read_timeout_ms"), "{e}");
}
