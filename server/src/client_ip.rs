//! The address a request came from: the TCP peer, or, behind a reverse proxy
//! the operator trusts (`STUFE_TRUST_FORWARDED_FOR=1`), the last address in
//! `X-Forwarded-For` (the one that proxy added; earlier ones are the client's
//! own claims). A leaf: it reads a request's parts, nothing else.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};

/// The client's address; the unspecified address when the server was not
/// served with connection info (in-process test routers).
pub fn client_ip(headers: &HeaderMap, extensions: &Extensions, trust_forwarded: bool) -> IpAddr {
    if trust_forwarded {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|part| part.trim().parse::<IpAddr>().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peer_unless_a_trusted_proxy_says_otherwise() {
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 4000))));
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.4".parse().unwrap(),
        );
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(client_ip(&headers, &extensions, false), peer);
        assert_eq!(
            client_ip(&headers, &extensions, true),
            "198.51.100.4".parse::<IpAddr>().unwrap(),
            "the address the proxy added, not the client's claim"
        );
        assert_eq!(client_ip(&HeaderMap::new(), &extensions, true), peer);
    }
}
