//! The address of the client behind a request: the peer's, or, when the peer is a reverse proxy
//! the configuration trusts (`server.trusted_proxies`), the one it says in `X-Forwarded-For`.
//!
//! Each proxy appends the address it got the request from, so the list is read from the right:
//! the first address that is not a trusted proxy is the client. Whatever stands further left
//! was written by the client itself and is never believed; a header from a peer that is not
//! trusted is ignored altogether.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// An address or a network (`10.0.0.0/8`, `fd00::/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(s: &str) -> Result<Network, String> {
        let bad = || format!("`{s}` is not an address or a network like 10.0.0.0/8");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let base: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Network { base, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.base, ip) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                masked(u32::from(base).into(), self.prefix, 32) == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                masked(u128::from(base), self.prefix, 128) == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn masked(bits: u128, prefix: u8, width: u32) -> u128 {
    if prefix == 0 { 0 } else { bits >> (width - u32::from(prefix)) }
}

/// The client's address, as the trusted proxies in front of `peer` report it.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Network]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','));
    let hops: Vec<&str> = hops.collect();
    for hop in hops.iter().rev() {
        match hop_address(hop) {
            Some(ip) if is_trusted(ip) => client = ip,
            Some(ip) => return ip,
            // Unreadable: nothing left of it can be trusted.
            None => return client,
        }
    }
    client
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`.
fn hop_address(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    hop.rsplit_once(':')
        .and_then(|(ip, port)| port.parse::<u16>().ok().and(ip.parse::<std::net::Ipv4Addr>().ok()))
        .map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_trusted_proxies_are_believed() {
        let trusted = [Network::parse("10.0.0.0/8").unwrap(), Network::parse("::1").unwrap()];
        // Not from a proxy: the header is the client's own word.
        assert_eq!(client_ip(ip("203.0.113.9"), &headers(&["1.2.3.4"]), &trusted), ip("203.0.113.9"));
        // From a proxy: the rightmost address that is not one of ours.
        assert_eq!(client_ip(ip("10.1.1.1"), &headers(&["6.6.6.6, 198.51.100.7"]), &trusted), ip("198.51.100.7"));
        assert_eq!(
            client_ip(ip("10.1.1.1"), &headers(&["6.6.6.6", "198.51.100.7, 10.2.2.2"]), &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(client_ip(ip("10.1.1.1"), &headers(&["garbage, 10.3.3.3"]), &trusted), ip("10.3.3.3"));
        assert_eq!(client_ip(ip("10.1.1.1"), &headers(&[]), &trusted), ip("10.1.1.1"));
        assert_eq!(client_ip(ip("::1"), &headers(&["2001:db8::5"]), &trusted), ip("2001:db8::5"));
        assert_eq!(client_ip(ip("::ffff:10.0.0.9"), &headers(&["198.51.100.8"]), &trusted), ip("198.51.100.8"));
        assert!(client_ip(ip("127.0.0.1"), &headers(&["1.1.1.1"]), &[]) == ip("127.0.0.1"));
        // With ports, and IPv6 in brackets, as some proxies write them.
        assert_eq!(client_ip(ip("10.1.1.1"), &headers(&["198.51.100.7:5678"]), &trusted), ip("198.51.100.7"));
        assert_eq!(client_ip(ip("10.1.1.1"), &headers(&["[2001:db8::9]:443"]), &trusted), ip("2001:db8::9"));
    }

    #[test]
    fn networks() {
        assert!(Network::parse("192.168.0.0/16").unwrap().contains(ip("192.168.44.1")));
        assert!(!Network::parse("192.168.0.0/16").unwrap().contains(ip("192.169.0.1")));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Network::parse("10.0.0.1/33").is_err());
        assert!(Network::parse("proxy").is_err());
    }
}
