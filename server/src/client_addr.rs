//! The client's address behind reverse proxies (`TRELLIS_TRUSTED_PROXIES`).
//!
//! When the peer of a connection is a trusted proxy, the client is the right-most address of
//! `X-Forwarded-For` that is not itself trusted (each proxy appends the address it got the
//! request from, so everything left of the first untrusted hop may be forged by the client);
//! when every hop is trusted, the left-most. Otherwise, or without the header, the peer. The
//! listener puts the result in the request's `ConnectInfo`, so sign-in throttling, click-burst
//! flags and the hashed click address all see the client, not the proxy.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;

/// Addresses and networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses (`10.0.0.5`, `::1`) and CIDRs (`10.0.0.0/8`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let net = match part.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => part.parse::<IpAddr>().map(IpNet::from).map_err(|_| format!("'{part}' is neither an IP address nor a CIDR network"))?,
            };
            nets.push(net.trunc());
        }
        Ok(Self(nets))
    }

    /// True when `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request that came from `peer` with these headers.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if self.0.is_empty() || !self.trusts(peer) {
            return peer;
        }
        // Every X-Forwarded-For header, in order, as one list of hops.
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|h| parse_hop(h.trim()))
            .collect();
        match hops.iter().rev().find(|ip| !self.trusts(**ip)) {
            Some(ip) => *ip,
            None => hops.first().copied().unwrap_or(peer),
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// One hop: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_hop(h: &str) -> Option<IpAddr> {
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    h.parse::<std::net::SocketAddr>().ok().map(|s| canonical(s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop_behind_a_trusted_peer() {
        let t = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7").unwrap();
        // The client forged the first entry; the proxy appended the real address.
        assert_eq!(t.client(ip("10.0.0.2"), &headers(&["6.6.6.6, 203.0.113.9"])), ip("203.0.113.9"));
        // Two proxies: the inner one is trusted too.
        assert_eq!(t.client(ip("10.0.0.2"), &headers(&["203.0.113.9", "192.168.1.7"])), ip("203.0.113.9"));
        assert_eq!(t.client(ip("192.168.1.7"), &headers(&["[2001:db8::5]:443, 10.1.1.1:80"])), ip("2001:db8::5"));
        // Every hop trusted: the left-most.
        assert_eq!(t.client(ip("10.0.0.2"), &headers(&["10.9.9.9, 10.0.0.3"])), ip("10.9.9.9"));
        // No header, or nothing readable in it: the peer.
        assert_eq!(t.client(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"));
        assert_eq!(t.client(ip("10.0.0.2"), &headers(&["unknown, nonsense"])), ip("10.0.0.2"));
        // An IPv4-mapped peer is the IPv4 proxy.
        assert_eq!(t.client(ip("::ffff:10.0.0.2"), &headers(&["203.0.113.9"])), ip("203.0.113.9"));
    }

    #[test]
    fn an_untrusted_peer_or_no_configuration_ignores_the_header() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(t.client(ip("198.51.100.4"), &headers(&["1.2.3.4"])), ip("198.51.100.4"));
        assert_eq!(TrustedProxies::default().client(ip("10.0.0.2"), &headers(&["1.2.3.4"])), ip("10.0.0.2"));
    }

    #[test]
    fn bad_entries_are_refused_with_their_text() {
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
        let e = TrustedProxies::parse("10.0.0.1, proxy.local").unwrap_err();
        assert!(e.contains("proxy.local"), "{e}");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }
}
