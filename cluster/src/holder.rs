//! "Address already in use" — by whom? A node that cannot bind names the port and, where this
//! machine can tell (Linux `/proc`, processes this user may inspect), the process holding it:
//! the operator's next step is then obvious (another `dmtbs up`, a stale node, another service).

use std::net::{IpAddr, SocketAddr};

/// Which socket table to search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

/// The error a node reports when it cannot bind `addr`: the I/O error, plus the process that
/// holds the address when the error is "in use" and the holder can be found.
pub fn bind_error(what: &str, proto: Proto, addr: SocketAddr, error: &std::io::Error) -> String {
    let kind = match proto {
        Proto::Tcp => "TCP",
        Proto::Udp => "UDP",
    };
    let mut text = format!("{what}: cannot bind {kind} {addr}: {error}");
    if error.kind() == std::io::ErrorKind::AddrInUse {
        match holder_of(proto, addr) {
            Some(holder) => text.push_str(&format!(" (held by {holder})")),
            None => text.push_str(" (held by a process this user cannot inspect)"),
        }
    }
    text
}

/// "pid 1234 (dmtbs)" for the process with a socket bound to `addr`, if one can be found.
pub fn holder_of(proto: Proto, addr: SocketAddr) -> Option<String> {
    let inode = socket_inode(proto, addr)?;
    let target = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|link| link.as_os_str() == target.as_str())
        });
        if holds {
            let name = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            return Some(format!("pid {pid} ({})", name.trim()));
        }
    }
    None
}

/// The inode of a socket bound to `addr` (listening, for TCP), from `/proc/net/{tcp,udp}[6]`.
fn socket_inode(proto: Proto, addr: SocketAddr) -> Option<u64> {
    let tables: &[&str] = match proto {
        Proto::Tcp => &["/proc/net/tcp", "/proc/net/tcp6"],
        Proto::Udp => &["/proc/net/udp", "/proc/net/udp6"],
    };
    tables.iter().find_map(|table| {
        let text = std::fs::read_to_string(table).ok()?;
        text.lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
            // TCP: only a listener holds a port for bind's purposes (0A = LISTEN).
            if proto == Proto::Tcp && *state != "0A" {
                return None;
            }
            let (ip, port) = parse_local(local)?;
            let ip_matches = ip == addr.ip() || ip.is_unspecified() || addr.ip().is_unspecified();
            (port == addr.port() && ip_matches)
                .then(|| inode.parse().ok())
                .flatten()
        })
    })
}

/// `0100007F:1F90` (IPv4, little-endian words) or the 32-hex-digit IPv6 form → address, port.
fn parse_local(field: &str) -> Option<(IpAddr, u16)> {
    let (ip, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match ip.len() {
        8 => IpAddr::from(u32::from_str_radix(ip, 16).ok()?.swap_bytes().to_be_bytes()),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, word) in bytes.chunks_mut(4).enumerate() {
                let w = u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16).ok()?;
                word.copy_from_slice(&w.swap_bytes().to_be_bytes());
            }
            IpAddr::from(bytes)
        }
        _ => return None,
    };
    Some((ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_addresses_are_read_as_the_kernel_writes_them() {
        assert_eq!(
            parse_local("0100007F:1F90"),
            Some((IpAddr::from([127, 0, 0, 1]), 8080))
        );
        assert_eq!(
            parse_local("00000000000000000000000001000000:0050"),
            Some(("::1".parse().unwrap(), 80))
        );
        assert_eq!(parse_local("garbage"), None);
    }

    #[test]
    fn a_port_in_use_names_this_very_process_as_its_holder() {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = tcp.local_addr().unwrap();
        let err = std::net::TcpListener::bind(addr).unwrap_err();
        let text = bind_error("front end 1: HTTP", Proto::Tcp, addr, &err);
        let me = format!("held by pid {} (", std::process::id());
        assert!(
            text.starts_with(&format!("front end 1: HTTP: cannot bind TCP {addr}: "))
                && text.contains(&me),
            "{text}"
        );

        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = udp.local_addr().unwrap();
        let err = std::net::UdpSocket::bind(addr).unwrap_err();
        let text = bind_error("rm 1", Proto::Udp, addr, &err);
        assert!(text.contains(&me), "{text}");
    }
}
