//! Reading a running switch through its management socket: each port's state and packet
//! counters (`port/allprint`), for the topology views.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::ClusterError;

/// One port of a switch as its management socket reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortCounters {
    /// The port number.
    pub port: u32,
    /// Something is plugged in.
    pub active: bool,
    /// Packets received from the port.
    pub in_pkts: u64,
    /// Bytes received from the port.
    pub in_bytes: u64,
    /// Packets sent to the port.
    pub out_pkts: u64,
    /// Bytes sent to the port.
    pub out_bytes: u64,
}

/// Parses the output of `port/allprint`.
pub fn parse_ports(text: &str) -> Vec<PortCounters> {
    let mut ports = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Port ") {
            let port = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            ports.push(PortCounters {
                port,
                active: rest.contains(" ACTIVE"),
                ..PortCounters::default()
            });
        } else if let Some(p) = ports.last_mut() {
            let numbers: Vec<u64> = line
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            if let [pkts, bytes] = numbers[..] {
                if line.starts_with("IN:") {
                    (p.in_pkts, p.in_bytes) = (pkts, bytes);
                } else if line.starts_with("OUT:") {
                    (p.out_pkts, p.out_bytes) = (pkts, bytes);
                }
            }
        }
    }
    ports
}

/// Asks the switch behind `mgmt` for its ports and their counters.
pub async fn ports(mgmt: &Path) -> Result<Vec<PortCounters>, ClusterError> {
    let talk = async {
        let mut stream = UnixStream::connect(mgmt).await?;
        let mut text = String::new();
        let mut buf = [0u8; 8192];
        // The banner ends with the prompt; then the command's answer ends with its status.
        read_until(&mut stream, &mut text, &mut buf, "vde$ ").await?;
        text.clear();
        stream.write_all(b"port/allprint\n").await?;
        read_until(&mut stream, &mut text, &mut buf, "1000 Success").await?;
        Ok::<_, std::io::Error>(parse_ports(&text))
    };
    let timeout = std::io::Error::new(std::io::ErrorKind::TimedOut, "it did not answer");
    tokio::time::timeout(Duration::from_secs(5), talk)
        .await
        .unwrap_or(Err(timeout))
        .map_err(|e| ClusterError::io(format!("reach the switch at {}", mgmt.display()), e))
}

async fn read_until(
    stream: &mut UnixStream,
    text: &mut String,
    buf: &mut [u8],
    end: &str,
) -> std::io::Result<()> {
    while !text.contains(end) {
        let n = stream.read(buf).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the switch closed its management socket",
            ));
        }
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_print_output_becomes_counters() {
        let text = "0000 DATA END WITH '.'\nPort 0001 untagged_vlan=0000 ACTIVE - NOT Unnamed Allocatable\n Current User: root Access Control: (User: NONE - Group: NONE)\n IN:  pkts          5          bytes                  342\n OUT: pkts          3          bytes                  250\nPort 0002 untagged_vlan=0000 INACTIVE - NOT Unnamed Allocatable\n IN:  pkts          0          bytes                    0\n OUT: pkts          0          bytes                    0\n.\n1000 Success\n";
        let ports = parse_ports(text);
        assert_eq!(
            ports,
            [
                PortCounters {
                    port: 1,
                    active: true,
                    in_pkts: 5,
                    in_bytes: 342,
                    out_pkts: 3,
                    out_bytes: 250
                },
                PortCounters {
                    port: 2,
                    ..PortCounters::default()
                }
            ]
        );
    }
}
