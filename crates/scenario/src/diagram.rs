//! From the network's trace to the messages a sequence diagram draws, with
//! adversaries drawn as participants between the peers they sit between.

use std::ops::Range;

use pkilab_net::{Event, Fate as NetFate, Network};

use crate::report::{Fate, Learned, MessageEvent, SideKeys};
use crate::script::Scenario;

/// The diagram's messages, step by step (1-based).
pub fn messages(network: &Network, steps: &[Range<usize>]) -> Vec<MessageEvent> {
    let trace = network.trace();
    let mut out = Vec::new();
    for (index, range) in steps.iter().enumerate() {
        for (at, event) in trace[range.clone()].iter().enumerate() {
            let (sent, after) = network
                .frame_bytes(range.start + at)
                .map_or((&[][..], &[][..]), |b| b);
            let Event::Frame {
                from,
                to,
                label,
                fate,
                by,
                ..
            } = event
            else {
                continue;
            };
            let step = index + 1;
            let message = |from: &str, to: &str, fate, bytes: &[u8]| MessageEvent {
                step,
                from: from.to_owned(),
                to: to.to_owned(),
                label: label.clone(),
                fate,
                bytes: bytes.to_vec(),
            };
            match (fate, by) {
                (NetFate::Intercepted, Some(by)) => {
                    out.push(message(from, by, Fate::Delivered, sent))
                }
                (NetFate::Injected, Some(by)) => out.push(message(by, to, Fate::Injected, after)),
                (NetFate::Replaced, Some(by)) => {
                    out.push(message(from, by, Fate::Delivered, sent));
                    out.push(message(by, to, Fate::Altered, after));
                }
                (NetFate::Relayed, Some(by)) => {
                    out.push(message(from, by, Fate::Delivered, sent));
                    out.push(message(by, to, Fate::Relayed, after));
                }
                (NetFate::Dropped | NetFate::Delayed, _) => {
                    out.push(message(from, to, Fate::Dropped, sent))
                }
                _ => out.push(message(from, to, Fate::Delivered, after)),
            }
        }
        for event in &trace[range.clone()] {
            if let Event::Refused {
                node, from, reason, ..
            } = event
            {
                out.push(MessageEvent {
                    step: index + 1,
                    from: node.clone(),
                    to: from.clone(),
                    label: format!("refused: {reason}"),
                    fate: Fate::Refused,
                    bytes: Vec::new(),
                });
            }
        }
    }
    out
}

/// Participants in diagram order: peers as declared, each adversary right
/// after the first end of its link; only those that appear in a message.
pub fn participants(scenario: &Scenario, messages: &[MessageEvent]) -> Vec<String> {
    let appears = |name: &str| messages.iter().any(|m| m.from == name || m.to == name);
    let mut order = Vec::new();
    let kms = scenario.kms.iter().map(|k| &k.name);
    let ocsp = scenario.ocsp.iter().map(|o| &o.name);
    for peer in scenario.peers.iter().chain(kms).chain(ocsp) {
        if appears(peer) {
            order.push(peer.clone());
        }
        for adversary in scenario.adversaries.iter().filter(|a| &a.link.0 == peer) {
            if appears(&adversary.name) {
                order.push(adversary.name.clone());
            }
        }
    }
    order
}

/// What adversaries read, step by step (1-based).
pub fn learned(trace: &[Event], steps: &[Range<usize>]) -> Vec<Learned> {
    let mut out = Vec::new();
    for (index, range) in steps.iter().enumerate() {
        for event in &trace[range.clone()] {
            if let Event::AttackerRead {
                adversary, text, ..
            } = event
            {
                out.push(Learned {
                    step: index + 1,
                    adversary: adversary.clone(),
                    text: text.clone(),
                });
            }
        }
    }
    out
}

/// Each side's key schedule, step by step (1-based).
pub fn key_schedules(network: &Network, steps: &[Range<usize>]) -> Vec<SideKeys> {
    let mut out = Vec::new();
    for (index, range) in steps.iter().enumerate() {
        for at in range.clone() {
            let Some(keys) = network.key_schedule(at) else {
                continue;
            };
            let (node, with, adversary) = match &network.trace()[at] {
                Event::Established { node, peer, .. } => (node, peer, false),
                Event::AttackerSession {
                    adversary, with, ..
                } => (adversary, with, true),
                _ => continue,
            };
            out.push(SideKeys {
                step: index + 1,
                node: node.clone(),
                with: with.clone(),
                adversary,
                keys: keys.clone(),
            });
        }
    }
    out
}
